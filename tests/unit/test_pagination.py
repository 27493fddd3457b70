"""Cursors round-trip, and anything else a client sends is a 422 naming the cursor, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.pagination import decode_cursor, encode_cursor, parse_limit
from chalicelib.errors import InvalidInputError

POSITION = st.fixed_dictionaries(
    {"c": st.text(min_size=1, max_size=200), "t": st.text(min_size=1, max_size=200)}
)


@given(POSITION)
def test_a_cursor_round_trips(position: dict[str, str]) -> None:
    assert decode_cursor(encode_cursor(position), ("c", "t")) == position


@given(st.text(max_size=300))
def test_any_other_text_is_refused_as_invalid_input(text: str) -> None:
    try:
        decode_cursor(text, ("c", "t"))
    except InvalidInputError as err:
        assert [p.loc for p in err.problems] == ["cursor"]


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor({"c": "x"}),  # a field missing
        encode_cursor({"c": "x", "t": "y", "team": "UP-1"}),  # a partition smuggled in
        encode_cursor({"c": "", "t": "y"}),
        "e30",  # {}
        "W10",  # []
        "!!!",
    ],
)
def test_cursors_that_are_not_ours(cursor: str) -> None:
    with pytest.raises(InvalidInputError):
        decode_cursor(cursor, ("c", "t"))


@pytest.mark.parametrize(("value", "expected"), [(None, 25), ("", 25), ("1", 1), ("100", 100)])
def test_limits(value: str | None, expected: int) -> None:
    assert parse_limit(value) == expected


@pytest.mark.parametrize("value", ["0", "101", "-1", "1.5", "ten", "١٢", "१२"])
def test_bad_limits(value: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_limit(value)
