from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.services.config_cache import CachedConfig
from chalicelib.settings import Settings
from tests.factories import make_leader, make_query, make_team
from tests.fakes import (
    FakeMentionQueue,
    InMemoryConfigRepository,
    InMemoryIncidentIndex,
    InMemoryMentionRepository,
    InMemoryTaskRepository,
    InMemoryThrottleStore,
    RecordingPublisher,
)

SECRET = "functional-secret"
NOW = 1_790_000_000.0

SETTINGS = Settings(
    stage="test",
    region="ap-south-1",
    endpoint_url=None,
    table_prefix="test-",
    mentions_queue_url="https://sqs.example/test-mentions",
    state_topic_arn_prefix="arn:aws:sns:ap-south-1:123456789012:tvarit-state-",
    webhook_secret=SECRET,
)


@dataclass
class World:
    queue: FakeMentionQueue
    mentions: InMemoryMentionRepository
    tasks: InMemoryTaskRepository
    config: InMemoryConfigRepository
    publisher: RecordingPublisher
    incidents: InMemoryIncidentIndex
    throttle: InMemoryThrottleStore


@pytest.fixture
def world() -> Iterator[World]:
    config = InMemoryConfigRepository()
    config.put_leader(make_leader(), "test")
    config.put_leader(
        make_leader(id="narendra-modi", name="Narendra Modi", state="UP", accounts=()), "test"
    )
    config.put_query(make_query(), "test")
    config.put_team(make_team("DL-CENTRAL-01", "DL"), "test")
    config.put_team(make_team("DL-EAST-01", "DL"), "test")
    config.put_team(make_team("UP-VARANASI-01", "UP"), "test")
    w = World(
        FakeMentionQueue(),
        InMemoryMentionRepository(),
        InMemoryTaskRepository(),
        config,
        RecordingPublisher(),
        InMemoryIncidentIndex(),
        InMemoryThrottleStore(),
    )
    wiring.use(
        wiring.Container(
            SETTINGS,
            mention_queue=w.queue,
            mentions=w.mentions,
            tasks=w.tasks,
            config_repo=w.config,
            config=CachedConfig(w.config, 0.0, time.monotonic),
            publisher=w.publisher,
            incidents=w.incidents,
            throttle=w.throttle,
            wall_time=lambda: NOW,
        )
    )
    yield w
    wiring.use(None)


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    from app import app

    with Client(app) as c:
        yield c
