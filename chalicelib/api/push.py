"""Platform push endpoints: ``POST /ingest/telegram``, ``GET|POST /ingest/websub/youtube``."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.problems import problems, request_path
from chalicelib.api.wire import Accepted
from chalicelib.observability import logger, metrics
from chalicelib.wiring import container

push_api = Blueprint(__name__)


def _path() -> str:
    return request_path(push_api.current_request)


def _accepted(keys: tuple[str, ...]) -> Accepted:
    return {"accepted": len(keys), "keys": list(keys)}


def _body() -> bytes:
    raw = push_api.current_request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


@push_api.route("/ingest/telegram", methods=["POST"], content_types=["application/json"])
@problems(_path)
def telegram_update() -> Response:
    from chalicelib.services.push import accept_telegram_update

    c = container()
    if c.settings.telegram_bot_username:
        from chalicelib.services.push import read_bot_update

        # Button taps and /start links are the bot's (issue 13); posts go on to ingest.
        update = read_bot_update(
            _body(), push_api.current_request.headers, c.secret("telegram_webhook_secret")
        )
        outcome = c.telegram_bot.handle(update) if update is not None else None
        if outcome is not None and outcome.handled:
            # No chat or user ids here: they are personal data.
            logger.info(
                "telegram bot update",
                extra={"result": outcome.result, "task_id": outcome.task_id},
            )
            metrics.add_metric(name="TelegramBotUpdates", unit="Count", value=1)
            return Response(body=_accepted(()), status_code=200)
    result = accept_telegram_update(
        _body(),
        push_api.current_request.headers,
        c.secret("telegram_webhook_secret"),
        c.mention_queue,
    )
    if result.ignored:
        logger.warning("telegram update ignored", extra={"reason": result.ignored})
    for key in result.keys:
        logger.info("post accepted", extra={"correlation_id": key})
    metrics.add_metric(name="MentionsIngested", unit="Count", value=len(result.keys))
    return Response(body=_accepted(result.keys), status_code=200)


@push_api.route("/ingest/websub/youtube", methods=["GET"])
@problems(_path)
def websub_verify() -> Response:
    from chalicelib.services.push import answer_websub_verification

    c = container()
    params = dict(push_api.current_request.query_params or {})
    channels = [
        a.platform_id
        for leader in c.config.watch_config().leaders.values()
        for a in leader.accounts
        if a.platform == "youtube" and a.platform_id
    ]
    challenge = answer_websub_verification(params, channels)
    return Response(body=challenge, status_code=200, headers={"Content-Type": "text/plain"})


@push_api.route(
    "/ingest/websub/youtube",
    methods=["POST"],
    content_types=["application/atom+xml", "application/xml", "text/xml"],
)
@problems(_path)
def websub_notification() -> Response:
    from chalicelib.services.push import accept_websub_notification

    c = container()
    result = accept_websub_notification(
        _body(), push_api.current_request.headers, c.secret("websub_secret"), c.mention_queue
    )
    for key in result.keys:
        logger.info("post accepted", extra={"correlation_id": key})
    metrics.add_metric(name="MentionsIngested", unit="Count", value=len(result.keys))
    return Response(body=_accepted(result.keys), status_code=202)
