"""The daily rollup as tables: what a task change contributes, buckets, percentiles, series."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.access import Principal, Role
from chalicelib.domain.rollup import (
    DayTotals,
    TeamTotals,
    bucket_of,
    bucket_upper,
    contributions,
    day_of,
    hist_percentile,
    rank_teams,
    series,
    window,
)
from chalicelib.domain.tasks import Task, TaskStatus
from chalicelib.errors import ForbiddenError, NotFoundError
from chalicelib.services.rollup import InMemoryRollupStore, record_changes, stats_series

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def task(status: TaskStatus = TaskStatus.NEW, minutes: float = 0, **kw: object) -> Task:
    base = Task("t1", "RJ-JAIPUR-01", "RJ", "i1", "m1", T0, status=status, district="JAIPUR")
    at = T0 + timedelta(minutes=minutes) if minutes else None
    return dataclasses.replace(base, updated_at=at, **kw)  # type: ignore[arg-type]


N, D, A, C, X = (
    TaskStatus.NEW,
    TaskStatus.DISPATCHED,
    TaskStatus.ACKNOWLEDGED,
    TaskStatus.COMPLETED,
    TaskStatus.DECLINED,
)


@pytest.mark.parametrize(
    ("old", "new", "minutes", "expected"),
    [
        (None, N, 0, [("task", None)]),
        (N, D, 1, []),  # dispatch is no response
        (D, A, 4, [("ack", 240.0)]),
        (D, C, 30, [("ack", 1800.0), ("done", 1800.0)]),  # complete implies ack
        (A, C, 10, [("done", 600.0)]),
        (A, A, 10, []),  # a repeat changes nothing
        (C, C, 10, []),
        (D, X, 3, [("declined", None)]),
        (A, X, 3, [("declined", None)]),
        (None, C, 5, [("task", None), ("ack", 300.0), ("done", 300.0)]),
    ],
)
def test_contributions_of_a_change(
    old: TaskStatus | None,
    new: TaskStatus,
    minutes: float,
    expected: list[tuple[str, float | None]],
) -> None:
    before = None if old is None else task(old)
    got = contributions(before, task(new, minutes))
    assert [(c.kind, c.seconds) for c in got] == expected
    assert all(c.day == "2026-11-01" and c.district == "JAIPUR" for c in got)


@pytest.mark.parametrize(
    ("at", "day"),
    [
        (datetime(2026, 11, 1, 18, 29, tzinfo=UTC), "2026-11-01"),  # 23:59 IST
        (datetime(2026, 11, 1, 18, 30, tzinfo=UTC), "2026-11-02"),  # midnight IST
        (datetime(2026, 10, 31, 20, 0, tzinfo=UTC), "2026-11-01"),
    ],
)
def test_days_are_india_days(at: datetime, day: str) -> None:
    assert day_of(at) == day


@pytest.mark.parametrize("seconds", [0.0, 0.5, 1.0, 1.3, 59.0, 240.0, 3600.0, 86400.0 * 7])
def test_a_bucket_holds_its_value_within_25_percent(seconds: float) -> None:
    upper = bucket_upper(bucket_of(seconds))
    assert upper >= seconds - 0.05
    assert upper <= max(1.0, seconds * 1.25) + 0.05


@pytest.mark.parametrize(
    ("hist", "q", "expected"),
    [
        ({}, 50, None),
        ({bucket_of(240): 1}, 50, bucket_upper(bucket_of(240))),
        ({bucket_of(60): 9, bucket_of(3600): 1}, 50, bucket_upper(bucket_of(60))),
        ({bucket_of(60): 9, bucket_of(3600): 1}, 90, bucket_upper(bucket_of(60))),
        ({bucket_of(60): 8, bucket_of(3600): 2}, 90, bucket_upper(bucket_of(3600))),
        ({bucket_of(60): 1, bucket_of(3600): 1}, 50, bucket_upper(bucket_of(60))),
    ],
)
def test_histogram_percentile_nearest_rank(hist: dict[int, int], q: float, expected: float) -> None:
    assert hist_percentile(hist, q) == expected


def test_series_has_a_point_per_day_with_zeros() -> None:
    days = window(date(2026, 11, 3), 3)
    assert days == ["2026-11-01", "2026-11-02", "2026-11-03"]
    points = series(days, [DayTotals("2026-11-02", tasks=4, acked=1, ack_hist={bucket_of(60): 1})])
    assert [p.tasks for p in points] == [0, 4, 0]
    assert points[1].ack_p50_s == bucket_upper(bucket_of(60))
    assert points[0].ack_p50_s is None


def test_teams_ranked_never_responding_first() -> None:
    ranked = rank_teams(
        [
            TeamTotals("good", tasks=4, acked=4),
            TeamTotals("silent-small", tasks=1),
            TeamTotals("half", tasks=4, acked=2),
            TeamTotals("silent-big", tasks=9),
            TeamTotals("declines", tasks=2, declined=2),
        ]
    )
    assert [t.team_id for t in ranked] == ["silent-big", "silent-small", "half", "good", "declines"]
    assert [t.never_responds for t in ranked] == [True, True, False, False, False]


def test_a_redelivered_change_counts_once() -> None:
    store = InMemoryRollupStore()
    created = (None, task(N))
    acked = (task(D), task(A, 4))
    assert record_changes(store, [created, acked], T0) == 2
    assert record_changes(store, [acked, created], T0) == 0  # the stream delivered them again
    (day,) = store.days("RJ", "2026-11-01", "2026-11-01")
    assert (day.tasks, day.acked) == (1, 1)
    assert store.days("RJ/JAIPUR", "2026-11-01", "2026-11-01") == [day]


def test_series_are_scoped_like_the_stats() -> None:
    store = InMemoryRollupStore()
    other = task(N, team_id="RJ-KOTA-01", district="KOTA", task_id="t2")
    record_changes(store, [(None, task(N)), (None, other), (task(D), task(A, 2))], T0)
    today = date(2026, 11, 1)
    head = Principal("h", Role.STATE_HEAD, state="RJ")
    s = stats_series(store, head, "RJ", today, 7)
    assert s.days[-1].tasks == 2 and len(s.days) == 7
    assert {t.team_id for t in s.teams} == {"RJ-JAIPUR-01", "RJ-KOTA-01"}
    jaipur = Principal("d", Role.DISTRICT_HEAD, state="RJ", district="JAIPUR")
    s = stats_series(store, jaipur, "RJ", today, 7)
    assert s.days[-1].tasks == 1 and s.district == "JAIPUR"
    assert [t.team_id for t in s.teams] == ["RJ-JAIPUR-01"]
    with pytest.raises((NotFoundError, ForbiddenError)):
        stats_series(store, Principal("u", Role.STATE_HEAD, state="UP"), "RJ", today, 7)
    with pytest.raises(ForbiddenError):
        stats_series(store, Principal("w", Role.WARRIOR, team="RJ-JAIPUR-01"), "RJ", today, 7)
