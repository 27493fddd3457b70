"""``tvarit incidents``: one {id, incident, reason} per post, in order, by the analyze rules."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli import main
from chalicelib.commands import EXIT_OK, EXIT_USAGE
from chalicelib.commands.incidents import group

GAFFE = "The economy is doing fine and the poor will manage on their own, said the minister today"
OTHER = "Cricket team wins the series in Australia, celebrations across the country"
HINDI = "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। पंजाब गोवा में तो जम के बँटा"


def _run(posts: list[dict[str, Any]]) -> list[tuple[Any, Any, str]]:
    lines = [json.dumps(p, ensure_ascii=False).encode() + b"\n" for p in posts]
    out = [json.loads(line) for line in group(iter(lines), "<stdin>")]
    assert [o["id"] for o in out] == [p["id"] for p in posts]  # one per post, in input order
    return [(o["id"], o["incident"], o["reason"]) for o in out]


def post(pid: Any, text: str, **kw: Any) -> dict[str, Any]:
    return {"id": pid, "text": text, **kw}


# (posts, expected (id, incident, reason) per post)
ROWS: list[tuple[str, list[dict[str, Any]], list[tuple[Any, Any, str]]]] = [
    ("nothing", [], []),
    (
        "retweet prefixes, stacked and lower case, with a link",
        [
            post("a", GAFFE),
            post("b", "RT @someone: " + GAFFE),
            post("c", "RT @a: RT @b_c: " + GAFFE + " https://t.co/x"),
            post("d", "rt @x " + GAFFE),
        ],
        [
            ("a", "a", "new"),
            ("b", "a", "near_duplicate"),
            ("c", "a", "near_duplicate"),
            ("d", "a", "near_duplicate"),
        ],
    ),
    (
        "a copy with one word edited, and one with a comment in front",
        [
            post("a", GAFFE),
            post("b", GAFFE.replace("poor", "farmers")),
            post("c", "Shame! " + GAFFE),
        ],
        [("a", "a", "new"), ("b", "a", "near_duplicate"), ("c", "a", "near_duplicate")],
    ),
    (
        "URLs only: no words, so each its own incident (not all links are one gaffe)",
        [post("a", "https://t.co/abc"), post("b", "https://t.co/abc"), post("c", "www.x.com/y")],
        [("a", "a", "new"), ("b", "b", "new"), ("c", "c", "new")],
    ),
    (
        "emoji only, and handles only",
        [post("a", "🙏🙏🙏"), post("b", "🙏🙏🙏"), post("c", "@x @y"), post("d", "@x @y")],
        [("a", "a", "new"), ("b", "b", "new"), ("c", "c", "new"), ("d", "d", "new")],
    ),
    (
        "empty text",
        [post("a", ""), post("b", ""), post("c", "   \n")],
        [("a", "a", "new"), ("b", "b", "new"), ("c", "c", "new")],
    ),
    (
        "the same text by different leaders is one incident",
        [post("a", GAFFE, author="modi"), post("b", GAFFE, author="rahul")],
        [("a", "a", "new"), ("b", "a", "near_duplicate")],
    ),
    (
        "different texts by one leader: one incident (the same query, no times: one window)",
        [post("a", GAFFE, author="modi"), post("b", OTHER, author="modi")],
        [("a", "a", "new"), ("b", "a", "same_leader_query")],
    ),
    (
        "different texts, different or no leaders: separate incidents",
        [post("a", GAFFE, author="modi"), post("b", OTHER, author="rahul"), post("c", OTHER)],
        [("a", "a", "new"), ("b", "b", "new"), ("c", "b", "near_duplicate")],
    ),
    (
        "an author object: its handle, else its id",
        [
            post("a", GAFFE, author={"handle": "modi", "id": "1"}),
            post("b", OTHER, author="modi"),
            post("c", HINDI, author={"id": "modi"}),
        ],
        [("a", "a", "new"), ("b", "a", "same_leader_query"), ("c", "a", "same_leader_query")],
    ),
    (
        "no author: the same-leader rule does not apply",
        [post("a", GAFFE), post("b", OTHER)],
        [("a", "a", "new"), ("b", "b", "new")],
    ),
    (
        "the leader window applies when times are given",
        [
            post("a", GAFFE, author="modi", created_at="2026-11-01T10:00:00Z"),
            post("b", OTHER, author="modi", created_at="2026-11-01T15:00:00+00:00"),
            post("c", HINDI, author="modi", created_at="2026-11-02T10:00:00+05:30"),
        ],
        [("a", "a", "new"), ("b", "a", "same_leader_query"), ("c", "c", "new")],
    ),
    (
        "a copy outside the window opens a new incident",
        [
            post("a", GAFFE, created_at="2026-11-01T10:00:00Z"),
            post("b", GAFFE, created_at="2026-11-01T17:00:00Z"),
        ],
        [("a", "a", "new"), ("b", "b", "new")],
    ),
    (
        "repost_of and quote_of join whatever the text; unknown or later ids do nothing",
        [
            post("a", GAFFE),
            post("b", "lol", repost_of="a"),
            post("c", "this is outrageous", quote_of="b"),
            post("d", OTHER, quote_of="zzz"),
            post("e", "unrelated words here", repost_of="f"),
            post("f", HINDI),
        ],
        [
            ("a", "a", "new"),
            ("b", "a", "reference"),
            ("c", "a", "reference"),
            ("d", "d", "new"),
            ("e", "e", "new"),
            ("f", "f", "new"),
        ],
    ),
    (
        "integer ids come back as integers; a reference may name one as text",
        [post(1, GAFFE), post(2, "hmm", quote_of="1"), post("3", OTHER, repost_of=2)],
        [(1, 1, "new"), (2, 1, "reference"), ("3", 1, "reference")],
    ),
    (
        "a romanized copy of a Devanagari post",
        [
            post("a", HINDI),
            post(
                "b",
                "modi jee to kah rahe the ki notabandee ke baad kaala dhan khatm ho gaya. "
                "panjaab gova men to jam ke banta",
            ),
        ],
        [("a", "a", "new"), ("b", "a", "near_duplicate")],
    ),
    (
        "a huge text, and its copy with a link",
        [post("a", GAFFE * 20_000), post("b", GAFFE * 20_000 + " https://t.co/x")],
        [("a", "a", "new"), ("b", "a", "near_duplicate")],
    ),
]


@pytest.mark.parametrize(("posts", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_incidents_table(posts: list[dict[str, Any]], expected: list[tuple[Any, Any, str]]) -> None:
    assert _run(posts) == expected


def test_blank_lines_and_other_fields_are_skipped() -> None:
    lines = [
        b'{"id": "a", "text": "x y z", "lang": "en", "platform": "x"}\n',
        b"\n",
        b"   \r\n",
        b'{"id": "b", "text": "x y z"}',
    ]
    out = [json.loads(line) for line in group(iter(lines), "<stdin>")]
    assert [(o["id"], o["incident"]) for o in out] == [("a", "a"), ("b", "a")]


# (input line(s), text the message must contain)
BAD: list[tuple[str, bytes, str]] = [
    ("not JSON", b"{nope\n", "<stdin> line 1: not JSON"),
    ("not an object", b"[1, 2]\n", "line 1: expected a JSON object with an id and a text"),
    ("no id", b'{"text": "x"}\n', "line 1: id: needs a non-empty string or an integer"),
    ("empty id", b'{"id": "", "text": "x"}\n', "line 1: id: needs"),
    ("boolean id", b'{"id": true, "text": "x"}\n', "line 1: id: needs"),
    ("no text", b'{"id": "a"}\n', "line 1: text: needs a string"),
    ("text not a string", b'{"id": "a", "text": 5}\n', "line 1: text: needs a string"),
    ("author not a string", b'{"id": "a", "text": "x", "author": 5}\n', "author: needs a string"),
    (
        "author object without name",
        b'{"id": "a", "text": "x", "author": {"handle": 5}}\n',
        "author:",
    ),
    ("bad reference", b'{"id": "a", "text": "x", "quote_of": []}\n', "quote_of: needs the id"),
    ("bad time", b'{"id": "a", "text": "x", "created_at": "yesterday"}\n', "created_at: needs"),
    ("time without zone", b'{"id": "a", "text": "x", "created_at": "2026-01-01T10:00"}\n', "zone"),
    ("time not a string", b'{"id": "a", "text": "x", "created_at": 5}\n', "created_at: needs"),
    (
        "times on some posts only",
        b'{"id": "a", "text": "x", "created_at": "2026-01-01T10:00:00Z"}\n'
        b'{"id": "b", "text": "y"}\n',
        "line 2: has no created_at, unlike the posts before it",
    ),
    (
        "repeated id",
        b'{"id": "a", "text": "x"}\n\n{"id": "a", "text": "y"}\n',
        "line 3: id 'a' repeats line 1",
    ),
    ("binary", b"\xff\xfe\n", "line 1: not UTF-8"),
]


@pytest.mark.parametrize(("stdin", "message"), [r[1:] for r in BAD], ids=[r[0] for r in BAD])
def test_bad_input_is_one_message_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: bytes,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert main(["incidents"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("tvarit incidents: ") and err.count("\n") == 1, err
    assert message in err


def test_posts_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "posts.jsonl"
    f.write_text(
        json.dumps(post("a", GAFFE)) + "\n" + json.dumps(post("b", "RT @x: " + GAFFE)) + "\n",
        encoding="utf-8",
    )
    assert main(["incidents", "--posts", str(f)]) == EXIT_OK
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out == [
        {"id": "a", "incident": "a", "reason": "new"},
        {"id": "b", "incident": "a", "reason": "near_duplicate"},
    ]


@pytest.mark.parametrize(("name", "message"), [("missing", "cannot read"), ("", "cannot read")])
def test_an_unreadable_posts_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    path = tmp_path / name  # "" is the directory itself
    assert main(["incidents", "--posts", str(path)]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_the_same_grouping_as_the_analyze_stage() -> None:
    """The posts through the analyze stage's own path (analyze → incident_probe → index) and
    through the command: the same partition into incidents. Every post matches the one query,
    as the command assumes; authors are watched leaders."""
    from datetime import timedelta

    from chalicelib.domain.analysis import WatchConfig, analyze
    from chalicelib.domain.incidents import signature
    from chalicelib.domain.keywords import compile_queries
    from chalicelib.domain.language import detect
    from chalicelib.domain.mention import Author, Reference
    from chalicelib.domain.org import Account
    from tests.factories import T0, make_leader, make_mention, make_query
    from tests.fakes import InMemoryIncidentIndex

    gaffe = "Modi said the economy is doing fine and the poor will manage on their own today"
    rows = [  # id, author, minutes after T0, text, quote_of
        ("1", "modi", 0, gaffe, None),
        ("2", "fan", 5, "RT @modi: " + gaffe, None),
        ("3", "critic", 10, gaffe.replace("poor", "farmers"), None),
        (
            "4",
            "modi",
            60,
            "Modi inaugurates the new highway in Varanasi with the chief minister",
            None,
        ),
        ("5", "critic", 70, "Modi is wrong", "4"),
        ("6", "fan", 80, "Modi wins the hearts of the farmers in Punjab at a big rally", None),
        ("7", "modi", 600, "Modi greets the nation on its festival of lights, wishing joy", None),
        ("8", "rahul", 610, "Modi greets the nation on its festival of lights, wishing joy", None),
    ]
    query = make_query(id="q-modi", query="modi")
    leaders = [make_leader(id=a, accounts=(Account("x", a),)) for a in {r[1] for r in rows}]
    config = WatchConfig.build("1", leaders, [query], compile_queries([query]), None)
    index = InMemoryIncidentIndex()
    staged: dict[str, str] = {}
    for pid, author, minutes, text, quote_of in rows:
        mention = make_mention(
            native_id=pid,
            author=Author(id=author, handle=author, name=author),
            created_at=T0 + timedelta(minutes=minutes),
            text=text,
            references=(Reference("quote", quote_of),) if quote_of else (),
        )
        analyzed = analyze(mention, detect(text), config, T0, timedelta(1), timedelta(2))
        assert [m.query_id for m in analyzed.matches] == ["q-modi"]
        staged[pid] = index.assign(analyzed.incident_probe(signature)).incident_key
    posts = [
        post(pid, text, author=author, created_at=(T0 + timedelta(minutes=m)).isoformat())
        | ({"quote_of": q} if q else {})
        for pid, author, m, text, q in rows
    ]
    by_command = {pid: incident for pid, incident, _ in _run(posts)}

    def partition(labels: dict[str, str]) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for pid, label in labels.items():
            groups.setdefault(label, set()).add(pid)
        return {frozenset(g) for g in groups.values()}

    assert partition(by_command) == partition(staged)
    # and the rows exercise every rule: near duplicates (2, 3, 8), same leader and query (4),
    # a quote (5), another leader's other text (6), and the window (7: ten hours later)
    assert partition(staged) == {
        frozenset({"1", "2", "3", "4", "5"}),
        frozenset({"6"}),
        frozenset({"7", "8"}),
    }
