"""Opaque cursors for paginated lists: a position, never a raw storage key.

A cursor carries only the position inside a list (say, a task id and its creation time); the
list's partition (the caller's team) is always taken from the request, so a forged cursor can
move within what the caller may see but never outside it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from chalicelib.domain.json_limits import check_json_text
from chalicelib.errors import FieldProblem, InvalidInputError, MalformedInputError

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# A position of a few ids is ~150 characters encoded; anything near this bound is not ours.
MAX_CURSOR_CHARS = 4096


def encode_cursor(position: Mapping[str, str]) -> str:
    raw = json.dumps(dict(position), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fields: tuple[str, ...]) -> dict[str, str]:
    """The position in ``cursor``; InvalidInputError naming ``cursor`` if it is not one of ours."""
    bad = InvalidInputError("the cursor is not valid", [FieldProblem("cursor", "not a cursor")])
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidInputError(
            f"the cursor is longer than {MAX_CURSOR_CHARS} characters",
            [FieldProblem("cursor", f"at most {MAX_CURSOR_CHARS} characters")],
        )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        check_json_text(text, "cursor")
        data = json.loads(text)
    except MalformedInputError as err:  # nested or numeric junk: still "not one of ours"
        raise InvalidInputError("the cursor is not valid", err.problems) from None
    except (ValueError, UnicodeError, binascii.Error):
        raise bad from None
    if not isinstance(data, dict) or set(data) != set(fields):
        raise bad
    if not all(isinstance(data[f], str) and 0 < len(data[f]) <= 200 for f in fields):
        raise bad
    return {f: data[f] for f in fields}


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    # Length first: int() refuses thousands of digits with a ValueError.
    if not (value.isascii() and value.isdigit() and len(value) <= 3) or not (
        1 <= int(value) <= MAX_LIMIT
    ):
        raise InvalidInputError(
            f"limit must be an integer from 1 to {MAX_LIMIT}",
            [FieldProblem("limit", f"1..{MAX_LIMIT}")],
        )
    return int(value)
