"""Incident grouping bench: SimHash recall on repost variants and false matches on real posts.

Reads the real politicians' timelines in ``../shared/data/posts`` (skips when absent), builds
variants of every original post the way reposts appear (truncated "RT @x: ... …", a quote with
a comment in front, one word edited) and counts how many stay within the near-duplicate
distance, for our SimHash (1+2-word shingles, <= 6 bits) against the textbook baseline
(3-word shingles, <= 3 bits) computed in the same run; then the false-match rate on random
pairs of different posts. Ends with one JSON line. Run: ``make bench-incidents``.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from chalicelib.domain.incidents import (
    NEAR_DUPLICATE_DISTANCE,
    hamming,
    hash_tokens,
    shingles,
    simhash,
)

POSTS = Path("../shared/data/posts")
PAIRS = 100_000


def baseline_simhash(text: str) -> int:
    """The textbook variant: 3-word shingles only."""
    feats = [
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")
        for s in shingles(hash_tokens(text), 3)
    ]
    out = 0
    for bit in range(64):
        if sum(1 for h in feats if h >> bit & 1) * 2 > len(feats):
            out |= 1 << bit
    return out


def main() -> int:
    files = sorted(POSTS.glob("*.jsonl")) if POSTS.is_dir() else []
    if not files:
        print(f"skipped: {POSTS} not found")
        print(json.dumps({"skipped": True}))
        return 0
    texts = [json.loads(line)["text"] for f in files for line in f.open(encoding="utf-8")]
    originals = [t for t in texts if not t.startswith("RT @") and len(hash_tokens(t)) >= 6]
    rng = random.Random(6)

    def rt_truncated(t: str) -> str:
        s = "RT @someone_else: " + t
        return s if len(s) <= 140 else s[:139] + "…"

    def quoted(t: str) -> str:
        return "Shameful! " + t

    def one_word(t: str) -> str:
        words = t.split()
        words[rng.randrange(len(words))] = "changed"
        return " ".join(words)

    variants: dict[str, Callable[[str], str]] = {
        "rt_truncated": rt_truncated,
        "quote_prefix": quoted,
        "one_word_edited": one_word,
    }
    start = time.perf_counter()
    ours = [simhash(t) for t in originals]
    per_post_us = (time.perf_counter() - start) / len(originals) * 1e6
    base = [baseline_simhash(t) for t in originals]
    print(
        f"{len(originals):,} original posts from {len(files)} timelines; "
        f"simhash {per_post_us:.0f} µs/post"
    )
    figures: dict[str, float] = {}
    for name, make in variants.items():
        changed = [make(t) for t in originals]
        r_ours = _recall(ours, [simhash(c) for c in changed], NEAR_DUPLICATE_DISTANCE)
        r_base = _recall(base, [baseline_simhash(c) for c in changed], 3)
        figures[f"{name}_recall"] = round(r_ours, 3)
        figures[f"{name}_recall_baseline"] = round(r_base, 3)
        print(
            f"{name:16s} ours {r_ours:6.1%}  baseline {r_base:6.1%}  ratio {r_ours / r_base:.2f}x"
        )
    tokens = [hash_tokens(t) for t in originals]
    false = closest = 0
    nearest = 64
    for _ in range(PAIRS):
        i, j = rng.randrange(len(originals)), rng.randrange(len(originals))
        if i == j or tokens[i] == tokens[j]:
            continue
        closest += 1
        d = hamming(ours[i], ours[j])
        nearest = min(nearest, d)
        false += d <= NEAR_DUPLICATE_DISTANCE
    print(
        f"false matches: {false} of {closest:,} random pairs of different posts; "
        f"nearest {nearest} bits"
    )
    figures.update(
        {
            "posts": len(originals),
            "false_match_rate": false / closest,
            "nearest_unrelated_bits": nearest,
            "simhash_us_per_post": round(per_post_us, 1),
        }
    )
    print(json.dumps(figures, sort_keys=True))
    return 0


def _recall(a: Sequence[int], b: Sequence[int], threshold: int) -> float:
    return sum(1 for x, y in zip(a, b, strict=True) if hamming(x, y) <= threshold) / len(a)


if __name__ == "__main__":
    sys.exit(main())
