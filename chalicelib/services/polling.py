"""The poll use case: fetch an account's new posts, enqueue them, and only then save the cursor.

Written against ports so the schedule/SQS handlers, the local stack and the tests share it:
``PlatformClient`` (one per platform), ``CursorStore`` (poll state per account), ``MentionSink``
(the mentions queue) and ``QuotaBudget``; time comes from an injected clock.

Delivery is at-least-once: a crash after enqueueing but before the cursor is saved makes the
next poll fetch the same posts again, and the stable mention key (``platform#native_id``) makes
the store's conditional put turn the duplicate into a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib.domain.mention import Mention, mention_to_dict
from chalicelib.domain.org import Account, Leader
from chalicelib.errors import ParseError, RateLimitedError, UpstreamError

OK = "ok"
NOT_MODIFIED = "not_modified"
RATE_LIMITED = "rate_limited"
FAILED = "failed"
OVER_BUDGET = "over_budget"
UNSUPPORTED = "unsupported"
NOT_DUE = "not_due"


@dataclass(frozen=True)
class WatchedAccount:
    """One account to poll: ``account_id`` is what the platform's API takes (id, DID, feed URL)."""

    platform: str
    account_id: str
    interval_seconds: int = 300

    @property
    def key(self) -> str:
        return f"{self.platform}#{self.account_id}"


# How often each platform is polled by default (docs/platforms.md has the arithmetic for
# 500 accounts against each quota). Telegram is pushed to the bot webhook, never polled.
DEFAULT_INTERVALS: Mapping[str, int] = {
    "x": 360,
    "youtube": 900,
    "rss": 300,
    "bluesky": 120,
    "mastodon": 600,
    "facebook": 900,
}
# What each platform's API takes as the account: a numeric/opaque id, or the handle will do.
_NEEDS_PLATFORM_ID = frozenset({"x", "youtube", "mastodon", "facebook"})


def watched_accounts(
    leaders: Iterable[Leader], intervals: Mapping[str, int] = DEFAULT_INTERVALS
) -> list[WatchedAccount]:
    """The pollable accounts of the watched leaders, de-duplicated, in a stable order.

    X, YouTube, Mastodon and Facebook need the account's platform id (user id, channel id,
    account id, page id); Bluesky takes a DID or handle, RSS a feed URL in either field.
    Accounts of platforms without an interval (Telegram: pushed) are left out.
    """
    seen: dict[str, WatchedAccount] = {}
    for leader in leaders:
        for acc in leader.accounts:
            account = watched_account(acc, intervals)
            if account is not None:
                seen.setdefault(account.key, account)
    return sorted(seen.values(), key=lambda a: a.key)


def watched_account(
    acc: Account, intervals: Mapping[str, int] = DEFAULT_INTERVALS
) -> WatchedAccount | None:
    """What one leader's account is polled as; None when it is not polled (pushed platform,
    or no platform id where the platform's API needs one)."""
    interval = intervals.get(acc.platform)
    if interval is None:
        return None
    account_id = acc.platform_id.strip()
    if not account_id and acc.platform not in _NEEDS_PLATFORM_ID:
        account_id = acc.handle.strip()
    if not account_id:
        return None
    return WatchedAccount(acc.platform, account_id, interval)


def account_to_dict(account: WatchedAccount) -> dict[str, Any]:
    """The body of one poll message on the pollers' queue."""
    return {
        "platform": account.platform,
        "account_id": account.account_id,
        "interval_seconds": account.interval_seconds,
    }


def account_from_dict(d: Mapping[str, Any]) -> WatchedAccount:
    """Inverse of :func:`account_to_dict`; raises KeyError/ValueError on a bad message."""
    return WatchedAccount(
        platform=str(d["platform"]),
        account_id=str(d["account_id"]),
        interval_seconds=int(d.get("interval_seconds", 300)),
    )


@dataclass(frozen=True)
class FetchResult:
    """One poll's mentions and the cursor to save once they are enqueued."""

    mentions: list[Mention]
    cursor: dict[str, str]
    units: int = 1
    not_modified: bool = False


@dataclass(frozen=True)
class PollState:
    """What is remembered about one account between polls."""

    cursor: Mapping[str, str] = field(default_factory=dict)
    next_due_at: float = 0.0
    failures: int = 0
    healthy: bool = True
    last_error: str = ""
    last_success_at: float | None = None
    # For the cell heads' watchlist: when the account was last polled (success or not), and
    # the quota units its polls spent in the platform's current quota window.
    last_polled_at: float | None = None
    units_used: int = 0
    units_window_start: float = 0.0


def quota_window(platform: str) -> float:
    """The platform's quota window in seconds (a day where it has no documented quota)."""
    return DEFAULT_QUOTAS.get(platform, (0, 86400.0))[1]


