"""A slow, obviously-correct matcher: the yardstick for the compiled engine.

It walks the token lists directly (no automaton, no streams, no shared term ids) and
evaluates each query's tree on its own. Tests and ``bench/keywords.py`` check that both
matchers give identical results; it is far too slow for production.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from chalicelib.domain.keywords import parser as p
from chalicelib.domain.keywords.engine import STREAM_FOLDED, term_alternatives
from chalicelib.domain.keywords.model import KeywordQuery, QueryMatch
from chalicelib.domain.text import Scanned, scan
from chalicelib.errors import QuerySyntaxError

Found = tuple[str, int, int]  # (term as written, first token, end token)


def _runs(seq: Sequence[str], words: list[str], wildcard: bool) -> set[tuple[int, int]]:
    tokens = list(seq)
    k = len(words)
    out: set[tuple[int, int]] = set()
    if k > 1 and words[0] not in tokens:
        return out
    if not wildcard and words[-1] not in tokens:
        return out
    for i in range(len(tokens) - k + 1):
        if tokens[i : i + k - 1] != words[:-1]:
            continue
        last = tokens[i + k - 1]
        if last == words[-1] or (wildcard and last.startswith(words[-1])):
            out.add((i, i + k))
    return out


def _term_runs(t: p.Term, q: KeywordQuery, sc: Scanned) -> set[tuple[int, int]]:
    if q.exact and t.kind != "handle":
        return _runs(sc.exacts, list(t.exacts), t.wildcard)
    found = _runs(sc.folds, list(t.folds), t.wildcard)
    if q.variants and t.kind != "handle":
        for stream, words in term_alternatives(t):
            tokens = sc.folds if stream == STREAM_FOLDED else sc.romans
            found |= _runs(tokens, list(words), t.wildcard)
    return found


class _Eval:
    def __init__(
        self,
        q: KeywordQuery,
        sc: Scanned,
        lang: str | None,
        platform: str | None,
        author: str | None,
    ) -> None:
        self.q = q
        self.sc = sc
        self.lang = (lang or "").casefold()
        self.platform = (platform or "").casefold()
        self.author = (author or "").casefold().lstrip("@")

    def truth(self, n: p.Node) -> tuple[bool, list[Found]]:
        if isinstance(n, p.Term):
            runs = _term_runs(n, self.q, self.sc)
            return bool(runs), [(n.display, i, j) for i, j in runs]
        if isinstance(n, p.Field):
            if n.name == "lang":
                ok = bool(self.lang) and n.value in (self.lang, self.lang.split("-")[0])
            elif n.name == "platform":
                ok = bool(self.platform) and self.platform == n.value
            else:
                ok = bool(self.author) and self.author == n.value
            return ok, []
        if isinstance(n, p.Not):
            return not self.truth(n.child)[0], []
        if isinstance(n, p.And):
            found: list[Found] = []
            for c in n.children:
                ok, got = self.truth(c)
                if not ok:
                    return False, []
                found += got
            return True, found
        if isinstance(n, p.Or):
            results = [self.truth(c) for c in n.children]
            return any(ok for ok, _ in results), [f for ok, got in results if ok for f in got]
        occ = self.occurrences(n)
        return bool(occ), [f for _, _, fs in occ for f in fs]

    def occurrences(self, n: p.Node) -> list[tuple[int, int, list[Found]]]:
        if isinstance(n, p.Term):
            return [
                (self.sc.position(i), self.sc.position(j - 1), [(n.display, i, j)])
                for i, j in _term_runs(n, self.q, self.sc)
            ]
        if isinstance(n, p.Or):
            return [o for c in n.children for o in self.occurrences(c)]
        assert isinstance(n, p.Near)
        out = []
        for ls, le, lf in self.occurrences(n.left):
            for rs, re_, rf in self.occurrences(n.right):
                disjoint = rs > le or ls > re_
                gap = rs - le - 1 if rs > le else ls - re_ - 1
                if disjoint and gap <= n.distance:
                    out.append((min(ls, rs), max(le, re_), lf + rf))
        return out


@lru_cache(maxsize=1 << 14)
def _parse(query: str) -> p.Node | None:
    try:
        return p.parse(query)
    except QuerySyntaxError:
        return None


def reference_match(
    queries: Iterable[KeywordQuery],
    text: str,
    *,
    lang: str | None = None,
    platform: str | None = None,
    author: str | None = None,
) -> list[QueryMatch]:
    """What ``compile_queries(queries).match(text, ...)`` must return, computed slowly."""
    sc = scan(text)
    out: list[QueryMatch] = []
    for q in queries:
        if not q.enabled:
            continue
        tree = _parse(q.query)
        if tree is None:
            continue
        ok, found = _Eval(q, sc, lang, platform, author).truth(tree)
        if not ok or not found:
            continue
        first: dict[str, tuple[int, int]] = {}
        spans = set()
        for display, i, j in found:
            span = (sc.starts[i], sc.ends[j - 1])
            spans.add(span)
            if display not in first or span < first[display]:
                first[display] = span
        terms = tuple(sorted(first, key=lambda d: (first[d], d)))
        out.append(QueryMatch(q.id, terms, tuple(sorted(spans))))
    return out
