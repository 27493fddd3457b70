"""All enabled keyword queries compiled into one matcher: term lookup + boolean evaluation.

A post is scanned once into tokens (``text.scan``) seen as two streams of space-separated
words: folded, and romanized key (for ``variants``); ``exact`` terms are found in the
folded stream and then compared with the tokens as written. Every term becomes a pattern
`` w1 w2 `` whose surrounding spaces are the word boundaries (a wildcard drops the trailing
one). Patterns are word-aligned, so their occurrences, overlapping ones included, are found
by looking tokens up in a memoized table of first words (``token_index``); a post without
hashtags is looked up by its raw tokens, unfolded. One Aho–Corasick automaton per joined
stream, mapping a match back to token indices by counting spaces, finds the same
occurrences: it serves matchers built around another multi-pattern searcher (the bench's
``regex`` baseline) and is the yardstick in the tests.
A query is evaluated only when a term of its smallest necessary group was found (for
``(a OR b OR c) AND (d OR e)`` that is ``d OR e``); the parser rejects queries that could
match without any term, which is what makes that shortcut exact. A query's outcome is
memoized per set of its terms found (``_Plan``); only a NEAR whose sides both occur, or a
field filter, walks the tree for the post.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress, islice, product
from typing import Any, cast

import ahocorasick

from chalicelib.domain.keywords import parser as p
from chalicelib.domain.keywords.model import KeywordQuery, QueryMatch
from chalicelib.domain.keywords.token_index import (
    RawIndex,
    RawStarts,
    Starts,
    StreamIndex,
    build_indexes,
    continues,
)
from chalicelib.domain.text import Scanned, fill_forms, split_tokens, word_forms
from chalicelib.domain.transliterate import (
    DEVANAGARI_MARK,
    OPAQUE_MARK,
    has_devanagari,
    roman_key,
    same_word_spellings,
)
from chalicelib.errors import FieldProblem, QuerySyntaxError

# Romanized keys this short collide with the commonest words (zee -> ji, in -> ई), so a
# one-word term gets variants only from 3 letters (or when listed in SHORT_VARIANTS, keys
# spellings of words that nothing else is written as), a wildcard prefix only from 4.
MIN_ROMAN_WORD = 3
MIN_ROMAN_PREFIX = 4
SHORT_VARIANTS = frozenset({"ji", "jee", "जी", "hoon", "hun", "हूं", "wo", "woh", "vo", "वो"})
MAX_SPELLINGS = 8
MAX_NEAR_PAIRS = 4096

STREAM_FOLDED = 0
STREAM_ROMAN = 1

Part = tuple[str, int, int]  # (term as written, first token, end token)
Occurrence = tuple[int, int, tuple[Part, ...]]  # (first word position, last, parts)
Alternative = tuple[int, tuple[str, ...]]  # (stream, words); a wildcard's last is a prefix


# An exact term is found by its folded pattern, then its tokens' exact forms are compared:
# that saves a third pass over every post for the few exact queries.
Check = tuple[tuple[str, ...], bool]


@dataclass(frozen=True)
class TermSpec:
    """What one term looks for: its patterns per stream, and an exact-form check if any."""

    patterns: tuple[tuple[int, str], ...]
    check: Check | None = None


@lru_cache(maxsize=1 << 15)
def term_alternatives(term: p.Term) -> tuple[Alternative, ...]:
    """The token runs a term matches when its query allows variants.

    Devanagari words match Devanagari words only by their folded form or a curated spelling
    of the same word (``transliterate.SAME_WORD_GROUPS``); their match key reaches romanized
    words. Romanized words reach romanized words and, through the Devanagari-marked key,
    Devanagari words. A phrase matches in one script at a time.
    """
    tag = "#" if term.kind == "hashtag" else ""
    folds = [f[len(tag) :] for f in term.folds]
    keys = [k[len(tag) :] for k in term.romans]
    deva = [has_devanagari(f) for f in folds]
    alts: list[Alternative] = []
    plain: tuple[Alternative, ...] = ((STREAM_FOLDED, tuple(term.folds)),)
    if term.wildcard or not all(f.isascii() for f in folds):
        spellings = [
            same_word_spellings(f) if d else (f,) for f, d in zip(folds, deva, strict=True)
        ]
        if term.wildcard:
            spellings[-1] = (folds[-1],)
        for combo in islice(product(*spellings), MAX_SPELLINGS):
            alts.append((STREAM_FOLDED, _tagged(tag, combo)))
    if any(k.startswith(OPAQUE_MARK) for k in keys):
        return tuple(alts) or plain
    latin = [k.removeprefix(DEVANAGARI_MARK) for k in keys]
    if term.wildcard:
        latin[-1] = roman_key(folds[-1], final=False)
        if len(latin[-1]) < MIN_ROMAN_PREFIX:
            return tuple(alts) or plain
    elif len(latin) == 1 and len(latin[0]) < MIN_ROMAN_WORD and folds[0] not in SHORT_VARIANTS:
        return tuple(alts) or plain
    alts.append((STREAM_ROMAN, _tagged(tag, tuple(latin))))
    if not any(deva):
        marked = tuple(DEVANAGARI_MARK + k if k.isalpha() else k for k in latin)
        alts.append((STREAM_ROMAN, _tagged(tag, marked)))
    return tuple(alts)


def _tagged(tag: str, words: tuple[str, ...]) -> tuple[str, ...]:
    return (tag + words[0], *words[1:]) if tag else words


def term_patterns(term: p.Term, *, variants: bool, exact: bool) -> TermSpec:
    """The stream patterns of a term under a query's options."""
    tail = "" if term.wildcard else " "
    folded = (STREAM_FOLDED, " " + " ".join(term.folds) + tail)
    if exact and term.kind != "handle":
        return TermSpec((folded,), (term.exacts, term.wildcard))
    if not variants or term.kind == "handle":
        return TermSpec((folded,))
    alts = term_alternatives(term)
    return TermSpec(tuple(dict.fromkeys((s, " " + " ".join(w) + tail) for s, w in alts)))


