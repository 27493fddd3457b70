"""``tvarit langid``: detect the language of each line on stdin, one JSON object per line out.

Input: one text per line, or with ``--jsonl`` one JSON object per line whose ``text`` field is
the text. Output (a stable interface, see docs/language.md): exactly one JSON object per input
line, in input order::

    {"lang": "hi-Latn", "script": "Latn", "mixed": false, "confidence": 0.5,
     "tokens": [["AAP", 0, 3, "hi-Latn"], ["ki", 4, 6, "hi-Latn"], ["sarkar", 7, 13, "hi-Latn"]]}

``lang``: en hi hi-Latn mr ne bn as gu pa ta te kn ml ur ar or und; ``script``: ISO 15924 code
of the dominant script (Zyyy when there is no word); ``mixed``: Hindi-English code-mixing;
``confidence``: 0-1; ``tokens``: [word, start, end, lang] with character offsets into the text.
A ``--jsonl`` line that is not a JSON object with a string ``text`` gives the ``und`` object
plus ``"error"``. Input is UTF-8; bytes that are not read as U+FFFD. Fields may be added
later; none is removed or renamed.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any, TextIO

help = "detect the language of text lines on stdin (JSON lines out)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``--jsonl``."""
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="input lines are JSON objects with a 'text' field",
    )


def _text_of(line: str, jsonl: bool) -> tuple[str, str | None]:
    if not jsonl:
        return line, None
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError:
        return "", "invalid JSON"
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return "", "no string 'text' field"
    return str(obj["text"]), None


def process(stdin: TextIO, stdout: TextIO, jsonl: bool) -> int:
    """Write one JSON object per input line; returns the number of lines."""
    from chalicelib.domain.language import detect

    count = 0
    for raw in stdin:
        line = raw.rstrip("\r\n")
        text, error = _text_of(line, jsonl)
        out = detect(text).as_dict()
        if error is not None:
            out["error"] = error
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        count += 1
    return count


def run(args: argparse.Namespace) -> int:
    """Entry point of ``tvarit langid``."""
    stdin: TextIO = sys.stdin
    if hasattr(stdin, "buffer"):
        # UTF-8 whatever the locale; bytes that are not UTF-8 read as U+FFFD rather than
        # stopping the command (or, in UTF-8 mode, echoing invalid bytes into the JSON).
        stdin = io.TextIOWrapper(stdin.buffer, encoding="utf-8", errors="replace", newline="\n")
    process(stdin, sys.stdout, bool(args.jsonl))
    return 0
