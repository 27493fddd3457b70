"""Pure parts of the console: JSON before/after rows, term variants, the console's catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.domain.access import Principal, Role
from chalicelib.domain.json_diff import Change, changes
from chalicelib.domain.keywords.model import KeywordQuery
from chalicelib.domain.query_variants import query_variants
from chalicelib.web.console.queries import error_span
from chalicelib.web.console_scope import DEV_HEADS, default_state, states_of
from chalicelib.web.render import HERE, catalogue


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, {"id": "a", "n": 1}, [Change("id", "", "a"), Change("n", "", "1")]),
        ({"id": "a", "n": 1}, None, [Change("id", "a", ""), Change("n", "1", "")]),
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}, [Change("a.c", "2", "3")]),
        ({"tags": ["x"]}, {"tags": ["x", "y"]}, [Change("tags", '["x"]', '["x", "y"]')]),
        (
            {"members": [{"id": "w1", "name": "A"}, {"id": "w2", "name": "B"}]},
            {"members": [{"id": "w2", "name": "Bee"}]},
            [
                Change("members[w1].id", "w1", ""),
                Change("members[w1].name", "A", ""),
                Change("members[w2].name", "B", "Bee"),
            ],
        ),
        ({"x": 1}, {"x": 1}, []),
        (
            {"brief": {"hi": "नमस्ते"}},
            {"brief": {}},
            [Change("brief.hi", "नमस्ते", ""), Change("brief", "", "{}")],
        ),
    ],
)
def test_changes_are_one_row_per_changed_leaf(
    before: object, after: object, expected: list[Change]
) -> None:
    assert changes(before, after) == expected


@pytest.mark.parametrize(
    ("query", "exact", "variants", "expected"),
    [
        ("नोटबंदी", False, True, [("नोटबंदी", "variants", "notbandi", False, "notabandee")]),
        ("sarkaar", False, True, [("sarkaar", "variants", "sarkar", True, "")]),
        ("कांग्रेस", False, True, [("कांग्रेस", "variants", "kongres", False, "kaangres")]),
        ("the", False, True, [("the", "english", "", False, "")]),
        ("की", False, True, [("की", "shared", "", False, "")]),
        ("@ArvindKejriwal", False, True, [("@ArvindKejriwal", "handle", "", False, "")]),
        ("नोटबंदी", True, True, [("नोटबंदी", "exact", "", False, "")]),
        ("नोटबंदी", False, False, [("नोटबंदी", "no_variants", "", False, "")]),
        (
            "a NOT (b NEAR/3 cc)",
            False,
            True,
            [
                ("a", "short", "", False, ""),
                ("b", "short", "", False, ""),
                ("cc", "short", "", False, ""),
            ],
        ),
    ],
)
def test_what_each_term_also_matches(
    query: str, exact: bool, variants: bool, expected: list[tuple[str, str, str, bool, str]]
) -> None:
    found = query_variants(KeywordQuery("q", query, exact=exact, variants=variants))
    assert [
        (t.term, t.how, t.roman_key, t.reaches_devanagari, t.example) for t in found
    ] == expected


def test_a_curated_spelling_is_listed() -> None:
    (term,) = query_variants(KeywordQuery("q", "कांग्रेस"))
    assert term.spellings == ("कांग्रेस", "कोंग्रेस")


def test_heads_see_their_states_only() -> None:
    national, state, district = (Principal(h.id, h.role, h.state, h.district) for h in DEV_HEADS)
    assert national.role is Role.NATIONAL_ADMIN and len(states_of(national)) > 30
    assert states_of(state) == ("RJ",) and states_of(district) == ("RJ",)
    assert default_state(state, "DL") == "RJ" and default_state(national, "DL") == "DL"


def test_every_message_key_the_console_names_is_in_both_catalogues() -> None:
    hi, en = catalogue("hi"), catalogue("en")
    assert set(hi) == set(en)
    code = "".join(p.read_text("utf-8") for p in (HERE / "console").glob("*.py"))
    literal = set(re.findall(r'\bm\("([a-z_]+)"', code)) | set(
        re.findall(r"\bm\('([a-z_]+)'", code)
    )
    literal |= set(re.findall(r'"((?:console|watch|query|routes|chain|audit)_[a-z_]+)"', code))
    names = {"console_html", "console_view", "console_web", "console_message"}  # code names
    literal = {k for k in literal if not k.endswith("_") and k not in names}
    assert literal and literal <= set(en), sorted(literal - set(en))
    assert all(re.search(r"[\u0900-\u097f]", v) for k, v in hi.items() if k.endswith("_heading"))


def test_the_console_catalogue_is_its_own_file() -> None:
    assert (Path(HERE) / "messages" / "console.en.json").exists()


@pytest.mark.parametrize(
    ("line", "column", "parts"),
    [
        ("नोटबंदी OR OR कालाधन", 12, ("नोटबंदी OR ", "OR", " कालाधन")),
        ("(नोटबंदी OR", 12, ("(नोटबंदी OR", "", "")),  # past the end: ')' is missing
        ("a AND", 3, ("a ", "AND", "")),
        ("x", 0, ("", "x", "")),
        (" x", 1, ("", "", " x")),
    ],
)
def test_the_error_column_marks_the_word_in_place(
    line: str, column: int, parts: tuple[str, str, str]
) -> None:
    assert error_span(line, column) == parts