def _exact_at(exacts: Sequence[str], i: int, check: Check) -> bool:
    words, wildcard = check
    k = len(words)
    seg = tuple(exacts[i : i + k])
    if not wildcard:
        return seg == words
    return seg[:-1] == words[:-1] and seg[-1].startswith(words[-1])


class _Ctx:
    __slots__ = ("author", "hits", "lang", "platform", "scanned")

    def __init__(
        self,
        scanned: Scanned,
        hits: dict[int, list[tuple[int, int]]],
        lang: str | None,
        platform: str | None,
        author: str | None,
    ) -> None:
        self.scanned = scanned
        self.hits = hits
        self.lang = lang.casefold() if lang else None
        self.platform = platform.casefold() if platform else None
        self.author = author.casefold().lstrip("@") if author else None


class _Node:
    """An evaluable node: ``ev`` gives the parts that made it true, or None when false."""

    __slots__ = ()

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        raise NotImplementedError

    def occurrences(self, ctx: _Ctx) -> list[Occurrence]:
        raise NotImplementedError


class _TermNode(_Node):
    __slots__ = ("display", "tid")

    def __init__(self, tid: int, display: str) -> None:
        self.tid = tid
        self.display = display

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        found = ctx.hits.get(self.tid)
        if not found:
            return None
        d = self.display
        return [(d, i, j) for i, j in found]

    def occurrences(self, ctx: _Ctx) -> list[Occurrence]:
        found = ctx.hits.get(self.tid)
        if not found:
            return []
        pos = ctx.scanned.position
        d = self.display
        return [(pos(i), pos(j - 1), ((d, i, j),)) for i, j in found]