def with_units(state: PollState, platform: str, units: int, now: float) -> PollState:
    """``state`` after a poll at ``now`` that spent ``units`` (a new window starts afresh)."""
    window = quota_window(platform)
    start, used = state.units_window_start, state.units_used
    if now - start >= window:
        start, used = now - ((now - start) % window) if start else now, 0
    return replace(state, last_polled_at=now, units_used=used + units, units_window_start=start)


def poll_state_to_dict(state: PollState) -> dict[str, Any]:
    """A plain dict of a poll state, for a store (cursor values are strings)."""
    return {
        "cursor": dict(state.cursor),
        "next_due_at": state.next_due_at,
        "failures": state.failures,
        "healthy": state.healthy,
        "last_error": state.last_error,
        "last_success_at": state.last_success_at,
        "last_polled_at": state.last_polled_at,
        "units_used": state.units_used,
        "units_window_start": state.units_window_start,
    }


def poll_state_from_dict(d: Mapping[str, Any]) -> PollState:
    """Inverse of :func:`poll_state_to_dict`; missing members take their defaults."""
    last = d.get("last_success_at")
    polled = d.get("last_polled_at")
    return PollState(
        cursor={str(k): str(v) for k, v in (d.get("cursor") or {}).items()},
        next_due_at=float(d.get("next_due_at", 0.0)),
        failures=int(d.get("failures", 0)),
        healthy=bool(d.get("healthy", True)),
        last_error=str(d.get("last_error") or ""),
        last_success_at=None if last is None else float(last),
        last_polled_at=None if polled is None else float(polled),
        units_used=int(d.get("units_used", 0)),
        units_window_start=float(d.get("units_window_start", 0.0)),
    )


class PlatformClient(Protocol):
    """Fetches what is new for one account, given the saved cursor."""

    platform: str
    min_cost: int

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult: ...


class CursorStore(Protocol):
    """Poll state per account key."""

    def get(self, account_key: str) -> PollState | None: ...

    def save(self, account_key: str, state: PollState) -> None: ...

    def all(self) -> dict[str, PollState]:
        """Every saved state by account key (the schedule reads them in one go)."""
        ...


class MentionSink(Protocol):
    """Where fetched mentions go (the mentions queue); must raise if it could not take them."""

    def enqueue(self, mentions: Sequence[Mention]) -> None: ...


class QuotaBudget(Protocol):
    """Per-platform spending of API units against the platform's quota."""

    def allows(self, platform: str, units: int, now: float) -> bool: ...

    def spend(self, platform: str, units: int, now: float) -> None: ...


@dataclass(frozen=True)
class PollOutcome:
    """What one poll did, for logs and metrics."""

    account_key: str
    status: str
    enqueued: int
    state: PollState


class PollingService:
    """Polls one account at a time and decides when each is due again."""

    def __init__(
        self,
        clients: Mapping[str, PlatformClient],
        cursors: CursorStore,
        sink: MentionSink,
        budget: QuotaBudget,
        clock: Callable[[], float],
        unhealthy_after: int = 5,
        base_backoff: float = 60.0,
        max_backoff: float = 3600.0,
    ) -> None:
        self._clients = clients
        self._cursors = cursors
        self._sink = sink
        self._budget = budget
        self._clock = clock
        self._unhealthy_after = unhealthy_after
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff

    def due(
        self,
        accounts: Iterable[WatchedAccount],
        states: Mapping[str, PollState] | None = None,
    ) -> list[WatchedAccount]:
        """The accounts whose next poll time has come (unhealthy ones keep their slow backoff).

        ``states`` (all saved states, read in one query) spares one read per account.
        """
        now = self._clock()
        out = []
        for account in accounts:
            state = (
                states.get(account.key) if states is not None else self._cursors.get(account.key)
            )
            if state is None or state.next_due_at <= now:
                out.append(account)
        return out

    def poll_if_due(self, account: WatchedAccount) -> PollOutcome:
        """Poll unless the account was polled since it was scheduled (a queued duplicate)."""
        state = self._cursors.get(account.key)
        if state is not None and state.next_due_at > self._clock():
            return PollOutcome(account.key, NOT_DUE, 0, state)
        return self.poll(account)

    def poll(self, account: WatchedAccount) -> PollOutcome:
        """Fetch, enqueue, then save the cursor; errors become backoff, never lost posts."""
        now = self._clock()
        state = self._cursors.get(account.key) or PollState()
        client = self._clients.get(account.platform)
        if client is None:
            return PollOutcome(account.key, UNSUPPORTED, 0, state)
        if not self._budget.allows(account.platform, client.min_cost, now):
            # Out of quota is not the account's fault: try again next window, no failure count.
            return PollOutcome(account.key, OVER_BUDGET, 0, state)
        try:
            result = client.fetch(account.account_id, state.cursor)
        except RateLimitedError as err:
            self._budget.spend(account.platform, client.min_cost, now)
            retry = err.retry_at if err.retry_at is not None else now + self._base_backoff
            state = with_units(state, account.platform, client.min_cost, now)
            state = replace(state, next_due_at=max(retry, now + 1), last_error=err.detail)
            self._cursors.save(account.key, state)
            return PollOutcome(account.key, RATE_LIMITED, 0, state)
        except (UpstreamError, ParseError) as err:
            self._budget.spend(account.platform, client.min_cost, now)
            failures = state.failures + 1
            backoff = min(self._max_backoff, self._base_backoff * 2 ** (failures - 1))
            state = replace(
                with_units(state, account.platform, client.min_cost, now),
                failures=failures,
                next_due_at=now + backoff,
                healthy=failures < self._unhealthy_after,
                last_error=err.detail,
            )
            self._cursors.save(account.key, state)
            return PollOutcome(account.key, FAILED, 0, state)
        self._budget.spend(account.platform, result.units, now)
        if result.mentions:
            # If this raises, the cursor is not saved and the same posts come back next time.
            self._sink.enqueue(result.mentions)
        state = replace(
            with_units(state, account.platform, result.units, now),
            cursor=result.cursor,
            next_due_at=now + account.interval_seconds,
            failures=0,
            healthy=True,
            last_error="",
            last_success_at=now,
        )
        self._cursors.save(account.key, state)
        status = NOT_MODIFIED if result.not_modified else OK
        return PollOutcome(account.key, status, len(result.mentions), state)


