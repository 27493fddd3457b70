from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.mention import Author, Mention, mention_from_dict
from chalicelib.domain.org import Account, Leader
from chalicelib.errors import ParseError, RateLimitedError, UpstreamError
from chalicelib.services.polling import (
    FAILED,
    NOT_DUE,
    OK,
    OVER_BUDGET,
    RATE_LIMITED,
    UNSUPPORTED,
    FetchResult,
    InMemoryCursorStore,
    InMemoryMentionSink,
    PollingService,
    PollState,
    QueueMentionSink,
    WatchedAccount,
    WindowBudget,
    account_from_dict,
    account_to_dict,
    poll_state_from_dict,
    poll_state_to_dict,
    watched_accounts,
)

T0 = 1_700_000_000.0
ACCOUNT = WatchedAccount("mastodon", "42", interval_seconds=120)


def _mention(n: int) -> Mention:
    return Mention(
        "mastodon",
        f"https://m.example/{n}",
        Author("42", "neta"),
        datetime(2025, 1, 1, tzinfo=UTC),
        f"post {n}",
    )


class ScriptedClient:
    """A fake client answering from a script of results and errors, recording cursors seen."""

    platform = "mastodon"
    min_cost = 1

    def __init__(self, script: list[FetchResult | Exception]) -> None:
        self.script = list(script)
        self.cursors: list[dict[str, str]] = []

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        self.cursors.append(dict(cursor))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _service(
    client: ScriptedClient, **kw: Any
) -> tuple[PollingService, InMemoryCursorStore, InMemoryMentionSink, Clock]:
    cursors, sink, clock = InMemoryCursorStore(), InMemoryMentionSink(), Clock()
    service = PollingService(
        {"mastodon": client}, cursors, sink, kw.pop("budget", WindowBudget()), clock, **kw
    )
    return service, cursors, sink, clock


@pytest.mark.parametrize(
    ("error", "status", "failures", "next_due", "healthy"),
    [
        (RateLimitedError("429", retry_at=T0 + 300), RATE_LIMITED, 0, T0 + 300, True),
        (RateLimitedError("429", retry_at=None), RATE_LIMITED, 0, T0 + 60, True),
        # A reset already in the past still waits a moment rather than hammering.
        (RateLimitedError("429", retry_at=T0 - 5), RATE_LIMITED, 0, T0 + 1, True),
        (UpstreamError("503"), FAILED, 1, T0 + 60, True),
        (ParseError("bad body"), FAILED, 1, T0 + 60, True),
    ],
)
def test_errors_become_backoff_and_keep_the_cursor(
    error: Exception, status: str, failures: int, next_due: float, healthy: bool
) -> None:
    service, cursors, sink, _ = _service(ScriptedClient([error]))
    cursors.save(ACCOUNT.key, PollState(cursor={"min_id": "7"}))
    outcome = service.poll(ACCOUNT)
    assert outcome.status == status
    assert (outcome.state.failures, outcome.state.next_due_at, outcome.state.healthy) == (
        failures,
        next_due,
        healthy,
    )
    assert dict(outcome.state.cursor) == {"min_id": "7"}
    assert sink.mentions == []


@pytest.mark.parametrize(
    ("failures_before", "delay", "healthy"),
    [
        (0, 60, True),
        (1, 120, True),
        (3, 480, True),
        (4, 960, False),
        (6, 3600, False),
        (20, 3600, False),
    ],
)
def test_backoff_doubles_to_a_cap_and_marks_unhealthy(
    failures_before: int, delay: float, healthy: bool
) -> None:
    service, cursors, _, _ = _service(ScriptedClient([UpstreamError("down")]), unhealthy_after=5)
    cursors.save(ACCOUNT.key, PollState(failures=failures_before, healthy=failures_before < 5))
    outcome = service.poll(ACCOUNT)
    assert outcome.state.next_due_at - T0 == delay
    assert outcome.state.healthy is healthy