class _AnyTermNode(_Node):
    """An OR of plain terms, the commonest shape: one loop instead of one call per term."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[int, str]]) -> None:
        self.pairs = pairs

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        hits = ctx.hits
        parts: list[Part] | None = None
        for tid, d in self.pairs:
            found = hits.get(tid)
            if found:
                if parts is None:
                    parts = []
                for i, j in found:
                    parts.append((d, i, j))
        return parts

    def occurrences(self, ctx: _Ctx) -> list[Occurrence]:
        hits = ctx.hits
        pos = ctx.scanned.position
        out: list[Occurrence] = []
        for tid, d in self.pairs:
            found = hits.get(tid)
            if found:
                out.extend([(pos(i), pos(j - 1), ((d, i, j),)) for i, j in found])
        return out


class _FieldNode(_Node):
    __slots__ = ("name", "value")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        return [] if self._holds(ctx) else None

    def _holds(self, ctx: _Ctx) -> bool:
        if self.name == "lang":
            lang = ctx.lang
            return lang is not None and (lang == self.value or lang.startswith(self.value + "-"))
        if self.name == "platform":
            return ctx.platform == self.value
        return ctx.author == self.value


class _NotNode(_Node):
    __slots__ = ("child",)

    def __init__(self, child: _Node) -> None:
        self.child = child

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        return [] if self.child.ev(ctx) is None else None


class _AllTermsNode(_Node):
    """An AND of plain terms: one loop instead of one call per term."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[int, str]]) -> None:
        self.pairs = pairs

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        hits = ctx.hits
        parts: list[Part] = []
        for tid, d in self.pairs:
            found = hits.get(tid)
            if not found:
                return None
            for i, j in found:
                parts.append((d, i, j))
        return parts


class _AndNode(_Node):
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]) -> None:
        # Cheap, selective children first: terms and filters before subtrees.
        self.children = sorted(
            children,
            key=lambda c: not isinstance(c, _TermNode | _AnyTermNode | _AllTermsNode | _FieldNode),
        )

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        parts: list[Part] = []
        for c in self.children:
            got = c.ev(ctx)
            if got is None:
                return None
            parts.extend(got)
        return parts


class _OrNode(_Node):
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]) -> None:
        self.children = children

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        parts: list[Part] | None = None
        for c in self.children:
            got = c.ev(ctx)
            if got is not None:
                if parts is None:
                    parts = []
                parts.extend(got)
        return parts

    def occurrences(self, ctx: _Ctx) -> list[Occurrence]:
        out: list[Occurrence] = []
        for c in self.children:
            out.extend(c.occurrences(ctx))
        return out


class _NearNode(_Node):
    __slots__ = ("distance", "left", "right")

    def __init__(self, left: _Node, right: _Node, distance: int) -> None:
        self.left = left
        self.right = right
        self.distance = distance

    def ev(self, ctx: _Ctx) -> list[Part] | None:
        occ = self.occurrences(ctx)
        if not occ:
            return None
        return [part for _, _, parts in occ for part in parts]

    def occurrences(self, ctx: _Ctx) -> list[Occurrence]:
        left = self.left.occurrences(ctx)
        if not left:
            return []
        right = self.right.occurrences(ctx)
        out: list[Occurrence] = []
        n = self.distance
        for ls, le, lp in left:
            for rs, re_, rp in right:
                if rs > le:
                    gap = rs - le - 1
                elif ls > re_:
                    gap = ls - re_ - 1
                else:
                    continue  # the same words cannot be both sides
                if gap <= n:
                    out.append((min(ls, rs), max(le, re_), lp + rp))
                    if len(out) >= MAX_NEAR_PAIRS:
                        return out
        return out


# The terms whose hits make a true query's parts, in evaluation order (repeats kept).
Reached = tuple[tuple[int, str], ...]
# What ``_Plan.reached`` answers when only the tree can tell (a NEAR that may hold needs
# token positions; a field filter needs the post's metadata); compared by identity.
NEEDS_EV: Reached = ((-1, ""),)
UNSEEN: Reached = ((-2, ""),)  # not in a plan's memo yet
PLAN_MEMO_LIMIT = 1024


class _NeedsTree(Exception):
    """Raised by ``_reach`` where the set of terms hit does not decide the outcome."""


