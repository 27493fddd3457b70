"""Split lower-case run-together hashtag words: ``mainbhichowkidar`` -> main bhi chowkidar.

A unigram model: words of English and of Hindi as typed in Latin letters, commonest first
(``segment_data``, generated from wordfreq's lists by ``bench/build_segment_data.py``). By
Zipf's law a word of rank r has probability about 1 / (r ln N), so the most probable split
is the one with the least summed ``ln(r ln N)``, found by dynamic programming. A run is
split only when every piece is a known word and the split is more probable than the run
as one word; otherwise it is left whole. The list is loaded on first use (cold start).
"""

from __future__ import annotations

import math
from functools import lru_cache

MIN_RUN = 5  # shorter runs are words or abbreviations (#aap, #bjp)
MAX_WORD = 20
# Every extra word costs this much (nats), so that rare short words do not chop a long one:
# gujarat files, not gujar at files.
WORD_PENALTY = 4.0
# Short pieces only from the commonest words: a 2-letter piece in the first 300, a
# 3-letter one in the first 3,000 (demonetisation stays whole, not demo net is ati on).
SHORT_RANKS = {1: 0, 2: 300, 3: 3000}


class _Model:
    rank: dict[str, int] = {}  # noqa: RUF012 (filled once)
    log_n = 0.0
    loaded = False


def _model() -> dict[str, int]:
    if not _Model.loaded:
        from chalicelib.domain.segment_data import WORDS

        words = WORDS.split()
        # Ranks only (a zip builds this in a few ms); costs are worked out per lookup.
        _Model.rank = dict(zip(words, range(len(words)), strict=True))
        _Model.log_n = math.log(len(words))
        _Model.loaded = True
    return _Model.rank


def _cost(word: str, rank: dict[str, int]) -> float | None:
    r = rank.get(word)
    if r is None or r >= SHORT_RANKS.get(len(word), r + 1):
        return None
    return math.log((r + 1) * _Model.log_n) + WORD_PENALTY


@lru_cache(maxsize=1 << 14)
def segment(run: str) -> tuple[str, ...] | None:
    """The words of a lower-case ASCII run, or None when it is one word or cannot be split."""
    n = len(run)
    if n < MIN_RUN or not (run.isascii() and run.isalpha() and run.islower()):
        return None
    rank = _model()
    # best[i]: (least cost of run[:i], start of its last word)
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * n
    for i in range(1, n + 1):
        for j in range(max(0, i - MAX_WORD), i):
            c = _cost(run[j:i], rank)
            if c is not None and best[j][0] + c < best[i][0]:
                best[i] = (best[j][0] + c, j)
    if best[n][0] == math.inf:
        return None
    words: list[str] = []
    i = n
    while i > 0:
        j = best[i][1]
        words.append(run[j:i])
        i = j
    words.reverse()
    return tuple(words) if len(words) > 1 else None