# --- budgets and in-memory adapters --------------------------------------------------------

# Documented quotas (SOURCES.md): units per window in seconds. X is billed per post read with a
# 2M/month cap; YouTube's 10,000 units/day; Bluesky 3,000 requests per 5 minutes per IP;
# Mastodon 300 requests per 5 minutes. RSS, Telegram and Facebook have no budget here.
DEFAULT_QUOTAS: Mapping[str, tuple[int, float]] = {
    "x": (2_000_000, 30 * 86400.0),
    "youtube": (10_000, 86400.0),
    "bluesky": (3_000, 300.0),
    "mastodon": (300, 300.0),
}


class WindowBudget:
    """Fixed-window quota per platform, in memory (one Lambda container, or the local stack)."""

    def __init__(self, quotas: Mapping[str, tuple[int, float]] = DEFAULT_QUOTAS) -> None:
        self._quotas = dict(quotas)
        self._used: dict[str, tuple[float, int]] = {}

    def _window(self, platform: str, now: float) -> tuple[float, int]:
        limit = self._quotas.get(platform)
        if limit is None:
            return (0.0, 0)
        start, used = self._used.get(platform, (now, 0))
        if now - start >= limit[1]:
            start, used = now - ((now - start) % limit[1]), 0
        return start, used

    def allows(self, platform: str, units: int, now: float) -> bool:
        """Whether ``units`` more fit in this window."""
        limit = self._quotas.get(platform)
        if limit is None:
            return True
        return self._window(platform, now)[1] + units <= limit[0]

    def spend(self, platform: str, units: int, now: float) -> None:
        """Record ``units`` spent now."""
        if platform not in self._quotas:
            return
        start, used = self._window(platform, now)
        self._used[platform] = (start, used + units)

    def used(self, platform: str, now: float) -> int:
        """Units spent in the current window."""
        return self._window(platform, now)[1]


class InMemoryCursorStore:
    """:class:`CursorStore` in a dict (tests and the local stack)."""

    def __init__(self) -> None:
        self.states: dict[str, PollState] = {}

    def get(self, account_key: str) -> PollState | None:
        """The saved state, or None."""
        return self.states.get(account_key)

    def save(self, account_key: str, state: PollState) -> None:
        """Replace the saved state."""
        self.states[account_key] = state

    def all(self) -> dict[str, PollState]:
        """A copy of every saved state."""
        return dict(self.states)


class InMemoryMentionSink:
    """:class:`MentionSink` collecting mentions in a list."""

    def __init__(self) -> None:
        self.mentions: list[Mention] = []

    def enqueue(self, mentions: Sequence[Mention]) -> None:
        """Append the mentions."""
        self.mentions.extend(mentions)


class MessageQueue(Protocol):
    """A queue taking wire-form messages (the mentions queue's SQS adapter has this shape)."""

    def send(self, messages: Sequence[Mapping[str, Any]]) -> None: ...


class QueueMentionSink:
    """:class:`MentionSink` onto a :class:`MessageQueue`, in the ``mention_to_dict`` wire form."""

    def __init__(self, queue: MessageQueue) -> None:
        self._queue = queue

    def enqueue(self, mentions: Sequence[Mention]) -> None:
        """Send every mention; the queue raises unless all were accepted."""
        self._queue.send([mention_to_dict(m) for m in mentions])
