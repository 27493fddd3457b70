"""Push ingestion: ``POST /ingest/webhook`` for signed posts from any listening tool."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.problems import problems, request_path
from chalicelib.api.wire import Accepted
from chalicelib.observability import logger, metrics
from chalicelib.services.ingest import accept_webhook
from chalicelib.stages import mark
from chalicelib.wiring import container

ingest_api = Blueprint(__name__)


def _path() -> str:
    return request_path(ingest_api.current_request)


@ingest_api.route("/ingest/webhook", methods=["POST"], content_types=["application/json"])
@problems(_path)
def ingest_webhook() -> Response:
    request = ingest_api.current_request
    c = container()
    body = request.raw_body or b""
    received = c.wall_time()
    keys = accept_webhook(
        body.encode() if isinstance(body, str) else body,
        request.headers,
        c.webhook_secret,
        received,
        c.mention_queue,
    )
    queued = c.wall_time()
    for key in keys:
        logger.info("post accepted", extra={"correlation_id": key})
        mark("received", key, received)
        mark("queued", key, queued, since=received, metrics=metrics)
    metrics.add_metric(name="MentionsIngested", unit="Count", value=len(keys))
    accepted: Accepted = {"accepted": len(keys), "keys": keys}
    return Response(body=accepted, status_code=202)
