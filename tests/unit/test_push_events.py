from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.push_events import endpoint_to_retire

ARN = "arn:aws:sns:ap-south-1:123456789012:endpoint/GCM/tvarit/5f3c"


def failure(**overrides: Any) -> dict[str, Any]:
    event = {
        "DeliveryAttempts": 1,
        "EndpointArn": ARN,
        "EventType": "DeliveryFailure",
        "FailureMessage": "Endpoint is disabled",
        "FailureType": "EndpointDisabled",
        "MessageId": "1",
        "Resource": "arn:aws:sns:ap-south-1:123456789012:app/GCM/tvarit",
        "Service": "SNS",
        "Time": "2026-11-22T04:00:00.000Z",
    }
    event.update(overrides)
    return event


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (failure(), ARN),
        (json.dumps(failure()), ARN),
        (failure(FailureType="InvalidPlatformToken"), ARN),
        (failure(FailureType="DeliveryFailedPerm"), None),  # a bad payload, not a dead device
        (failure(EventType="EndpointUpdated"), None),
        (failure(EventType="EndpointCreated"), None),
        (failure(EndpointArn=""), None),
        (failure(EndpointArn=42), None),
        ({}, None),
        ("not json", None),
        ("[1, 2]", None),
    ],
)
def test_only_dead_endpoints_are_retired(message: Any, expected: str | None) -> None:
    assert endpoint_to_retire(message) == expected
