"""Response statistics per team or state, computed from tasks and their append-only events.

* time to acknowledge: first ``ack`` (or ``complete``, which implies it) minus task creation;
* time to complete: the ``complete`` event minus task creation;
* p50 / p90 by the nearest-rank method (always an observed value, never interpolated);
* completion rate: completed / all tasks (open ones included), None for no tasks. It answers
  "what share of our tasks got done": a task nobody works stays open (nothing expires it), so
  leaving open tasks out would show a team that ignores 99 tasks and completes one as 100 %;
* open: tasks not in a terminal state after all their events.

Events may arrive twice (streams deliver at least once): they are deduplicated on
(task id, seq); events of unknown tasks are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.tasks import TERMINAL, Task, TaskAction, TaskEvent, TaskStatus


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class ResponseStats:
    key: str
    tasks: int
    open: int
    acknowledged: int
    completed: int
    declined: int
    expired: int
    completion_rate: float | None
    ack_p50_s: float | None
    ack_p90_s: float | None
    complete_p50_s: float | None
    complete_p90_s: float | None

    @classmethod
    def empty(cls, key: str) -> ResponseStats:
        """The stats of no tasks: every count 0, every rate and time None."""
        return cls(key, 0, 0, 0, 0, 0, 0, None, None, None, None, None)


@dataclass(frozen=True)
class StateStats:
    """A state's stats: its total and each visible team's."""

    state: str
    total: ResponseStats
    teams: tuple[ResponseStats, ...]


@dataclass
class _Acc:
    tasks: int = 0
    open: int = 0
    acked: int = 0
    completed: int = 0
    declined: int = 0
    expired: int = 0

    def __post_init__(self) -> None:
        self.ack: list[float] = []
        self.done: list[float] = []


def response_stats(
    tasks: Iterable[Task], events: Iterable[TaskEvent], by: str = "team"
) -> dict[str, ResponseStats]:
    """Stats keyed by team id (``by="team"``) or state code (``by="state"``)."""
    if by not in ("team", "state"):
        raise ValueError("by is 'team' or 'state'")
    known = {t.task_id: t for t in tasks}
    per_task: dict[str, dict[int, TaskEvent]] = {}
    for e in events:
        if e.task_id in known:
            per_task.setdefault(e.task_id, {})[e.seq] = e
    accs: dict[str, _Acc] = {}
    for tid, task in known.items():
        acc = accs.setdefault(task.team_id if by == "team" else task.state, _Acc())
        acc.tasks += 1
        evs = sorted(per_task.get(tid, {}).values(), key=lambda e: e.seq)
        status = evs[-1].to_status if evs else task.status
        acked_at: datetime | None = None
        for e in evs:
            if e.action in (TaskAction.ACK, TaskAction.COMPLETE) and acked_at is None:
                acked_at = e.at
            if e.action is TaskAction.COMPLETE:
                acc.done.append(max(0.0, (e.at - task.created_at).total_seconds()))
        if acked_at is not None:
            acc.acked += 1
            acc.ack.append(max(0.0, (acked_at - task.created_at).total_seconds()))
        if status not in TERMINAL:
            acc.open += 1
        acc.completed += status is TaskStatus.COMPLETED
        acc.declined += status is TaskStatus.DECLINED
        acc.expired += status is TaskStatus.EXPIRED
    out: dict[str, ResponseStats] = {}
    for key, a in sorted(accs.items()):
        out[key] = ResponseStats(
            key=key,
            tasks=a.tasks,
            open=a.open,
            acknowledged=a.acked,
            completed=a.completed,
            declined=a.declined,
            expired=a.expired,
            completion_rate=round(a.completed / a.tasks, 4) if a.tasks else None,
            ack_p50_s=percentile(a.ack, 50),
            ack_p90_s=percentile(a.ack, 90),
            complete_p50_s=percentile(a.done, 50),
            complete_p90_s=percentile(a.done, 90),
        )
    return out
