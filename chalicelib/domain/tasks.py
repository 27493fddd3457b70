"""Rapid-response tasks and their lifecycle, as a pure state machine.

new -> dispatched -> acknowledged -> completed (with a response link) | declined | expired.
Transitions are idempotent: repeating the one that brought a task to its state changes nothing
and records no new event. Every real change yields one append-only :class:`TaskEvent`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.domain.mention import PLATFORM_HOSTS, platform_of_url
from chalicelib.errors import ConflictError, FieldProblem, InvalidInputError

MAX_REASON = 500  # characters of a decline's reason kept in its event


class TaskStatus(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"


class TaskAction(StrEnum):
    DISPATCH = "dispatch"
    ACK = "ack"
    COMPLETE = "complete"
    DECLINE = "decline"
    EXPIRE = "expire"


_TARGET = {
    TaskAction.DISPATCH: TaskStatus.DISPATCHED,
    TaskAction.ACK: TaskStatus.ACKNOWLEDGED,
    TaskAction.COMPLETE: TaskStatus.COMPLETED,
    TaskAction.DECLINE: TaskStatus.DECLINED,
    TaskAction.EXPIRE: TaskStatus.EXPIRED,
}

_ALLOWED_FROM: dict[TaskAction, frozenset[TaskStatus]] = {
    TaskAction.DISPATCH: frozenset({TaskStatus.NEW}),
    TaskAction.ACK: frozenset({TaskStatus.NEW, TaskStatus.DISPATCHED}),
    TaskAction.COMPLETE: frozenset(
        {TaskStatus.NEW, TaskStatus.DISPATCHED, TaskStatus.ACKNOWLEDGED}
    ),
    TaskAction.DECLINE: frozenset({TaskStatus.NEW, TaskStatus.DISPATCHED, TaskStatus.ACKNOWLEDGED}),
    TaskAction.EXPIRE: frozenset({TaskStatus.NEW, TaskStatus.DISPATCHED, TaskStatus.ACKNOWLEDGED}),
}

TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.DECLINED, TaskStatus.EXPIRED})


def task_id_for(team_id: str, incident_key: str) -> str:
    """Deterministic: the same (team, incident) always gives the same task id.

    This is what makes a redelivered or duplicated post unable to create a second task.
    """
    digest = hashlib.sha256(f"{team_id}\x1f{incident_key}".encode()).hexdigest()
    return f"t_{digest[:24]}"


@dataclass(frozen=True)
class Task:
    task_id: str
    team_id: str
    state: str
    incident_key: str
    mention_key: str
    created_at: datetime
    status: TaskStatus = TaskStatus.NEW
    version: int = 1
    district: str = ""
    leader_id: str = ""
    leader_name: str = ""
    query_ids: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()  # the query terms that matched, as the queries spell them
    category: str = ""
    severity: int = 3
    lang: str = "und"
    excerpt: str = ""
    url: str = ""
    route: Mapping[str, Any] = field(default_factory=dict)
    response_url: str = ""
    updated_at: datetime | None = None
    sns_message_id: str = ""
    # Escalation: notify steps already taken, and when the next one is due (None: no more).
    escalation_step: int = 0
    escalate_at: datetime | None = None
    # Later mentions of the same incident update the task instead of paging again.
    mention_count: int = 1
    # severity x reach x engagement velocity (domain.incidents.priority); only ever raised.
    priority: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL and self.status is not TaskStatus.ACKNOWLEDGED


@dataclass(frozen=True)
class TaskEvent:
    """One change of a task, append-only: who did what, when."""

    task_id: str
    seq: int
    action: TaskAction
    actor: str
    at: datetime
    from_status: TaskStatus
    to_status: TaskStatus
    detail: Mapping[str, str] = field(default_factory=dict)


def transition(
    task: Task,
    action: TaskAction,
    actor: str,
    at: datetime,
    response_url: str = "",
    reason: str = "",
) -> tuple[Task, TaskEvent | None]:
    """Apply ``action``; returns the new task and its event (None when nothing changed).

    Completing needs the link to the response, on a platform we know; declining may say why.
    """
    target = _TARGET[action]
    if task.status == target:
        return task, None
    if task.status not in _ALLOWED_FROM[action]:
        raise ConflictError(
            f"cannot {action.value} a task that is {task.status.value}",
            [FieldProblem("status", task.status.value)],
        )
    detail: dict[str, str] = {}
    changes: dict[str, Any] = {"status": target, "version": task.version + 1, "updated_at": at}
    if action is TaskAction.COMPLETE:
        if not response_url.startswith(("https://", "http://")):
            raise InvalidInputError(
                "completing a task needs the link to the response",
                [FieldProblem("response_url", "an http(s) URL is required")],
            )
        if platform_of_url(response_url) is None:
            known = ", ".join(h for hosts in PLATFORM_HOSTS.values() for h in hosts)
            raise InvalidInputError(
                "the response must be a post on a platform we know",
                [FieldProblem("response_url", f"a link on one of: {known}")],
            )
        changes["response_url"] = response_url
        detail["response_url"] = response_url
    if action is TaskAction.DECLINE and reason.strip():
        detail["reason"] = reason.strip()[:MAX_REASON]
    new = replace(task, **changes)
    event = TaskEvent(task.task_id, new.version, action, actor, at, task.status, target, detail)
    return new, event


def notice_version(task: Task) -> int:
    """The version a notice about ``task`` carries: the dispatch transition does not count.

    Dispatch bumps the stored version when it publishes, but a warrior has seen nothing yet:
    the first notice is version 1, and a republish after a crash (the task still ``new``)
    carries the same number, so phones keep deduping on (task id, version).
    """
    return task.version - 1 if task.status is not TaskStatus.NEW else task.version
