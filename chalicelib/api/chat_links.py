"""Telegram links (issue 13): ``POST /teams/{team_id}/telegram-link`` (a lead links the
team's group) and ``POST /me/telegram-link`` (a warrior links their own account).

Each answers a one-time deep link; the bot binds the chat when it sees ``/start <token>``.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api import wire
from chalicelib.api.auth import principal_of
from chalicelib.api.http import iso
from chalicelib.api.problems import problems, request_path
from chalicelib.services.telegram_bot import IssuedLink
from chalicelib.wiring import container

chat_links_api = Blueprint(__name__)


def _path() -> str:
    return request_path(chat_links_api.current_request)


def _link(issued: IssuedLink) -> Response:
    body: wire.ChatLink = {"url": issued.url, "expires_at": iso(issued.expires_at)}
    # The link is a credential until used: never cached.
    return Response(body=body, status_code=201, headers={"Cache-Control": "no-store"})


@chat_links_api.route("/teams/{team_id}/telegram-link", methods=["POST"])
@problems(_path)
def team_telegram_link(team_id: str) -> Response:
    request = chat_links_api.current_request
    return _link(container().link_issuer.issue_team_link(principal_of(request), team_id))


@chat_links_api.route("/me/telegram-link", methods=["POST"])
@problems(_path)
def my_telegram_link() -> Response:
    request = chat_links_api.current_request
    return _link(container().link_issuer.issue_member_link(principal_of(request)))
