"""A round-robin HTTP front for several API workers on one port, as API Gateway would be.

Each request goes to the next worker in turn, whole: method, path, headers and body out, status,
headers and body back. It is a development tool (no keep-alive, no streaming).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110, 7.6.1) are not forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
)


class RoundRobinFront:
    def __init__(self, backends: Sequence[str], port: int = 0, host: str = "127.0.0.1") -> None:
        if not backends:
            raise ValueError("a front needs at least one backend")
        targets = [urlsplit(b) for b in backends]
        turns = itertools.cycle(range(len(targets)))
        turn_lock = threading.Lock()

        def next_target() -> Any:
            with turn_lock:
                return targets[next(turns)]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                target = next_target()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    payload = answer.read()
                except OSError:
                    self.send_error(502, "the API worker did not answer")
                    return
                finally:
                    conn.close()
                # A client that gave up waiting (a busy stack) has nobody left to answer.
                with contextlib.suppress(ConnectionError):
                    self.send_response(answer.status, answer.reason)
                    for key, value in answer.getheaders():
                        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _forward

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        bound_host, bound_port = self._server.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="api-front", daemon=True
        )

    def start(self) -> RoundRobinFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
