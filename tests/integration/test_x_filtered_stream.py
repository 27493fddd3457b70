"""X's filtered stream consumer against the fake X server (rules, chunked stream, cuts, backfill).

The fake speaks X's paths and shapes: GET/POST /2/tweets/search/stream/rules, and
GET /2/tweets/search/stream as a chunked body of JSON lines with ``\\r\\n`` keep-alives,
honouring ``backfill_minutes`` and cut mid-message on request. Wall time is a shared fake
clock (the server's and the consumer's); the consumer's sleeps move it, so backoffs of
minutes cost nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.http_stream import urllib3_stream_opener
from chalicelib.adapters.platforms.http import Urllib3Transport
from chalicelib.adapters.platforms.x import (
    PLANS,
    RULE_TAG,
    RULES_KEY,
    STREAM_KEY,
    FilteredStreamSource,
    Plan,
    StreamRules,
    consume_filtered_stream,
    rule_accounts,
    sync_rules,
)
from chalicelib.services.polling import InMemoryCursorStore, InMemoryMentionSink
from chalicelib.services.streams import StreamConsumer, StreamContext, StreamRun
from local.fake_platforms import X_RULES_PATH, X_TOKEN, Dataset, FakePlatforms

LEADER, OTHER = "18839785", "405427035"
T0 = 1_800_000_000.0
STREAM = "/2/tweets/search/stream"


class Wall:
    """The wall clock of the fake server and the consumer."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Ticking:
    """A monotonic clock that sleeps move forward, the wall clock with it (no real waiting)."""

    def __init__(self, wall: Wall) -> None:
        self.wall = wall
        self.offset = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds
        self.wall.now += seconds


def tweet(n: int, author: str = LEADER) -> dict[str, Any]:
    tid = str(1_860_000_000_000_000_000 + n)
    return {
        "id": tid,
        "text": f"पोस्ट {n}",
        "author_id": author,
        "created_at": "2027-01-15T08:00:00.000Z",
        "edit_history_tweet_ids": [tid],
    }


def key(n: int) -> str:
    return f"x#{1_860_000_000_000_000_000 + n}"


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def fake(wall: Wall) -> Iterator[FakePlatforms]:
    data = Dataset()
    for uid, name in ((LEADER, "narendramodi"), (OTHER, "ArvindKejriwal")):
        data.x_users[uid] = {"id": uid, "username": name, "name": name}
    with FakePlatforms(data, clock=wall, x_rule_length=40, x_keepalive=0.05) as server:
        yield server


def rules_api(fake: FakePlatforms, wall: Wall) -> StreamRules:
    return StreamRules(Urllib3Transport(), X_TOKEN, fake.url, wall)


def post(fake: FakePlatforms, n: int, at: float, author: str = LEADER) -> None:
    fake.data.x_stream_posts.append({"at": at, "tweet": tweet(n, author)})


def read(
    fake: FakePlatforms,
    wall: Wall,
    store: InMemoryCursorStore,
    sink: InMemoryMentionSink,
    plan: str = "enterprise",
    seconds: float = 0.6,
    clock: Ticking | None = None,
    stall: float = 30.0,
) -> StreamRun:
    clock = clock or Ticking(wall)
    source = FilteredStreamSource(
        fake.url,
        X_TOKEN,
        PLANS[plan],
        urllib3_stream_opener(),
        clock=clock,
        wall_clock=wall,
        stall_seconds=stall,
    )
    consumer = StreamConsumer(store, sink, wall, clock=clock, sleep=clock.sleep)
    return consumer.run(source, seconds)


def keys(sink: InMemoryMentionSink) -> list[str]:
    return [m.key for m in sink.mentions]


def rule_sets(fake: FakePlatforms) -> list[set[str]]:
    return sorted(
        (set(rule_accounts(r["value"]) or ()) for r in fake.x_rules if r["tag"] == RULE_TAG),
        key=sorted,
    )


