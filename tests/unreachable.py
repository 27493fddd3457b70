"""AWS endpoints that misbehave, on 127.0.0.1: one that refuses, one that never answers, one that
throttles. Each counts the connections or requests it saw, so a test can judge a client's retry
budget by its behaviour (how many attempts), never by the clock."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def refused_url() -> str:
    """An address where nothing listens: every connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class SilentEndpoint:
    """Accepts connections and never answers (a frozen moto, a black-holed VPC endpoint)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.connections = 0
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)  # held open, never read, never answered

    def close(self) -> None:
        self._closed.set()
        self._sock.close()
        for conn in self._held:
            conn.close()


class ThrottlingEndpoint:
    """Answers every AWS JSON-protocol call with HTTP 400 and ``error_type`` (a throttle)."""

    def __init__(self, error_type: str = "ThrottlingException") -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.dumps({"__type": error_type, "message": "Rate exceeded"}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def silent_endpoint() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.close()


@contextmanager
def throttling_endpoint(error_type: str = "ThrottlingException") -> Iterator[ThrottlingEndpoint]:
    endpoint = ThrottlingEndpoint(error_type)
    try:
        yield endpoint
    finally:
        endpoint.close()