class _Plan:
    """One query's outcome as a function of which of its terms hit.

    Apart from NEAR and field filters, whether a query holds and which of its terms give
    its parts depend only on the set of its terms found, not on where. Posts share those
    sets, so the tree is walked once per set and the answer memoized: after warm-up a
    candidate query costs a C-level set intersection and one dict probe.
    """

    __slots__ = ("memo", "root", "tids")

    def __init__(self, root: _Node) -> None:
        self.root = root
        self.tids = frozenset(_term_ids(root))
        self.memo: dict[frozenset[int], Reached | None] = {}

    def reached(self, hits: dict[int, list[tuple[int, int]]]) -> Reached | None:
        """The (term id, display) pairs whose spans are the query's parts in this post,
        None when the query does not hold, ``NEEDS_EV`` when only ``ev`` can tell."""
        present = self.tids.intersection(hits)
        memo = self.memo
        try:
            return memo[present]
        except KeyError:
            pass
        got: Reached | None
        try:
            found = _reach(self.root, present)
            got = None if found is None else tuple(found)
        except _NeedsTree:
            got = NEEDS_EV
        if len(memo) >= PLAN_MEMO_LIMIT:
            memo.clear()  # bounded like the token memo; sets of hits repeat, so it refills
        memo[present] = got
        return got


def _term_ids(node: _Node) -> set[int]:
    if isinstance(node, _TermNode):
        return {node.tid}
    if isinstance(node, _AnyTermNode | _AllTermsNode):
        return {tid for tid, _ in node.pairs}
    children: list[_Node] = (
        [node.child]
        if isinstance(node, _NotNode)
        else [node.left, node.right]
        if isinstance(node, _NearNode)
        else node.children
        if isinstance(node, _AndNode | _OrNode)
        else []
    )
    return set().union(*map(_term_ids, children))


def _reach(node: _Node, present: frozenset[int]) -> list[tuple[int, str]] | None:
    """``node.ev`` decided from the terms present alone: the (term id, display) pairs whose
    hits ``ev`` would list, in its order, or None when false; ``_NeedsTree`` otherwise."""
    if isinstance(node, _TermNode):
        return [(node.tid, node.display)] if node.tid in present else None
    if isinstance(node, _AnyTermNode):
        return [pair for pair in node.pairs if pair[0] in present] or None
    if isinstance(node, _AllTermsNode):
        return list(node.pairs) if all(tid in present for tid, _ in node.pairs) else None
    if isinstance(node, _NotNode):
        return [] if _reach(node.child, present) is None else None
    if isinstance(node, _AndNode):
        parts: list[tuple[int, str]] = []
        for c in node.children:
            got = _reach(c, present)
            if got is None:
                return None
            parts.extend(got)
        return parts
    if isinstance(node, _OrNode):
        either: list[tuple[int, str]] | None = None
        for c in node.children:
            got = _reach(c, present)
            if got is not None:
                either = (either or []) + got
        return either
    if isinstance(node, _NearNode):
        # False when a side cannot occur at all; otherwise the positions decide.
        if _may_occur(node.left, present) and _may_occur(node.right, present):
            raise _NeedsTree
        return None
    raise _NeedsTree  # field filters read the post's metadata


def _may_occur(node: _Node, present: frozenset[int]) -> bool:
    """False only when ``node.occurrences`` is surely empty for these terms."""
    if isinstance(node, _TermNode):
        return node.tid in present
    if isinstance(node, _AnyTermNode):
        return any(tid in present for tid, _ in node.pairs)
    if isinstance(node, _OrNode):
        return any(_may_occur(c, present) for c in node.children)
    return True


@dataclass(frozen=True)
class CompiledQuery:
    """One query ready to evaluate."""

    index: int
    query: KeywordQuery
    root: _Node


