"""``tvarit match``: the JSON contract of issue 4, human output and input errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.cli import main

POSTS = [
    {"id": "p1", "text": "Agle 6 mahine mein 750 nahin, bahut zyada toilet banenge"},
    {"id": 2, "text": "मोदी जी भी अगले दो महीने विदेश दौरे बंद करें #NoVoteToBJP"},
    {"id": "p3", "text": "nothing to see here", "lang": "en"},
    {"id": "p4", "text": "Modiji said nahi", "lang": "en", "author": "@SomeOne"},
]
QUERIES = [
    {"id": "q-nahi", "query": "nahi OR नहीं", "severity": 4},
    {"id": "q-modi", "query": "modi* NOT lang:en"},
    {"id": "q-vote", "query": '#novotetobjp OR "no vote"', "category": "gaffe"},
    {"id": "q-off", "query": "see", "enabled": False},
]


def write(tmp_path: Path, queries: object, posts: list[object]) -> tuple[Path, Path]:
    qf = tmp_path / "queries.json"
    qf.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    pf = tmp_path / "posts.jsonl"
    pf.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), "utf-8")
    return qf, pf


def test_json_output_is_one_object_per_post_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qf, pf = write(tmp_path, QUERIES, POSTS)
    assert main(["match", "--queries", str(qf), "--posts", str(pf), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["p1", 2, "p3", "p4"]
    got = {
        (line["id"], m["query_id"]): [
            POSTS[i]["text"][s:e]
            for s, e in m["spans"]  # type: ignore[index]
        ]
        for i, line in enumerate(lines)
        for m in line["matches"]
    }
    assert got == {
        ("p1", "q-nahi"): ["nahin"],
        (2, "q-modi"): ["मोदी"],
        (2, "q-vote"): ["#NoVoteToBJP", "NoVote"],
        ("p4", "q-nahi"): ["nahi"],
    }
    assert all(set(m) == {"query_id", "terms", "spans"} for line in lines for m in line["matches"])
    # both spellings of the query find the same word: one span, two terms
    assert lines[0]["matches"][0]["terms"] == ["nahi", "नहीं"]


def test_human_output_highlights_and_totals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qf, pf = write(tmp_path, QUERIES, POSTS)
    assert main(["match", "--queries", str(qf), "--posts", str(pf)]) == 0
    out = capsys.readouterr().out
    assert "p1: Agle 6 mahine mein 750 [[nahin]], bahut" in out
    assert "[[#NoVoteToBJP]]" in out
    assert "4 posts, 3 matched" in out
    assert "q-nahi: 2 posts" in out and "q-off" not in out


def test_posts_come_from_stdin_without_posts_option(tmp_path: Path) -> None:
    qf, _ = write(tmp_path, QUERIES, [])
    stdin = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in POSTS[:2])
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "match", "--queries", str(qf), "--json"],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["p1", 2]


@pytest.mark.parametrize(
    ("queries", "posts", "message"),
    [
        ([{"id": "bad", "query": "modi AND (bjp"}], [POSTS[0]], "at column 14"),
        ({"id": "q"}, [POSTS[0]], "JSON list of objects"),
        ([{"id": "q", "query": "x", "severity": 9}], [POSTS[0]], "severity"),
        ([{"id": "q", "query": "x"}], [{"text": "no id"}], "line 1: needs an id and a text"),
        ([{"id": "q", "query": "x"}], ["not an object"], "line 1: needs an id"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    queries: object,
    posts: list[object],
    message: str,
) -> None:
    qf, pf = write(tmp_path, queries, posts)
    assert main(["match", "--queries", str(qf), "--posts", str(pf), "--json"]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_query_does_not_hide_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qf, pf = write(tmp_path, [{"id": "bad", "query": "("}, QUERIES[0]], [POSTS[0]])
    assert main(["match", "--queries", str(qf), "--posts", str(pf), "--json"]) == 2
    [line] = capsys.readouterr().out.splitlines()
    assert [m["query_id"] for m in json.loads(line)["matches"]] == ["q-nahi"]
