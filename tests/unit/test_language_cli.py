"""``tvarit langid``: one JSON object per input line, in order, whatever the line holds."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib.cli import main
from chalicelib.commands.langid import process

FIELDS = ["lang", "script", "mixed", "confidence", "tokens"]

# stdin, --jsonl, expected (lang, error) per output line
ROWS = [
    ("AAP ki sarkar\n", False, [("hi-Latn", None)]),
    (
        "दिल्ली सरकार ने आज नई योजना की घोषणा की\r\n\nhello there my friend\n",
        False,
        [("hi", None), ("und", None), ("en", None)],
    ),
    ("no trailing newline", False, [("en", None)]),
    ('{"text": "kya baat hai bhai"}\n', True, [("hi-Latn", None)]),
    ('{"id": "1", "text": "#AAP https://t.co/x"}\n', True, [("und", None)]),
    ("not json\n", True, [("und", "invalid JSON")]),
    ('{"id": 1}\n["text"]\n{"text": 5}\n', True, [("und", "no string 'text' field")] * 3),
    ("", False, []),
]


@pytest.mark.parametrize(("stdin", "jsonl", "expected"), ROWS)
def test_one_object_per_line(
    stdin: str, jsonl: bool, expected: list[tuple[str, str | None]]
) -> None:
    out = io.StringIO()
    assert process(io.StringIO(stdin), out, jsonl) == len(expected)
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(o["lang"], o.get("error")) for o in objs] == expected
    for o in objs:
        assert [k for k in o if k != "error"] == FIELDS


def test_cli_entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "मोदी जी ने कहा"}\n'))
    assert main(["langid", "--jsonl"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["lang"], obj["script"], obj["tokens"][0]) == ("hi", "Deva", ["मोदी", 0, 4, "hi"])