@dataclass
class Matcher:
    """All enabled queries compiled together; ``rejected`` holds queries that did not parse."""

    queries: list[CompiledQuery] = field(default_factory=list)
    automata: dict[int, Any] = field(default_factory=dict)
    term_queries: list[tuple[int, ...]] = field(default_factory=list)
    rejected: dict[str, QuerySyntaxError] = field(default_factory=dict)
    n_patterns: int = 0
    # Per stream, the same patterns looked up token by token (``token_index``); when empty
    # (a matcher built around other multi-pattern searchers) the streams are scanned whole.
    indexes: dict[int, StreamIndex] = field(default_factory=dict)
    _evaluators: list[tuple[str, Callable[[_Ctx], list[Part] | None]]] = field(
        init=False, repr=False, default_factory=list
    )
    _raw_index: RawIndex | None = field(init=False, repr=False, default=None)
    _plans: list[_Plan] = field(init=False, repr=False, default_factory=list)

    def __post_init__(self) -> None:
        self._evaluators = [(cq.query.id, cq.root.ev) for cq in self.queries]
        self._raw_index = RawIndex(word_forms, self.indexes) if self.indexes else None
        self._plans = [_Plan(cq.root) for cq in self.queries]

    def match(
        self,
        text: str,
        *,
        lang: str | None = None,
        platform: str | None = None,
        author: str | None = None,
    ) -> list[QueryMatch]:
        """Every query matching ``text``, in compile order, with spans in ``text``."""
        if not self.queries:
            return []
        sc = split_tokens(text)
        if not sc.raws:
            return []
        hits = self._raw_hits(sc) if self._raw_index is not None and sc.plain else None
        if hits is None:
            fill_forms(sc)
            if not sc.folds:
                return []
            hits = self._token_hits(sc) if self.indexes else self._stream_hits(sc)
        if not hits:
            return []
        candidates: set[int] = set().union(*map(self.term_queries.__getitem__, hits))
        ctx: _Ctx | None = None
        out: list[QueryMatch] = []
        evaluators = self._evaluators
        plans = self._plans
        starts: list[int] = []
        ends: list[int] = []
        for qi in sorted(candidates):
            query_id, ev = evaluators[qi]
            plan = plans[qi]
            # ``_Plan.reached`` inlined for a memo hit, the common case: no call per query.
            reached = plan.memo.get(plan.tids.intersection(hits), UNSEEN)
            if reached is UNSEEN:
                reached = plan.reached(hits)
            if reached is NEEDS_EV:
                if ctx is None:
                    ctx = _Ctx(sc, hits, lang, platform, author)
                parts = ev(ctx)
                if not parts:
                    continue
            elif not reached:
                continue
            elif len(reached) == 1:
                # The commonest results, one term found once or more: no parts list.
                if not starts:
                    starts, ends = sc.starts, sc.ends
                found = hits[reached[0][0]]
                if len(found) == 1:
                    i, j = found[0]
                    spans: tuple[tuple[int, int], ...] = ((starts[i], ends[j - 1]),)
                else:  # both streams may report the same span
                    spans = tuple(sorted({(starts[i], ends[j - 1]) for i, j in found}))
                out.append(_new_match(query_id, (reached[0][1],), spans))
                continue
            else:
                parts = [(d, i, j) for tid, d in reached for i, j in hits[tid]]
            if not starts:
                starts, ends = sc.starts, sc.ends
            if len(parts) == 1:  # the commonest result: one term found once
                d, i, j = parts[0]
                out.append(_new_match(query_id, (d,), ((starts[i], ends[j - 1]),)))
            else:
                out.append(_query_match(query_id, parts, starts, ends))
        return out

    def _raw_hits(self, sc: Scanned) -> dict[int, list[tuple[int, int]]] | None:
        """Term hits of a post without hashtags, found from its raw tokens (``RawIndex``)
        without folding the whole post; None when a token folds away or splits."""
        assert self._raw_index is not None
        raws = sc.raws
        found = cast("list[RawStarts]", list(map(self._raw_index.__getitem__, raws)))
        hits: dict[int, list[tuple[int, int]]] = {}
        exacts: list[str] | None = None
        for i in compress(range(len(found)), found):
            simple, others = found[i]
            if simple is None:
                return None  # IRREGULAR: the token positions would shift
            if simple:
                span = (i, i + 1)
                for tid in simple:
                    got = hits.get(tid)
                    if got is None:
                        hits[tid] = [span]
                    else:
                        got.append(span)
            for stream_id, (rest, wildcard, ntok, tids, checked) in others:
                if rest and not _raw_continues(raws, stream_id, i, rest, wildcard):
                    continue
                span = (i, i + ntok)
                if checked:
                    if exacts is None:
                        exacts = [word_forms(r)[2] for r in raws]
                    tids = tids + tuple(t for t, c in checked if _exact_at(exacts, i, c))
                for tid in tids:
                    got = hits.get(tid)
                    if got is None:
                        hits[tid] = [span]
                    else:
                        got.append(span)
        return hits

    def _token_hits(self, sc: Scanned) -> dict[int, list[tuple[int, int]]]:
        """Term hits as token spans, found by looking every token up (``token_index``)."""
        hits: dict[int, list[tuple[int, int]]] = {}
        for stream_id, index in self.indexes.items():
            tokens = sc.folds if stream_id == STREAM_FOLDED else sc.romans
            # One C-level pass of memo lookups (new tokens are filled in by the index); Python
            # only visits the tokens that start a pattern (``compress`` skips the empty ones).
            found = cast("list[Starts]", list(map(index.__getitem__, tokens)))
            for i in compress(range(len(found)), found):
                simple, others = found[i]
                if simple:
                    span = (i, i + 1)
                    for tid in simple:
                        got = hits.get(tid)
                        if got is None:
                            hits[tid] = [span]
                        else:
                            got.append(span)
                for rest, wildcard, ntok, tids, checked in others:
                    if rest and not continues(tokens, i, rest, wildcard):
                        continue
                    span = (i, i + ntok)
                    if checked:
                        tids = tids + tuple(t for t, c in checked if _exact_at(sc.exacts, i, c))
                    for tid in tids:
                        got = hits.get(tid)
                        if got is None:
                            hits[tid] = [span]
                        else:
                            got.append(span)
        return hits

    def _stream_hits(self, sc: Scanned) -> dict[int, list[tuple[int, int]]]:
        """Term hits as token spans, found by one multi-pattern pass over each joined stream."""
        hits: dict[int, list[tuple[int, int]]] = {}
        for stream_id, automaton in self.automata.items():
            forms = sc.folds if stream_id == STREAM_FOLDED else sc.romans
            stream = " " + " ".join(forms) + " "
            # Token index = spaces before the match; counting is cheapest for post-sized
            # text, a bisect over space positions keeps huge texts linear.
            index = _space_counter(stream)
            for end, (plen, ntok, tids, checked) in automaton.iter(stream):
                i = index(" ", 0, end - plen + 1)
                span = (i, i + ntok)
                if checked:
                    tids = tids + tuple(t for t, c in checked if _exact_at(sc.exacts, i, c))
                for tid in tids:
                    got = hits.get(tid)
                    if got is None:
                        hits[tid] = [span]
                    else:
                        got.append(span)
        return hits


