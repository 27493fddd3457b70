"""Authentication on every request: a middleware that verifies the bearer token (default deny).

Chalice's Cognito authorizer is not checked by ``chalice local`` and would leave tests blind, so
the token is verified here, in the same code path locally and in Lambda. Only the routes in
:data:`PUBLIC_ROUTES` go without a token. The middleware also turns Chalice's own error replies
(405, 415) into problem+json, so every error the API gives has one shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.api.problems import PROBLEM_JSON, problem, problem_for, request_path
from chalicelib.domain.access import Principal, principal_from_claims
from chalicelib.domain.platforms import push_endpoints
from chalicelib.errors import AuthenticationError, FieldProblem, TvaritError
from chalicelib.web.paths import PAGE_ROUTES
from chalicelib.wiring import container

# The webhook authenticates with its own HMAC signature.
# Authenticated otherwise: an HMAC signature, a platform's secret token or WebSub's HMAC.
PUBLIC_ROUTES = frozenset(
    {
        "/health",
        "/openapi.json",
        "/ingest/webhook",
        # Platforms authenticate their pushes themselves (secret header, HMAC).
        *(ep.path for _, ep in push_endpoints()),
    }
)
PRINCIPAL_KEY = "tvarit.principal"

_CHALICE_ERRORS = {
    400: ("malformed-input", "Malformed input"),
    405: ("method-not-allowed", "Method not allowed"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def bearer_token(headers: Any) -> str:
    value = str(headers.get("authorization") or "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "a bearer token is required",
            [FieldProblem("authorization", "expected 'Bearer <token>'")],
        )
    return token.strip()


def authenticate_request(headers: Any) -> Principal:
    """The caller of a request, or AuthenticationError."""
    claims = container().token_verifier.verify(bearer_token(headers))
    return principal_from_claims(claims)


def _as_problem(response: Response, instance: str) -> Response:
    body = response.body
    known = _CHALICE_ERRORS.get(response.status_code)
    if known and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        out = problem(response.status_code, *known, str(body["Message"]), instance, [])
        for name, value in response.headers.items():
            if name.lower() == "allow":
                out.headers[name] = value
        return out
    return response


def authenticate(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: verify the token unless the route is public; the principal rides along."""
    path = str(getattr(event, "path", ""))
    # The pages (chalicelib/web) authenticate by their own session cookie.
    if path not in PUBLIC_ROUTES and path not in PAGE_ROUTES:
        try:
            event.context[PRINCIPAL_KEY] = authenticate_request(event.headers)
        except TvaritError as err:
            return problem_for(err, request_path(event))
    return _as_problem(get_response(event), request_path(event))


def principal_of(request: Any) -> Principal:
    """The verified caller of the current request (set by :func:`authenticate`)."""
    found = request.context.get(PRINCIPAL_KEY) if request is not None else None
    if not isinstance(found, Principal):
        raise AuthenticationError("not authenticated")
    return found


__all__ = ["PROBLEM_JSON", "authenticate", "principal_of"]
