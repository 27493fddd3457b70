"""Every ``tvarit`` command with bad input: one ``tvarit <cmd>:`` message, no traceback, and the
exit status of the one rule (0 ok, 1 the stack failed, 2 what was given is wrong).

Rows run the real entry point, ``chalicelib.cli.main``; a few run it as a process too. None of
these touches the network: ``replay`` checks its file and flags before it sends anything (its
network failures are in tests/integration/test_replay_command.py).
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.adapters.jwt_tokens import DevIssuer
from chalicelib.cli import COMMANDS, ENV_DEBUG, main
from chalicelib.commands import EXIT_FAILED, EXIT_OK, EXIT_STATUS_HELP, EXIT_USAGE
from chalicelib.commands.parse import PARSERS
from chalicelib.settings import ENV_DEV_SIGNING_KEY, ENV_WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parents[2]
GOOD_POST = {
    "platform": "x",
    "id": "1",
    "author": {"handle": "someone"},
    "created_at": "2026-01-01T00:00:00Z",
    "text": "modi ji",
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A dev issuer key, and a PEM key of the wrong kind (made once: RSA takes a while)."""
    where = tmp_path_factory.mktemp("keys")
    DevIssuer.generate().save(where / "key.pem")
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (where / "eckey").write_bytes(b'# {"kid": "k", "issuer": "i"}\n' + ec_pem)
    return {"key": str(where / "key.pem"), "eckey": str(where / "eckey")}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: dict[str, str]) -> dict[str, str]:
    """Named input files, good and bad; the environment holds no key or secret."""
    monkeypatch.delenv(ENV_DEV_SIGNING_KEY, raising=False)
    monkeypatch.delenv(ENV_WEBHOOK_SECRET, raising=False)
    monkeypatch.delenv(ENV_DEBUG, raising=False)
    contents: dict[str, bytes] = {
        "empty": b"",
        "binary": b"\x00\x01\xff\xfe\x80",
        "badjson": b"{bad",
        "numbers": b"[1, 2]\n",
        "object": b'{"data": 5}',
        "queries": json.dumps([{"id": "q1", "query": "modi"}]).encode(),
        "badquery": json.dumps([{"id": "q1", "query": "modi AND (bjp"}]).encode(),
        "noquery": json.dumps([{"id": "q1"}]).encode(),
        "posts": b'{"id": "p1", "text": "modi ji"}\n',
        "route": json.dumps({"route": {"receivers": [{"teams_of": "state"}]}}).encode(),
        "badroute": json.dumps(
            {"route": {"receivers": [], "routes": [{"matchers": ["x=1"]}]}}
        ).encode(),
        "teams": json.dumps([{"id": "UP-1", "state": "UP"}]).encode(),
        "teams_dup": json.dumps([{"id": "a", "state": "UP"}, {"id": "a", "state": "UP"}]).encode(),
        "teams_bad": json.dumps([{"id": "a"}, {"id": 5, "state": "UP"}, "x"]).encode(),
        "goodposts": (json.dumps(GOOD_POST) + "\n").encode(),
        "badposts": (json.dumps(GOOD_POST) + "\n" + json.dumps({"id": "2"}) + "\n").encode(),
        "notpem": b'# {"kid": "k", "issuer": "i"}\nnot a key\n',
        "badheader": b"# not json\n-----BEGIN PRIVATE KEY-----\n",
    }
    out = {name: str(tmp_path / name) for name in contents}
    for name, data in contents.items():
        Path(out[name]).write_bytes(data)
    out.update(keys)
    out["missing"] = str(tmp_path / "missing")
    out["dir"] = str(tmp_path)
    return out