def _raw_continues(
    raws: list[str], stream_id: int, i: int, rest: tuple[str, ...], wildcard: bool
) -> bool:
    """``continues`` over raw tokens, folding only the few after ``i`` that it compares
    (``word_forms`` gives (folded, romanized, exact), in stream order)."""
    k = len(rest)
    if i + k >= len(raws):
        return False
    last = k - 1
    for n, word in enumerate(rest):
        token = word_forms(raws[i + 1 + n])[stream_id]
        if token != word and not (wildcard and n == last and token.startswith(word)):
            return False
    return True


LONG_STREAM = 4096


def _space_counter(stream: str) -> Callable[[str, int, int], int]:
    """``count(" ", 0, pos)`` for ``stream``, in O(log n) per call when the stream is long."""
    if len(stream) < LONG_STREAM:
        return stream.count
    spaces = [i for i, ch in enumerate(stream) if ch == " "]

    def spaces_before(_sub: str, _start: int, pos: int) -> int:
        return bisect_left(spaces, pos)

    return spaces_before


# ``QueryMatch`` is frozen, so its ``__init__`` sets each field through
# ``object.__setattr__``; results are built by the ten thousand per second, so the matcher
# fills the slots directly: the same object at half the cost.
_SET_QUERY_ID, _SET_TERMS, _SET_SPANS = (
    vars(QueryMatch)[name].__set__ for name in ("query_id", "terms", "spans")
)


