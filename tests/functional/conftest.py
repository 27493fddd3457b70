from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.jwt_tokens import DEV_AUDIENCE, DevIssuer
from chalicelib.domain.analysis import WatchConfig, analyze
from chalicelib.domain.keywords import compile_queries
from chalicelib.domain.language import detect
from chalicelib.services.config_cache import CachedConfig
from chalicelib.services.contacts import ContactSync
from chalicelib.services.polling import InMemoryCursorStore
from chalicelib.services.rollup import InMemoryRollupStore
from chalicelib.settings import Settings
from tests.factories import T0, make_leader, make_mention, make_query, make_team
from tests.fakes import (
    FakeMentionQueue,
    InMemoryConfigRepository,
    InMemoryIdempotencyStore,
    InMemoryIncidentIndex,
    InMemoryLinkTokens,
    InMemoryMentionRepository,
    InMemoryReplayGuard,
    InMemoryTaskRepository,
    InMemoryThrottleStore,
    RecordingBotApi,
    RecordingContactSubscriber,
    RecordingDeviceRegistry,
    RecordingPublisher,
)
from tests.seeding import seed

SECRET = "functional-secret"
NOW = 1_790_000_000.0
ISSUER = DevIssuer.generate()

SETTINGS = Settings(
    stage="test",
    region="ap-south-1",
    endpoint_url=None,
    table_prefix="test-",
    mentions_queue_url="https://sqs.example/test-mentions",
    state_topic_arn_prefix="arn:aws:sns:ap-south-1:123456789012:tvarit-state-",
    webhook_secret=SECRET,
    jwt_issuer=ISSUER.issuer,
    jwt_audience=DEV_AUDIENCE,
    jwks=json.dumps(ISSUER.jwks()),
    public_base_url="https://tvarit.test",
    channels=("sms", "email"),
    sms_entity_id="1101000000000000001",
    sms_template_id="1107000000000000002",
    # The bot's links work (issue 13); its delivery stays off without a queue.
    telegram_bot_username="tvarit_test_bot",
)

# One caller per role, in and out of the scope of the world's objects (DL and UP).
CLAIMS: dict[str, dict[str, str]] = {
    "national_admin": {"sub": "admin-1", "custom:role": "national_admin"},
    "state_head": {"sub": "shead-dl", "custom:role": "state_head", "custom:state": "DL"},
    "district_head": {
        "sub": "dhead-dl-central",
        "custom:role": "district_head",
        "custom:state": "DL",
        "custom:district": "CENTRAL",
    },
    "team_lead": {"sub": "lead-dl-c1", "custom:role": "team_lead", "custom:team": "DL-CENTRAL-01"},
    "warrior": {
        "sub": "DL-CENTRAL-01-w1",
        "custom:role": "warrior",
        "custom:team": "DL-CENTRAL-01",
    },
    "state_head_up": {"sub": "shead-up", "custom:role": "state_head", "custom:state": "UP"},
    "warrior_other_team": {
        "sub": "DL-EAST-01-w1",
        "custom:role": "warrior",
        "custom:team": "DL-EAST-01",
    },
}


def token(who: str | dict[str, str], **kwargs: Any) -> str:
    claims = CLAIMS[who] if isinstance(who, str) else who
    return ISSUER.mint(claims, datetime.now(UTC), **kwargs)


def auth(who: str | dict[str, str], **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(who)}", "Content-Type": "application/json", **headers}


@dataclass
class World:
    queue: FakeMentionQueue
    mentions: InMemoryMentionRepository
    tasks: InMemoryTaskRepository
    config: InMemoryConfigRepository
    publisher: RecordingPublisher
    incidents: InMemoryIncidentIndex
    throttle: InMemoryThrottleStore
    devices: RecordingDeviceRegistry
    contacts: RecordingContactSubscriber = dataclasses.field(
        default_factory=RecordingContactSubscriber
    )
    idempotency: InMemoryIdempotencyStore = dataclasses.field(
        default_factory=InMemoryIdempotencyStore
    )


@pytest.fixture
def world() -> Iterator[World]:
    config = InMemoryConfigRepository()
    seed(
        config,
        make_leader(),
        make_leader(id="narendra-modi", name="Narendra Modi", state="UP", accounts=()),
        make_query(),
        make_team("DL-CENTRAL-01", "DL"),
        make_team("DL-EAST-01", "DL"),
        make_team("UP-VARANASI-01", "UP"),
    )
    w = World(
        FakeMentionQueue(),
        InMemoryMentionRepository(),
        InMemoryTaskRepository(),
        config,
        RecordingPublisher(),
        InMemoryIncidentIndex(),
        InMemoryThrottleStore(),
        RecordingDeviceRegistry(),
        RecordingContactSubscriber(),
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
            devices=w.devices,
            contact_sync=ContactSync(
                w.config,
                w.contacts,
                SETTINGS.state_topic_arn,
                SETTINGS.enabled_channels,
                lambda: datetime.fromtimestamp(NOW, UTC),
            ),
            idempotency=w.idempotency,
            wall_time=lambda: NOW,
            link_tokens=InMemoryLinkTokens(),
            replays=InMemoryReplayGuard(),
            telegram_api=RecordingBotApi(),
            rollups=InMemoryRollupStore(),
            cursor_store=InMemoryCursorStore(),  # the watchlist reads poll states
        )
    )
    yield w
    wiring.use(None)


def store_mention(
    world: World,
    native_id: str,
    leader: str | None = "arvind-kejriwal",
    state: str = "DL",
    minutes: int = 0,
    task_ids: tuple[str, ...] = (),
    **overrides: Any,
) -> str:
    """Store an analyzed mention of ``leader`` (None: no watched author) as the analyze stage
    would; its key."""
    watched = make_leader(id=leader, state=state) if leader else None
    mention = make_mention(native_id=native_id, **overrides)
    query = make_query()
    config = WatchConfig.build("1", [watched] if watched else [], [query], compile_queries([query]))
    analyzed = analyze(
        mention,
        detect(mention.text),
        config,
        T0 + timedelta(minutes=minutes),
        timedelta(days=30),
        timedelta(days=365),
    )
    # The leader as the caller says, whatever account the post came from.
    analyzed = dataclasses.replace(analyzed, leader=watched)
    world.mentions.put_new(analyzed, "c")
    if task_ids:
        world.mentions.mark_routed(mention.key, task_ids)
    return mention.key


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    from app import app

    with Client(app) as c:
        yield c
