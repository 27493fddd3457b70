"""SNS adapter: one topic per state; subscriptions' filter policies fan out to devices."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import UpstreamError


class SnsTaskPublisher:
    def __init__(self, client: Any, topic_arn_for: Callable[[str], str]) -> None:
        self._client = client
        self._topic_arn_for = topic_arn_for

    def publish(self, state: str, message: str, attributes: Mapping[str, Any]) -> str:
        try:
            response = self._client.publish(
                TopicArn=self._topic_arn_for(state),
                Message=message,
                MessageStructure="json",
                MessageAttributes=dict(attributes),
            )
        except (ClientError, BotoCoreError) as err:
            # Throttling is retried inside botocore (standard mode); what reaches here failed.
            raise UpstreamError(f"publishing to the {state} topic failed") from err
        return str(response["MessageId"])
