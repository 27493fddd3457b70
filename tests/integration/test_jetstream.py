"""The Jetstream consumer against the fake platform server's ``/subscribe`` (a real WebSocket).

Disconnects mid-stream, runs that end and resume from the cursor saved in the store, and events
sharing one microsecond at the cut: every post arrives once, none is lost.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.platforms.bluesky import JETSTREAM_KEY, JetstreamSource, consume_jetstream
from chalicelib.adapters.websocket import WebSocket
from chalicelib.errors import UpstreamError
from chalicelib.services.polling import InMemoryCursorStore, InMemoryMentionSink
from chalicelib.services.streams import StreamConsumer, StreamContext
from local.fake_platforms import EVENTS, Dataset, FakePlatforms

WATCHED = "did:plc:tvaritwatched000000000000"
OTHER = "did:plc:tvaritnotwatched00000000000"
T0 = 1_779_000_000_000_000
SHAPE = json.loads((EVENTS / "bluesky" / "jetstream_post_commit.json").read_text())


def post(did: str, n: int, at: int) -> dict[str, Any]:
    event = copy.deepcopy(SHAPE)
    event["did"], event["time_us"] = did, at
    event["commit"]["rkey"] = f"3post{n:06d}"
    event["commit"]["record"]["text"] = f"post {n}"
    event["commit"]["record"].pop("reply", None)
    return event


def key(did: str, n: int) -> str:
    return f"bluesky#at://{did}/app.bsky.feed.post/3post{n:06d}"


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    events = []
    for n in range(12):
        # Posts 4 and 5 share a microsecond, as do 8 and 9; the other DID interleaves.
        at = T0 + 1000 * (n - (1 if n in (5, 9) else 0))
        events.append(post(WATCHED, n, at))
        events.append(post(OTHER, 100 + n, at + 1))
    recorded = [json.loads(x) for x in (EVENTS / "bluesky" / "jetstream_events.jsonl").open()]
    with FakePlatforms(Dataset(jetstream_events=recorded + events)) as server:
        yield server


class Ticking:
    """A monotonic clock that the consumer's sleeps move forward (no real waiting)."""

    def __init__(self) -> None:
        import time

        self._time = time
        self.offset = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self._time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds


def _ws_url(fake: FakePlatforms) -> str:
    return fake.url.replace("http://", "ws://")


def _run(
    fake: FakePlatforms,
    store: InMemoryCursorStore,
    sink: InMemoryMentionSink,
    seconds: float = 0.6,
    clock: Ticking | None = None,
) -> Any:
    clock = clock or Ticking()
    consumer = StreamConsumer(
        store, sink, wall_clock=lambda: T0 / 1e6, clock=clock, sleep=clock.sleep
    )
    source = JetstreamSource(
        _ws_url(fake), [WATCHED], clock=clock, flush_seconds=0.1, wall_clock=lambda: T0 / 1e6
    )
    return consumer.run(source, seconds)


def _keys(sink: InMemoryMentionSink) -> list[str]:
    return [m.key for m in sink.mentions]


ALL = [key(WATCHED, n) for n in range(12)]


def test_a_run_reads_only_the_watched_dids_posts_and_saves_its_cursor(fake: FakePlatforms) -> None:
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    run = _run(fake, store, sink)
    assert _keys(sink) == ALL
    assert fake.jetstream_connections[0]["dids"] == [WATCHED]
    # The first run looks back a minute from its wall clock.
    assert fake.jetstream_connections[0]["cursor"] == T0 - 60_000_000
    saved = store.get(JETSTREAM_KEY)
    assert saved is not None and saved.cursor["time_us"] == str(T0 + 11_000)
    assert (run.events, run.mentions, run.errors) == (12, 12, [])


def test_disconnects_mid_stream_reconnect_from_the_cursor_without_gap_or_repeat(
    fake: FakePlatforms,
) -> None:
    # Each connection is cut after 3 messages. A resume asks from the last time_us delivered
    # (inclusive), so its first message is one already delivered, and is skipped; the second
    # cut falls between posts 4 and 5, which share a microsecond.
    fake.drop_jetstream_after(3, 3, 3)
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    clock = Ticking()
    run = _run(fake, store, sink, seconds=4, clock=clock)
    assert _keys(sink) == ALL  # in order, each once
    cursors = [c["cursor"] for c in fake.jetstream_connections]
    assert cursors == [T0 - 60_000_000, T0 + 2000, T0 + 4000, T0 + 6000]
    assert run.connections == 4 and len(run.errors) == 3
    assert clock.slept == [1.0, 1.0, 1.0]  # each drop followed a delivered batch: no escalation


def test_a_run_that_ends_on_a_drop_is_resumed_by_the_next_run(fake: FakePlatforms) -> None:
    fake.drop_jetstream_after(5)
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    # The backoff (1 s) does not fit in this run: it ends, and saves where it was.
    first = _run(fake, store, sink, seconds=0.8)
    assert _keys(sink) == ALL[:5] and first.connections == 1
    saved = store.get(JETSTREAM_KEY)
    assert saved is not None and not saved.healthy and saved.cursor["time_us"] == str(T0 + 4000)
    second = _run(fake, store, sink)
    assert _keys(sink) == ALL  # post 5 shares post 4's microsecond and still comes, once
    assert second.events == 7
    # Live events after the second run reach the third, and only they do.
    fake.data.jetstream_events.append(post(WATCHED, 12, T0 + 50_000))
    _run(fake, store, sink)
    assert _keys(sink) == [*ALL, key(WATCHED, 12)]


def test_no_watched_did_means_no_connection(fake: FakePlatforms) -> None:
    store, sink = InMemoryCursorStore(), InMemoryMentionSink()
    consumer = StreamConsumer(store, sink, wall_clock=lambda: T0 / 1e6)
    ctx = StreamContext(consumer, _ws_url(fake), ["leader.example.in"], 0.5)
    run = consume_jetstream(ctx)
    assert (run.connections, fake.jetstream_connections) == (0, [])


def test_a_path_that_is_not_a_websocket_is_refused_at_the_handshake(fake: FakePlatforms) -> None:
    with pytest.raises(UpstreamError, match="refused"):
        WebSocket.connect(_ws_url(fake) + "/xrpc/app.bsky.feed.getAuthorFeed")
