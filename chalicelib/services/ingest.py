"""Accept posts from the signed webhook and put them on the mentions queue."""

from __future__ import annotations

import json
from collections.abc import Mapping

from chalicelib.domain.json_limits import loads_bounded
from chalicelib.domain.mention import mention_to_dict
from chalicelib.domain.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_posts,
    verify,
)
from chalicelib.errors import FieldProblem, MalformedInputError, PayloadTooLargeError
from chalicelib.services.ports import MentionQueue

MAX_BODY_BYTES = 256 * 1024


def accept_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float,
    queue: MentionQueue,
) -> list[str]:
    """Verify, validate and enqueue; returns the mention keys accepted (nothing on any error)."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"body is larger than {MAX_BODY_BYTES} bytes")
    lower = {k.lower(): v for k, v in headers.items()}
    # Authenticate before parsing: an unsigned body is never looked at.
    verify(secret, lower.get(TIMESTAMP_HEADER), lower.get(SIGNATURE_HEADER), body, now)
    try:
        decoded = loads_bounded(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise MalformedInputError(
            "body is not UTF-8", [FieldProblem("body", f"invalid byte at offset {err.start}")]
        ) from None
    except json.JSONDecodeError as err:
        raise MalformedInputError(
            "body is not valid JSON",
            [FieldProblem("body", f"{err.msg} at line {err.lineno} column {err.colno}")],
        ) from None
    mentions = parse_posts(decoded)
    queue.send([mention_to_dict(m) for m in mentions])
    return [m.key for m in mentions]
