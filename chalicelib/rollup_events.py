"""The rollup's stream consumer: a second reader of the tasks table's stream (after dispatch)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.errors import UpstreamError
from chalicelib.observability import logger
from chalicelib.wiring import container

rollup_events = Blueprint(__name__)


@rollup_events.lambda_function(name="rollup")
def rollup_tasks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Count each task change into the daily rollup, once (``services.rollup``)."""
    from chalicelib.adapters.dynamo.repositories import task_from_stream_image
    from chalicelib.services.rollup import record_changes

    c = container()
    added = 0
    for record in event.get("Records", []):
        data = record.get("dynamodb", {})
        if record.get("eventName") not in ("INSERT", "MODIFY") or "NewImage" not in data:
            continue  # a removed task (TTL) changes no day that was counted
        old = task_from_stream_image(data["OldImage"]) if "OldImage" in data else None
        try:
            added += record_changes(
                c.rollups, [(old, task_from_stream_image(data["NewImage"]))], c.clock()
            )
        except UpstreamError:
            # Retried from here on: the records before it are counted, and counting is once.
            logger.exception("rollup failed", extra={"sequence": data.get("SequenceNumber")})
            return {"batchItemFailures": [{"itemIdentifier": data["SequenceNumber"]}]}
    logger.debug("rollup", extra={"contributions": added})
    return {"batchItemFailures": []}
