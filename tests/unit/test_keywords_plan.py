"""A query's memoized plan (``engine._Plan``) answers exactly what walking its tree answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.keywords import KeywordQuery, compile_queries
from chalicelib.domain.keywords.engine import NEEDS_EV, PLAN_MEMO_LIMIT, Matcher, _Ctx, _Plan
from chalicelib.domain.keywords.reference import reference_match
from chalicelib.domain.text import scan
from tests.unit.test_keywords_match import _QUERY, POSTS

_FIELD = st.sampled_from(["lang:hi", "lang:en", "platform:x", "author:modi"])
# Queries with field filters too: the plan must leave those to the tree.
_FILTERED = st.one_of(
    _QUERY,
    st.tuples(_QUERY, _FIELD).map(lambda t: f"({t[0]}) AND {t[1]}"),
    st.tuples(_QUERY, _FIELD).map(lambda t: f"({t[0]}) NOT {t[1]}"),
)


def _hits(m: Matcher, text: str) -> tuple[dict[int, list[tuple[int, int]]], object]:
    sc = scan(text)
    return (m._token_hits(sc) if sc.folds else {}), sc


@settings(max_examples=150, deadline=None)
@given(
    queries=st.lists(st.tuples(_FILTERED, st.booleans()), min_size=1, max_size=5).map(
        lambda qs: [KeywordQuery(f"q{i}", q, variants=v) for i, (q, v) in enumerate(qs)]
    ),
    data=st.data(),
    lang=st.sampled_from([None, "hi", "en"]),
)
def test_the_plan_gives_the_parts_the_tree_gives(
    queries: list[KeywordQuery], data: st.DataObject, lang: str | None
) -> None:
    # Posts made of the queries' own words, so that terms and their exclusions co-occur.
    words = sorted(
        {w.strip('()"*') for q in queries for w in q.query.split() if not w.isupper()} - {""}
    ) or ["modi"]
    text = data.draw(
        st.one_of(
            st.lists(st.sampled_from(words), max_size=12).map(" ".join),
            st.sampled_from(sorted(POSTS.values())),
        )
    )
    m = compile_queries(queries)
    hits, sc = _hits(m, text)
    ctx = _Ctx(sc, hits, lang, "x", "modi")  # type: ignore[arg-type]
    for cq in m.queries:
        plan = _Plan(cq.root)
        for _ in range(2):  # the second answer comes from the memo
            reached = plan.reached(hits)
            if reached is NEEDS_EV:
                continue
            want = cq.root.ev(ctx)
            if reached is None:
                assert want is None
            else:
                assert want == [(d, i, j) for tid, d in reached for i, j in hits[tid]]
    assert m.match(text, lang=lang) == reference_match(queries, text, lang=lang)


def _terms_of(node: object) -> dict[str, int]:
    """Term as written -> term id, over a compiled query tree."""
    out: dict[str, int] = {}
    if hasattr(node, "tid"):
        out[node.display] = node.tid  # type: ignore[attr-defined]
    for tid, display in getattr(node, "pairs", ()):
        out[display] = tid
    children = [getattr(node, a) for a in ("child", "left", "right") if hasattr(node, a)]
    for child in [*children, *getattr(node, "children", ())]:
        out.update(_terms_of(child))
    return out


def _plan_of(query: str) -> tuple[_Plan, dict[str, int]]:
    m = compile_queries([KeywordQuery("q", query, variants=False)], strict=True)
    (cq,) = m.queries
    return _Plan(cq.root), _terms_of(cq.root)


@pytest.mark.parametrize(
    ("query", "present", "expected"),
    [
        ("modi OR rahul OR kejriwal", ["rahul"], [("rahul", "rahul")]),
        ("modi OR rahul OR kejriwal", [], None),
        ("modi AND rahul", ["modi"], None),
        ("modi AND rahul", ["modi", "rahul"], [("modi", "modi"), ("rahul", "rahul")]),
        ("(modi OR rahul) NOT kejriwal", ["modi"], [("modi", "modi")]),
        ("(modi OR rahul) NOT kejriwal", ["modi", "kejriwal"], None),
        # a NEAR whose sides both occur needs the positions; one missing side settles it
        ("modi NEAR/2 rahul", ["modi", "rahul"], NEEDS_EV),
        ("modi NEAR/2 rahul", ["modi"], None),
        ("(modi NEAR/2 rahul) OR kejriwal", ["rahul", "kejriwal"], [("kejriwal", "kejriwal")]),
        # a field filter needs the post's metadata
        ("modi AND lang:hi", ["modi"], NEEDS_EV),
        ("modi AND lang:hi", [], None),
    ],
)
def test_what_the_terms_present_decide(query: str, present: list[str], expected: object) -> None:
    plan, term_ids = _plan_of(query)
    hits = {term_ids[w]: [(0, 1)] for w in present}
    reached = plan.reached(hits)
    if expected is NEEDS_EV or expected is None:
        assert reached is expected
    else:
        names = {tid: w for w, tid in term_ids.items()}
        assert reached is not None and [(names[t], d) for t, d in reached] == expected


def test_the_plan_memo_is_bounded() -> None:
    plan, term_ids = _plan_of(" OR ".join(f"w{n}x" for n in range(12)))
    tids = sorted(term_ids.values())
    for mask in range(1, 1 << 12):
        plan.reached({tid: [(0, 1)] for n, tid in enumerate(tids) if mask >> n & 1})
        assert len(plan.memo) <= PLAN_MEMO_LIMIT
    assert len(plan.memo) < (1 << 12) - 1