def _new_match(
    query_id: str, terms: tuple[str, ...], spans: tuple[tuple[int, int], ...]
) -> QueryMatch:
    m: QueryMatch = object.__new__(QueryMatch)
    _SET_QUERY_ID(m, query_id)
    _SET_TERMS(m, terms)
    _SET_SPANS(m, spans)
    return m


def _query_match(
    query_id: str, parts: list[Part], starts: list[int], ends: list[int]
) -> QueryMatch:
    if len(parts) == 1:
        d, i, j = parts[0]
        return _new_match(query_id, (d,), ((starts[i], ends[j - 1]),))
    # Sorted by span then term: equal spans are neighbours, terms come in order of appearance.
    found = sorted([(starts[i], ends[j - 1], d) for d, i, j in parts])
    spans: list[tuple[int, int]] = []
    terms: list[str] = []
    last = (-1, -1)
    for s, e, d in found:
        if (s, e) != last:
            last = (s, e)
            spans.append(last)
        if d not in terms:
            terms.append(d)
    return _new_match(query_id, tuple(terms), tuple(spans))


class _Builder:
    def __init__(self) -> None:
        self.term_ids: dict[TermSpec, int] = {}
        self.term_queries: list[set[int]] = []

    def node(self, n: p.Node, qi: int, q: KeywordQuery) -> _Node:
        if isinstance(n, p.Term):
            spec = term_patterns(n, variants=q.variants, exact=q.exact)
            tid = self.term_ids.get(spec)
            if tid is None:
                tid = len(self.term_queries)
                self.term_ids[spec] = tid
                self.term_queries.append(set())
            return _TermNode(tid, n.display)
        if isinstance(n, p.Field):
            return _FieldNode(n.name, n.value)
        if isinstance(n, p.Not):
            return _NotNode(self.node(n.child, qi, q))
        if isinstance(n, p.And):
            and_children = [self.node(c, qi, q) for c in n.children]
            terms = [c for c in and_children if isinstance(c, _TermNode)]
            if len(terms) == len(and_children):
                return _AllTermsNode([(c.tid, c.display) for c in terms])
            return _AndNode(and_children)
        if isinstance(n, p.Or):
            children = [self.node(c, qi, q) for c in n.children]
            flat: list[tuple[int, str]] = []
            for c in children:
                if isinstance(c, _TermNode):
                    flat.append((c.tid, c.display))
                elif isinstance(c, _AnyTermNode):
                    flat.extend(c.pairs)
                else:
                    return _OrNode(_merge_term_runs(children))
            return _AnyTermNode(flat)
        return _NearNode(self.node(n.left, qi, q), self.node(n.right, qi, q), n.distance)

    def register(self, root: _Node, qi: int) -> None:
        """Make the query a candidate only when a term of its smallest necessary group hits."""
        groups = _necessary(root)
        assert groups, "parser guarantees an anchored query"
        for tid in min(groups, key=len):
            self.term_queries[tid].add(qi)


def _merge_term_runs(children: list[_Node]) -> list[_Node]:
    """An OR's neighbouring plain terms as one ``_AnyTermNode`` (fewer calls, same parts in
    the same order)."""
    out: list[_Node] = []
    for c in children:
        pairs = (
            [(c.tid, c.display)]
            if isinstance(c, _TermNode)
            else c.pairs
            if isinstance(c, _AnyTermNode)
            else None
        )
        if pairs is None:
            out.append(c)
        elif out and isinstance(out[-1], _AnyTermNode):
            out[-1] = _AnyTermNode(out[-1].pairs + pairs)
        else:
            out.append(_AnyTermNode(list(pairs)))
    return out


