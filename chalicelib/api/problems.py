"""RFC 9457 problem+json: the one table from our error tree to HTTP statuses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib import errors
from chalicelib.api import wire
from chalicelib.observability import logger

PROBLEM_JSON = "application/problem+json"
# Seconds a client should wait after a 503 whose cause named no better figure (RFC 9110 10.2.3).
DEFAULT_RETRY_AFTER = 5

# Most specific first; the first isinstance match wins.
STATUS_TABLE: tuple[tuple[type[errors.TvaritError], int, str, str], ...] = (
    (errors.MalformedInputError, 400, "malformed-input", "Malformed input"),
    (errors.ParseError, 400, "parse-error", "Could not parse the input"),
    (errors.InvalidInputError, 422, "invalid-input", "Invalid input"),
    (errors.AuthenticationError, 401, "unauthenticated", "Authentication failed"),
    (errors.ForbiddenError, 403, "forbidden", "Forbidden"),
    (errors.NotFoundError, 404, "not-found", "Not found"),
    (errors.ConflictError, 409, "conflict", "Conflict"),
    (errors.PreconditionFailedError, 412, "precondition-failed", "Precondition failed"),
    (errors.PayloadTooLargeError, 413, "payload-too-large", "Payload too large"),
    (errors.UnsupportedMediaTypeError, 415, "unsupported-media-type", "Unsupported media type"),
    (errors.PreconditionRequiredError, 428, "precondition-required", "Precondition required"),
    (errors.TooManyRequestsError, 429, "rate-limited", "Too many requests"),
    (errors.UpstreamError, 503, "upstream-unavailable", "A dependency is unavailable; retry"),
)


def request_path(request: Any) -> str:
    """The path the client asked for (``/teams/DL-1``), for a problem's ``instance``.

    Chalice's ``request.path`` is the route template (``/teams/{object_id}``). API Gateway's
    proxy event has the requested path at ``path`` (``requestContext.path`` adds the stage);
    ``chalice local`` and ``chalice.test`` set only ``requestContext.path``, without a stage.
    """
    if request is None:
        return ""
    event = request.to_original_event()
    path = event.get("path") or event.get("requestContext", {}).get("path")
    return str(path) if path else str(request.path)


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    problems: list[Any],
    retry_after: int | None = None,
) -> Response:
    body: wire.Problem = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if problems:
        body["errors"] = problems
    headers: dict[str, str | list[str]] = {"Content-Type": PROBLEM_JSON}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        # A client that retries at once adds to the overload it was told about.
        headers["Retry-After"] = str(DEFAULT_RETRY_AFTER if retry_after is None else retry_after)
    return Response(body=body, status_code=status, headers=headers)


def problem_for(err: errors.TvaritError, instance: str) -> Response:
    for cls, status, slug, title in STATUS_TABLE:
        if isinstance(err, cls):
            retry_after = err.retry_after if isinstance(err, errors.BackpressureError) else None
            return problem(
                status,
                slug,
                title,
                err.detail,
                instance,
                [p.as_dict() for p in err.problems],
                retry_after,
            )
    return problem(500, "internal", "Internal error", "unexpected error", instance, [])


def problems(instance_of: Callable[[], str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view: our errors become problem+json, anything else a 500 without a stack trace."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except errors.TvaritError as err:
                return problem_for(err, instance_of())
            except Exception:
                logger.exception("unhandled error in view")
                return problem(
                    500, "internal", "Internal error", "unexpected error", instance_of(), []
                )

        return wrapper

    return decorate
