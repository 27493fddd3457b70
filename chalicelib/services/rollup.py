"""The daily rollup: fed by the tasks stream, read by the stats series and the stats page.

Stream-fed rather than scheduled: the tasks table already streams every change with its old and
new image (dispatch reads the same stream), so a change is counted seconds after it happens and
no job ever has to find "yesterday's tasks", which no index of the tasks table answers without
reading every team's. A second consumer of the stream costs one more Lambda, not a scan.

Reading is scoped like ``GET /stats``: a state head reads their state's days, a district head
their district's (the rollup keeps both), and the per-team table shows only visible teams.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from chalicelib.domain.access import Principal, Role, Scope, Verb, authorize, visible
from chalicelib.domain.rollup import (
    Contribution,
    DayPoint,
    DayTotals,
    TeamTotals,
    apply,
    contributions,
    rank_teams,
    series,
    team_apply,
    window,
)
from chalicelib.domain.tasks import Task
from chalicelib.errors import FieldProblem, InvalidInputError

MAX_DAYS = 90
MARKER_DAYS = 400  # how long a (task, kind) marker is kept: longer than any task stays open


class RollupStore(Protocol):
    """Where the rollup lives: day totals per state and per state/district, team totals."""

    def add(self, c: Contribution, marker_expires: datetime) -> bool:
        """Count ``c`` once: False (and nothing changed) if its (task, kind) was counted."""
        ...

    def days(self, area: str, first: str, last: str) -> list[DayTotals]:
        """Day totals of ``area`` ("RJ" or "RJ/JAIPUR") from ``first`` to ``last``."""
        ...

    def teams(self, state: str, first: str, last: str) -> list[TeamTotals]:
        """Each team's totals over the days ``first``..``last`` (teams without tasks: absent)."""
        ...


def area_of(state: str, district: str = "") -> str:
    return f"{state}/{district}" if district else state


class InMemoryRollupStore:
    """The fake beside the port: the same contract as the DynamoDB store (a shared test)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.day_totals: dict[tuple[str, str], DayTotals] = {}
        # state -> (day, team) -> totals: a state's read touches only its own teams
        self.team_days: dict[str, dict[tuple[str, str], TeamTotals]] = {}
        self.reads = 0

    def add(self, c: Contribution, marker_expires: datetime) -> bool:
        if (c.task_id, c.kind) in self.seen:
            return False
        self.seen.add((c.task_id, c.kind))
        areas = [area_of(c.state)] + ([area_of(c.state, c.district)] if c.district else [])
        for a in areas:
            self.day_totals[(a, c.day)] = apply(
                self.day_totals.get((a, c.day), DayTotals(c.day)), c
            )
        days = self.team_days.setdefault(c.state, {})
        key = (c.day, c.team_id)
        days[key] = team_apply(days.get(key, TeamTotals(c.team_id, c.district)), c)
        return True

    def days(self, area: str, first: str, last: str) -> list[DayTotals]:
        self.reads += 1
        return [
            t for (a, d), t in sorted(self.day_totals.items()) if a == area and first <= d <= last
        ]

    def teams(self, state: str, first: str, last: str) -> list[TeamTotals]:
        self.reads += 1
        out: dict[str, TeamTotals] = {}
        for (d, team), t in self.team_days.get(state, {}).items():
            if first <= d <= last:
                out[team] = out[team].plus(t) if team in out else t
        return list(out.values())


def record_changes(
    store: RollupStore, changes: Iterable[tuple[Task | None, Task]], now: datetime
) -> int:
    """Count what each (old, new) change of a task contributes; how many were new."""
    expires = now + timedelta(days=MARKER_DAYS)
    return sum(store.add(c, expires) for old, new in changes for c in contributions(old, new))


def parse_days(value: str | None) -> int:
    """The ``days`` query parameter: 1..90, 30 by default."""
    if value is None or value == "":
        return 30
    if not (value.isascii() and value.isdigit() and len(value) <= 3) or not (
        1 <= int(value) <= MAX_DAYS
    ):
        raise InvalidInputError(
            f"days must be an integer from 1 to {MAX_DAYS}",
            [FieldProblem("days", f"1..{MAX_DAYS}")],
        )
    return int(value)


@dataclass(frozen=True)
class StatsSeries:
    """What the stats page shows: a point per day, and teams worst responders first."""

    state: str
    district: str
    days: list[DayPoint]
    teams: list[TeamTotals]


def _area(p: Principal, state: str) -> tuple[Scope, str]:
    authorize(p, "stats", Verb.READ, Scope(state=state))
    if p.role is Role.DISTRICT_HEAD:  # their district's days only, never the state's sums
        return Scope(state=state, district=p.district), p.district
    return Scope(state=state), ""


def stats_series(
    store: RollupStore,
    p: Principal,
    state: str,
    today: date,
    days: int = 30,
    with_teams: bool = True,
) -> StatsSeries:
    """The rollup of the last ``days`` days (today included) for what the caller may see;
    ``with_teams`` False leaves the per-team table out (and its read)."""
    _, district = _area(p, state)
    span = window(today, days)
    points = series(span, store.days(area_of(state, district), span[0], span[-1]))
    if not with_teams:
        return StatsSeries(state, district, points, [])
    teams = [
        t
        for t in store.teams(state, span[0], span[-1])
        if visible(p, Scope(state=state, district=t.district, team=t.team_id))
    ]
    return StatsSeries(state, district, points, rank_teams(teams))