KEY = ["--key", "{key}"]
# (command line with {file} placeholders, exit status, text the message must contain)
ROWS: list[tuple[str, list[str], int, str]] = [
    # the command itself
    ("none", [], EXIT_USAGE, "required: COMMAND"),
    ("unknown command", ["nope"], EXIT_USAGE, "invalid choice: 'nope'"),
    # match
    ("match no --queries", ["match"], EXIT_USAGE, "--queries"),
    ("match unknown flag", ["match", "--queries", "{queries}", "--nope"], EXIT_USAGE, "--nope"),
    ("match queries missing", ["match", "--queries", "{missing}"], EXIT_USAGE, "cannot read"),
    ("match queries dir", ["match", "--queries", "{dir}"], EXIT_USAGE, "Is a directory"),
    ("match queries empty", ["match", "--queries", "{empty}"], EXIT_USAGE, "empty, expected JSON"),
    ("match queries binary", ["match", "--queries", "{binary}"], EXIT_USAGE, "not UTF-8"),
    ("match queries not JSON", ["match", "--queries", "{badjson}"], EXIT_USAGE, "not JSON"),
    ("match queries not a list", ["match", "--queries", "{object}"], EXIT_USAGE, "JSON list"),
    ("match query incomplete", ["match", "--queries", "{noquery}"], EXIT_USAGE, "query [0]"),
    (
        "match query does not parse",
        ["match", "--queries", "{badquery}", "--posts", "{posts}"],
        EXIT_USAGE,
        "query 'q1' skipped: column 14: expected ')'",
    ),
    (
        "match posts missing",
        ["match", "--queries", "{queries}", "--posts", "{missing}"],
        EXIT_USAGE,
        "--posts {missing}: cannot read: No such file",
    ),
    (
        "match posts dir",
        ["match", "--queries", "{queries}", "--posts", "{dir}"],
        EXIT_USAGE,
        "cannot read: Is a directory",
    ),
    (
        "match posts binary",
        ["match", "--queries", "{queries}", "--posts", "{binary}"],
        EXIT_USAGE,
        "line 1: not UTF-8",
    ),
    (
        "match posts not JSON",
        ["match", "--queries", "{queries}", "--posts", "{badjson}"],
        EXIT_USAGE,
        "line 1: not JSON",
    ),
    (
        "match posts not objects",
        ["match", "--queries", "{queries}", "--posts", "{numbers}"],
        EXIT_USAGE,
        "line 1: needs an id and a text",
    ),
    # incidents
    ("incidents unknown flag", ["incidents", "--nope"], EXIT_USAGE, "--nope"),
    ("incidents posts missing", ["incidents", "--posts", "{missing}"], EXIT_USAGE, "cannot read"),
    ("incidents posts dir", ["incidents", "--posts", "{dir}"], EXIT_USAGE, "Is a directory"),
    ("incidents posts binary", ["incidents", "--posts", "{binary}"], EXIT_USAGE, "not UTF-8"),
    ("incidents posts not JSON", ["incidents", "--posts", "{badjson}"], EXIT_USAGE, "not JSON"),
    (
        "incidents posts not objects",
        ["incidents", "--posts", "{numbers}"],
        EXIT_USAGE,
        "line 1: expected a JSON object with an id and a text",
    ),
    (
        "incidents post without text",
        ["incidents", "--posts", "{badposts}"],
        EXIT_USAGE,
        "line 2: text: needs a string",
    ),
    # parse
    ("parse unknown platform", ["parse", "orkut", "{posts}"], EXIT_USAGE, "invalid choice"),
    ("parse no file", ["parse", "x"], EXIT_USAGE, "FILE"),
    ("parse missing", ["parse", "x", "{missing}"], EXIT_USAGE, "cannot read"),
    ("parse dir", ["parse", "x", "{dir}"], EXIT_USAGE, "cannot read"),
    ("parse binary", ["parse", "youtube", "{binary}"], EXIT_USAGE, "not UTF-8"),
    ("parse empty", ["parse", "telegram", "{empty}"], EXIT_USAGE, "empty input"),
    ("parse not JSON", ["parse", "bluesky", "{badjson}"], EXIT_USAGE, "not JSON"),
    ("parse not a feed", ["parse", "rss", "{badjson}"], EXIT_USAGE, "not an RSS or Atom feed"),
    # route
    ("route missing", ["route", "{missing}"], EXIT_USAGE, "{missing}: cannot read"),
    ("route dir", ["route", "{dir}"], EXIT_USAGE, "cannot read"),
    ("route empty", ["route", "{empty}"], EXIT_USAGE, "empty, expected JSON"),
    ("route binary", ["route", "{binary}"], EXIT_USAGE, "not UTF-8"),
    ("route not JSON", ["route", "{badjson}"], EXIT_USAGE, "not JSON"),
    ("route invalid", ["route", "{badroute}"], EXIT_USAGE, "route.routes[0].matchers[0]"),
    ("route label", ["route", "{route}", "--label", "stateUP"], EXIT_USAGE, "NAME=VALUE"),
    ("route empty label", ["route", "{route}", "--label", "=UP"], EXIT_USAGE, "NAME=VALUE"),
    (
        "route teams without a label",
        ["route", "{route}", "--teams", "{teams}"],
        EXIT_USAGE,
        "give its --label too",
    ),
    (
        "route teams missing",
        ["route", "{route}", "--label", "state=UP", "--teams", "{missing}"],
        EXIT_USAGE,
        "--teams {missing}: cannot read",
    ),
    (
        "route teams not JSON",
        ["route", "{route}", "--label", "state=UP", "--teams", "{badjson}"],
        EXIT_USAGE,
        "not JSON",
    ),
    (
        "route teams not a list",
        ["route", "{route}", "--label", "state=UP", "--teams", "{object}"],
        EXIT_USAGE,
        "expected a JSON list of teams",
    ),
    (
        "route teams entries",
        ["route", "{route}", "--label", "state=UP", "--teams", "{teams_bad}"],
        EXIT_USAGE,
        "[1].id: expected a non-empty string",
    ),
    (
        "route team twice",
        ["route", "{route}", "--label", "state=UP", "--teams", "{teams_dup}"],
        EXIT_USAGE,
        "[1].id: 'a' is already used",
    ),
    # token
    ("token no role", ["token", *KEY], EXIT_USAGE, "--role"),
    ("token unknown role", ["token", "--role", "king", *KEY], EXIT_USAGE, "invalid choice"),
    ("token no key", ["token", "--role", "national_admin"], EXIT_USAGE, "no key file"),
    (
        "token key missing",
        ["token", "--role", "national_admin", "--key", "{missing}"],
        EXIT_USAGE,
        "--key {missing}: cannot read",
    ),
    (
        "token key dir",
        ["token", "--role", "national_admin", "--key", "{dir}"],
        EXIT_USAGE,
        "cannot read",
    ),
    (
        "token key binary",
        ["token", "--role", "national_admin", "--key", "{binary}"],
        EXIT_USAGE,
        "not UTF-8",
    ),
    (
        "token key empty",
        ["token", "--role", "national_admin", "--key", "{empty}"],
        EXIT_USAGE,
        "not a development issuer key",
    ),
    (
        "token key not PEM",
        ["token", "--role", "national_admin", "--key", "{notpem}"],
        EXIT_USAGE,
        "not a development issuer key",
    ),
    (
        "token key header not JSON",
        ["token", "--role", "national_admin", "--key", "{badheader}"],
        EXIT_USAGE,
        "not a development issuer key",
    ),
    (
        "token key not RSA",
        ["token", "--role", "national_admin", "--key", "{eckey}"],
        EXIT_USAGE,
        "not a development issuer key",
    ),
    ("token ttl negative", ["token", "--role", "national_admin", "--ttl", "-5", *KEY], 2, "--ttl"),
    ("token ttl zero", ["token", "--role", "national_admin", "--ttl", "0", *KEY], 2, "1 to 86400"),
    (
        "token ttl over a day",
        ["token", "--role", "national_admin", "--ttl", "86401", *KEY],
        EXIT_USAGE,
        "86401 is out of range",
    ),
    (
        "token ttl absurd",
        ["token", "--role", "national_admin", "--ttl", "9" * 30, *KEY],
        EXIT_USAGE,
        "out of range",
    ),
    (
        "token ttl not a number",
        ["token", "--role", "national_admin", "--ttl", "1h", *KEY],
        EXIT_USAGE,
        "'1h' is not a whole number",
    ),
    (
        "token bad state",
        ["token", "--role", "state_head", "--state", "XX", *KEY],
        EXIT_USAGE,
        "'XX' is not a state code; one of AN AP",
    ),
    (
        "token no state",
        ["token", "--role", "state_head", *KEY],
        EXIT_USAGE,
        "--state: required for this role; one of AN AP",
    ),
    (
        "token no district",
        ["token", "--role", "district_head", "--state", "RJ", *KEY],
        EXIT_USAGE,
        "--district: required",
    ),
    ("token no team", ["token", "--role", "warrior", *KEY], EXIT_USAGE, "--team: required"),
    # replay: everything wrong before the first post is sent
    ("replay no secret", ["replay", "--file", "{goodposts}"], EXIT_USAGE, "no secret"),
    (
        "replay file missing",
        ["replay", "--secret", "s", "--file", "{missing}"],
        EXIT_USAGE,
        "--file {missing}: cannot read",
    ),
    (
        "replay file dir",
        ["replay", "--secret", "s", "--file", "{dir}"],
        EXIT_USAGE,
        "cannot read",
    ),
    (
        "replay file binary",
        ["replay", "--secret", "s", "--file", "{binary}"],
        EXIT_USAGE,
        "line 1: not UTF-8",
    ),
    (
        "replay file not JSON",
        ["replay", "--secret", "s", "--file", "{badjson}"],
        EXIT_USAGE,
        "line 1: not JSON",
    ),
    (
        "replay line not a post",
        ["replay", "--secret", "s", "--file", "{numbers}"],
        EXIT_USAGE,
        "line 1: expected a JSON object",
    ),
    (
        "replay post the webhook refuses",
        ["replay", "--secret", "s", "--file", "{badposts}"],
        EXIT_USAGE,
        "line 2: author: expected an object",
    ),
    (
        "replay url not http",
        ["replay", "--secret", "s", "--file", "{goodposts}", "--url", "localhost:8000"],
        EXIT_USAGE,
        "expected http://host:port",
    ),
    (
        "replay url port",
        ["replay", "--secret", "s", "--file", "{goodposts}", "--url", "http://h:port"],
        EXIT_USAGE,
        "--url 'http://h:port'",
    ),
    ("replay rate negative", ["replay", "--rate", "-1"], EXIT_USAGE, "--rate"),
    ("replay rate nan", ["replay", "--rate", "nan"], EXIT_USAGE, "--rate"),
    ("replay limit negative", ["replay", "--limit", "-1"], EXIT_USAGE, "--limit"),
    # langid reads stdin only
    ("langid unknown flag", ["langid", "--nope"], EXIT_USAGE, "unrecognized arguments"),
]