def test_rules_follow_the_watchlist_and_sync_only_when_it_changes(
    fake: FakePlatforms, wall: Wall
) -> None:
    plan = Plan(stream=True, max_rules=10, rule_length=40)  # the fake refuses longer rules
    store, api = InMemoryCursorStore(), rules_api(fake, wall)
    fake.x_rules.append({"id": "1", "value": "#चुनाव", "tag": "someone else"})
    ids = [f"100000000{i}" for i in range(5)]
    first = sync_rules(api, store, ids, plan, wall)
    assert first.synced and first.error == ""
    # Two 10-digit ids fit in 40 characters ("from:… OR from:…" is 34): three rules.
    assert rule_sets(fake) == [{ids[0], ids[1]}, {ids[2], ids[3]}, {ids[4]}]
    saved = store.get(RULES_KEY)
    assert saved is not None and saved.cursor["rules"] == "3"
    # Unchanged watchlist (in another order): no request at all.
    before = len(fake.paths(X_RULES_PATH))
    assert not sync_rules(api, store, list(reversed(ids)), plan, wall).synced
    assert len(fake.paths(X_RULES_PATH)) == before
    # One account gone, one new: only the rule that held the gone one is replaced; what
    # is left of it is packed with the new account.
    changed = [*ids[:2], *ids[3:], "1000000009"]
    second = sync_rules(api, store, changed, plan, wall)
    assert second.synced and len(second.changes.delete) == 1
    assert rule_sets(fake) == [{ids[0], ids[1]}, {ids[3], "1000000009"}, {ids[4]}]
    assert {r["value"] for r in fake.x_rules if r["tag"] != RULE_TAG} == {"#चुनाव"}


def test_a_refused_rule_is_reported_and_retried_next_run(fake: FakePlatforms, wall: Wall) -> None:
    # The plan says 1,024 characters; this server takes 40: X's "Invalid Rule" comes back.
    store, api = InMemoryCursorStore(), rules_api(fake, wall)
    ids = [f"100000000{i}" for i in range(5)]
    refused = sync_rules(api, store, ids, PLANS["pro"], wall)
    assert not refused.synced and "Invalid Rule" in refused.error
    assert store.get(RULES_KEY) is None  # no digest: the next run tries again


@pytest.fixture
def synced(fake: FakePlatforms, wall: Wall) -> FakePlatforms:
    sync_rules(rules_api(fake, wall), None, [LEADER], PLANS["enterprise"], wall)
    return fake


def test_a_cut_mid_message_reconnects_with_backfill_without_gap_or_repeat(
    synced: FakePlatforms, wall: Wall
) -> None:
    fake = synced
    for n in range(6):
        post(fake, n, T0 - 20 + n)
    post(fake, 99, T0 - 10, author=OTHER)  # no rule names OTHER: never sent
    # Cut in the middle of the 3rd message, then of the 4th (backfill resends 0-2 first).
    fake.drop_x_stream_after(2, 3)
    store, sink, clock = InMemoryCursorStore(), InMemoryMentionSink(), Ticking(wall)
    run = read(fake, wall, store, sink, seconds=1.0, clock=clock)
    assert keys(sink) == [key(n) for n in range(6)]  # each once, in order
    assert [c["backfill_minutes"] for c in fake.x_stream_connections] == [1, 1, 1]
    assert run.connections == 3 and len(run.errors) == 2
    assert clock.slept == [0.25, 0.25]  # network errors: 250 ms, reset by each connection
    conn = fake.x_stream_connections[0]
    assert conn["expansions"] == "author_id,referenced_tweets.id"  # as the timeline poller
    assert "public_metrics" in conn["tweet.fields"]
    mention = sink.mentions[0]
    assert (mention.author.handle, mention.text) == ("narendramodi", "पोस्ट 0")


def test_the_next_run_asks_back_to_when_the_stream_was_last_heard(
    synced: FakePlatforms, wall: Wall
) -> None:
    fake = synced
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    post(fake, 0, T0 - 5)
    read(fake, wall, store, sink)
    saved = store.get(STREAM_KEY)
    assert saved is not None and float(saved.cursor["seen_at"]) == T0
    # 150 s without a reader (a deploy, a failed run): two posts in the gap.
    wall.now += 150
    post(fake, 1, wall.now - 100)
    post(fake, 2, wall.now - 40)
    read(fake, wall, store, sink)
    assert fake.x_stream_connections[-1]["backfill_minutes"] == 3
    # Backfill repeats post 0 (a new run does not know it): same key, so the mention's
    # conditional put makes it a no-op, never a second task.
    assert keys(sink) == [key(0), key(0), key(1), key(2)]


