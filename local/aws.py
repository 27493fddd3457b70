"""``python -m local.aws``: the moto server, with DynamoDB's atomicity restored.

moto serves each request on its own thread, and its DynamoDB backend is not safe for that: a
transaction checks every condition, then writes, and when one condition fails it puts back a
deep copy of each table it touched, taken before it began. Under concurrent requests two
racing conditional transactions can both succeed, and a cancelled transaction erases writes
that other requests made to those tables meanwhile. DynamoDB guarantees that conditional
writes and transactions are atomic; here every DynamoDB request runs under one lock, so the
local stack keeps that guarantee and a race test judges our code, not moto's. SQS and SNS
are left concurrent (a long poll must not block the others).
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from local.children import exit_with_parent, quick_exit, say_ready
from local.moto_memory import rss_kb

PROFILE_ENV = "TVARIT_AWS_PROFILE"
# GET here: counts and sizes of what moto holds (local/moto_memory.py).
MEMORY_PATH = "/_tvarit/memory"

# X-Amz-Target prefixes of the DynamoDB and DynamoDB Streams JSON protocols.
SERIALISED_TARGETS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, everything else as it comes."""

    def __init__(self, app: Wsgi) -> None:
        self._app = app
        self._lock = threading.Lock()
        # TVARIT_AWS_PROFILE=1: per DynamoDB operation, requests and the RSS growth during them.
        self.profile = os.environ.get(PROFILE_ENV, "") == "1"
        self.requests: dict[str, list[int]] = {}

    @property
    def lock(self) -> threading.Lock:
        """Held while a DynamoDB request runs (the retention trims streams under it)."""
        return self._lock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == MEMORY_PATH:
            return self._memory(start_response, "sizes=0" not in environ.get("QUERY_STRING", ""))
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(SERIALISED_TARGETS):
            return self._app(environ, start_response)
        with self._lock:
            # The body is produced inside the lock: the backend's work is done by then.
            if not self.profile:
                return list(self._app(environ, start_response))
            # One DynamoDB request at a time: the growth of RSS is this request's.
            before = rss_kb()
            body = list(self._app(environ, start_response))
            stats = self.requests.setdefault(target.split(".", 1)[1], [0, 0])
            stats[0] += 1
            stats[1] += max(0, rss_kb() - before)
            return body

    def _memory(self, start_response: Callable[..., Any], sizes: bool) -> list[bytes]:
        """What moto holds (``local.moto_memory.measure``), for soaks and the curious.

        ``?sizes=0``: counts only (sizing walks every table, slow on a big one)."""
        import json

        from local.moto_memory import measure

        with self._lock:
            figures = measure(sizes)
            figures["dynamodb_requests"] = {
                name: {"count": n, "rss_growth_kb": kb}
                for name, (n, kb) in sorted(self.requests.items(), key=lambda kv: -kv[1][1])
            }
            body = json.dumps(figures).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


def main(argv: list[str] | None = None) -> int:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    p = argparse.ArgumentParser(prog="python -m local.aws", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port")
    p.add_argument(
        "--no-retention",
        dest="retention",
        action="store_false",
        help="keep everything moto keeps (to measure its growth; local/moto_memory.py)",
    )
    args = p.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per AWS call otherwise
    # A transaction backs up what it touches, not whole tables (local/moto_transactions.py).
    from local.moto_transactions import install

    install()
    app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
    if args.retention:
        from local.moto_memory import install_retention

        install_retention(app.lock)
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    port = server.server_address[1]
    exit_with_parent(server.shutdown)
    say_ready(f"http://{args.host}:{port}")
    server.serve_forever(poll_interval=0.1)  # shutdown() waits up to one interval (Ctrl-C)
    # Nothing to save (moto keeps all in memory), and tearing down its thousands of imported
    # modules took most of a second: exit now, so Ctrl-C stops the stack within 2 s.
    quick_exit(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
