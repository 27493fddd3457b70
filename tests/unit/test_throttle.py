from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from chalicelib.domain.throttle import (
    IST,
    Action,
    QuietHours,
    TeamThrottle,
    ThrottlePolicy,
    admit,
    flush_digest,
    refill,
)
from chalicelib.errors import InvalidInputError

# 10:00 IST
T0 = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
NIGHT = QuietHours(time(22, 0), time(7, 0))
POLICY = ThrottlePolicy(rate_per_hour=6, burst=2, quiet_hours=NIGHT)


def ist(h: int, m: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=IST)


@pytest.mark.parametrize(
    ("window", "at", "inside"),
    [
        (NIGHT, ist(23), True),
        (NIGHT, ist(22), True),  # start is inclusive
        (NIGHT, ist(6, 59), True),
        (NIGHT, ist(7), False),  # end is exclusive
        (NIGHT, ist(12), False),
        (NIGHT, datetime(2026, 11, 2, 17, 0, tzinfo=UTC), True),  # 22:30 IST given in UTC
        (NIGHT, datetime(2026, 11, 2, 16, 29, tzinfo=UTC), False),  # 21:59 IST
        (QuietHours(time(13), time(15)), ist(14), True),  # a daytime window does not wrap
        (QuietHours(time(13), time(15)), ist(16), False),
        (QuietHours(time(9), time(9)), ist(9), False),  # empty window
    ],
)
def test_quiet_hours_contains(window: QuietHours, at: datetime, inside: bool) -> None:
    assert window.contains(at) is inside


@pytest.mark.parametrize(
    ("at", "end"),
    [
        (ist(23), ist(7, day=3)),
        (ist(2), ist(7)),
        (ist(7), ist(7, day=3)),
        (datetime(2026, 11, 2, 20, 0, tzinfo=UTC), ist(7, day=3)),  # 01:30 IST on the 3rd
    ],
)
def test_quiet_hours_next_end(at: datetime, end: datetime) -> None:
    assert NIGHT.next_end(at) == end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-07:00", NIGHT),
        (" 22:00 - 07:00 ", NIGHT),
        ("", None),
        ("13:30-15:00", QuietHours(time(13, 30), time(15))),
    ],
)
def test_quiet_hours_parse(text: str, expected: QuietHours | None) -> None:
    assert QuietHours.parse(text) == expected