def _necessary(node: _Node) -> list[frozenset[int]]:
    """Groups of terms such that the node can only be true if each group has a hit.

    A query is then evaluated only for posts that hit its smallest group: an AND of two
    OR-lists waits for its shorter list, instead of waking up on any of its terms.
    """
    if isinstance(node, _TermNode):
        return [frozenset((node.tid,))]
    if isinstance(node, _AnyTermNode):
        return [frozenset(tid for tid, _ in node.pairs)]
    if isinstance(node, _AllTermsNode):
        return [frozenset((tid,)) for tid, _ in node.pairs]
    if isinstance(node, _AndNode):
        return [g for c in node.children for g in _necessary(c)]
    if isinstance(node, _NearNode):
        return _necessary(node.left) + _necessary(node.right)
    if isinstance(node, _OrNode):
        union: set[int] = set()
        for c in node.children:
            groups = _necessary(c)
            if not groups:
                return []
            union |= min(groups, key=len)
        return [frozenset(union)]
    return []  # NOT and field filters require no term


def parse_query(q: KeywordQuery) -> p.Node:
    """Parse one saved query; the error names the query id as well as the column."""
    try:
        return p.parse(q.query)
    except QuerySyntaxError as err:
        raise QuerySyntaxError(
            f"query {q.id}: {err.detail}",
            [FieldProblem(f"queries/{q.id}/query", err.detail)],
            column=err.column,
        ) from err


def compile_queries(queries: Iterable[KeywordQuery], *, strict: bool = False) -> Matcher:
    """Compile every enabled query into one matcher.

    A query that does not parse is skipped and kept in ``Matcher.rejected`` (one bad query
    must not stop the others), or raised when ``strict``.
    """
    builder = _Builder()
    compiled: list[CompiledQuery] = []
    rejected: dict[str, QuerySyntaxError] = {}
    for q in queries:
        if not q.enabled:
            continue
        try:
            tree = parse_query(q)
        except QuerySyntaxError as err:
            if strict:
                raise
            rejected[q.id] = err
            continue
        root = builder.node(tree, len(compiled), q)
        builder.register(root, len(compiled))
        compiled.append(CompiledQuery(len(compiled), q, root))
    plain: dict[tuple[int, str], list[int]] = {}
    checked: dict[tuple[int, str], list[tuple[int, Check]]] = {}
    for spec, tid in builder.term_ids.items():
        for key in spec.patterns:
            plain.setdefault(key, [])
            checked.setdefault(key, [])
            if spec.check is None:
                plain[key].append(tid)
            else:
                checked[key].append((tid, spec.check))
    tables: dict[int, dict[str, tuple[Any, ...]]] = {}
    for (stream_id, pattern), tids in plain.items():
        ntok = pattern.count(" ") - (1 if pattern.endswith(" ") else 0)
        value = (len(pattern), ntok, tuple(tids), tuple(checked[stream_id, pattern]))
        tables.setdefault(stream_id, {})[pattern] = value
    automata: dict[int, Any] = {}
    for stream_id, table in sorted(tables.items()):
        automaton = automata[stream_id] = ahocorasick.Automaton()
        for pattern, value in table.items():
            automaton.add_word(pattern, value)
        automaton.make_automaton()
    return Matcher(
        compiled,
        automata,
        [tuple(sorted(s)) for s in builder.term_queries],
        rejected,
        len(plain),
        build_indexes(dict(sorted(tables.items()))),
    )


class MatcherCache:
    """Keeps one compiled matcher per container, rebuilt only when the query set changes."""

    def __init__(self) -> None:
        self._version: str | None = None
        self._matcher: Matcher | None = None
        self.builds = 0

    def get(self, version: str, load: Callable[[], Iterable[KeywordQuery]]) -> Matcher:
        """The matcher for ``version``; ``load`` is called only when the version changed."""
        if self._matcher is None or version != self._version:
            self._matcher = compile_queries(load())
            self._version = version
            self.builds += 1
        return self._matcher
