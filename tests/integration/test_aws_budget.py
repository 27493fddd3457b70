"""Every AWS client the container builds honours the budget against endpoints that are away:
a DynamoDB table (PynamoDB's own client), SQS and SNS. Judged by attempts seen, not by time."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from chalicelib import wiring
from chalicelib.adapters.aws_budget import AwsBudget
from chalicelib.errors import BackpressureError, UpstreamError
from tests.integration.conftest import MOTO_SETTINGS
from tests.unreachable import refused_url, silent_endpoint, throttling_endpoint

BUDGET = AwsBudget(connect_timeout=0.5, read_timeout=0.3, max_attempts=2)


@pytest.fixture
def at() -> Iterator[object]:
    def install(endpoint_url: str) -> wiring.Container:
        settings = dataclasses.replace(
            MOTO_SETTINGS,
            endpoint_url=endpoint_url,
            mentions_queue_url=f"{endpoint_url}/123456789012/tvarit-mentions",
            state_topic_arn_prefix="arn:aws:sns:ap-south-1:123456789012:tvarit-state-",
        )
        c = wiring.Container(settings, aws_budget=BUDGET)
        wiring.use(c)
        return c

    yield install
    wiring.use(None)
    from chalicelib.adapters.dynamo.models import bind

    bind(MOTO_SETTINGS)  # the next test's models point at moto again


def test_a_table_that_never_answers_fails_after_the_budgets_attempts(at: object) -> None:
    with silent_endpoint() as endpoint:
        c = at(endpoint.url)  # type: ignore[operator]
        with pytest.raises(UpstreamError):
            c.tasks.get("t-1")
        assert endpoint.connections == BUDGET.max_attempts


def test_a_throttled_table_is_retried_within_the_budget(at: object) -> None:
    with throttling_endpoint(
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
    ) as endpoint:
        c = at(endpoint.url)  # type: ignore[operator]
        with pytest.raises(UpstreamError):
            c.tasks.get("t-1")
        assert endpoint.requests == BUDGET.max_attempts


def test_a_queue_that_never_answers_is_backpressure(at: object) -> None:
    with silent_endpoint() as endpoint:
        c = at(endpoint.url)  # type: ignore[operator]
        with pytest.raises(BackpressureError) as raised:
            c.mention_queue.send([{"platform": "x", "native_id": "1"}])
        assert endpoint.connections == BUDGET.max_attempts
    assert raised.value.retry_after > 0


def test_a_stopped_sns_endpoint_fails_at_once_as_an_upstream_error(at: object) -> None:
    c = at(refused_url())  # type: ignore[operator]
    with pytest.raises(UpstreamError):
        c.devices.set_filter_policy(
            "arn:aws:sns:ap-south-1:123456789012:tvarit-state-DL:sub-1", {"team": ["DL-1"]}
        )
