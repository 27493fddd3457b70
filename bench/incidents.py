"""Incident grouping bench: near-duplicate recall on repost variants, false matches on real posts.

Reads the real politicians' timelines in ``../shared/data/posts`` (skips when absent), builds
variants of every original post the way copies appear (truncated "RT @x: ... …", a quote with
a comment in front, one word edited, two words edited, a romanized copy of a Devanagari post)
and counts how many each method finds, in the same run:

* ``ours``: the MinHash signature of ``domain.incidents``, end to end: every original is an
  incident of its own in one ``IncidentIndex`` (all 4,412 at once, far more than a 30-hour
  index holds for two leaders), the copy must find its original among the candidates of the
  bounded band reads (newest 10 a band) and share at least 42 of 64 slots with it;
* ``before``: the 64-bit SimHash that grouped incidents until now (1+2-word shingles, <= 6
  bits, 8 bands of 8 bits);
* ``simhash_tables``: SimHash over the same features as ours (romanized words, trigrams, word
  pairs) at the largest distance that keeps the random pairs apart, with the number of tables
  that distance needs (d + 1 tables of 64 / (d + 1) bits, by pigeonhole).

Then the false matches of each among 100,000 random pairs of different posts, and the time to
hash a post (first pass, with the word caches empty, and warm; wall clock and CPU time, as the
machine may be shared). Ends with one JSON line; ``targets_met`` is 1 when one-word edits are
found >= 90%, quote prefixes >= 95%, no random pair matches and the first pass takes <= 300 µs
a post on the wall clock (run it on a quiet machine); ``targets_met_cpu`` the same on CPU time.
Run: ``make bench-incidents``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.domain import incidents
from chalicelib.domain.incidents import (
    NEAR_DUPLICATE_SLOTS,
    IncidentIndex,
    IncidentProbe,
    IncidentRecord,
    Signature,
    agreement,
    band_entry,
    band_keys,
    hash_tokens,
    hash_words,
    is_near_duplicate,
    signature,
)
from chalicelib.domain.transliterate import deva_to_roman, has_devanagari

POSTS = Path("../shared/data/posts")
PAIRS = 100_000
BEFORE_DISTANCE = 6


# ---- today's method until this change, kept here to measure against ---------------------------


def _h64(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")


def _simhash(features: Sequence[int]) -> int:
    if not features:
        return 0
    half = len(features) / 2
    out = 0
    for bit in range(64):
        if sum(1 for h in features if h >> bit & 1) > half:
            out |= 1 << bit
    return out


def _shingles(tokens: Sequence[str], k: int) -> list[str]:
    if not tokens:
        return []
    if len(tokens) <= k:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


def before_simhash(text: str) -> int:
    """The SimHash of 1- and 2-word shingles the incidents used before MinHash."""
    tokens = hash_tokens(text)
    return _simhash([_h64(s) for k in (1, 2) for s in _shingles(tokens, k)])


def before_bands(h: int) -> set[str]:
    return {f"{i}:{(h >> (i * 8)) & 0xFF:02x}" for i in range(8)}


def simhash_same_features(text: str) -> int:
    """SimHash over the features of our signature: words, trigrams and word pairs."""
    words = hash_words(text)
    feats = [_h64(w) for w in words]
    for w in words:
        padded = f"<{w}>"
        feats += [_h64("\x01" + padded[i : i + 3]) for i in range(max(1, len(padded) - 2))]
    feats += [_h64(a + " " + b) for a, b in itertools.pairwise(words)]
    return _simhash(sorted(set(feats)))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


# ---- the bench ------------------------------------------------------------------------------


def ours_match(a: Signature, b: Signature) -> bool:
    """A pair the index could match: a shared band, then enough shared slots (the read limit
    only ever removes candidates, so this bounds the false matches from above)."""
    if not a or not b or not set(band_keys(a)) & set(band_keys(b)):
        return False
    return agreement(a, b) >= NEAR_DUPLICATE_SLOTS


def before_match(a: int, b: int) -> bool:
    return bool(a) and bool(b) and hamming(a, b) <= BEFORE_DISTANCE


def main() -> int:
    files = sorted(POSTS.glob("*.jsonl")) if POSTS.is_dir() else []
    if not files:
        print(f"skipped: {POSTS} not found")
        print(json.dumps({"skipped": True}))
        return 0
    load = os.getloadavg()[0]
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

    rng_added = random.Random(7)  # the variants added later draw apart: today's stay the same

    def two_words(t: str) -> str:
        words = t.split()
        for i in rng_added.sample(range(len(words)), min(2, len(words))):
            words[i] = "changed"
        return " ".join(words)

    def romanized(t: str) -> str:
        return " ".join(deva_to_roman(w) if has_devanagari(w) else w for w in t.split())

    variants: dict[str, tuple[Callable[[str], str], Callable[[str], bool]]] = {
        "rt_truncated": (rt_truncated, lambda t: True),
        "quote_prefix": (quoted, lambda t: True),
        "one_word_edited": (one_word, lambda t: True),
        "two_words_edited": (two_words, lambda t: len(t.split()) >= 12),
        # Our own transliterator writes the copy: this measures that the key normalization joins
        # the scripts, not how people romanize (docs/incidents.md has a hand-written example).
        "romanized_copy": (romanized, has_devanagari),
    }

    timings = _time(originals)
    ours = [signature(t) for t in originals]
    before = [before_simhash(t) for t in originals]
    same_feat = [simhash_same_features(t) for t in originals]
    print(
        f"{len(originals):,} original posts from {len(files)} timelines; load average {load:.2f}; "
        f"µs/post wall (CPU): ours {timings['ours_cold']:.0f} ({timings['ours_cold_cpu']:.0f}) "
        f"first pass, {timings['ours_warm']:.0f} ({timings['ours_warm_cpu']:.0f}) warm; "
        f"before {timings['before']:.0f} ({timings['before_cpu']:.0f})"
    )

    # Today's order of random draws: the one-word edits first, then the pairs.
    changed: dict[str, dict[int, str]] = {
        name: {i: make(t) for i, t in enumerate(originals) if applies(t)}
        for name, (make, applies) in variants.items()
    }
    tokens = [hash_tokens(t) for t in originals]
    pairs: list[tuple[int, int]] = []
    while len(pairs) < PAIRS:  # drawn as before; the same post twice is no pair, draw again
        i, j = rng.randrange(len(originals)), rng.randrange(len(originals))
        if i != j and tokens[i] != tokens[j]:
            pairs.append((i, j))
    # SimHash with more tables: the widest distance that keeps every random pair apart.
    nearest_same_feat = min(hamming(same_feat[i], same_feat[j]) for i, j in pairs)
    tables_d = nearest_same_feat - 1

    index = _index_of(ours)
    figures: dict[str, float] = {}
    for name, copies in changed.items():
        idx = sorted(copies)
        r_ours = _rate([_found(index, ours[i], i, signature(copies[i])) for i in idx])
        r_before = _rate([before_match(before[i], before_simhash(copies[i])) for i in idx])
        r_tables = _rate(
            [hamming(same_feat[i], simhash_same_features(copies[i])) <= tables_d for i in idx]
        )
        figures[f"{name}_recall"] = round(r_ours, 4)
        figures[f"{name}_recall_before"] = round(r_before, 4)
        figures[f"{name}_recall_simhash_tables"] = round(r_tables, 4)
        figures[f"{name}_posts"] = len(idx)
        print(
            f"{name:17s} {len(idx):5,} posts  ours {r_ours:6.1%}  before {r_before:6.1%}  "
            f"simhash+tables (<= {tables_d} bits) {r_tables:6.1%}"
        )

    false_ours = sum(ours_match(ours[i], ours[j]) for i, j in pairs)
    false_before = sum(before_match(before[i], before[j]) for i, j in pairs)
    most_shared = max(agreement(ours[i], ours[j]) for i, j in pairs)
    nearest_before = min(hamming(before[i], before[j]) for i, j in pairs)
    print(
        f"false matches in {len(pairs):,} random pairs of different posts: ours {false_ours} "
        f"(most slots shared {most_shared} of {incidents.SLOTS}, threshold "
        f"{NEAR_DUPLICATE_SLOTS}), before {false_before} (nearest {nearest_before} bits)"
    )
    print(
        f"simhash with more tables: <= {tables_d} bits needs {tables_d + 1} tables of "
        f"{64 // (tables_d + 1)} bits (ours: {incidents.BANDS} bands)"
    )
    figures.update(
        {
            "posts": len(originals),
            "random_pairs": len(pairs),
            "false_matches": false_ours,
            "false_matches_before": false_before,
            "most_slots_shared_unrelated": most_shared,
            "nearest_unrelated_bits_before": nearest_before,
            "simhash_tables_distance": tables_d,
            "us_per_post": round(timings["ours_cold"], 1),
            "us_per_post_cpu": round(timings["ours_cold_cpu"], 1),
            "us_per_post_warm": round(timings["ours_warm"], 1),
            "us_per_post_before": round(timings["before"], 1),
            "us_per_post_before_cpu": round(timings["before_cpu"], 1),
            "load_average": round(load, 2),
        }
    )
    # The targets of issue 16, checked here so a run says at a glance whether they hold.
    figures["targets_met"] = int(
        figures["one_word_edited_recall"] >= 0.90
        and figures["quote_prefix_recall"] >= 0.95
        and false_ours == 0
        and len(pairs) >= 100_000
        and timings["ours_cold"] <= 300
    )
    # The same on CPU time: on a shared machine the wall clock measures the neighbours too.
    figures["targets_met_cpu"] = int(
        figures["one_word_edited_recall"] >= 0.90
        and figures["quote_prefix_recall"] >= 0.95
        and false_ours == 0
        and len(pairs) >= 100_000
        and timings["ours_cold_cpu"] <= 300
    )
    print(json.dumps(figures, sort_keys=True))
    return 0


_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _index_of(sigs: Sequence[Signature]) -> IncidentIndex:
    """Every original its own incident, one second apart in input order, bands and all."""
    index = IncidentIndex()
    for n, sig in enumerate(sigs):
        at = _T0 + timedelta(seconds=n)
        key = f"inc_{n}"
        index.records[key] = IncidentRecord(key, "", (), (sig,) if sig else (), at, at)
        for b in band_keys(sig):
            index.by_band.setdefault(b, set()).add(band_entry(at, key))
    return index


def _found(index: IncidentIndex, original: Signature, n: int, copy: Signature) -> bool:
    """Whether the bounded lookup of ``copy`` reaches original ``n``, and the two match."""
    if not is_near_duplicate(original, copy):
        return False
    candidates = index.candidates(IncidentProbe("copy", "", (), copy, _T0))
    return any(c.incident_key == f"inc_{n}" for c in candidates)


def _time(originals: Sequence[str]) -> dict[str, float]:
    """µs per post, wall clock and CPU (the machine may be shared): ours with the word caches
    emptied first (every word new, as in a fresh Lambda), ours warm (best of 3), before."""
    out: dict[str, float] = {}

    def timed(name: str, fn: Callable[[str], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        for t in originals:
            fn(t)
        n = len(originals)
        wall_us = (time.perf_counter() - wall) / n * 1e6
        cpu_us = (time.process_time() - cpu) / n * 1e6
        out[name] = min(out.get(name, wall_us), wall_us)
        out[name + "_cpu"] = min(out.get(name + "_cpu", cpu_us), cpu_us)

    incidents._key.cache_clear()
    incidents._word_features.cache_clear()
    incidents._gram_hash.cache_clear()
    timed("ours_cold", signature)
    for _ in range(3):
        timed("ours_warm", signature)
    timed("before", before_simhash)
    return out


def _rate(hits: Sequence[bool]) -> float:
    return sum(hits) / len(hits) if hits else 0.0


if __name__ == "__main__":
    sys.exit(main())
