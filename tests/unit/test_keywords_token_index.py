"""The token index finds exactly what the automaton pass over the joined streams finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.keywords import KeywordQuery, compile_queries
from chalicelib.domain.keywords.engine import Matcher
from chalicelib.domain.keywords.token_index import (
    MEMO_LIMIT,
    StreamIndex,
    build_indexes,
    continues,
    pattern_words,
)
from chalicelib.domain.text import scan, split_tokens
from tests.unit.test_keywords_match import _QUERY, _VOCAB, POSTS


def stream_path(m: Matcher) -> Matcher:
    """The same matcher with the automaton pass over joined streams (the previous path)."""
    return Matcher(m.queries, m.automata, m.term_queries, m.rejected, m.n_patterns)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (" modi ", (("modi",), False)),
        (" modi", (("modi",), True)),
        (" note bandi ", (("note", "bandi"), False)),
        (" note band", (("note", "band"), True)),
        (" #novotetobjp ", (("#novotetobjp",), False)),
        (" हिंदी ", (("हिंदी",), False)),
        ("  ", None),  # an empty word: only the stream pass can judge it
        (" a  b ", None),
        ("modi ", None),
    ],
)
def test_pattern_words(pattern: str, expected: tuple[tuple[str, ...], bool] | None) -> None:
    assert pattern_words(pattern) == expected


@pytest.mark.parametrize(
    ("tokens", "i", "rest", "wildcard", "expected"),
    [
        (["a", "b", "c"], 0, ("b",), False, True),
        (["a", "b", "c"], 0, ("b", "c"), False, True),
        (["a", "b", "c"], 0, ("b", "d"), False, False),
        (["a", "b", "c"], 1, ("c", "d"), False, False),  # runs past the end
        (["a", "b", "c"], 2, ("c",), False, False),
        (["a", "bcd"], 0, ("bc",), True, True),
        (["a", "bcd"], 0, ("bd",), True, False),
        (["a", "b", "cde"], 0, ("b", "cd"), True, True),
        (["a", "x", "cde"], 0, ("b", "cd"), True, False),
        (["a"], 0, ("b",), True, False),
    ],
)
def test_continues(
    tokens: list[str], i: int, rest: tuple[str, ...], wildcard: bool, expected: bool
) -> None:
    assert continues(tokens, i, rest, wildcard) is expected


def test_a_token_starts_its_words_prefixes_and_phrases() -> None:
    index = StreamIndex()
    index.add(("modi",), False, (6, 1, (0,), ()))
    index.add(("mod",), True, (4, 1, (1,), ()))
    index.add(("modi", "ji"), False, (9, 2, (2,), ()))
    index.add(("modi",), False, (6, 1, (3,), ((3, (("Modi",), False)),)))
    simple, others = index["modiji"] or ((), ())
    assert simple == (1,) and others == ()
    simple, others = index["modi"] or ((), ())
    assert simple == (0, 1)
    assert [(rest, tids) for rest, _w, _n, tids, _c in others] == [(("ji",), (2,)), ((), (3,))]
    assert index["mo"] == ()
    assert set(index) == {"modiji", "modi", "mo"}  # memoized


def test_the_memo_is_bounded_and_forgets_on_a_new_pattern() -> None:
    index = StreamIndex()
    index.add(("w0",), False, (4, 1, (0,), ()))
    for n in range(MEMO_LIMIT + 10):
        assert (index[f"w{n}"] != ()) is (n == 0)
    assert len(index) <= MEMO_LIMIT
    index.add(("w5",), False, (4, 1, (1,), ()))
    assert len(index) == 0 and index["w5"] == ((1,), ())


def test_a_pattern_that_is_not_word_aligned_keeps_the_stream_path() -> None:
    assert build_indexes({0: {" a ": (3, 1, (0,), ()), "  ": (2, 1, (1,), ())}}) == {}
    assert set(build_indexes({0: {" a ": (3, 1, (0,), ())}, 1: {" b": (2, 1, (1,), ())}})) == {0, 1}


def test_compiled_matchers_use_the_token_index() -> None:
    m = compile_queries([KeywordQuery("q", 'modi OR "note bandi" OR sark*')])
    assert set(m.indexes) == set(m.automata)


@settings(max_examples=60, deadline=None)
@given(
    queries=st.lists(st.tuples(_QUERY, st.booleans(), st.booleans()), min_size=1, max_size=6).map(
        lambda qs: [KeywordQuery(f"q{i}", q, variants=v, exact=x) for i, (q, v, x) in enumerate(qs)]
    ),
    text=st.one_of(
        st.sampled_from(sorted(POSTS.values())),
        st.lists(st.sampled_from(_VOCAB), max_size=30).map(" ".join),
        st.text(max_size=60),
        # tokens that fold away (a lone nukta, invisibles) or split (ŉ) among real words
        st.lists(
            st.sampled_from([*_VOCAB[:40], "\u093c", "\u200d", "ŉ", "Zͅ", "@modi"]), max_size=12
        ).map(" ".join),
    ),
)
def test_token_index_equals_the_stream_pass(queries: list[KeywordQuery], text: str) -> None:
    m = compile_queries(queries)
    old = stream_path(m)
    sc = scan(text)
    if sc.folds:
        # The same spans for every term (the two paths may list them in another order).
        new_hits = {t: sorted(s) for t, s in m._token_hits(sc).items()}
        want = {t: sorted(s) for t, s in old._stream_hits(sc).items()}
        assert new_hits == want
        # Posts without hashtags are matched from their raw tokens unless one folds away
        # or splits (then None, and the matcher takes the path above).
        raw = split_tokens(text)
        usable = m._raw_index is not None and raw.plain and raw.raws
        raw_hits = m._raw_hits(raw) if usable else None
        if raw_hits is not None:
            assert {t: sorted(s) for t, s in raw_hits.items()} == want
    assert m.match(text) == old.match(text)


def test_results_built_by_the_matcher_are_ordinary_frozen_query_matches() -> None:
    from dataclasses import FrozenInstanceError

    from chalicelib.domain.keywords import QueryMatch
    from chalicelib.domain.keywords.engine import _new_match

    m = _new_match("q", ("modi",), ((0, 4),))
    assert m == QueryMatch("q", ("modi",), ((0, 4),)) and hash(m) == hash(
        QueryMatch("q", ("modi",), ((0, 4),))
    )
    assert m.as_dict() == {"query_id": "q", "terms": ["modi"], "spans": [[0, 4]]}
    with pytest.raises(FrozenInstanceError):
        m.query_id = "z"  # type: ignore[misc]


def test_or_and_and_of_plain_terms_match_like_the_reference() -> None:
    from chalicelib.domain.keywords.reference import reference_match

    queries = [
        KeywordQuery("a", "modi AND notbandi"),
        KeywordQuery("b", "(modi NEAR/3 nahi) OR notbandi OR kejriwal OR #x"),
        KeywordQuery("c", "modi OR (notbandi AND nahi) OR kala OR dhan"),
    ]
    m = compile_queries(queries)
    for text in POSTS.values():
        assert m.match(text) == reference_match(queries, text)


@pytest.mark.parametrize(
    ("text", "raw_path"),
    [
        ("modi ji notbandi", True),
        ("modi ji #notbandi", False),  # hashtags: the general path
        ("modi \u093c notbandi", False),  # a token that folds away
        ("modi ŉ notbandi", False),  # a token that splits in two
        ("", False),
    ],
)
def test_which_posts_take_the_raw_token_path(text: str, raw_path: bool) -> None:
    m = compile_queries([KeywordQuery("q", "modi OR notbandi OR ji")])
    sc = split_tokens(text)
    taken = sc.plain and bool(sc.raws) and m._raw_hits(sc) is not None
    assert taken is raw_path
    assert m.match(text) == stream_path(m).match(text)
