"""One contract, two cursor stores: the in-memory fake and DynamoDB (under moto)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.services.polling import CursorStore, InMemoryCursorStore, PollState
from chalicelib.settings import Settings


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[CursorStore]:
    if request.param == "memory":
        yield InMemoryCursorStore()
        return
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-south-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from moto import mock_aws

    with mock_aws():
        from chalicelib.adapters.dynamo.models import create_tables
        from chalicelib.adapters.dynamo.poll_state import DynamoCursorStore

        settings = Settings(
            stage="test",
            region="ap-south-1",
            endpoint_url=None,
            table_prefix="contract-",
            mentions_queue_url="",
            state_topic_arn_prefix="",
            webhook_secret="",
        )
        create_tables(settings)
        yield DynamoCursorStore()


X = "x#2351222345"
RSS = "rss#https://news.example.in/feed.xml"


def test_an_unknown_account_has_no_state(store: CursorStore) -> None:
    assert store.get(X) is None
    assert store.all() == {}


def test_saved_state_reads_back_exactly(store: CursorStore) -> None:
    state = PollState(
        cursor={"since_id": "1257786232978968578", "pagination_token": "7140dibdnow9"},
        next_due_at=1_750_000_360.25,
        failures=2,
        healthy=True,
        last_error="x timeline 2351222345: platform error 503",
        last_success_at=1_750_000_000.5,
    )
    store.save(X, state)
    assert store.get(X) == state


def test_save_replaces_and_all_lists_every_account(store: CursorStore) -> None:
    store.save(X, PollState(cursor={"since_id": "1"}))
    store.save(X, PollState(cursor={"since_id": "2"}, failures=0))
    store.save(RSS, PollState(cursor={"etag": '"abc"'}, healthy=False, failures=5))
    assert store.all() == {
        X: PollState(cursor={"since_id": "2"}),
        RSS: PollState(cursor={"etag": '"abc"'}, healthy=False, failures=5),
    }
    assert [k for k, s in store.all().items() if not s.healthy] == [RSS]