def test_success_enqueues_then_saves_cursor_and_schedules_next_poll() -> None:
    client = ScriptedClient([FetchResult([_mention(1), _mention(2)], {"min_id": "9"}, units=1)])
    service, cursors, sink, _ = _service(client)
    outcome = service.poll(ACCOUNT)
    assert (outcome.status, outcome.enqueued) == (OK, 2)
    assert [m.native_id for m in sink.mentions] == ["https://m.example/1", "https://m.example/2"]
    assert cursors.states[ACCOUNT.key] == PollState(
        cursor={"min_id": "9"},
        next_due_at=T0 + 120,
        failures=0,
        healthy=True,
        last_success_at=T0,
        last_polled_at=T0,
        units_used=1,
        units_window_start=T0,
    )
    assert client.cursors == [{}]


class BrokenSink:
    def enqueue(self, mentions: Sequence[Mention]) -> None:
        raise UpstreamError("queue down")


def test_a_failed_enqueue_never_moves_the_cursor() -> None:
    client = ScriptedClient([FetchResult([_mention(1)], {"min_id": "9"})])
    cursors = InMemoryCursorStore()
    service = PollingService({"mastodon": client}, cursors, BrokenSink(), WindowBudget(), Clock())
    with pytest.raises(UpstreamError):
        service.poll(ACCOUNT)
    assert cursors.get(ACCOUNT.key) is None


def test_unsupported_platform_and_budget() -> None:
    service, _, _, clock = _service(
        ScriptedClient([FetchResult([], {})] * 3), budget=WindowBudget({"mastodon": (2, 300.0)})
    )
    assert service.poll(WatchedAccount("orkut", "1")).status == UNSUPPORTED
    assert [service.poll(ACCOUNT).status for _ in range(3)] == [OK, OK, OVER_BUDGET]
    clock.now += 300
    assert service.poll(ACCOUNT).status == OK


def test_due_selects_new_and_overdue_accounts() -> None:
    service, cursors, _, clock = _service(ScriptedClient([]))
    later = WatchedAccount("mastodon", "later")
    cursors.save(later.key, PollState(next_due_at=T0 + 10))
    cursors.save(ACCOUNT.key, PollState(next_due_at=T0))
    fresh = WatchedAccount("mastodon", "fresh")
    assert service.due([ACCOUNT, later, fresh]) == [ACCOUNT, fresh]
    clock.now = T0 + 10
    assert service.due([ACCOUNT, later, fresh]) == [ACCOUNT, later, fresh]


@pytest.mark.parametrize(
    ("spends", "now", "allowed"),
    [
        ([], T0, True),
        ([(T0, 10)], T0, False),
        ([(T0, 9)], T0 + 1, True),
        ([(T0, 10)], T0 + 300, True),
    ],
)
def test_window_budget(spends: list[tuple[float, int]], now: float, allowed: bool) -> None:
    budget = WindowBudget({"youtube": (10, 300.0)})
    for at, units in spends:
        budget.spend("youtube", units, at)
    assert budget.allows("youtube", 1, now) is allowed
    assert budget.allows("rss", 10**9, now)


def test_account_message_round_trip() -> None:
    assert account_from_dict(account_to_dict(ACCOUNT)) == ACCOUNT


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def send(self, messages: Sequence[Mapping[str, Any]]) -> None:
        self.sent.extend(messages)


def test_queue_sink_sends_the_wire_form() -> None:
    queue = RecordingQueue()
    QueueMentionSink(queue).enqueue([_mention(1)])
    assert [mention_from_dict(m) for m in queue.sent] == [_mention(1)]


@given(
    st.builds(
        PollState,
        cursor=st.dictionaries(
            st.sampled_from(["since_id", "etag", "min_id"]), st.text(max_size=20)
        ),
        next_due_at=st.floats(min_value=0, max_value=4e9),
        failures=st.integers(0, 100),
        healthy=st.booleans(),
        last_error=st.text(max_size=30),
        last_success_at=st.none() | st.floats(min_value=0, max_value=4e9),
    )
)
def test_poll_state_round_trip(state: PollState) -> None:
    assert poll_state_from_dict(poll_state_to_dict(state)) == state


