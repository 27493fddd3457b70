"""The rollup store's contract, run against the fake and the DynamoDB adapter (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.rollup import Contribution, bucket_of
from chalicelib.services.rollup import InMemoryRollupStore

EXPIRES = datetime(2027, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryRollupStore()
    request.getfixturevalue("tables")
    from chalicelib.adapters.dynamo.rollups import DynamoRollupStore

    return DynamoRollupStore()


def c(
    kind: str,
    task: str,
    team: str,
    day: str,
    seconds: float | None = None,
    district: str = "JAIPUR",
) -> Contribution:
    return Contribution(kind, task, "RJ", district, team, day, seconds)


def test_counts_once_per_task_and_kind_by_day_area_and_team(store: Any) -> None:
    adds = [
        c("task", "t1", "RJ-1", "2026-11-30"),
        c("task", "t2", "RJ-1", "2026-12-01"),
        c("ack", "t2", "RJ-1", "2026-12-01", 240.0),
        c("done", "t2", "RJ-1", "2026-12-01", 1800.0),
        c("task", "t3", "RJ-K", "2026-12-01", district="KOTA"),
        c("declined", "t3", "RJ-K", "2026-12-01", district="KOTA"),
        c("task", "t4", "RJ-S", "2026-12-01", district=""),  # a state-level team
    ]
    assert [store.add(a, EXPIRES) for a in adds] == [True] * len(adds)
    assert [store.add(a, EXPIRES) for a in adds] == [False] * len(adds)  # redelivered
    nov30, dec1 = store.days("RJ", "2026-11-30", "2026-12-01")
    assert (nov30.day, nov30.tasks) == ("2026-11-30", 1)
    assert (dec1.tasks, dec1.acked, dec1.completed, dec1.declined) == (3, 1, 1, 1)
    assert dec1.ack_hist == {bucket_of(240.0): 1}
    assert dec1.done_hist == {bucket_of(1800.0): 1}
    (jaipur,) = store.days("RJ/JAIPUR", "2026-12-01", "2026-12-01")
    assert (jaipur.tasks, jaipur.declined) == (1, 0)
    assert store.days("RJ", "2026-12-02", "2026-12-31") == []
    teams = {t.team_id: t for t in store.teams("RJ", "2026-12-01", "2026-12-01")}
    assert set(teams) == {"RJ-1", "RJ-K", "RJ-S"}
    assert (teams["RJ-1"].tasks, teams["RJ-1"].acked, teams["RJ-1"].completed) == (1, 1, 1)
    assert teams["RJ-K"].district == "KOTA" and teams["RJ-K"].declined == 1
    both = {t.team_id: t.tasks for t in store.teams("RJ", "2026-11-01", "2026-12-31")}
    assert both["RJ-1"] == 2  # November and December summed
    assert store.teams("UP", "2026-11-01", "2026-12-31") == []


def test_a_window_across_months_reads_only_its_days(store: Any) -> None:
    day = datetime(2026, 11, 25)
    for n in range(10):
        d = (day + timedelta(days=n)).date().isoformat()
        store.add(c("task", f"t{n}", "RJ-1", d), EXPIRES)
    (team,) = store.teams("RJ", "2026-11-28", "2026-12-02")
    assert team.tasks == 5
    assert [t.day for t in store.days("RJ", "2026-11-28", "2026-12-02")] == [
        "2026-11-28",
        "2026-11-29",
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
    ]
