"""Idempotency-Key semantics (services.idempotency) over the in-memory store."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from chalicelib.errors import ConflictError, InvalidInputError
from chalicelib.services.idempotency import (
    CLAIM_LEASE,
    RECORD_TTL,
    Request,
    fingerprint,
    record_key,
    run_once,
)
from chalicelib.services.ports import StoredAnswer
from tests.factories import T0
from tests.fakes import InMemoryIdempotencyStore

REQUEST = Request("shead-dl", "POST", "/teams/DL-1/members", "k-1", b'{"id": "m"}')
CREATED = StoredAnswer(201, {"id": "m"}, {"ETag": '"2"'})


class World:
    def __init__(self) -> None:
        self.store = InMemoryIdempotencyStore()
        self.now = T0
        self.ids = (f"claim-{i}" for i in itertools.count())
        self.runs = 0

    def clock(self) -> datetime:
        return self.now

    def new_id(self) -> str:
        return next(self.ids)

    def run(self, request: Request = REQUEST, answer: StoredAnswer = CREATED) -> StoredAnswer:
        def execute() -> StoredAnswer:
            self.runs += 1
            return answer

        got, _ = run_once(self.store, request, execute, self.clock, self.new_id)
        return got


def test_a_repeat_replays_the_first_answer_without_running_again() -> None:
    w = World()
    first, replayed = run_once(w.store, REQUEST, lambda: CREATED, w.clock, w.new_id)
    again, replayed_again = run_once(w.store, REQUEST, lambda: CREATED, w.clock, w.new_id)
    assert (first, replayed) == (CREATED, False)
    assert (again, replayed_again) == (CREATED, True)


@pytest.mark.parametrize(
    "other",
    [
        Request("shead-dl", "POST", "/teams/UP-1/members", "k-1", REQUEST.body),  # another URL
        Request("shead-up", "POST", REQUEST.path, "k-1", REQUEST.body),  # another caller
        Request("shead-dl", "PUT", REQUEST.path, "k-1", REQUEST.body),  # another method
        Request("shead-dl", "POST", REQUEST.path, "k-2", REQUEST.body),  # another key
    ],
    ids=["url", "caller", "method", "key"],
)
def test_the_same_key_elsewhere_is_another_request(other: Request) -> None:
    w = World()
    w.run()
    w.run(other)
    assert w.runs == 2
    assert record_key(other) != record_key(REQUEST)


def test_the_same_key_with_another_body_is_refused() -> None:
    w = World()
    w.run()
    with pytest.raises(InvalidInputError) as refused:
        w.run(Request(REQUEST.caller, "POST", REQUEST.path, "k-1", b'{"id": "n"}'))
    assert refused.value.problems[0].msg == "reused with a different body"
    assert w.runs == 1


def test_a_request_while_the_first_runs_gets_409_in_progress() -> None:
    w = World()
    inner: list[BaseException] = []

    def execute() -> StoredAnswer:
        # The same request arriving (on another container) while this one runs.
        try:
            w.run()
        except ConflictError as err:
            inner.append(err)
        return CREATED

    run_once(w.store, REQUEST, execute, w.clock, w.new_id)
    assert w.runs == 0  # the concurrent one never ran
    assert [p.msg for p in inner[0].problems] == ["in progress"]  # type: ignore[attr-defined]
    assert w.run() == CREATED and w.runs == 0  # and afterwards it is a replay


def test_a_failure_releases_the_key_and_errors_are_not_replayed() -> None:
    w = World()

    def fail() -> StoredAnswer:
        raise ConflictError("member exists already")

    with pytest.raises(ConflictError):
        run_once(w.store, REQUEST, fail, w.clock, w.new_id)
    w.run(answer=StoredAnswer(400, {"title": "no"}))
    assert w.store.items == {}  # an error answer is not kept either
    assert w.run() == CREATED and w.runs == 2


def test_records_expire_and_abandoned_claims_are_taken_over() -> None:
    w = World()
    w.run()
    w.now = T0 + RECORD_TTL + timedelta(seconds=1)
    w.run()
    assert w.runs == 2  # expired: runs again
    # A claim whose container died mid-request: in progress until its lease is over.
    dead = Request(REQUEST.caller, "POST", REQUEST.path, "k-dead", REQUEST.body)
    assert w.store.claim(
        record_key(dead), fingerprint(dead.body), "dead", w.now, w.now + RECORD_TTL, w.now
    )
    w.now += CLAIM_LEASE - timedelta(seconds=1)
    with pytest.raises(ConflictError):
        w.run(dead)
    w.now += timedelta(seconds=2)
    w.run(dead)
    assert w.runs == 3


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_a_key_must_be_1_to_128_characters(key: str) -> None:
    with pytest.raises(InvalidInputError):
        World().run(Request("a", "POST", "/x", key, b""))
