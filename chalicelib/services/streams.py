"""Streaming sources in a serverless shape: a schedule reads a stream for just under a minute.

A :class:`StreamSource` (Jetstream, X's filtered stream) yields batches of mentions, each with
the stream position after it. :class:`StreamConsumer` enqueues a batch, then saves its
position (at least once, as the poller does: a crash between the two re-reads the batch next
run, and the mention key makes the duplicate a no-op), reconnects with the source's backoff
when the connection drops, and stops before the deadline. The next run resumes from the saved
position, so nothing is lost between runs; the source skips what it has already delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.domain.mention import Mention
from chalicelib.errors import PlatformStatusError, RateLimitedError, UpstreamError
from chalicelib.services.polling import CursorStore, MentionSink, PollState


@dataclass(frozen=True)
class StreamBatch:
    """Mentions read since the last batch, and the stream position after them."""

    mentions: Sequence[Mention]
    cursor: Mapping[str, str]
    events: int = 0


class StreamSource(Protocol):
    """One stream, read from a saved position until a deadline."""

    @property
    def key(self) -> str:
        """Where its position is saved (``<platform>#<stream>``)."""
        ...

    def read(self, cursor: Mapping[str, str], until: float) -> Iterator[StreamBatch]:
        """Batches until ``until``; raises UpstreamError when the connection drops."""
        ...

    def backoff(self, failures: int, error: UpstreamError) -> float:
        """Seconds to wait before reconnecting after ``failures`` drops in a row."""
        ...


@dataclass
class StreamRun:
    """What one scheduled run did, for logs, metrics and tests."""

    key: str
    events: int = 0
    mentions: int = 0
    batches: int = 0
    connections: int = 0
    errors: list[str] = field(default_factory=list)
    cursor: Mapping[str, str] = field(default_factory=dict)
    # Seconds still to wait, when the run did not connect because the platform's backoff
    # (saved by an earlier run) outlasts it.
    waited: float = 0.0
    # What the run could not cover and who does (X without backfill: the timeline poller).
    notes: list[str] = field(default_factory=list)


class StreamConsumer:
    """Runs a source for at most ``seconds``, saving its position after every batch."""

    def __init__(
        self,
        cursors: CursorStore,
        sink: MentionSink,
        wall_clock: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._cursors = cursors
        self._sink = sink
        self._wall = wall_clock
        self._clock = clock
        self._sleep = sleep

    def run(self, source: StreamSource, seconds: float) -> StreamRun:
        """Read, enqueue, save; reconnect after drops; return before ``seconds`` are up."""
        until = self._clock() + seconds
        state = self._cursors.get(source.key) or PollState()
        run = StreamRun(source.key, cursor=dict(state.cursor))
        # Failures in a row carry over between runs, so a platform's exponential backoff
        # keeps growing while it keeps refusing (the first batch of a connection resets it).
        failures = 0 if state.healthy else state.failures
        held = state.next_due_at - self._wall()
        if held > 0:
            # The platform asked us to wait (a 429 or an error status) past the last run's end.
            if self._clock() + held >= until:
                run.waited = held
                return run
            self._sleep(held)
        while self._clock() < until:
            run.connections += 1
            try:
                for batch in source.read(run.cursor, until):
                    if batch.mentions:
                        # If this raises, the position is not saved: the next run re-reads.
                        self._sink.enqueue(batch.mentions)
                    run.cursor = dict(batch.cursor)
                    run.events += batch.events
                    run.mentions += len(batch.mentions)
                    run.batches += 1
                    failures = 0
                    self._save(source.key, run.cursor, "")
                return run  # the deadline came with the connection still open
            except UpstreamError as err:
                failures += 1
                run.errors.append(err.detail)
                wait = source.backoff(failures, err)
                if isinstance(err, RateLimitedError) and err.retry_at is not None:
                    wait = max(wait, err.retry_at - self._wall())
                fits = self._clock() + wait < until
                # A drop is retried by the next run at once; a refusal is held until its
                # backoff is over, even when that is after this run.
                refused = isinstance(err, RateLimitedError | PlatformStatusError)
                hold = self._wall() + wait if refused and not fits else 0.0
                self._save(source.key, run.cursor, err.detail, failures, hold)
                if not fits:
                    return run  # the next scheduled run reconnects
                self._sleep(wait)
        return run

    def _save(
        self,
        key: str,
        cursor: Mapping[str, str],
        error: str,
        failures: int = 0,
        next_due_at: float = 0.0,
    ) -> None:
        now = self._wall()
        self._cursors.save(
            key,
            PollState(
                cursor=dict(cursor),
                next_due_at=next_due_at,
                failures=max(1, failures) if error else 0,
                healthy=not error,
                last_error=error,
                last_success_at=None if error else now,
            ),
        )


@dataclass(frozen=True)
class StreamContext:
    """What a platform's stream consumer (named in its descriptor) is given to run."""

    consumer: StreamConsumer
    base_url: str  # the stream's root: production's, or the fake server's
    watched_ids: Sequence[str]  # the watched accounts' platform ids on this platform
    seconds: float  # how long this run may read
    secret: Callable[[str], str] = lambda _name: ""
    wall_clock: Callable[[], float] = time.time
    # A plain setting by Settings field name (the X plan); "" when unknown.
    setting: Callable[[str], str] = lambda _name: ""
    # Where a consumer keeps state besides its cursor (X: the digest of its synced rules).
    cursors: CursorStore | None = None


class HttpSender(Protocol):
    """The platform HTTP transport's shape (adapters/platforms/http.py), seen from here."""

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class JobContext:
    """What a platform's scheduled job (named in its descriptor) is given."""

    base_url: str  # the endpoint it calls: production's, or the fake server's
    watched_ids: Sequence[str]
    cursors: CursorStore  # its state, keyed ``<platform>#<job>:<account>``
    transport: HttpSender
    public_base_url: str  # where our push endpoints are reachable (https in production)
    secret: Callable[[str], str] = lambda _name: ""
    wall_clock: Callable[[], float] = time.time
