"""Throttling faults at the AWS boundary, for the soak run (``local.soak``); local stack only.

:func:`install` is a worker plugin (``TVARIT_WORKER_PLUGIN=local.faults:install``): it adds a
botocore ``before-send`` handler to every botocore session the worker creates afterwards, so
the app's own clients (its adapters and PynamoDB) meet the faults. The handler reads a small
JSON switch file named by ``TVARIT_FAULTS_FILE`` (``{"dynamodb": 0.3, "sns": 0.5}``: the share
of calls to answer with a throttling error) and, for that share, answers instead of AWS with
the error AWS sends when it throttles: HTTP 400 with DynamoDB's
``ProvisionedThroughputExceededException`` or SNS's ``Throttling``. botocore then does what it
does in production: backs off, retries within its budget, and raises ``ClientError`` when the
budget is spent. Nothing here is imported by ``chalicelib``: it never reaches Lambda.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FAULTS_FILE_ENV = "TVARIT_FAULTS_FILE"
PLUGIN = "local.faults:install"
REREAD_SECONDS = 0.2  # how stale a worker's view of the switch may be

# What AWS answers when it throttles a call, per service (botocore's service id).
THROTTLED: dict[str, tuple[dict[str, str], bytes]] = {
    "dynamodb": (
        {"Content-Type": "application/x-amz-json-1.0"},
        json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was "
                "exceeded (injected by local.faults)",
            }
        ).encode(),
    ),
    "sns": (
        {"Content-Type": "text/xml"},
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        b"<Message>Rate exceeded (injected by local.faults)</Message></Error>"
        b"<RequestId>local-faults</RequestId></ErrorResponse>",
    ),
}


class _Raw:
    """The raw body of an answer, as botocore reads it (``stream()``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class FaultSwitch:
    """The shares of calls to throttle, re-read from the switch file now and then."""

    path: Path
    rng: random.Random
    shares: dict[str, float]
    _read_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def share(self, service: str) -> float:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at >= REREAD_SECONDS:
                self._read_at = now
                self.shares = read_switch(self.path)
            return self.shares.get(service, 0.0)

    def throttled(self, service: str) -> bool:
        share = self.share(service)
        return share > 0 and self.rng.random() < share


def read_switch(path: Path) -> dict[str, float]:
    """The switch file's shares; no file (or a half-written one) means no faults."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in raw.items() if k in THROTTLED}


def write_switch(path: Path, shares: dict[str, float]) -> None:
    """Set the shares for every worker (atomically: a reader never sees half a file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(shares), encoding="utf-8")
    tmp.replace(path)


def answer_for(switch: FaultSwitch, service: str) -> Any:
    """The throttling answer for one call, or None to let it go to AWS."""
    from botocore.awsrequest import AWSResponse

    if not switch.throttled(service):
        return None
    headers, body = THROTTLED[service]
    return AWSResponse("http://local.faults/", 400, dict(headers), _Raw(body))


def install(kind: str = "") -> None:
    """Throttle this process's AWS calls as the switch file says (a worker plugin)."""
    path = os.environ.get(FAULTS_FILE_ENV, "")
    if not path:
        return
    import botocore.handlers

    switch = FaultSwitch(Path(path), random.Random(os.getpid()), {})
    for service in THROTTLED:

        def handler(service: str = service, **_: Any) -> Any:
            return answer_for(switch, service)

        # Every botocore session registers the built-in handlers when it is made.
        botocore.handlers.BUILTIN_HANDLERS.append((f"before-send.{service}", handler))
