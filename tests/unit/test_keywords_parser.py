"""The query language: what parses to what, and errors that name the column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.keywords import parser as p
from chalicelib.domain.keywords.parser import parse
from chalicelib.errors import ParseError, QuerySyntaxError


def shape(node: p.Node) -> str:
    """A compact rendering of a tree, to compare against the table."""
    if isinstance(node, p.Term):
        star = "*" if node.wildcard else ""
        return f"{node.kind}:{' '.join(node.folds)}{star}"
    if isinstance(node, p.Field):
        return f"{node.name}={node.value}"
    if isinstance(node, p.Not):
        return f"NOT({shape(node.child)})"
    if isinstance(node, p.Near):
        return f"NEAR{node.distance}({shape(node.left)}, {shape(node.right)})"
    name = "AND" if isinstance(node, p.And) else "OR"
    return f"{name}({', '.join(shape(c) for c in node.children)})"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("modi", "words:modi"),
        ("Modi-ji", "words:modi ji"),
        ('"Rahul  Gandhi"', "words:rahul gandhi"),
        ("pappu OR feku", "OR(words:pappu, words:feku)"),
        ("pappu feku", "AND(words:pappu, words:feku)"),
        ("a OR b AND c", "OR(words:a, AND(words:b, words:c))"),
        ("(a OR b) c", "AND(OR(words:a, words:b), words:c)"),
        ("a NOT b", "AND(words:a, NOT(words:b))"),
        ("a AND NOT (b OR c)", "AND(words:a, NOT(OR(words:b, words:c)))"),
        ("a NEAR/3 b c", "AND(NEAR3(words:a, words:b), words:c)"),
        ("(a OR b) NEAR/0 c", "NEAR0(OR(words:a, words:b), words:c)"),
        ("a NEAR/2 b NEAR/4 c", "NEAR4(NEAR2(words:a, words:b), words:c)"),
        ("modi*", "words:modi*"),
        ('"rahul gan*"', "words:rahul gan*"),
        ("#NoVoteToBJP", "hashtag:#novotetobjp"),
        ('"#NoVoteToBJP"', "words:no vote to bjp"),
        ("#modi*", "hashtag:#modi*"),
        ("@ArvindKejriwal", "handle:@arvindkejriwal"),
        ("हिन्दी", "words:हिंदी"),
        (
            "pappu lang:HI platform:x author:@Foo",
            "AND(words:pappu, lang=hi, platform=x, author=foo)",
        ),
        ("pappu NOT lang:en", "AND(words:pappu, NOT(lang=en))"),
        ("and or not", "AND(words:and, words:or, words:not)"),
        ("10:30", "words:10 30"),
    ],
)
def test_queries_parse_to_trees(query: str, expected: str) -> None:
    assert shape(parse(query)) == expected


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("modi AND bjp) OR x", 13, "unexpected ')' at column 13"),
        ("(modi OR bjp", 13, "expected ')' to close the '(' at column 1 but found end of query"),
        ("(modi OR bjp pappu", 19, "expected ')'"),
        ("modi AND", 9, "unexpected end of query at column 9"),
        ("OR modi", 1, "unexpected 'OR' at column 1"),
        ("modi OR OR bjp", 9, "unexpected 'OR' at column 9"),
        ("()", 2, "empty parentheses at column 1"),
        ("", 1, "empty query"),
        ("   ", 1, "empty query"),
        ('"rahul gandhi', 1, "unterminated phrase"),
        ('modi ""', 6, "phrase '' at column 6 has no letters or digits"),
        ("modi !!!", 6, "term '!!!' at column 6 has no letters or digits"),
        ("modi NEAR bjp", 6, "expected NEAR/n"),
        ("modi NEAR/x bjp", 6, "expected NEAR/n"),
        ("modi NEAR/99 bjp", 6, "the largest distance is 50"),
        ("(a NOT b) NEAR/2 c", 11, "NEAR/2 at column 11 needs terms, phrases or OR-groups"),
        ("a NEAR/2 lang:hi", 3, "needs terms"),
        ("m*", 1, "needs at least 2 letters before '*'"),
        ("mo*di", 3, "'*' is only allowed at the end of a term (column 3)"),
        ('"a* b"', 3, "'*' is only allowed at the end"),
        ("colour:red", 1, "unknown field 'colour:' at column 1"),
        ("lang:", 1, "expected a value after 'lang:' at column 1"),
        ("NOT modi", 0, "would match posts that contain none of its terms"),
        ("lang:hi", 0, "would match posts"),
        ("modi OR NOT bjp", 0, "would match posts"),
        ("x" * 2001, 2001, "query is 2001 characters long; the limit is 2000"),
        ("(" * 11 + "a" + ")" * 11, 11, "nesting deeper than 10 levels at column 11"),
        ("NOT " * 11 + "a", 41, "nesting deeper than 10 levels"),
        # the 201st term starts right after the 200 before it and their separators
        (
            " OR ".join(f"w{i}" for i in range(201)),
            len(" OR ".join(f"w{i}" for i in range(200))) + len(" OR ") + 1,
            "too many terms: the limit is 200",
        ),
    ],
)
def test_errors_name_the_column_and_what_was_expected(
    query: str, column: int, message: str
) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse(query)
    assert message in err.value.detail
    assert err.value.column == column
    assert err.value.problems[0].loc == "query"
    assert isinstance(err.value, ParseError)


def test_limits_are_inclusive() -> None:
    parse("x" * 2000)
    parse("(" * 10 + "a" + ")" * 10)
    parse(" OR ".join(f"w{i}" for i in range(200)))
    parse("a NEAR/50 b")


QUERY_ALPHABET = st.sampled_from(
    [*'ab मोदी()"*#@:/_- ', "AND", "OR", "NOT", "NEAR/", "NEAR/2", "lang:", "hi", "\u200d"]
)


@settings(max_examples=400, deadline=None)
@given(query=st.one_of(st.text(max_size=40), st.lists(QUERY_ALPHABET, max_size=20).map("".join)))
def test_parsing_raises_nothing_but_our_parse_error(query: str) -> None:
    try:
        tree = parse(query)
    except QuerySyntaxError as err:
        assert 0 <= err.column <= len(query) + 1
    else:
        assert p.anchored(tree)


def test_the_examples_in_the_docs_parse() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "queries.md").read_text("utf-8")
    block = doc.split("### Examples", 1)[1].split("```", 2)[1]
    examples = [line for line in block.splitlines() if line.strip()]
    assert len(examples) >= 5
    for query in examples:
        assert p.anchored(parse(query))
