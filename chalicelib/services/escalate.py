"""Escalation: tasks nobody acknowledged climb their chain (team lead, district head, state head).

Run by a schedule. Each due task is re-read before its step, so an acknowledgement always stops
the chain; the step is recorded conditionally on the step count and version read, so two
overlapping runs cannot notify twice (at worst a crash between publish and record repeats one
notice, with the same task id, version and step, which phones drop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.domain.escalation import (
    DEFAULT_CHAIN,
    EscalationChain,
    escalation_notices,
    next_step,
    parse_chain,
)
from chalicelib.domain.notify import Outbound, plan_notices
from chalicelib.domain.states import STATE_CODES
from chalicelib.domain.tasks import Task
from chalicelib.errors import InvalidInputError, UpstreamError
from chalicelib.services.config_cache import CachedConfig
from chalicelib.services.ports import Clock, TaskPublisher, TaskRepository


@dataclass(frozen=True)
class EscalationReport:
    notified: tuple[str, ...] = ()
    stopped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass
class EscalationService:
    tasks: TaskRepository
    config: CachedConfig
    publisher: TaskPublisher
    clock: Clock
    states: Sequence[str] = field(default_factory=lambda: STATE_CODES)
    outbound: Outbound = field(default_factory=Outbound)

    def run(self) -> EscalationReport:
        now = self.clock()
        notified: list[str] = []
        stopped: list[str] = []
        failed: list[str] = []
        for state in self.states:
            for due in self.tasks.due_for_escalation(state, now):
                task = self.tasks.get(due.task_id)  # the index may lag; the table does not
                if task is None:
                    continue
                try:
                    outcome = self._step(task)
                except UpstreamError:
                    failed.append(task.task_id)  # due again at the next run
                    continue
                if outcome == "notify":
                    notified.append(task.task_id)
                elif outcome == "stop":
                    stopped.append(task.task_id)
        return EscalationReport(tuple(notified), tuple(stopped), tuple(failed))

    def _step(self, task: Task) -> str:
        chain = _chain_of(task)
        now = self.clock()
        step = next_step(task, chain, now, task.escalation_step)
        if step.action == "wait":
            return "wait"  # the index ran ahead of the chain (it never should); try next run
        if step.action == "stop":
            self.tasks.record_escalation(task, task.escalation_step, None)
            return "stop"
        team = next(
            (t for t in self.config.teams_in_state(task.state) if t.id == task.team_id), None
        )
        if team is None:
            self.tasks.record_escalation(task, task.escalation_step, None)
            return "stop"
        notices = escalation_notices(task, step, team, self.outbound)
        for call in plan_notices(notices, self.outbound):
            self.publisher.send(call)
        following = next_step(task, chain, now, task.escalation_step + 1)
        next_at = following.due if following.action != "stop" else None
        self.tasks.record_escalation(task, task.escalation_step, next_at)
        return "notify"


def _chain_of(task: Task) -> EscalationChain:
    """The chain snapshotted into the task when it was created (edits never change it)."""
    raw = task.route.get("escalation") if task.route else None
    if raw is None:
        return DEFAULT_CHAIN
    try:
        return parse_chain(raw)
    except InvalidInputError:
        return DEFAULT_CHAIN
