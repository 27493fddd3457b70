"""The local stand-in for API Gateway, answering unknown routes the way the deployed one does.

Chalice's ``LocalGateway`` mimics API Gateway's defaults: 403 "Missing Authentication Token" for
a path no route matches, and with an Authorization header a SigV4 complaint that echoes the
header, bearer token included. The deployed API replaces those answers with problem+json
(``infra/stack.py`` ``GATEWAY_ANSWERS``); this gateway gives the same 404 locally, so the local
stack and the tests see what production clients see.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalGateway, RouteMatcher

PROBLEM_JSON = "application/problem+json"


def unknown_route_answer(request_id: str) -> dict[str, Any]:
    """The deployed MISSING_AUTHENTICATION_TOKEN answer, as a Lambda proxy response."""
    body = {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no such route",
        "instance": f"urn:tvarit:request:{request_id}",
    }
    return {
        "statusCode": 404,
        "headers": {"Content-Type": PROBLEM_JSON},
        "multiValueHeaders": {},
        "body": json.dumps(body, separators=(",", ":")),
    }


class ProblemGateway(LocalGateway):  # type: ignore[misc]
    """``LocalGateway`` with the deployed API's answer to a path that matches no route."""

    def __init__(self, app_object: Any, config: Any) -> None:
        super().__init__(app_object, config)
        self._routes = RouteMatcher(list(app_object.routes))

    def handle_request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        try:
            self._routes.match_route(path)
        except ValueError:  # RouteMatcher's "no route": nothing of the request is echoed
            return unknown_route_answer(self._generate_lambda_context().aws_request_id)
        response: dict[str, Any] = super().handle_request(method, path, headers, body)
        return response


class ProblemRequestHandler(ChaliceRequestHandler):  # type: ignore[misc]
    """``chalice local``'s request handler, serving through :class:`ProblemGateway`."""

    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
    ) -> None:
        # ChaliceRequestHandler.__init__ builds its gateway and then serves at once (the base
        # class handles the request inside __init__), so the gateway is set here instead.
        self.local_gateway = ProblemGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)
