"""The local AWS runs one DynamoDB request at a time and leaves the other services concurrent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from local.aws import SerialisedDynamoDB


class Overlap:
    """A WSGI app that takes a while and records how many of its calls overlapped."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self._lock:
            self.now -= 1
        start("200 OK", [])
        return [b"{}"]


def _concurrently(app: SerialisedDynamoDB, target: str, n: int = 6) -> None:
    environ = {"HTTP_X_AMZ_TARGET": target}
    threads = [threading.Thread(target=app, args=(environ, lambda *a: None)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_dynamodb_and_its_streams_are_served_one_request_at_a_time() -> None:
    for target in ("DynamoDB_20120810.TransactWriteItems", "DynamoDBStreams_20120810.GetRecords"):
        inner = Overlap()
        _concurrently(SerialisedDynamoDB(inner), target)
        assert inner.most == 1, target


def test_other_services_stay_concurrent() -> None:
    inner = Overlap()
    _concurrently(SerialisedDynamoDB(inner), "AmazonSQS.ReceiveMessage")
    assert inner.most > 1