@pytest.mark.parametrize("bad", ["22-7", "22:00", "25:00-07:00", "night"])
def test_quiet_hours_parse_rejects(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        QuietHours.parse(bad)


def task(status: TaskStatus) -> Task:
    return Task(task_id_for("T1", "i1"), "T1", "UP", "i1", "x#1", T0, status=status)


# Each row: a stream of (minutes after 10:00 IST, incident, severity, open task status or None)
# for one team, and the action each arrival gets.
SCENARIOS = [
    (
        "burst then rate limited, then a token returns after 10 minutes",
        [(0, "a", 3, None), (1, "b", 3, None), (2, "c", 3, None), (12, "d", 3, None)],
        ["page", "page", "digest", "page"],
    ),
    (
        "repeat mentions of an incident with an open task update it",
        [
            (0, "a", 3, None),
            (1, "a", 3, TaskStatus.DISPATCHED),
            (2, "a", 3, TaskStatus.ACKNOWLEDGED),
        ],
        ["page", "update", "update"],
    ),
    (
        "a completed task is updated, never paged again",
        [(0, "a", 3, TaskStatus.COMPLETED)],
        ["update"],
    ),
    (
        "an incident already held in the digest is not held twice",
        [(0, "a", 3, None), (0, "b", 3, None), (0, "c", 3, None), (1, "c", 3, None)],
        ["page", "page", "digest", "update"],
    ),
    (
        "severity 5 pages through an empty bucket",
        [(0, "a", 3, None), (0, "b", 3, None), (0, "c", 5, None), (0, "d", 4, None)],
        ["page", "page", "page", "digest"],
    ),
    (
        "quiet hours hold everything below severity 5",
        [(13 * 60, "a", 4, None), (13 * 60 + 1, "b", 5, None), (13 * 60 + 2, "c", 1, None)],
        ["digest", "page", "digest"],
    ),
]


@pytest.mark.parametrize(("name", "events", "actions"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_admit_scenarios(
    name: str, events: list[tuple[int, str, int, TaskStatus | None]], actions: list[str]
) -> None:
    state = TeamThrottle.fresh(POLICY, ist(10))
    got = []
    for minute, incident, severity, status in events:
        decision, state = admit(
            state,
            POLICY,
            incident_key=incident,
            severity=severity,
            at=ist(10) + timedelta(minutes=minute),
            open_task=None if status is None else task(status),
        )
        got.append(decision.action.value)
    assert got == actions


def test_a_flood_becomes_two_pages_and_one_digest() -> None:
    state = TeamThrottle.fresh(POLICY, ist(10))
    actions = []
    for i in range(200):  # 200 distinct incidents inside 2 minutes
        d, state = admit(
            state, POLICY, incident_key=f"i{i}", severity=3, at=ist(10) + timedelta(seconds=i / 2)
        )
        actions.append(d.action)
    assert actions.count(Action.PAGE) == 2
    assert len(state.digest) == 198
    # digest_interval after the first held incident, which arrived at 10:00:01
    assert state.digest_due == ist(10, 30) + timedelta(seconds=1)
    sent, state = flush_digest(state, POLICY, ist(10, 30))
    assert sent == ()
    sent, state = flush_digest(state, POLICY, ist(10, 31))
    assert len(sent) == 198 and state.digest == () and state.digest_due is None


def test_a_night_digest_waits_for_morning() -> None:
    state = TeamThrottle.fresh(POLICY, ist(23))
    d, state = admit(state, POLICY, incident_key="a", severity=4, at=ist(23))
    assert (d.action, d.reason, d.deliver_at) == (Action.DIGEST, "quiet_hours", ist(7, day=3))
    assert flush_digest(state, POLICY, ist(6, 59, day=3))[0] == ()
    assert flush_digest(state, POLICY, ist(7, day=3))[0] == ("a",)


def test_a_due_digest_inside_quiet_hours_is_postponed_to_their_end() -> None:
    policy = ThrottlePolicy(rate_per_hour=6, burst=0, quiet_hours=NIGHT)
    state = TeamThrottle.fresh(policy, ist(21, 40))
    _, state = admit(state, policy, incident_key="a", severity=3, at=ist(21, 40))
    assert state.digest_due == ist(22, 10)
    sent, state = flush_digest(state, policy, ist(22, 10))
    assert sent == () and state.digest_due == ist(7, day=3)


def test_a_bucket_that_never_refills_still_releases_its_digest() -> None:
    policy = ThrottlePolicy(rate_per_hour=0, burst=0)
    state = TeamThrottle.fresh(policy, ist(10))
    _, state = admit(state, policy, incident_key="a", severity=3, at=ist(10))
    assert flush_digest(state, policy, ist(10, 30))[0] == ("a",)


@pytest.mark.parametrize(
    ("tokens", "minutes", "expected"),
    [(0.0, 10, 1.0), (0.0, 5, 0.5), (1.5, 60, 2.0), (2.0, 0, 2.0), (0.0, -10, 0.0)],
)
def test_refill(tokens: float, minutes: int, expected: float) -> None:
    state = TeamThrottle(tokens, ist(10))
    assert refill(state, POLICY, ist(10) + timedelta(minutes=minutes)).tokens == pytest.approx(
        expected
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.integers(0, 30), st.integers(1, 4)),
        min_size=1,
        max_size=80,
    )
)
def test_pages_never_exceed_burst_plus_refill(events: list[tuple[int, int, int]]) -> None:
    """Below severity 5, pages in any run are bounded by the bucket: burst + rate x time."""
    policy = ThrottlePolicy(rate_per_hour=6, burst=2)
    state = TeamThrottle.fresh(policy, ist(10))
    pages: list[int] = []
    seen: set[int] = set()
    for minute, incident, severity in sorted(events):
        d, state = admit(
            state,
            policy,
            incident_key=f"i{incident}",
            severity=severity,
            at=ist(10) + timedelta(minutes=minute),
            open_task=task(TaskStatus.DISPATCHED) if incident in seen else None,
        )
        if d.action is Action.PAGE:
            pages.append(minute)
            seen.add(incident)
        elif d.action is Action.DIGEST:
            seen.add(incident)
    for i, start in enumerate(pages):
        within = [p for p in pages[i:] if p - start <= 60]
        assert len(within) <= policy.burst + policy.rate_per_hour * 1 + 1
    assert len(set(pages)) <= len(pages)
