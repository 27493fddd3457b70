"""SQS adapter: the mentions queue."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.aws_budget import upstream_error
from chalicelib.errors import BackpressureError, UpstreamError

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 250 * 1024  # SQS allows 256 KiB per batch; keep headroom for attributes


class SqsMentionQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for batch in _batches([json.dumps(m, ensure_ascii=False) for m in messages]):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)]
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self._queue_url, Entries=entries
                )
            except (ClientError, BotoCoreError) as err:
                raise upstream_error(err, "the mentions queue") from err
            if response.get("Failed"):
                codes = sorted({f.get("Code", "?") for f in response["Failed"]})
                if not any(f.get("SenderFault") for f in response["Failed"]):
                    # SQS's own fault (a partial outage): the caller should retry the batch.
                    raise BackpressureError(
                        f"the mentions queue failed messages: {', '.join(codes)}", retry_after=2
                    )
                raise UpstreamError(f"the mentions queue refused messages: {', '.join(codes)}")


def _batches(bodies: list[str]) -> list[list[str]]:
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for body in bodies:
        n = len(body.encode())
        if current and (len(current) == MAX_BATCH_ENTRIES or size + n > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(body)
        size += n
    if current:
        batches.append(current)
    return batches
