"""Dispatch (the outbox's far side): publish new tasks to their state's SNS topic.

One publish per (state, incident) group in a stream batch carries every team's task, so the cost of
an incident grows with states, not with teams or warriors; each subscription's filter policy on the
``team_ids`` attribute picks its team. A crash between publish and marking the tasks dispatched
means a repeat publish with the same task ids and versions, which receivers drop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.domain.tasks import Task, TaskAction, TaskEvent, TaskStatus, transition
from chalicelib.errors import ConflictError, UpstreamError
from chalicelib.services.ports import Clock, TaskPublisher, TaskRepository

DISPATCHER = "system:dispatcher"


@dataclass(frozen=True)
class DispatchReport:
    published: int
    dispatched_task_ids: tuple[str, ...]
    failed_task_ids: tuple[str, ...]


def notification(tasks: Sequence[Task]) -> tuple[str, dict[str, Any]]:
    """The SNS message (``MessageStructure=json``) and attributes for one group of tasks."""
    first = tasks[0]
    payload = {
        "kind": "task",
        "incident_key": first.incident_key,
        "state": first.state,
        "severity": first.severity,
        "lang": first.lang,
        "leader": first.leader_name,
        "excerpt": first.excerpt,
        "url": first.url,
        "tasks": {t.team_id: {"task_id": t.task_id, "version": t.version} for t in tasks},
    }
    short = f"Tvarit: {first.leader_name} post needs a response. {first.url}"
    message = {
        "default": json.dumps(payload, ensure_ascii=False),
        "sms": short[:160],
        "email": f"{short}\n\n{first.excerpt}",
    }
    attributes = {
        "team_ids": {
            "DataType": "String.Array",
            "StringValue": json.dumps(sorted(t.team_id for t in tasks)),
        },
        "state": {"DataType": "String", "StringValue": first.state},
        "severity": {"DataType": "Number", "StringValue": str(first.severity)},
        "lang": {"DataType": "String", "StringValue": first.lang},
    }
    return json.dumps(message, ensure_ascii=False), attributes


@dataclass
class DispatchService:
    tasks: TaskRepository
    publisher: TaskPublisher
    clock: Clock

    def dispatch(self, new_tasks: Sequence[Task]) -> DispatchReport:
        groups: dict[tuple[str, str], list[Task]] = {}
        for task in new_tasks:
            groups.setdefault((task.state, task.incident_key), []).append(task)
        published = 0
        done: list[str] = []
        failed: list[str] = []
        for (state, _incident), group in groups.items():
            # Re-read: a task already dispatched (a redelivered record) is not published again.
            current = [t for t in (self.tasks.get(g.task_id) for g in group) if t is not None]
            pending = [t for t in current if t.status is TaskStatus.NEW]
            if not pending:
                continue
            now = self.clock()
            moved: list[tuple[Task, TaskEvent]] = []
            for task in pending:
                after, event = transition(task, TaskAction.DISPATCH, DISPATCHER, now)
                if event is not None:
                    moved.append((after, event))
            message, attributes = notification([t for t, _ in moved])
            try:
                message_id = self.publisher.publish(state, message, attributes)
            except UpstreamError:
                # Reported back as batch item failures: the stream redelivers these records.
                failed.extend(t.task_id for t, _ in moved)
                continue
            published += 1
            for after, event in moved:
                try:
                    self.tasks.save_transition(
                        replace(after, sns_message_id=message_id), event, after.version - 1
                    )
                except ConflictError:
                    # Acknowledged (or otherwise moved on) between read and write: keep theirs.
                    continue
                done.append(after.task_id)
        return DispatchReport(published, tuple(done), tuple(failed))
