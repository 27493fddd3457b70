"""JSON from outside is bounded before parsing: nesting depth and number length, with the place."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.json_limits import MAX_DEPTH, check_json_text, loads_bounded
from chalicelib.errors import MalformedInputError

OK = [
    "{}",
    "[]",
    "[" * MAX_DEPTH + "]" * MAX_DEPTH,
    '{"a": "' + "[" * 1000 + '"}',  # brackets inside a string are text
    '{"a": "\\"[[[[" }',  # an escaped quote does not end the string
    '{"n": -1.2345678901234567e+300}',
    '{"n": ' + "9" * 40 + "}",
    '{"t": true, "f": false, "e": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"}',
    '"नोटबंदी [[[["',
]
BAD = [
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nested deeper than 32 at char {MAX_DEPTH}"),
    ("[" * 100_000, "nested deeper than 32 at char 32"),
    ('{"a": "x", "b": ' + "{" * 40, "nested deeper than 32 at char 47"),
    ('{"n": ' + "9" * 41 + "}", "number over 40 chars at char 6"),
    ("[" + "1" * 5000 + "]", "number over 40 chars at char 1"),
    ('["x", -' + "0" * 100 + "]", "number over 40 chars at char 6"),
]


@pytest.mark.parametrize("text", OK)
def test_what_is_within_bounds_passes(text: str) -> None:
    check_json_text(text)
    assert loads_bounded(text) == json.loads(text)


@pytest.mark.parametrize(("text", "msg"), BAD)
def test_what_is_out_of_bounds_names_the_place(text: str, msg: str) -> None:
    with pytest.raises(MalformedInputError) as caught:
        loads_bounded(text, "cursor")
    assert [p.as_dict() for p in caught.value.problems] == [{"loc": "cursor", "msg": msg}]


def test_invalid_json_within_bounds_is_the_parsers_value_error() -> None:
    with pytest.raises(ValueError):
        loads_bounded("{not json")
