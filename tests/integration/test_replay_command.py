"""``tvarit replay`` against a webhook on 127.0.0.1: it stops at the first answer every later
post would get too, and at a stack that is not there; its bar is drawn only on a terminal."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli import main
from chalicelib.commands import EXIT_FAILED, EXIT_OK
from chalicelib.domain.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from chalicelib.errors import AuthenticationError
from local.replay import WEBHOOK_PATH, replay

SECRET = "the-stack-secret"
POSTS = [
    {
        "platform": "x",
        "id": str(i),
        "author": {"handle": "someone"},
        "created_at": "2026-01-01T00:00:00Z",
        "text": f"post {i}",
    }
    for i in range(5)
]


class Webhook(ThreadingHTTPServer):
    """A webhook that checks signatures as the stack does, or answers ``status`` to all."""

    def __init__(self, status: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.hits = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.hits += 1
        status = self.server.status
        if status is None:
            try:
                verify(
                    SECRET,
                    self.headers.get(TIMESTAMP_HEADER),
                    self.headers.get(SIGNATURE_HEADER),
                    body,
                    time.time(),
                )
                status = 202 if self.path == WEBHOOK_PATH else 404
            except AuthenticationError:
                status = 401
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def webhook(request: pytest.FixtureRequest) -> Iterator[Webhook]:
    server = Webhook(getattr(request, "param", None))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def posts_file(tmp_path: Path) -> str:
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in POSTS), encoding="utf-8")
    return str(path)


def _replay(posts_file: str, url: str, secret: str = SECRET) -> int:
    return main(["replay", "--file", posts_file, "--url", url, "--secret", secret, "--rate", "0"])


def test_every_post_is_accepted_and_no_bar_goes_to_a_pipe(
    webhook: Webhook, posts_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _replay(posts_file, webhook.url) == EXIT_OK
    out, err = capsys.readouterr()
    assert out == "sent 5, accepted 5, rejected 0\n"
    assert err == ""  # stderr is no terminal here: no bar, no carriage return
    assert webhook.hits == 5


def test_a_wrong_secret_stops_at_the_first_401(
    webhook: Webhook, posts_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _replay(posts_file, webhook.url, secret="not-it") == EXIT_FAILED
    out, err = capsys.readouterr()
    assert webhook.hits == 1
    assert out == "sent 1, accepted 0, rejected 1\n"
    assert err.splitlines()[-1].startswith("tvarit replay: the stack refused the signature")
    assert "wrong secret?" in err
    assert "Traceback" not in err


def test_a_wrong_url_stops_at_the_first_404(
    webhook: Webhook, posts_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _replay(posts_file, webhook.url + "/not/here") == EXIT_FAILED
    assert webhook.hits == 1
    assert "check --url" in capsys.readouterr().err


@pytest.mark.parametrize("webhook", [400], indirect=True)
def test_a_refused_post_does_not_stop_the_others(
    webhook: Webhook, posts_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _replay(posts_file, webhook.url) == EXIT_FAILED
    assert webhook.hits == 5
    out, err = capsys.readouterr()
    assert out == "sent 5, accepted 0, rejected 5\n"
    assert all(line.startswith("tvarit replay: rejected ") for line in err.splitlines())


def test_no_stack_stops_at_the_first_post(
    posts_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    assert _replay(posts_file, url) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert out == "sent 1, accepted 0, rejected 1\n"
    assert err.startswith(f"tvarit replay: cannot reach {url} (")
    assert "is the stack running (`make run`)?" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "drawn"), [(_Terminal(), True), (io.StringIO(), False)])
def test_the_bar_is_drawn_only_on_a_terminal(
    webhook: Webhook, stream: io.StringIO, drawn: bool
) -> None:
    report = replay(POSTS, webhook.url, SECRET, rate=0, progress=stream)
    assert report.accepted == 5
    text = stream.getvalue()
    assert ("\r" in text) is drawn
    assert text.endswith("5/5 accepted 5 rejected 0\n") is drawn


class _Slow(BaseHTTPRequestHandler):
    """Answers 202, but not before ``server.delays`` says (one delay per post, in order)."""

    server: Any

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        delay = (
            self.server.delays[self.server.hits]
            if self.server.hits < len(self.server.delays)
            else 0
        )
        self.server.hits += 1
        time.sleep(delay)
        try:
            self.send_response(202)
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass  # the client gave up on this one

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.parametrize(
    ("delays", "accepted", "sent", "stopped"),
    [
        ([0, 1.0, 0, 0, 0], 4, 5, False),  # a busy stack answers one post late: go on
        ([0, 1.0, 1.0, 1.0, 0], 1, 4, True),  # three in a row unanswered: the stack is gone
    ],
)
def test_a_late_answer_is_one_failed_post_and_three_in_a_row_stop(
    delays: list[float], accepted: int, sent: int, stopped: bool
) -> None:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.delays, server.hits = delays, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = replay(POSTS, url, SECRET, rate=0, progress=None, timeout=0.3)
    finally:
        server.shutdown()
        server.server_close()
    assert (report.accepted, report.sent, report.stop is not None) == (accepted, sent, stopped)
    assert all("no answer in 0.3 s" in e for e in report.errors)
