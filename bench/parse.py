"""How fast the platform parsers normalize recorded payloads, against a bare decode baseline.

Baselines are measured in the same run on the same bytes: ``json.loads`` for JSON payloads,
``feedparser.parse`` alone for RSS. The ratio says what normalization adds on top of decoding.
Uses the committed fixtures (tests/events), so it runs from a plain clone in a few seconds.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser

from chalicelib.adapters.platforms.mastodon import parse_mastodon
from chalicelib.adapters.platforms.rss import parse_rss
from chalicelib.adapters.platforms.x import parse_x
from chalicelib.adapters.platforms.youtube import parse_youtube

EVENTS = Path(__file__).resolve().parent.parent / "tests" / "events"


def best_of(fn: Callable[[], Any], repeat: int = 5, budget: float = 0.2) -> float:
    """Seconds per call: the best of ``repeat`` timed batches of about ``budget`` seconds."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed > budget / 4:
            break
        n *= 2
    best = elapsed / n
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def _feedparser_only(raw: bytes) -> Any:
    # The same options parse_rss uses, so the ratio is what normalization adds.
    return feedparser.parse(raw, sanitize_html=False, resolve_relative_uris=False)


def main() -> int:
    cases: list[tuple[str, bytes, Callable[[bytes], Any], Callable[[bytes], Any]]] = [
        ("x_timeline", (EVENTS / "x" / "user_timeline.json").read_bytes(), parse_x, json.loads),
        (
            "youtube_comments",
            (EVENTS / "youtube" / "commentThreads_list.json").read_bytes(),
            parse_youtube,
            json.loads,
        ),
        (
            "mastodon_statuses",
            (EVENTS / "mastodon" / "account_statuses_constructed.json").read_bytes(),
            parse_mastodon,
            json.loads,
        ),
        (
            "rss_toi",
            (EVENTS / "rss" / "timesofindia_topstories.xml").read_bytes(),
            parse_rss,
            _feedparser_only,
        ),
    ]
    results: dict[str, Any] = {}
    print(
        f"{'payload':<20}{'mentions':>9}{'parse ms':>10}{'base ms':>9}{'ratio':>7}{'posts/s':>10}"
    )
    for name, raw, parse, baseline in cases:
        count = len(parse(raw))
        t_parse = best_of(lambda raw=raw, parse=parse: parse(raw))
        t_base = best_of(lambda raw=raw, baseline=baseline: baseline(raw))
        ratio = t_parse / t_base
        rate = count / t_parse
        print(
            f"{name:<20}{count:>9}{t_parse * 1e3:>10.2f}{t_base * 1e3:>9.2f}"
            f"{ratio:>7.2f}{rate:>10.0f}"
        )
        results[name] = {
            "mentions": count,
            "ratio_vs_decode": round(ratio, 2),
            "posts_per_s": round(rate),
        }
    print(json.dumps({"bench": "parse", **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