def test_without_backfill_the_gap_is_left_to_the_timeline_poller(
    synced: FakePlatforms, wall: Wall
) -> None:
    fake = synced
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    ctx = StreamContext(
        StreamConsumer(store, sink, wall),
        fake.url,
        [LEADER],
        0.5,
        secret=lambda name: X_TOKEN if name == "x_bearer_token" else "",
        wall_clock=wall,
        setting=lambda name: "pro" if name == "x_plan" else "",
        cursors=store,
    )
    consume_filtered_stream(ctx)
    wall.now += 30
    post(fake, 1, wall.now - 10)  # between runs: the stream never sends it
    post(fake, 2, wall.now + 0.1)  # during the next run: it does
    fake.x_rules.clear()  # the first run's digest says in step; this proves no re-sync
    fake.x_rules.append({"id": "7", "value": f"from:{LEADER}", "tag": RULE_TAG})
    run = consume_filtered_stream(ctx)
    assert keys(sink) == [key(2)]
    assert all("backfill_minutes" not in p for p in fake.paths(STREAM))
    assert run.notes == [
        "no backfill on this plan: posts between runs and across reconnects come from the "
        "timeline poller"
    ]


def test_the_consumer_syncs_the_rules_then_reads(fake: FakePlatforms, wall: Wall) -> None:
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    post(fake, 0, T0 - 30)
    ctx = StreamContext(
        StreamConsumer(store, sink, wall),
        fake.url,
        [LEADER, "not a handle"],
        0.5,
        secret=lambda _: X_TOKEN,
        wall_clock=wall,
        setting=lambda name: "enterprise" if name == "x_plan" else "",
        cursors=store,
    )
    run = consume_filtered_stream(ctx)
    assert rule_sets(fake) == [{LEADER}]
    assert keys(sink) == [key(0)] and run.errors == []
    assert run.notes == [
        "1 watched account(s) in no rule (the plan's 25000 rules are used up, or not an X "
        "account): polled only"
    ]


def test_http_errors_back_off_exponentially_within_the_run(
    synced: FakePlatforms, wall: Wall
) -> None:
    fake = synced
    fake.inject(STREAM, 503, times=2)
    post(fake, 0, T0 - 1)
    store, sink, clock = InMemoryCursorStore(), InMemoryMentionSink(), Ticking(wall)
    run = read(fake, wall, store, sink, seconds=16.0, clock=clock)
    assert clock.slept == [5.0, 10.0]
    assert run.connections == 3 and keys(sink) == [key(0)]
    assert "refused with 503" in run.errors[0]


def test_a_429_holds_the_next_runs_until_its_backoff_is_over(
    synced: FakePlatforms, wall: Wall
) -> None:
    fake = synced
    fake.inject(STREAM, 429, x_rate_limit_reset=str(int(T0) + 90))
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    first = read(fake, wall, store, sink)
    assert first.connections == 1 and "429" in first.errors[0]
    state = store.get(STREAM_KEY)
    # X's reset header (90 s) is later than the 1 minute backoff: it wins.
    assert state is not None and state.next_due_at == T0 + 90 and not state.healthy
    wall.now += 30
    held = read(fake, wall, store, sink)
    assert (held.connections, held.waited) == (0, 60)
    assert len(fake.x_stream_connections) == 0
    wall.now += 61
    post(fake, 0, wall.now - 1)
    resumed = read(fake, wall, store, sink)
    assert resumed.connections == 1 and keys(sink) == [key(0)]
    after = store.get(STREAM_KEY)
    assert after is not None and after.healthy and after.next_due_at == 0


def test_a_second_429_doubles_the_wait(synced: FakePlatforms, wall: Wall) -> None:
    fake = synced
    fake.inject(STREAM, 429, times=2)
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    read(fake, wall, store, sink)
    wall.now += 60
    read(fake, wall, store, sink)
    state = store.get(STREAM_KEY)
    assert state is not None and state.failures == 2
    assert state.next_due_at == wall.now + 120


def test_a_silent_connection_is_a_stall_and_is_reconnected(wall: Wall) -> None:
    data = Dataset()
    with FakePlatforms(data, clock=wall, x_keepalive=30) as fake:
        sync_rules(rules_api(fake, wall), None, [LEADER], PLANS["pro"], wall)
        store, sink = InMemoryCursorStore(), InMemoryMentionSink()
        run = read(fake, wall, store, sink, plan="pro", seconds=0.9, stall=0.3)
    assert run.connections >= 2
    assert any("stalled" in e for e in run.errors)
