"""Which parts of a post to highlight: the spans the keyword queries matched, merged."""

from __future__ import annotations

from collections.abc import Iterable


def highlight_segments(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, matched) runs; overlapping or touching spans merge.

    Spans outside the text are clipped; empty or inverted spans are ignored, so a stale span
    (say, from a post edited since) can never raise or cut a character in half.
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in merged:
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out
