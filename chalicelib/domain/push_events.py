"""SNS mobile push events: which ones mean a device endpoint is gone for good.

SNS platform applications publish delivery-status events to a topic
(``EventDeliveryFailure``); a failure of type ``EndpointDisabled`` means FCM or APNs told SNS
the token is dead (app uninstalled, token rotated). Such endpoints are retired: publishing to
them only fails, and a subscription's filter policy counts against the topic's quota.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

RETIRE_FAILURES = frozenset({"EndpointDisabled", "InvalidPlatformToken"})


def endpoint_to_retire(message: str | Mapping[str, Any]) -> str | None:
    """The endpoint ARN an SNS push event says is dead; None for any other event."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    if not isinstance(message, Mapping):
        return None
    if message.get("EventType") != "DeliveryFailure":
        return None
    if message.get("FailureType") not in RETIRE_FAILURES:
        return None
    arn = message.get("EndpointArn")
    return arn if isinstance(arn, str) and arn.startswith("arn:") else None
