"""The Idempotency-Key store: the DynamoDB adapter and the in-memory fake behave alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.services.ports import IdempotencyRecord, StoredAnswer
from tests.factories import T0
from tests.fakes import InMemoryIdempotencyStore

DAY = timedelta(days=1)
ANSWER = StoredAnswer(201, {"id": "m", "names": ["सुनीता"], "n": 2}, {"ETag": '"2"'})


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryIdempotencyStore()
    request.getfixturevalue("tables")
    from chalicelib.adapters.dynamo.idempotency import DynamoIdempotencyStore

    return DynamoIdempotencyStore()


def test_one_claim_wins_then_the_answer_is_kept(store: Any) -> None:
    assert store.get("k", T0) is None
    assert store.claim("k", "fp", "a", T0, T0 + DAY, T0 - DAY) is True
    assert store.claim("k", "fp", "b", T0, T0 + DAY, T0 - DAY) is False
    assert store.get("k", T0) == IdempotencyRecord("fp", None)
    store.complete("k", "b", StoredAnswer(500, {}), T0 + DAY)  # not b's claim: no effect
    assert store.get("k", T0) == IdempotencyRecord("fp", None)
    store.complete("k", "a", ANSWER, T0 + DAY)
    assert store.get("k", T0) == IdempotencyRecord("fp", ANSWER)
    assert store.claim("k", "fp", "c", T0 + timedelta(hours=1), T0 + DAY, T0) is False


def test_a_claim_is_released_only_by_its_owner(store: Any) -> None:
    store.claim("k", "fp", "a", T0, T0 + DAY, T0 - DAY)
    store.release("k", "b")
    assert store.get("k", T0) is not None
    store.release("k", "a")
    assert store.get("k", T0) is None
    assert store.claim("k", "fp2", "c", T0, T0 + DAY, T0 - DAY) is True


def test_expired_records_and_stale_claims_are_free(store: Any) -> None:
    store.claim("done", "fp", "a", T0, T0 + DAY, T0 - DAY)
    store.complete("done", "a", ANSWER, T0 + DAY)
    later = T0 + DAY + timedelta(seconds=1)
    assert store.get("done", later) is None  # expired, whether or not TTL has deleted it
    assert store.claim("done", "fp", "b", later, later + DAY, later - DAY) is True
    store.claim("stale", "fp", "a", T0, T0 + DAY, T0 - DAY)
    soon = T0 + timedelta(minutes=1)
    # An unanswered claim younger than the lease holds; an older one may be taken over.
    assert store.claim("stale", "fp", "b", soon, soon + DAY, T0 - timedelta(seconds=1)) is False
    assert store.claim("stale", "fp", "b", soon, soon + DAY, T0 + timedelta(seconds=1)) is True
    # An answered record is never taken over before it expires.
    store.complete("done", "b", ANSWER, later + DAY)
    assert store.claim("done", "fp", "c", later, later + DAY, later + DAY) is False
