from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.stats import percentile, response_stats
from chalicelib.domain.tasks import Task, TaskAction, TaskEvent, TaskStatus, task_id_for, transition

T0 = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([7.0], 50, 7.0),
        ([7.0], 90, 7.0),
        ([1.0, 2.0], 50, 1.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([float(i) for i in range(1, 11)], 90, 9.0),
        ([float(i) for i in range(1, 11)], 91, 10.0),
        ([float(i) for i in range(1, 101)], 50, 50.0),
        ([5.0, 5.0, 5.0], 90, 5.0),
        ([1.0, 2.0], 0, 1.0),
        ([1.0, 2.0], 100, 2.0),
    ],
)
def test_percentile_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_is_an_observed_value_and_monotone(values: list[float], q: float) -> None:
    p = percentile(values, q)
    assert p in values
    assert percentile(values, min(100.0, q + 10)) >= p  # type: ignore[operator]


def make(team: str, state: str, n: int) -> Task:
    return Task(task_id_for(team, f"i{n}"), team, state, f"i{n}", "x#1", T0)


def play(task: Task, steps: list[tuple[TaskAction, int]]) -> tuple[Task, list[TaskEvent]]:
    events = []
    for action, minutes in steps:
        task, ev = transition(task, action, "w", T0 + timedelta(minutes=minutes), "https://x.com/r")
        if ev is not None:
            events.append(ev)
    return task, events


D, A, C, X, E = (
    TaskAction.DISPATCH,
    TaskAction.ACK,
    TaskAction.COMPLETE,
    TaskAction.DECLINE,
    TaskAction.EXPIRE,
)

# team, state, lifecycle (action, minutes after creation)
LIFECYCLES = [
    ("UP-1", "UP", [(D, 0), (A, 2), (C, 10)]),
    ("UP-1", "UP", [(D, 0), (A, 4), (C, 30)]),
    ("UP-1", "UP", [(D, 0), (A, 6)]),  # acknowledged, still open
    ("UP-1", "UP", [(D, 0), (C, 8)]),  # completed without an ack: acked at completion
    ("UP-2", "UP", [(D, 0), (X, 5)]),  # declined without ack
    ("UP-2", "UP", [(D, 0), (E, 60)]),  # expired
    ("UP-2", "UP", [(D, 0)]),  # open, never acked
    ("DL-1", "DL", []),  # new, nothing happened
]


@pytest.fixture
def played() -> tuple[list[Task], list[TaskEvent]]:
    tasks: list[Task] = []
    events: list[TaskEvent] = []
    for n, (team, state, steps) in enumerate(LIFECYCLES):
        task, evs = play(make(team, state, n), steps)
        tasks.append(task)
        events.extend(evs)
    return tasks, events


@pytest.mark.parametrize(
    ("by", "key", "expected"),
    [
        # tasks, open, acked, completed, declined, expired, rate, ack p50/p90, complete p50/p90
        # rate = completed / all tasks: open tasks count as not (yet) done.
        ("team", "UP-1", (4, 1, 4, 3, 0, 0, 0.75, 240.0, 480.0, 600.0, 1800.0)),
        ("team", "UP-2", (3, 1, 0, 0, 1, 1, 0.0, None, None, None, None)),
        ("team", "DL-1", (1, 1, 0, 0, 0, 0, 0.0, None, None, None, None)),
        ("state", "UP", (7, 2, 4, 3, 1, 1, 0.4286, 240.0, 480.0, 600.0, 1800.0)),
        ("state", "DL", (1, 1, 0, 0, 0, 0, 0.0, None, None, None, None)),
    ],
)
def test_response_stats_table(
    played: tuple[list[Task], list[TaskEvent]], by: str, key: str, expected: tuple[object, ...]
) -> None:
    tasks, events = played
    s = response_stats(tasks, events, by=by)[key]
    got = (
        s.tasks,
        s.open,
        s.acknowledged,
        s.completed,
        s.declined,
        s.expired,
        s.completion_rate,
        s.ack_p50_s,
        s.ack_p90_s,
        s.complete_p50_s,
        s.complete_p90_s,
    )
    assert got == expected


def test_duplicate_and_foreign_events_change_nothing(
    played: tuple[list[Task], list[TaskEvent]],
) -> None:
    tasks, events = played
    foreign = TaskEvent("t_unknown", 2, A, "w", T0, TaskStatus.NEW, TaskStatus.ACKNOWLEDGED)
    noisy = events + events[:5] + [foreign]
    assert response_stats(tasks, noisy) == response_stats(tasks, events)


def test_event_order_does_not_matter(played: tuple[list[Task], list[TaskEvent]]) -> None:
    tasks, events = played
    assert response_stats(tasks, list(reversed(events))) == response_stats(tasks, events)


def test_no_tasks_no_stats() -> None:
    assert response_stats([], []) == {}


def test_group_by_must_be_team_or_state() -> None:
    with pytest.raises(ValueError):
        response_stats([], [], by="district")


def test_a_team_that_ignores_its_tasks_does_not_read_as_complete() -> None:
    # One task completed, nine never touched (nothing expires them): 10 %, not 100 %.
    tasks: list[Task] = []
    events: list[TaskEvent] = []
    for n in range(10):
        task, evs = play(make("UP-9", "UP", n), [(C, 5)] if n == 0 else [])
        tasks.append(task)
        events.extend(evs)
    s = response_stats(tasks, events)["UP-9"]
    assert (s.tasks, s.open, s.completed, s.completion_rate) == (10, 9, 1, 0.1)


def test_no_tasks_no_rate() -> None:
    assert response_stats([], []) == {}
