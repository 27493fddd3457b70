"""The poll schedule and the poller SQS handler through chalice's test client, fakes wired in."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.analysis import WatchConfig
from chalicelib.domain.keywords import compile_queries
from chalicelib.domain.mention import Author, Mention, mention_from_dict
from chalicelib.domain.org import Account, Leader
from chalicelib.errors import UpstreamError
from chalicelib.services.polling import (
    FetchResult,
    InMemoryCursorStore,
    PollState,
)
from chalicelib.settings import Settings

NOW = 1_790_000_000.0
SETTINGS = Settings(
    stage="test",
    region="ap-south-1",
    endpoint_url=None,
    table_prefix="test-",
    mentions_queue_url="https://sqs.example/test-mentions",
    state_topic_arn_prefix="arn:aws:sns:ap-south-1:123456789012:tvarit-state-",
    webhook_secret="s",
    polls_queue_url="https://sqs.example/test-polls",
)
LEADERS = (
    Leader(
        "kejriwal",
        "Arvind Kejriwal",
        "DL",
        accounts=(
            Account("x", "ArvindKejriwal", "405427035"),
            Account("telegram", "aapkadaman", "-1001234"),  # pushed, never polled
            Account("mastodon", "arvind@example.social", "77"),  # no client configured
        ),
    ),
    Leader(
        "modi",
        "Narendra Modi",
        "UP",
        accounts=(
            Account("x", "narendramodi"),  # no user id: X cannot be polled by handle
            Account("rss", "https://news.example.in/modi.xml"),
        ),
    ),
)


class StaticConfig:
    def watch_config(self) -> WatchConfig:
        return WatchConfig.build("v1", LEADERS, [], compile_queries([]))


class RecordingQueue:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Mapping[str, Any]] = []
        self.fail = fail

    def send(self, messages: Sequence[Mapping[str, Any]]) -> None:
        if self.fail:
            raise UpstreamError("queue refused the batch")
        self.sent.extend(messages)


class OnePostClient:
    """A platform client that returns one post and a new cursor per fetch."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.min_cost = 1
        self.fetches: list[tuple[str, dict[str, str]]] = []

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        self.fetches.append((account_id, dict(cursor)))
        n = len(self.fetches)
        post = Mention(
            self.platform,
            f"{account_id}-{n}",
            Author(account_id, "h"),
            datetime(2026, 1, 1, tzinfo=UTC),
            f"post {n}",
        )
        return FetchResult([post], {"since_id": str(n)})


class World:
    def __init__(self, mention_queue_fails: bool = False) -> None:
        self.cursors = InMemoryCursorStore()
        self.polls = RecordingQueue()
        self.mentions = RecordingQueue(fail=mention_queue_fails)
        self.x = OnePostClient("x")
        self.rss = OnePostClient("rss")
        self.now = NOW

    def container(self) -> wiring.Container:
        return wiring.Container(
            SETTINGS,
            config=StaticConfig(),
            platform_clients={"x": self.x, "rss": self.rss},
            cursor_store=self.cursors,
            poll_queue=self.polls,
            mention_queue=self.mentions,
            wall_time=lambda: self.now,
        )


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    yield
    wiring.use(None)


def _client(world: World) -> Client:
    wiring.use(world.container())
    from app import app

    return Client(app)


def _schedule(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    payload: dict[str, Any] = client.lambda_.invoke("schedule-polls", event).payload
    return payload


def _poll(client: Client, bodies: list[str]) -> dict[str, Any]:
    event: dict[str, Any] = client.events.generate_sqs_event(
        message_bodies=bodies, queue_name="tvarit-polls"
    )
    for i, record in enumerate(event["Records"]):
        record["messageId"] = f"p-{i}"  # chalice gives every record the same id
    payload: dict[str, Any] = client.lambda_.invoke("poll", event).payload
    return payload


def test_schedule_sends_one_message_per_due_pollable_account() -> None:
    world = World()
    client = _client(world)
    assert _schedule(client) == {"watched": 3, "pollable": 2, "due": 2}
    assert world.polls.sent == [
        {
            "platform": "rss",
            "account_id": "https://news.example.in/modi.xml",
            "interval_seconds": 300,
        },
        {"platform": "x", "account_id": "405427035", "interval_seconds": 360},
    ]
    # Polled a moment ago: not due on the next tick.
    world.cursors.save("x#405427035", PollState(next_due_at=NOW + 300))
    world.polls.sent.clear()
    assert _schedule(client)["due"] == 1
    assert [m["platform"] for m in world.polls.sent] == ["rss"]


def test_poll_enqueues_mentions_then_saves_the_cursor() -> None:
    world = World()
    client = _client(world)
    body = json.dumps({"platform": "x", "account_id": "405427035", "interval_seconds": 360})
    assert _poll(client, [body]) == {"batchItemFailures": []}
    assert [mention_from_dict(m).key for m in world.mentions.sent] == ["x#405427035-1"]
    state = world.cursors.get("x#405427035")
    assert state is not None
    assert (dict(state.cursor), state.next_due_at) == ({"since_id": "1"}, NOW + 360)
    # The same account queued twice by a slow schedule: the second message does nothing.
    assert _poll(client, [body]) == {"batchItemFailures": []}
    assert len(world.x.fetches) == 1


def test_a_bad_message_fails_alone() -> None:
    world = World()
    client = _client(world)
    good = json.dumps({"platform": "rss", "account_id": "https://news.example.in/modi.xml"})
    result = _poll(client, ["{not json", json.dumps({"platform": "x"}), good])
    assert result == {"batchItemFailures": [{"itemIdentifier": "p-0"}, {"itemIdentifier": "p-1"}]}
    assert len(world.rss.fetches) == 1


def test_when_the_mentions_queue_refuses_the_cursor_stays_and_sqs_retries() -> None:
    world = World(mention_queue_fails=True)
    client = _client(world)
    body = json.dumps({"platform": "x", "account_id": "405427035"})
    # Every record failed: powertools fails the whole invocation, so SQS redelivers it.
    with pytest.raises(BatchProcessingError):
        _poll(client, [body])
    assert world.cursors.get("x#405427035") is None
    assert len(world.x.fetches) == 1