def _fill(argv: list[str], files: dict[str, str]) -> list[str]:
    return [a.format(**files) for a in argv]


@pytest.mark.parametrize(
    ("argv", "status", "message"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS]
)
def test_bad_input_gives_one_message_and_the_rule_s_status(
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    status: int,
    message: str,
) -> None:
    argv = _fill(argv, files)
    assert main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "unexpected error" not in err
    assert message.format(**files) in err
    prefix = f"tvarit {argv[0]}:" if argv and argv[0] in COMMANDS else "tvarit:"
    # argparse adds a usage block; every other line is one of ours, prefixed.
    ours = [line for line in err.splitlines() if line and not line.startswith(("usage:", " "))]
    assert ours
    assert all(line.startswith(prefix) for line in ours), err


def test_exit_statuses_are_the_documented_ones() -> None:
    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE) == (0, 1, 2)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for status in ("0", "1", "2"):
        assert f"\n  {status}  " in EXIT_STATUS_HELP
        assert f"| {status} |" in readme  # the README's CLI section has the same table


def test_help_states_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == EXIT_OK
    assert EXIT_STATUS_HELP in capsys.readouterr().out
    assert main(["token", "--help"]) == EXIT_OK
    assert EXIT_STATUS_HELP in capsys.readouterr().out


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out == f"tvarit {version('tvarit')}\n"


