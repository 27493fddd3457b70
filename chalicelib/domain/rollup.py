"""The daily rollup of tasks: what the stats series and charts read instead of every task.

Fed by the tasks table's stream. Each change of a task contributes at most once per kind
(``task`` when it is created, ``ack`` the first time it is acknowledged or completed, ``done``
when completed, ``declined``): the store keeps a marker per (task, kind), so a record delivered
twice (streams deliver at least once) counts once, and the order of deliveries does not matter.

Every contribution counts on the day the task was created (India time, the users' day), so a
day's "time to acknowledge" describes that day's tasks. Durations go into a fixed log-spaced
histogram (ratio 1.25): a day of 5,000 tasks stays a few hundred bytes, and a percentile is read
as the upper bound of the bucket holding the nearest-rank value: never below the true value, at
most 25 % above it. Exact percentiles over a day would need every duration kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone

from chalicelib.domain.tasks import Task, TaskStatus

IST = timezone(timedelta(hours=5, minutes=30), "IST")
RATIO = 1.25
# Bucket i holds durations in (RATIO**(i-1), RATIO**i] seconds; bucket 0 holds up to 1 s.
# 80 buckets reach 1.25**79 s, about 1,200 years: nothing real falls off the end.
BUCKETS = 80
KINDS = ("task", "ack", "done", "declined")
ACKED = (TaskStatus.ACKNOWLEDGED, TaskStatus.COMPLETED)


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a duration (negative clock skew counts as 0 s)."""
    if seconds <= 1.0:
        return 0
    return min(BUCKETS - 1, math.ceil(math.log(seconds, RATIO) - 1e-9))


def bucket_upper(index: int) -> float:
    """The largest duration bucket ``index`` holds, in seconds (rounded to 0.1 s)."""
    return round(RATIO**index, 1)


def day_of(at: datetime) -> str:
    """The India-time calendar day of an instant, as YYYY-MM-DD."""
    return at.astimezone(IST).date().isoformat()


@dataclass(frozen=True)
class Contribution:
    """One thing a task change adds to the rollup; ``seconds`` for ``ack`` and ``done``."""

    kind: str
    task_id: str
    state: str
    district: str
    team_id: str
    day: str
    seconds: float | None = None


def contributions(old: Task | None, new: Task) -> list[Contribution]:
    """What the change of a task from ``old`` (None: created) to ``new`` contributes."""

    def c(kind: str, seconds: float | None = None) -> Contribution:
        return Contribution(
            kind, new.task_id, new.state, new.district, new.team_id, day_of(new.created_at), seconds
        )

    out: list[Contribution] = []
    if old is None:
        out.append(c("task"))
    at = new.updated_at or new.created_at
    elapsed = max(0.0, (at - new.created_at).total_seconds())
    before = old.status if old is not None else TaskStatus.NEW
    if new.status in ACKED and before not in ACKED:
        out.append(c("ack", elapsed))
    if new.status is TaskStatus.COMPLETED and before is not TaskStatus.COMPLETED:
        out.append(c("done", elapsed))
    if new.status is TaskStatus.DECLINED and before is not TaskStatus.DECLINED:
        out.append(c("declined"))
    return out


@dataclass(frozen=True)
class DayTotals:
    """One day of a state (or district): counts and duration histograms {bucket: count}."""

    day: str
    tasks: int = 0
    acked: int = 0
    completed: int = 0
    declined: int = 0
    ack_hist: Mapping[int, int] = field(default_factory=dict)
    done_hist: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamTotals:
    """A team's counts over a window."""

    team_id: str
    district: str = ""
    tasks: int = 0
    acked: int = 0
    completed: int = 0
    declined: int = 0

    @property
    def never_responds(self) -> bool:
        """Tasks came and not one was acknowledged, completed or declined."""
        return self.tasks > 0 and self.acked == 0 and self.declined == 0

    def plus(self, other: TeamTotals) -> TeamTotals:
        return TeamTotals(
            self.team_id,
            self.district or other.district,
            self.tasks + other.tasks,
            self.acked + other.acked,
            self.completed + other.completed,
            self.declined + other.declined,
        )


def hist_percentile(hist: Mapping[int, int], q: float) -> float | None:
    """Nearest-rank percentile of a histogram, as its bucket's upper bound; None when empty."""
    total = sum(n for n in hist.values() if n > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for index in sorted(hist):
        seen += max(0, hist[index])
        if seen >= rank:
            return bucket_upper(index)
    return bucket_upper(max(hist))  # unreachable: seen reaches total


@dataclass(frozen=True)
class DayPoint:
    """One point of the daily series."""

    day: str
    tasks: int
    acknowledged: int
    completed: int
    declined: int
    ack_p50_s: float | None
    ack_p90_s: float | None
    complete_p50_s: float | None
    complete_p90_s: float | None


def window(last: date, days: int) -> list[str]:
    """The ``days`` calendar days ending with ``last``, oldest first."""
    return [(last - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def series(days: list[str], totals: Iterable[DayTotals]) -> list[DayPoint]:
    """A point per day of ``days`` (zeros for a day without tasks), summing totals of a day."""
    merged: dict[str, DayTotals] = {}
    for t in totals:
        merged[t.day] = merge(merged[t.day], t) if t.day in merged else t
    out = []
    for d in days:
        t = merged.get(d, DayTotals(d))
        out.append(
            DayPoint(
                d,
                t.tasks,
                t.acked,
                t.completed,
                t.declined,
                hist_percentile(t.ack_hist, 50),
                hist_percentile(t.ack_hist, 90),
                hist_percentile(t.done_hist, 50),
                hist_percentile(t.done_hist, 90),
            )
        )
    return out


def _add(a: Mapping[int, int], b: Mapping[int, int]) -> dict[int, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def merge(a: DayTotals, b: DayTotals) -> DayTotals:
    """Two totals of one day added (a state's districts, say)."""
    return DayTotals(
        a.day,
        a.tasks + b.tasks,
        a.acked + b.acked,
        a.completed + b.completed,
        a.declined + b.declined,
        _add(a.ack_hist, b.ack_hist),
        _add(a.done_hist, b.done_hist),
    )


def apply(totals: DayTotals, c: Contribution) -> DayTotals:
    """``totals`` with one contribution added (the fake store and tests; Dynamo adds in place)."""
    if c.kind == "task":
        return replace(totals, tasks=totals.tasks + 1)
    if c.kind == "declined":
        return replace(totals, declined=totals.declined + 1)
    b = {bucket_of(c.seconds or 0.0): 1}
    if c.kind == "ack":
        return replace(totals, acked=totals.acked + 1, ack_hist=_add(totals.ack_hist, b))
    return replace(totals, completed=totals.completed + 1, done_hist=_add(totals.done_hist, b))


def team_apply(totals: TeamTotals, c: Contribution) -> TeamTotals:
    """A team's totals with one contribution added."""
    one = TeamTotals(
        c.team_id,
        c.district,
        tasks=int(c.kind == "task"),
        acked=int(c.kind == "ack"),
        completed=int(c.kind == "done"),
        declined=int(c.kind == "declined"),
    )
    return totals.plus(one)


def rank_teams(teams: Iterable[TeamTotals]) -> list[TeamTotals]:
    """Who never responds first (most tasks first), then by response rate, lowest first."""

    def key(t: TeamTotals) -> tuple[int, float, int, str]:
        rate = (t.acked + t.declined) / t.tasks if t.tasks else 1.0
        return (0 if t.never_responds else 1, rate, -t.tasks, t.team_id)

    return sorted(teams, key=key)
