"""One post's journey through the local stack: every log line about it shares one correlation id.

The correlation id is the mention key (``platform#native_id``). Lines are captured as the
powertools JSON the functions print in Lambda (the logger's own formatter), at INFO.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import wiring
from local.demo import load_demo_config, seed
from local.replay import signed_request
from local.stack import LocalStack

POST = {
    "platform": "x",
    "id": "1860000000000000901",
    "author": {"id": "ArvindKejriwal", "handle": "ArvindKejriwal", "name": "Arvind Kejriwal"},
    "created_at": "2016-11-20T10:00:00Z",
    "text": "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया।",
    "url": "https://x.com/ArvindKejriwal/status/1860000000000000901",
}
KEY = "x#1860000000000000901"


class JsonLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalStack, JsonLines]]:
    from chalicelib.observability import logger

    s = LocalStack(visibility_timeout=1, max_receive_count=2, log_level="INFO").start()
    capture = JsonLines()
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    try:
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo)
        yield s, capture
    finally:
        logger.removeHandler(capture)
        s.stop()


def test_the_log_lines_of_one_posts_journey_share_its_mention_key(
    stack: tuple[LocalStack, JsonLines],
) -> None:
    s, capture = stack
    request = signed_request(s.api_url, s.webhook_secret, POST, int(time.time()))
    import urllib.request

    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 202

    def journey() -> list[dict[str, Any]]:
        return [line for line in capture.lines if line.get("correlation_id") == KEY]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sum(line["message"] == "task dispatched" for line in journey()) >= 2:
            break
        time.sleep(0.2)
    lines = journey()
    messages = [line["message"] for line in lines]
    assert messages[0] == "post accepted"
    assert "mention analyzed" in messages
    analyzed = next(line for line in lines if line["message"] == "mention analyzed")
    task_ids = set(analyzed["new_task_ids"])
    assert len(task_ids) == 2  # the two Delhi teams
    dispatched = {line["task_id"] for line in lines if line["message"] == "task dispatched"}
    assert dispatched == task_ids
    # Every line that names this post or one of its tasks carries the same correlation id.
    about_it = [
        line
        for line in capture.lines
        if KEY in json.dumps(line, ensure_ascii=False)
        or any(t in json.dumps(line) for t in task_ids)
    ]
    assert about_it and all(line.get("correlation_id") == KEY for line in about_it)
    assert all(line["service"] == "tvarit" and line["level"] == "INFO" for line in lines)
