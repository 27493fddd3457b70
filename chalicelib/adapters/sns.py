"""SNS adapter: one topic per state; subscriptions' filter policies fan out to devices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.notify import Publish
from chalicelib.errors import UpstreamError


class SnsTaskPublisher:
    def __init__(self, client: Any, topic_arn_for: Callable[[str], str]) -> None:
        self._client = client
        self._topic_arn_for = topic_arn_for

    def send(self, call: Publish) -> list[str]:
        request = call.request(self._topic_arn_for(call.state))
        try:
            if call.api == "Publish":
                return [str(self._client.publish(**request)["MessageId"])]
            response = self._client.publish_batch(**request)
        except (ClientError, BotoCoreError) as err:
            # Throttling is retried inside botocore (standard mode); what reaches here failed.
            raise UpstreamError(f"publishing to the {call.state} topic failed") from err
        if response.get("Failed"):
            # The whole call is retried; entries that did go out are repeats receivers drop.
            codes = sorted({f.get("Code", "?") for f in response["Failed"]})
            raise UpstreamError(f"{call.state} topic refused entries: {', '.join(codes)}")
        ids = {e["Id"]: str(e["MessageId"]) for e in response.get("Successful", [])}
        return [ids.get(e.id, "") for e in call.entries]
