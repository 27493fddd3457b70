"""WebSub lease renewal against the fake hub (POST /subscribe on the fake platform server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.adapters.platforms.http import Urllib3Transport
from chalicelib.adapters.platforms.youtube import (
    LEASE_SECONDS,
    YOUTUBE_TOPIC,
    lease_key,
    renew_websub_leases,
)
from chalicelib.services.polling import InMemoryCursorStore
from chalicelib.services.streams import JobContext
from local.fake_platforms import FakePlatforms

NOW = 1_750_000_000.0
DAY = 86_400.0
CHANNELS = ["UCaaaaaaaaaaaaaaaaaaaaaa", "UCbbbbbbbbbbbbbbbbbbbbbb", "not-a-channel-id"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePlatforms]:
    with FakePlatforms() as server:
        yield server


def _ctx(fake: FakePlatforms, store: InMemoryCursorStore, now: float) -> JobContext:
    return JobContext(
        base_url=fake.url + "/subscribe",
        watched_ids=CHANNELS,
        cursors=store,
        transport=Urllib3Transport(timeout=5),
        public_base_url="https://tvarit.example.in",
        secret=lambda name: {"websub_secret": "hub-secret"}.get(name, ""),
        wall_clock=lambda: now,
    )


def test_leases_are_taken_then_renewed_two_days_before_they_end(fake: FakePlatforms) -> None:
    store = InMemoryCursorStore()
    before = len(fake.websub_requests)
    assert renew_websub_leases(_ctx(fake, store, NOW)) == {
        "renewed": 2,
        "current": 0,
        "failed": 0,
        "skipped": 0,
    }
    sent = fake.websub_requests[before:]
    assert [r["hub.topic"] for r in sent] == [YOUTUBE_TOPIC + c for c in CHANNELS[:2]]
    assert sent[0] == {
        "hub.callback": "https://tvarit.example.in/ingest/websub/youtube",
        "hub.topic": YOUTUBE_TOPIC + CHANNELS[0],
        "hub.mode": "subscribe",
        "hub.verify": "async",
        "hub.lease_seconds": str(LEASE_SECONDS),
        "hub.secret": "hub-secret",
    }
    state = store.get(lease_key(CHANNELS[0]))
    assert state is not None and state.cursor == {"lease_until": str(int(NOW + LEASE_SECONDS))}
    # A day later both leases have 4 days left: nothing to do.
    assert renew_websub_leases(_ctx(fake, store, NOW + DAY))["current"] == 2
    assert len(fake.websub_requests) == before + 2
    # With 2 days or less left, both are renewed.
    assert renew_websub_leases(_ctx(fake, store, NOW + 3 * DAY))["renewed"] == 2
    assert len(fake.websub_requests) == before + 4


def test_a_refused_renewal_is_recorded_and_tried_again_next_run(fake: FakePlatforms) -> None:
    store = InMemoryCursorStore()
    fake.inject("/subscribe", 503)
    counts = renew_websub_leases(_ctx(fake, store, NOW))
    assert (counts["renewed"], counts["failed"]) == (1, 1)
    failed = store.get(lease_key(CHANNELS[0]))
    assert failed is not None and failed.last_error == "hub answered 503"
    assert not failed.healthy  # no lease in force
    assert renew_websub_leases(_ctx(fake, store, NOW + 6 * 3600))["renewed"] == 1


def test_without_a_public_callback_nothing_is_subscribed(fake: FakePlatforms) -> None:
    store = InMemoryCursorStore()
    ctx = _ctx(fake, store, NOW)
    ctx = JobContext(**{**ctx.__dict__, "public_base_url": ""})
    before = len(fake.websub_requests)
    assert renew_websub_leases(ctx)["skipped"] == 3
    assert len(fake.websub_requests) == before
