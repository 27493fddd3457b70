"""Platform push endpoints: one route per push endpoint of a platform descriptor.

``chalicelib/domain/platforms.py`` lists them (Telegram's bot webhook, YouTube's WebSub); the
handlers live in the platforms' adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalice import Blueprint, Response

from chalicelib.api.problems import problems, request_path
from chalicelib.api.wire import Accepted
from chalicelib.domain.platforms import Platform, PushEndpoint, push_endpoints
from chalicelib.observability import logger, metrics
from chalicelib.services.ports import MentionQueue
from chalicelib.wiring import Container, container

push_api = Blueprint(__name__)


def _path() -> str:
    return request_path(push_api.current_request)


def _accepted(keys: tuple[str, ...]) -> Accepted:
    return {"accepted": len(keys), "keys": list(keys)}


def _body() -> bytes:
    raw = push_api.current_request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


class _Context:
    """What a push handler may use, over the composition root."""

    def __init__(self, c: Container) -> None:
        self._c = c

    def secret(self, name: str) -> str:
        return self._c.secret(name)

    @property
    def mention_queue(self) -> MentionQueue:
        return self._c.mention_queue

    def bot_interaction(self, update: Mapping[str, object]) -> bool:
        c = self._c
        if not c.settings.telegram_bot_username:
            return False
        outcome = c.telegram_bot.handle(update)
        if not outcome.handled:
            return False
        # No chat or user ids here: they are personal data.
        logger.info(
            "telegram bot update", extra={"result": outcome.result, "task_id": outcome.task_id}
        )
        metrics.add_metric(name="TelegramBotUpdates", unit="Count", value=1)
        return True

    def watched_ids(self, platform: str) -> list[str]:
        return [
            a.platform_id
            for leader in self._c.config.watch_config().leaders.values()
            for a in leader.accounts
            if a.platform == platform and a.platform_id
        ]


def _view(p: Platform, ep: PushEndpoint) -> Callable[[], Response]:
    def view() -> Response:
        from chalicelib.adapters.platforms.registry import adapter_function
        from chalicelib.services.push import PushRequest, PushResult

        req = push_api.current_request
        request = PushRequest.of(
            _body() if ep.method != "GET" else b"",
            dict(req.headers or {}),
            dict(req.query_params or {}),
        )
        result = adapter_function(p, ep.handler)(request, _Context(container()))
        assert isinstance(result, PushResult)
        if result.text is not None:
            return Response(
                body=result.text, status_code=ep.ok, headers={"Content-Type": "text/plain"}
            )
        if result.ignored:
            logger.warning("push ignored", extra={"platform": p.name, "reason": result.ignored})
        for key in result.keys:
            logger.info("post accepted", extra={"correlation_id": key})
        metrics.add_metric(name="MentionsIngested", unit="Count", value=len(result.keys))
        return Response(body=_accepted(result.keys), status_code=ep.ok)

    view.__name__ = view.__qualname__ = ep.op_id
    return view


def _register() -> None:
    for p, ep in push_endpoints():
        options: dict[str, object] = {"methods": [ep.method], "name": ep.op_id}
        if ep.content_types:
            options["content_types"] = list(ep.content_types)
        push_api.route(ep.path, **options)(problems(_path)(_view(p, ep)))  # type: ignore[arg-type]


_register()
