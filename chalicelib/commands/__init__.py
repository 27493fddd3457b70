"""Subcommands of the ``tvarit`` command (see ``chalicelib/cli.py``) and what they share.

Every command follows one rule for its exit status, stated once here and printed by
``tvarit --help``. A command reports trouble as one ``tvarit <cmd>: <what>`` line per problem on
stderr, never a traceback: it raises a :class:`~chalicelib.errors.TvaritError` and
``chalicelib.cli.main`` prints it and picks the status with :func:`exit_status`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from chalicelib.errors import MalformedInputError, TvaritError, UpstreamError

EXIT_OK = 0
EXIT_FAILED = 1  # the input was fine, the operation was not: the stack refused or is unreachable
EXIT_USAGE = 2  # what was given is wrong: an option, a value, an input file (argparse uses 2 too)

EXIT_STATUS_HELP = """\
exit status:
  0  done
  1  the input was fine but the operation failed: the stack refused or could not be reached
  2  what you gave is wrong: an unknown or missing option, a value out of range, or an input
     file that is missing, unreadable or invalid (not JSON, not a key, a query or route config
     that does not parse, a payload that does not parse); fix it and run again"""


def exit_status(err: TvaritError) -> int:
    """The exit status of a command that raised ``err``: only a failure outside us is 1."""
    return EXIT_FAILED if isinstance(err, UpstreamError) else EXIT_USAGE


def read_bytes(path: str | Path, label: str) -> bytes:
    """The bytes of an input file; ``label`` names it in the message (``--posts x.jsonl``)."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as err:
        raise MalformedInputError(f"{label}: cannot read: {err.strerror or err}") from None


def decode(raw: bytes, label: str) -> str:
    """UTF-8 text, or an error naming the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MalformedInputError(f"{label}: not UTF-8 text (byte {err.start})") from None


def read_json(path: str | Path, label: str) -> Any:
    """One JSON document from a file."""
    return loads(decode(read_bytes(path, label), label), label)


def loads(text: str, label: str) -> Any:
    """JSON from text, or an error with the line and column where it stops being JSON."""
    if not text.strip():
        raise MalformedInputError(f"{label}: empty, expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        raise MalformedInputError(f"{label}: not JSON ({err.msg} at {where})") from None
    except RecursionError:
        raise MalformedInputError(f"{label}: not JSON (nested too deeply)") from None


def json_lines(lines: Iterable[bytes], label: str) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of a JSON-lines input, read lazily."""
    for lineno, raw in enumerate(lines, 1):
        where = f"{label} line {lineno}"
        text = decode(raw, where)
        if text.strip():
            yield lineno, loads(text, where)
