"""Idempotency-Key: a repeated request gets the first answer, and runs at most once.

A record is keyed by the method, the full request path, the caller and the key (so the same
key sent to another URL, or by another caller, is another request) and holds a fingerprint of
the body (the same key with another body is refused, 422). It is claimed with a conditional
put *before* the request runs, so of two concurrent requests with one key exactly one runs;
the other gets 409 "in progress", or the first answer once it is stored. A failed request
releases its claim (the client may retry with the same key). Records expire after
:data:`RECORD_TTL`; a claim whose request never finished (its container died) may be taken
over after :data:`CLAIM_LEASE`, longer than the API function may run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.errors import ConflictError, FieldProblem, InvalidInputError
from chalicelib.services.ports import IdempotencyStore, StoredAnswer

RECORD_TTL = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=2)  # the API function times out after 10 s, API Gateway at 29 s
MAX_KEY_LENGTH = 128
HEADER = "header:Idempotency-Key"


@dataclass(frozen=True)
class Request:
    """What identifies a request for idempotency: the caller, method, full path and body."""

    caller: str
    method: str
    path: str
    key: str
    body: bytes


def record_key(r: Request) -> str:
    """The record's id: a digest, so long paths and keys fit DynamoDB's key size."""
    text = "\x1f".join((r.caller, r.method.upper(), r.path, r.key))
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} characters",
            [FieldProblem(HEADER, f"1..{MAX_KEY_LENGTH} characters")],
        )


def run_once(
    store: IdempotencyStore,
    request: Request,
    execute: Callable[[], StoredAnswer],
    clock: Callable[[], datetime],
    new_id: Callable[[], str],
) -> tuple[StoredAnswer, bool]:
    """The answer to ``request`` and whether it is a replay; ``execute`` runs at most once.

    Only successful answers (below 300) are kept; an error raised by ``execute`` releases the
    claim and propagates.
    """
    check_key(request.key)
    rid = record_key(request)
    digest = fingerprint(request.body)
    for _ in range(2):  # a claim released between our claim and our read: claim once more
        now = clock()
        token = new_id()
        if store.claim(rid, digest, token, now, now + RECORD_TTL, now - CLAIM_LEASE):
            return _execute(store, rid, token, execute, now + RECORD_TTL), False
        seen = store.get(rid, now)
        if seen is None:
            continue
        if seen.fingerprint != digest:
            raise InvalidInputError(
                "this Idempotency-Key was used for another request",
                [FieldProblem(HEADER, "reused with a different body")],
            )
        if seen.answer is not None:
            return seen.answer, True
        break
    raise ConflictError(
        "a request with this Idempotency-Key is in progress; retry it in a moment",
        [FieldProblem(HEADER, "in progress")],
    )


def _execute(
    store: IdempotencyStore,
    rid: str,
    token: str,
    execute: Callable[[], StoredAnswer],
    expires_at: datetime,
) -> StoredAnswer:
    try:
        answer = execute()
    except BaseException:
        store.release(rid, token)
        raise
    if answer.status < 300:
        store.complete(rid, token, answer, expires_at)
    else:
        store.release(rid, token)
    return answer
