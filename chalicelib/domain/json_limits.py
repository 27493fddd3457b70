"""JSON from outside, bounded before it is parsed.

Python's ``json`` recurses once per nesting level (thousands of ``[`` raise RecursionError) and
``int()`` refuses more than 4,300 digits (ValueError deep inside the decoder). Both are checked
on the text first, so a hostile body or cursor gets a 400 naming the place, never a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.errors import FieldProblem, MalformedInputError

MAX_DEPTH = 32  # our deepest document (a route tree) nests about a dozen levels
MAX_NUMBER_CHARS = 40  # a float's 17 significant digits, a sign, a point and an exponent

# A JSON string (escapes included); what is left outside strings is structure and scalars.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STRUCTURE = re.compile(r"[\[\]{}]|-?[0-9][-+0-9.eE]*")


def check_json_text(text: str, where: str = "body") -> None:
    """MalformedInputError if ``text`` nests deeper than MAX_DEPTH or holds an over-long number.

    The problem names ``where`` and the character offset, so the caller can find it.
    """
    depth = 0
    pos = 0
    for string in _STRING.finditer(text):
        depth = _scan(text, pos, string.start(), depth, where)
        pos = string.end()
    _scan(text, pos, len(text), depth, where)


def _scan(text: str, start: int, end: int, depth: int, where: str) -> int:
    for token in _STRUCTURE.finditer(text, start, end):
        lexeme = token.group()
        if lexeme in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedInputError(
                    f"JSON nests deeper than {MAX_DEPTH} levels",
                    [
                        FieldProblem(
                            where, f"nested deeper than {MAX_DEPTH} at char {token.start()}"
                        )
                    ],
                )
        elif lexeme in "]}":
            depth -= 1
        elif len(lexeme) > MAX_NUMBER_CHARS:
            raise MalformedInputError(
                f"a JSON number is longer than {MAX_NUMBER_CHARS} characters",
                [
                    FieldProblem(
                        where, f"number over {MAX_NUMBER_CHARS} chars at char {token.start()}"
                    )
                ],
            )
    return depth


def loads_bounded(text: str, where: str = "body") -> Any:
    """``json.loads`` after :func:`check_json_text`; ValueError from the parser passes through."""
    check_json_text(text, where)
    return json.loads(text)
