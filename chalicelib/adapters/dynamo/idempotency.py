"""Idempotency-Key records in DynamoDB: a conditional put claims, the first answer is kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.adapters.dynamo.models import IdempotencyModel
from chalicelib.errors import UpstreamError
from chalicelib.services.ports import IdempotencyRecord, StoredAnswer


def _conditional(write: Callable[[], object], failure: str) -> bool:
    """Run a conditional write: False when its condition failed; UpstreamError otherwise."""
    try:
        write()
    except PynamoDBException as err:
        if err.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise UpstreamError(failure) from err
    return True


def _answer(raw: dict[str, Any] | None) -> StoredAnswer | None:
    if raw is None:
        return None
    return StoredAnswer(int(raw["status"]), raw["body"], dict(raw.get("headers") or {}))


class DynamoIdempotencyStore:
    def claim(
        self,
        key: str,
        fingerprint: str,
        token: str,
        now: datetime,
        expires_at: datetime,
        stale_before: datetime,
    ) -> bool:
        m = IdempotencyModel
        item = m(
            key=key, fingerprint=fingerprint, token=token, claimed_at=now, expires_at=expires_at
        )
        free = (
            m.key.does_not_exist()
            | (m.expires_at < now)
            | (m.answer.does_not_exist() & (m.claimed_at < stale_before))
        )
        return _conditional(lambda: item.save(condition=free), "claiming a key failed")

    def get(self, key: str, now: datetime) -> IdempotencyRecord | None:
        try:
            item = IdempotencyModel.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError("reading an idempotency record failed") from err
        if item.expires_at is not None and item.expires_at <= now:
            return None  # expired; TTL deletes it within a day or two
        return IdempotencyRecord(item.fingerprint, _answer(item.answer))

    def complete(self, key: str, token: str, answer: StoredAnswer, expires_at: datetime) -> None:
        m = IdempotencyModel
        stored = {"status": answer.status, "body": answer.body, "headers": answer.headers}
        _conditional(
            lambda: m(key=key).update(
                actions=[m.answer.set(stored), m.expires_at.set(expires_at)],
                condition=m.token == token,
            ),
            "storing an idempotent answer failed",
        )

    def release(self, key: str, token: str) -> None:
        _conditional(
            lambda: IdempotencyModel(key=key).delete(condition=IdempotencyModel.token == token),
            "releasing an idempotency claim failed",
        )
