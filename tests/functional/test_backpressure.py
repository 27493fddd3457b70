"""The webhook under a queue that refuses, hangs or throttles: 503 problem+json with Retry-After,
within the AWS budget's attempts, never a hang; event handlers hand back what they cannot finish
before the deadline."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.aws_budget import (
    RETRY_AFTER_THROTTLED,
    RETRY_AFTER_UNREACHABLE,
    AwsBudget,
)
from chalicelib.api.problems import DEFAULT_RETRY_AFTER
from chalicelib.domain.tasks import TaskStatus
from chalicelib.services.deadline import DEFAULT_MARGIN_MS
from tests.factories import make_message
from tests.functional.conftest import NOW, SETTINGS, World
from tests.functional.test_event_handlers import analyze, sqs_event, stream_event
from tests.functional.test_ingest_webhook import POST, post, signed
from tests.unreachable import refused_url, silent_endpoint, throttling_endpoint

# Small numbers keep the tests quick; the attempts they count are the budget's own.
BUDGET = AwsBudget(connect_timeout=0.5, read_timeout=0.3, max_attempts=2)


@pytest.fixture
def queue_at() -> Iterator[Any]:
    """Wire the real SQS adapter, built by the container with its budget, to an endpoint."""

    def install(endpoint_url: str) -> None:
        # The deployed queue's name: the e2e IAM check sees these calls as the API's.
        settings = dataclasses.replace(
            SETTINGS,
            endpoint_url=endpoint_url,
            mentions_queue_url=f"{endpoint_url}/123456789012/tvarit-mentions",
        )
        wiring.use(wiring.Container(settings, aws_budget=BUDGET, wall_time=lambda: NOW))

    yield install
    wiring.use(None)


def _webhook(client: Client) -> Any:
    body = json.dumps(POST).encode()
    return post(client, body, signed(body))


def _assert_503(response: Any, retry_after: int) -> None:
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body["type"] == "/problems/upstream-unavailable"
    assert response.headers["Retry-After"] == str(retry_after)


def test_a_queue_refusing_connections_is_503_with_retry_after(
    client: Client, queue_at: Any
) -> None:
    queue_at(refused_url())
    response = _webhook(client)
    _assert_503(response, RETRY_AFTER_UNREACHABLE)
    assert "unreachable" in response.json_body["detail"]


def test_a_queue_that_never_answers_is_503_after_the_budgets_attempts(
    client: Client, queue_at: Any
) -> None:
    with silent_endpoint() as endpoint:
        queue_at(endpoint.url)
        response = _webhook(client)
        # Each attempt timed out reading and was given up: a new connection per attempt.
        assert endpoint.connections == BUDGET.max_attempts
    _assert_503(response, RETRY_AFTER_UNREACHABLE)


@pytest.mark.parametrize("error_type", ["ThrottlingException", "RequestThrottled"])
def test_a_throttling_queue_is_503_with_a_shorter_retry_after(
    client: Client, queue_at: Any, error_type: str
) -> None:
    with throttling_endpoint(f"com.amazonaws.sqs#{error_type}") as endpoint:
        queue_at(endpoint.url)
        response = _webhook(client)
        assert endpoint.requests == BUDGET.max_attempts  # botocore retried the throttle
    _assert_503(response, RETRY_AFTER_THROTTLED)
    assert "throttling" in response.json_body["detail"]


def test_a_queue_refusing_the_request_itself_is_503_with_the_default_retry_after(
    client: Client, queue_at: Any
) -> None:
    with throttling_endpoint("com.amazonaws.sqs#QueueDoesNotExist") as endpoint:
        queue_at(endpoint.url)
        response = _webhook(client)
        assert endpoint.requests == 1  # not a transient error: not retried
    _assert_503(response, DEFAULT_RETRY_AFTER)


def test_every_503_carries_retry_after(client: Client, world: World) -> None:
    world.queue.fail = True  # the fake's plain UpstreamError
    _assert_503(_webhook(client), DEFAULT_RETRY_AFTER)


def test_a_webhook_that_succeeds_has_no_retry_after(client: Client, world: World) -> None:
    response = _webhook(client)
    assert response.status_code == 202
    assert "Retry-After" not in response.headers


@dataclasses.dataclass
class DwindlingContext:
    """A Lambda context whose remaining time drops by ``step_ms`` each time it is asked."""

    remaining: float
    step_ms: float
    function_name: str = "analyze"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ap-south-1:123456789012:function:analyze"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> float:
        now = self.remaining
        self.remaining -= self.step_ms
        return now


def test_analyze_hands_back_the_records_it_has_no_time_for(client: Client, world: World) -> None:
    bodies = [json.dumps(make_message(native_id=f"18490000000000000{i:02d}")) for i in range(6)]
    # Read at the start (20 s: the full margin applies), then before each record: 16, 12, 8 s
    # left, then 4 s, under the margin.
    context = DwindlingContext(remaining=4 * DEFAULT_MARGIN_MS, step_ms=DEFAULT_MARGIN_MS * 0.8)
    from app import app

    result = app.handler_map["analyze"](sqs_event(client, bodies), context)
    assert result == {"batchItemFailures": [{"itemIdentifier": f"m-{i}"} for i in (3, 4, 5)]}
    analyzed = {k.split("#")[1] for k in world.mentions.items}
    assert analyzed == {f"18490000000000000{i:02d}" for i in range(3)}


def test_analyze_with_time_to_spare_takes_every_record(client: Client, world: World) -> None:
    bodies = [json.dumps(make_message(native_id=f"18490000000000000{i:02d}")) for i in range(3)]
    context = DwindlingContext(remaining=30_000, step_ms=100)
    from app import app

    result = app.handler_map["analyze"](sqs_event(client, bodies), context)
    assert result == {"batchItemFailures": []}
    assert len(world.mentions.items) == 3


def test_dispatch_near_the_deadline_hands_the_batch_back_unpublished(
    client: Client, world: World
) -> None:
    analyze(client, [json.dumps(make_message())])
    tasks = list(world.tasks.tasks.values())
    assert tasks
    from app import app

    # Started with 30 s, then stalled (a throttled publish before it): under the margin now.
    near = DwindlingContext(remaining=30_000, step_ms=30_000 - DEFAULT_MARGIN_MS + 1)
    near.function_name = "dispatch"
    result = app.handler_map["dispatch"](stream_event(tasks), near)
    assert result == {
        "batchItemFailures": [{"itemIdentifier": str(100 + i)} for i in range(len(tasks))]
    }
    assert world.publisher.calls == []
    assert all(world.tasks.tasks[t.task_id].status is TaskStatus.NEW for t in tasks)

    ample = DwindlingContext(remaining=30_000, step_ms=0, function_name="dispatch")
    assert app.handler_map["dispatch"](stream_event(tasks), ample) == {"batchItemFailures": []}
    assert world.publisher.calls != []