def test_poll_state_defaults_from_an_empty_item() -> None:
    assert poll_state_from_dict({}) == PollState()


@pytest.mark.parametrize(
    ("accounts", "expected"),
    [
        ((Account("x", "narendramodi", "18839785"),), [("x", "18839785", 360)]),
        ((Account("x", "narendramodi"),), []),  # X needs the numeric user id
        ((Account("youtube", "@leader", "UC123"),), [("youtube", "UC123", 900)]),
        ((Account("bluesky", "leader.bsky.social"),), [("bluesky", "leader.bsky.social", 120)]),
        (
            (Account("bluesky", "leader.bsky.social", "did:plc:abc"),),
            [("bluesky", "did:plc:abc", 120)],
        ),
        ((Account("rss", "https://e.in/feed.xml"),), [("rss", "https://e.in/feed.xml", 300)]),
        ((Account("mastodon", "a@m.social"),), []),
        ((Account("telegram", "chan", "-100123"),), []),  # pushed
        ((Account("orkut", "x", "1"),), []),
        (
            (Account("x", "a", "1"), Account("x", "A", "1"), Account("rss", " ")),
            [("x", "1", 360)],
        ),
    ],
)
def test_watched_accounts(
    accounts: tuple[Account, ...], expected: list[tuple[str, str, int]]
) -> None:
    got = watched_accounts([Leader("l", "L", "DL", accounts=accounts)])
    assert [(a.platform, a.account_id, a.interval_seconds) for a in got] == expected


def test_poll_if_due_skips_an_account_polled_since_it_was_queued() -> None:
    client = ScriptedClient([FetchResult([_mention(1)], {"min_id": "9"})])
    service, _, sink, clock = _service(client)
    assert service.poll_if_due(ACCOUNT).status == OK
    assert service.poll_if_due(ACCOUNT).status == NOT_DUE
    assert len(sink.mentions) == 1
    clock.now += ACCOUNT.interval_seconds
    client.script.append(FetchResult([], {"min_id": "9"}))
    assert service.poll_if_due(ACCOUNT).status == OK


def test_due_can_use_states_read_in_one_go() -> None:
    service, _, _, _ = _service(ScriptedClient([]))
    states = {ACCOUNT.key: PollState(next_due_at=T0 + 5)}
    assert service.due([ACCOUNT], states) == []
    assert service.due([ACCOUNT], {}) == [ACCOUNT]


def test_the_units_an_account_spends_add_up_within_the_platforms_window_then_start_afresh() -> None:
    """What the cell heads' watchlist shows as an account's quota used."""
    from chalicelib.services.polling import quota_window, with_units

    window = quota_window("mastodon")
    assert window == 300.0 and quota_window("rss") == 86400.0
    state = with_units(PollState(), "mastodon", 1, T0)
    assert (state.units_used, state.units_window_start, state.last_polled_at) == (1, T0, T0)
    state = with_units(state, "mastodon", 2, T0 + window - 1)
    assert (state.units_used, state.units_window_start) == (3, T0)
    state = with_units(state, "mastodon", 1, T0 + 2 * window + 7)  # two windows on
    assert (state.units_used, state.units_window_start) == (1, T0 + 2 * window)
    assert poll_state_from_dict(poll_state_to_dict(state)) == state


def test_a_failed_poll_is_a_poll_too_for_the_watchlist() -> None:
    client = ScriptedClient([UpstreamError("boom")])
    service, cursors, _, _ = _service(client)
    service.poll(ACCOUNT)
    state = cursors.states[ACCOUNT.key]
    assert (state.last_polled_at, state.last_success_at, state.units_used) == (T0, None, 1)
