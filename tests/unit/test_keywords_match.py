"""Keyword queries over real posts (tests/data/keyword_posts.jsonl): query -> highlighted text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.keywords import (
    KeywordQuery,
    MatcherCache,
    QueryMatch,
    compile_queries,
    keyword_query_from_dict,
)
from chalicelib.domain.keywords.reference import reference_match
from chalicelib.errors import InvalidInputError, QuerySyntaxError

POSTS_FILE = Path(__file__).resolve().parent.parent / "data" / "keyword_posts.jsonl"
POSTS: dict[str, str] = {}
for _line in POSTS_FILE.open(encoding="utf-8"):
    _row = json.loads(_line)
    POSTS.setdefault(_row["id"], _row["text"])


def found(query: str, text: str, **options: Any) -> list[str]:
    """The pieces of ``text`` a single query highlights (empty when it does not match)."""
    filters = {k: options.pop(k) for k in ("lang", "platform", "author") if k in options}
    matcher = compile_queries([KeywordQuery("q", query, **options)], strict=True)
    matches = matcher.match(text, **filters)
    assert len(matches) <= 1
    return [text[s:e] for s, e in matches[0].spans] if matches else []


# (post id, query, options, highlighted pieces of the original text in order)
REAL_POSTS: list[tuple[str, str, dict[str, Any], list[str]]] = [
    # nukta: precomposed (U+0958) and combining forms both fold to the plain letter
    ("622383627653898240", "कत्ल", {}, ["\u0958त्ल"]),
    ("622383627653898240", "क\u093cत्ल", {}, ["\u0958त्ल"]),
    ("661903699090927616", "दखलंदाजी", {}, ["दख\u093cलंदाज\u093cी"]),
    ("661526485165957120", "जमीन", {}, ["ज\u093cमीन"]),
    ("579844879427051521", "आजम", {}, ["आ\u095bम"]),
    # chandrabindu / anusvara
    ("656061863172677632", "हां", {}, ["हाँ"]),
    ("625194464579981312", "हूं", {}, ["हूँ"]),
    ("656061863172677632", "हूं", {}, ["हूँ", "हूँ", "हूँ"]),
    # half nasal + virama written as anusvara, both ways
    ("587198224479322112", "आंदोलन", {}, ["आन्दोलन"]),
    ("663179432765489152", "लंबे", {}, ["लम्बे"]),
    ("649840164227837952", "प्रधानमंत्री", {}, ["प्रधानमन्त्री"]),
    ("632957749064667136", "दिसंबर", {}, ["दिसम्बर"]),
    # zero-width joiners inside words; a zero-width space between them
    ("631662308163350529", "पुत्तन", {}, ["पुत्\u200dतन"]),
    ("631662308163350529", "प्लीज", {}, ["प्\u200dलीज"]),
    ("750664332946640896", "दीक्षित", {}, ["दीक्ष\u200dित"]),
    ("8.18348270766e+17", "distinguished", {}, ["distinguished"]),
    ("7.93275120123e+17", "സംസ്ഥാനം", {}, ["സംസ്\u200cഥാനം"]),
    ("7.87349025737e+17", "ශ්රී", {}, ["ශ්\u200dරී"]),
    # Latin case folding; Devanagari digits
    ("657117382452772864", "ahankaar", {"variants": False}, ["AHANKAAR"]),
    ("632957749064667136", '"1 साल"', {}, ["१ साल"]),
    ("7.91951256542e+17", '"7 बजे"', {}, ["७ बजे"]),
    # script-aware word boundaries: no match inside a word, a match where scripts change
    ("656062064096505856", "मोदी", {}, ["मोदी"]),
    ("656062064096505856", "मो", {}, []),
    ("656062064096505856", "दी", {}, []),
    ("734943622920085505", "IIT", {}, ["IIT"]),
    ("732472965451763712", "MCD", {}, ["MCD", "MCD"]),
    ("632957749064667136", "दिल्ली", {}, []),
    # ... and inside the lower-case run #Tirangayatra, split into tiranga + yatra
    ("7.67701519538e+17", "तिरंगा", {}, ["तिरंगा", "तिरंगा", "Tiranga"]),
    # hashtags: split into words, matchable whole, a #tag query only matches the tag
    ("587548521236017152", "neutrality", {}, ["Neutrality"]),
    ("587548521236017152", "#netneutrality", {}, ["#NetNeutrality"]),
    ("587548521236017152", '"net neutrality"', {}, ["NetNeutrality"]),
    ("587548521236017152", "neutral", {}, ["neutral"]),
    ("623668866388877312", "police", {}, ["Police"]),
    ("640109411042619392", "dilli", {}, ["Dilli"]),
    ("640109411042619392", "#dilli", {}, []),
    ("640109411042619392", "#MyDilliStory", {}, ["#MyDilliStory"]),
    ("627331622770114560", "#delhi*", {}, ["#DelhiGovernance"]),
    ("7.90916026477e+17", '"sandesh 2 soldiers"', {}, ["Sandesh2Soldiers"]),
    ("663701458324361216", "क्लिनिक", {}, ["क्लिनिक"]),
    ("663701458324361216", '"आम आदमी"', {}, ["आम_आदमी"]),
    ("663701458324361216", "#आम_आदमी_पॉली_क्लिनिक", {}, ["#आम_आदमी_पॉली_क्लिनिक"]),
    ("663701458324361216", "पोली", {}, ["पॉली"]),
    ("738892827619434496", '"झूठा प्रचार"', {}, ["झूठा_प्रचार"]),
    ("770566176233648128", "सजा", {}, ["सज\u093cा"]),
    ("607225674756026368", "#रामराज्य", {}, ["#रामराज्य"]),
    # @handles: one token, found even glued to Devanagari; bare words do not match them
    ("734943622920085505", "@arvindkejriwal", {}, ["@ArvindKejriwal"]),
    ("734943622920085505", "arvindkejriwal", {}, []),
    ("742730566357921792", "@ajaymaken", {}, ["@ajaymaken"]),
    ("587198224479322112", "@shivrajsinghc", {}, ["@shivrajsinghc"]),
    ("730617203209457664", "@AAPPunjab2017", {}, ["@AAPPunjab2017"]),
    # NEAR/n: at most n words between, either order
    ("644759254344175616", "महीने NEAR/2 लड़", {}, ["महीने", "ल\u095c"]),
    ("644759254344175616", "लड़ NEAR/2 महीने", {}, ["महीने", "ल\u095c"]),
    ("644759254344175616", "महीने NEAR/1 लड़", {}, []),
    ("816467758539866112", "notbandi NEAR/1 khilaaf", {}, ["notbandi", "khilaaf"]),
    ("816467758539866112", "modi NEAR/3 nahi", {}, []),
    (
        "816467758539866112",
        "(modi OR notbandi) NEAR/5 (bola OR nahi)",
        {},
        ["notbandi", "bola", "nahi"],
    ),
    # NOT
    ("647616844895883266", "congress NOT bjp", {}, []),
    ("704202433090555904", "congress NOT bjp", {}, ["congress"]),
    ("704202433090555904", "congress AND NOT (bjp OR aap)", {}, ["congress"]),
    # trailing wildcards, in both scripts
    ("635268903111815168", "modi*", {}, ["Modi", "Modiji"]),
    ("656300087337877504", "modi*", {}, ["Modiji", "Modiji"]),
    ("656300413872828416", "मोदी*", {}, ["मोदीजी"]),
    ("635268903111815168", "commando*", {}, ["Commando"]),
    # romanized variants: nahi/nahin/nai, Devanagari <-> Latin
    ("649851017555644416", "nahi", {}, ["nahin"]),
    # nai is "new" (नई) as often as "not": it no longer reaches nahin
    ("649851017555644416", "nai", {}, []),
    ("649851017555644416", "nahi", {"variants": False}, []),
    ("791102633222123520", "nahin", {}, ["nahi"]),
    ("742205416231317504", "नहीं", {}, ["nahin"]),
    ("644759254344175616", "nahin", {}, ["नहीं"]),
    ("791102633222123520", "neeyat", {}, ["neeyat", "नीयत"]),
    ("657117435049324544", "चाहिए", {}, ["chahiye"]),
    ("707474055918723073", "सरकार", {}, ["sarkar"]),
    ("652351584609767424", "accha", {}, ["acha"]),
    ("693406616301936640", "congress", {}, ["कोंग्रेस"]),
    ("669098085629341696", "badhai", {}, ["badhayee"]),
    ("652351584609767424", "bahot", {}, []),
    # short keys get no variants: zee would otherwise find every ji
    ("644370787940470784", "zee", {}, []),
    ("644370787940470784", '"modi zee"', {}, ["Modi ji"]),
    # exact: case and spelling as written
    ("635268903111815168", "Modi", {"exact": True}, ["Modi"]),
    ("635268903111815168", "modi", {"exact": True}, []),
    ("622383627653898240", "कत्ल", {"exact": True}, []),
    ("622383627653898240", "\u0958त्ल", {"exact": True}, ["\u0958त्ल"]),
    # phrases ignore punctuation and line breaks between their words
    ("722419293519024128", '"bachta nahin hai"', {}, ["Bachta Nahin Hai"]),
    ("657117382452772864", '"hai to"', {}, ["hai\nto"]),
    # URLs and HTML entities are not words
    ("649851017555644416", "pgtaz5jjd6", {}, []),
    ("649851017555644416", "co", {}, []),
    ("743304045801070592", "amp", {}, []),
    # field filters
    ("635268903111815168", "modi lang:en", {"lang": "en"}, ["Modi"]),
    ("635268903111815168", "modi lang:en", {"lang": "hi"}, []),
    ("635268903111815168", "modi lang:hi", {"lang": "hi-Latn"}, ["Modi"]),
    ("635268903111815168", "modi NOT platform:x", {"platform": "x"}, []),
    ("635268903111815168", "modi NOT platform:x", {"platform": "youtube"}, ["Modi"]),
    ("635268903111815168", "modi author:@ArvindKejriwal", {"author": "arvindkejriwal"}, ["Modi"]),
    ("635268903111815168", "modi author:narendramodi", {"author": "ArvindKejriwal"}, []),
    ("635268903111815168", "modi author:narendramodi", {}, []),
]


@pytest.mark.parametrize(("post_id", "query", "options", "expected"), REAL_POSTS)
def test_queries_over_real_posts(
    post_id: str, query: str, options: dict[str, Any], expected: list[str]
) -> None:
    assert found(query, POSTS[post_id], **options) == expected


def test_terms_are_reported_as_written_in_order_of_appearance() -> None:
    text = POSTS["722419293519024128"]
    matcher = compile_queries([KeywordQuery("q", 'mehangai OR "bachta nahin hai" OR nahi')])
    [m] = matcher.match(text)
    assert m.terms == ("bachta nahin hai", "nahi", "mehangai")
    assert m.as_dict()["spans"] == [list(s) for s in m.spans]


def test_results_follow_query_order_and_skip_disabled_queries() -> None:
    queries = [
        KeywordQuery("b", "modi"),
        KeywordQuery("off", "modi", enabled=False),
        KeywordQuery("a", "commando"),
    ]
    got = compile_queries(queries).match(POSTS["635268903111815168"])
    assert [m.query_id for m in got] == ["b", "a"]


def test_a_bad_query_is_skipped_and_reported_not_fatal() -> None:
    queries = [KeywordQuery("bad", "modi AND (bjp"), KeywordQuery("good", "modi")]
    matcher = compile_queries(queries)
    assert [m.query_id for m in matcher.match("modi")] == ["good"]
    assert matcher.rejected["bad"].column == 14
    with pytest.raises(QuerySyntaxError) as err:
        compile_queries(queries, strict=True)
    assert err.value.problems[0].loc == "queries/bad/query"


def test_matcher_cache_rebuilds_only_when_the_version_changes() -> None:
    cache = MatcherCache()
    loads: list[str] = []

    def load(query: str) -> Any:
        def loader() -> list[KeywordQuery]:
            loads.append(query)
            return [KeywordQuery("q", query)]

        return loader

    first = cache.get("v1", load("modi"))
    assert cache.get("v1", load("kejriwal")) is first
    assert cache.get("v2", load("kejriwal")).match("Kejriwal")[0].query_id == "q"
    assert loads == ["modi", "kejriwal"]
    assert cache.builds == 2


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({"query": "modi"}, "id"),
        ({"id": "q1"}, "query"),
        ({"id": "q1", "query": "  "}, "query"),
        ({"id": "q1", "query": "modi", "severity": 0}, "severity"),
        ({"id": "q1", "query": "modi", "severity": "high"}, "severity"),
        ({"id": "q1", "query": "modi", "severity": 6}, "severity"),
    ],
)
def test_query_objects_are_validated(raw: dict[str, Any], loc: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        keyword_query_from_dict(raw)
    assert [p.loc for p in err.value.problems] == [loc]


def test_query_objects_get_the_documented_defaults() -> None:
    q = keyword_query_from_dict({"id": "q1", "query": "modi"})
    assert (q.severity, q.scope, q.enabled, q.variants, q.exact) == (
        3,
        "national",
        True,
        True,
        False,
    )


# --- the compiled matcher agrees with the slow reference matcher -------------------------

_VOCAB = sorted(
    {
        w.strip(".,:;!?()'\"")
        for t in POSTS.values()
        for w in t.split()
        if len(w.strip(".,:;!?()'\"")) > 2 and "/" not in w
    }
)
_TERM = st.one_of(
    st.sampled_from(_VOCAB),
    st.sampled_from(_VOCAB).map(lambda w: w[: max(3, len(w) - 2)] + "*"),
    st.tuples(st.sampled_from(_VOCAB), st.sampled_from(_VOCAB)).map(lambda t: f'"{t[0]} {t[1]}"'),
)
_QUERY = st.recursive(
    _TERM,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} AND {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} NOT {t[1]})"),
        st.tuples(_TERM, _TERM, st.integers(0, 4)).map(lambda t: f"{t[0]} NEAR/{t[2]} {t[1]}"),
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(
    queries=st.lists(st.tuples(_QUERY, st.booleans(), st.booleans()), min_size=1, max_size=6).map(
        lambda qs: [KeywordQuery(f"q{i}", q, variants=v, exact=x) for i, (q, v, x) in enumerate(qs)]
    ),
)
def test_compiled_matcher_equals_reference_on_real_posts(queries: list[KeywordQuery]) -> None:
    matcher = compile_queries(queries)
    for text in POSTS.values():
        assert matcher.match(text) == reference_match(queries, text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80), query=_QUERY)
def test_every_span_lies_inside_the_text(text: str, query: str) -> None:
    matcher = compile_queries([KeywordQuery("q", query)])
    words = text.split()
    probes = [text, " ".join(words + _VOCAB[:5]), f"{query} {text}".replace('"', " ")]
    for probe in probes:
        for m in matcher.match(probe):
            assert isinstance(m, QueryMatch) and m.spans
            for s, e in m.spans:
                assert 0 <= s < e <= len(probe)


@pytest.mark.parametrize("copies", [0, 1, 150])
def test_empty_and_huge_texts_match_like_the_reference(copies: int) -> None:
    # 150 copies of a real post is ~20 KB: long enough for the bisect path of the matcher
    text = "\n".join([POSTS["816467758539866112"]] * copies)
    queries = [
        KeywordQuery("a", "modi NEAR/7 (notbandi OR nahi)"),
        KeywordQuery("b", "nahi* OR #x"),
        KeywordQuery("c", '"chhodenge nahi" NOT zzz'),
    ]
    got = compile_queries(queries).match(text)
    assert got == reference_match(queries, text)
    assert len(got) == (3 if copies else 0)
