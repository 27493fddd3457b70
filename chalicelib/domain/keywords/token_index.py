"""Finding every term of a post by looking its tokens up, one dictionary probe per token.

Every stream pattern is word-aligned (`` w1 w2 `` with spaces as the word boundaries, a
wildcard's last word a prefix), so a pattern occurs in a stream exactly where its first word
equals a token (or, for a one-word wildcard, is a prefix of it) and its other words equal
the tokens after it. The automaton pass over the joined stream is therefore the same as
looking each token up in a table of first words. What a token starts is memoized per token:
posts share most of their words, so after warm-up a post costs one C-level ``dict`` probe
per token and stream, with no joined string, no automaton walk and no space counting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# (words after the first, last word is a prefix, tokens spanned, term ids, exact checks)
Entry = tuple[tuple[str, ...], bool, int, tuple[int, ...], tuple[tuple[int, Any], ...]]
# What a token starts: the term ids of one-word patterns without an exact check (the
# commonest kind, a hit as soon as the token is seen), and every other pattern.
Starts = tuple[tuple[int, ...], tuple[Entry, ...]]
# The memo forgets everything past this many tokens per stream, so a container that sees
# an endless stream of new words keeps a bounded table (a few MB).
MEMO_LIMIT = 1 << 16


class StreamIndex(dict[str, "Starts | tuple[()]"]):
    """The patterns of one stream, keyed by their first word or one-word prefix.

    The index itself is the memo ``token -> Starts`` (empty tuple when the token starts
    nothing): ``map(index.__getitem__, tokens)`` runs in C and ``__missing__`` fills in
    tokens seen for the first time.
    """

    __slots__ = ("_first", "_lengths", "_prefixes")

    def __init__(self) -> None:
        super().__init__()
        self._first: dict[str, list[Entry]] = {}
        self._prefixes: dict[str, list[Entry]] = {}
        self._lengths: tuple[int, ...] = ()

    def add(self, words: tuple[str, ...], wildcard: bool, value: tuple[Any, ...]) -> None:
        """Register one pattern: its words, whether the last is a prefix, its automaton value."""
        _plen, ntok, tids, checked = value
        entry: Entry = (words[1:], wildcard, ntok, tids, checked)
        if wildcard and len(words) == 1:
            self._prefixes.setdefault(words[0], []).append(entry)
            self._lengths = tuple(sorted({*self._lengths, len(words[0])}))
        else:
            self._first.setdefault(words[0], []).append(entry)
        self.clear()  # the memo was computed without this pattern

    def __missing__(self, token: str) -> Starts | tuple[()]:
        found = list(self._first.get(token, ()))
        for n in self._lengths:
            if n > len(token):
                break
            found.extend(self._prefixes.get(token[:n], ()))
        simple: list[int] = []
        others: list[Entry] = []
        for entry in found:
            rest, _wildcard, _ntok, tids, checked = entry
            if rest or checked:
                others.append(entry)
            else:
                simple.extend(tids)
        if len(self) >= MEMO_LIMIT:
            self.clear()
        got: Starts | tuple[()] = (tuple(simple), tuple(others)) if found else ()
        self[token] = got
        return got


def pattern_words(pattern: str) -> tuple[tuple[str, ...], bool] | None:
    """The words of a stream pattern and whether the last is a prefix; None when the
    pattern is not word-aligned (an empty word), which only the stream path can match."""
    if not pattern.startswith(" "):
        return None
    wildcard = not pattern.endswith(" ")
    body = pattern[1:] if wildcard else pattern[1:-1]
    words = tuple(body.split(" "))
    if not all(words):
        return None
    return words, wildcard


def build_indexes(patterns: Mapping[int, Mapping[str, tuple[Any, ...]]]) -> dict[int, StreamIndex]:
    """One index per stream from ``{stream: {pattern: value}}``; empty if any pattern is
    not word-aligned (then the matcher keeps the automaton pass, which handles anything)."""
    out: dict[int, StreamIndex] = {}
    for stream_id, table in patterns.items():
        index = out[stream_id] = StreamIndex()
        for pattern, value in table.items():
            parsed = pattern_words(pattern)
            if parsed is None:
                return {}
            index.add(parsed[0], parsed[1], value)
    return out


def continues(tokens: Sequence[str], i: int, rest: tuple[str, ...], wildcard: bool) -> bool:
    """Whether the tokens after ``i`` are ``rest`` (the last one only a prefix if wildcard)."""
    k = len(rest)
    if i + k >= len(tokens):
        return False
    if not wildcard:
        return tuple(tokens[i + 1 : i + 1 + k]) == rest
    if k > 1 and tuple(tokens[i + 1 : i + k]) != rest[:-1]:
        return False
    return tokens[i + k].startswith(rest[-1])


# What a raw token starts in either stream: the term ids of its simple one-word patterns
# (both streams together: they span the token alike) and every other pattern with its
# stream. ``IRREGULAR`` (truthy, so a post that holds one always visits it) marks a raw
# token that folds away or splits into several tokens.
RawStarts = tuple[tuple[int, ...] | None, tuple[tuple[int, Entry], ...]]
IRREGULAR: RawStarts = (None, ())


class RawIndex(dict[str, "RawStarts | tuple[()]"]):
    """Raw token (as the tokenizer cut it, unfolded) -> what it starts in both streams.

    For a post without hashtags whose raw tokens each fold to one token, one C-level map
    over the raw tokens finds every pattern start in both streams at once, without
    building the post's folded and romanized token lists (``text.fill_forms``).
    """

    __slots__ = ("_forms", "_streams")

    def __init__(
        self,
        forms: Callable[[str], tuple[str, str, str]],
        streams: Mapping[int, StreamIndex],
    ) -> None:
        super().__init__()
        self._forms = forms
        self._streams = dict(streams)

    def __missing__(self, raw: str) -> RawStarts | tuple[()]:
        forms = self._forms(raw)
        if not forms[0]:
            return IRREGULAR  # not memoized: rare, and the caller takes the general path
        simple: list[int] = []
        others: list[tuple[int, Entry]] = []
        for stream_id, index in self._streams.items():
            starts = index[forms[stream_id]]
            if starts:
                simple.extend(starts[0])
                others.extend((stream_id, entry) for entry in starts[1])
        got: RawStarts | tuple[()] = (tuple(simple), tuple(others)) if simple or others else ()
        if len(self) >= MEMO_LIMIT:
            self.clear()
        self[raw] = got
        return got