def test_a_token_lives_exactly_its_ttl(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["token", "--role", "state_head", "--state", "rj", "--ttl", "60", "--key", files["key"]]
    assert main(argv) == EXIT_OK
    payload = capsys.readouterr().out.strip().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] - claims["iat"] == 60
    assert claims["custom:state"] == "RJ"


def test_the_route_preview_still_resolves_teams(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["route", files["route"], "--label", "state=UP", "--teams", files["teams"]]
    assert main(argv) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["teams"] == {"UP": ["UP-1"]}


def test_an_unexpected_error_is_one_line_not_a_traceback(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug stands in as a platform parser that crashes: main must still print one line.
    monkeypatch.setitem(PARSERS, "x", f"{__name__}:_crash")
    assert main(["parse", "x", files["posts"]]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("tvarit parse: unexpected error (RuntimeError: boom)")
    assert "Traceback" not in err
    monkeypatch.setenv(ENV_DEBUG, "1")  # ...unless asked to show where
    with pytest.raises(RuntimeError, match="boom"):
        main(["parse", "x", files["posts"]])


def _crash(_: bytes) -> list[object]:
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["match", "--queries", "{queries}", "--posts", "{missing}"], 2, "cannot read"),
        (["token", "--role", "national_admin", "--key", "{notpem}"], 2, "not a development"),
        (["replay", "--secret", "s", "--file", "{badjson}"], 2, "not JSON"),
        (["--version"], 0, ""),
    ],
)
def test_as_a_process(files: dict[str, str], argv: list[str], status: int, message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", *_fill(argv, files)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    assert message in done.stderr
    if argv[0] != "--version":
        assert done.stderr.startswith(f"tvarit {argv[0]}: ")
    else:
        assert done.stdout.startswith("tvarit ")


def test_langid_reads_bytes_that_are_not_utf8_whatever_the_locale(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A strict stdin, as Python opens it under an en_US.UTF-8 locale. (Not "bad": alone it is
    # as likely romanized Hindi बाद, "after".)
    stdin = io.TextIOWrapper(io.BytesIO(b"hello world\n\xff\xfe broken\n"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["langid"]) == EXIT_OK
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [o["lang"] for o in lines] == ["en", "en"]
    assert lines[1]["tokens"] == [["broken", 3, 9, "en"]]
    assert err == ""
