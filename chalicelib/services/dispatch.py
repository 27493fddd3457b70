"""Dispatch (the outbox's far side): publish new tasks to their state's SNS topic.

The tasks of one incident in a stream batch go out as one planned set of SNS calls per state
topic (``domain.notify.plan_publishes``), so the cost of an incident grows with states, not with
teams or warriors; each subscription's filter policy on ``team_ids`` picks its team.
A crash between publish and marking the tasks dispatched means a repeat publish with the
same task ids and versions, which receivers drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from chalicelib.domain.notify import plan_publishes
from chalicelib.domain.tasks import Task, TaskAction, TaskEvent, TaskStatus, transition
from chalicelib.errors import ConflictError, UpstreamError
from chalicelib.services.ports import Clock, TaskPublisher, TaskRepository

DISPATCHER = "system:dispatcher"


@dataclass(frozen=True)
class DispatchReport:
    published: int
    dispatched_task_ids: tuple[str, ...]
    failed_task_ids: tuple[str, ...]


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
        for group in groups.values():
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
            message_ids: list[str] = []
            try:
                for call in plan_publishes([t for t, _ in moved]):
                    message_ids += self.publisher.send(call)
                    published += 1
            except UpstreamError:
                # Reported back as batch item failures: the stream redelivers these records.
                failed.extend(t.task_id for t, _ in moved)
                continue
            for after, event in moved:
                try:
                    self.tasks.save_transition(
                        replace(after, sns_message_id=message_ids[0] if message_ids else ""),
                        event,
                        after.version - 1,
                    )
                except ConflictError:
                    # Acknowledged (or otherwise moved on) between read and write: keep theirs.
                    continue
                done.append(after.task_id)
        return DispatchReport(published, tuple(done), tuple(failed))
