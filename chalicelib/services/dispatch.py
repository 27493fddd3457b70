"""Dispatch (the outbox's far side): publish new tasks to their state's SNS topic.

The tasks of one incident in a stream batch go out as one planned set of SNS calls per state
topic (``domain.notify.plan_publishes``), so the cost of an incident grows with states, not with
teams or warriors; each subscription's filter policy on ``team_ids`` picks its team.
Each team's paging limits (token bucket, quiet hours) are applied first: a task over the limit
is dispatched into the team's digest instead, sent later as one notice (``DigestService``).
A crash between publish and marking the tasks dispatched means a repeat publish with the
same task ids and versions, which receivers drop.

SNS is one delivery channel among others (``domain.channels``): each group is planned per
channel from the same tasks and versions (``plan_deliveries``), and each channel
(``services.ports.DeliveryChannel``) dedupes on (task id, version). A failure on any channel
fails the group, so the stream retries it and no channel loses a task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.channels import SNS, UPDATE, ChannelPlan, plan_deliveries
from chalicelib.domain.notify import Outbound, digest_notices, plan_notices
from chalicelib.domain.org import Team
from chalicelib.domain.tasks import (
    Task,
    TaskAction,
    TaskEvent,
    TaskStatus,
    notice_version,
    task_id_for,
    transition,
)
from chalicelib.domain.throttle import (
    Action,
    Decision,
    TeamThrottle,
    admit,
    flush_digest,
    policy_for,
)
from chalicelib.errors import ConflictError, UpstreamError
from chalicelib.services.config_cache import CachedConfig
from chalicelib.services.ports import (
    Clock,
    DeliveryChannel,
    TaskPublisher,
    TaskRepository,
    ThrottleStore,
)

DISPATCHER = "system:dispatcher"
DIGEST_MESSAGE_ID = "digest"
SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class DispatchReport:
    published: int  # SNS messages (entries) published
    dispatched_task_ids: tuple[str, ...]
    failed_task_ids: tuple[str, ...]
    held_task_ids: tuple[str, ...] = ()
    # tasks handed to each channel (SNS: carried by its publishes; chats: one message each)
    channel_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass
class DispatchService:
    tasks: TaskRepository
    channels: Mapping[str, DeliveryChannel]
    clock: Clock
    config: CachedConfig | None = None
    throttle: ThrottleStore | None = None

    def dispatch(self, new_tasks: Sequence[Task]) -> DispatchReport:
        groups: dict[tuple[str, str], list[Task]] = {}
        for task in new_tasks:
            groups.setdefault((task.state, task.incident_key), []).append(task)
        published = 0
        done: list[str] = []
        failed: list[str] = []
        held_ids: list[str] = []
        counts: dict[str, int] = {}
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
            try:
                page, held = self._admit(state, moved, now)
                plan = self.plan([t for t, _ in page])
                message_ids: list[str] = []
                for delivery in plan.deliveries:
                    refs = self.channels[delivery.channel].deliver(delivery)
                    counts[delivery.channel] = counts.get(delivery.channel, 0) + len(delivery.tasks)
                    if delivery.channel == SNS:
                        message_ids += refs
                        published += len(refs)
            except UpstreamError:
                # Reported back as batch item failures: the stream redelivers these records.
                failed.extend(t.task_id for t, _ in moved)
                continue
            first_id = message_ids[0] if message_ids else ""
            for after, event in page:
                if self._save(replace(after, sns_message_id=first_id), event):
                    done.append(after.task_id)
            for after, event in held:
                if self._save(after, event):
                    held_ids.append(after.task_id)
        return DispatchReport(published, tuple(done), tuple(failed), tuple(held_ids), counts)

    def plan(self, tasks: Sequence[Task], kind: str = "task") -> ChannelPlan:
        """Plan ``tasks`` over the wired channels (who each reaches, what each delivered)."""
        team_ids = sorted({t.team_id for t in tasks})
        keys = [(t.task_id, notice_version(t)) for t in tasks]
        reach = {name: ch.reachable(team_ids) for name, ch in self.channels.items()}
        delivered = {name: ch.delivered(keys) for name, ch in self.channels.items()}
        return plan_deliveries(tasks, self.channels.keys(), reach, delivered, kind)

    def update(self, changed: Sequence[Task]) -> int:
        """Tasks that changed after dispatch (acted on, another mention): edit where posted.

        Returns how many edits were handed to channels. UpstreamError propagates: the stream
        retries the records.
        """
        sent = [t for t in changed if t.status is not TaskStatus.NEW]
        if not sent:
            return 0
        plan = self.plan(sent, UPDATE)
        for delivery in plan.deliveries:
            self.channels[delivery.channel].deliver(delivery)
        return sum(len(d.tasks) for d in plan.deliveries)

    def _save(self, task: Task, event: TaskEvent) -> bool:
        try:
            self.tasks.save_transition(task, event, task.version - 1)
        except ConflictError:
            # Acknowledged (or otherwise moved on) between read and write: keep theirs.
            return False
        return True

    def _admit(
        self, state: str, moved: list[tuple[Task, TaskEvent]], now: datetime
    ) -> tuple[list[tuple[Task, TaskEvent]], list[tuple[Task, TaskEvent]]]:
        """Split tasks into those paged now and those held for their team's digest."""
        if self.throttle is None or self.config is None:
            return moved, []
        teams = {t.id: t for t in self.config.teams_in_state(state)}
        page: list[tuple[Task, TaskEvent]] = []
        held: list[tuple[Task, TaskEvent]] = []
        for after, event in moved:
            team = teams.get(after.team_id)
            decision = self._decide(team, after, now) if team else Decision(Action.PAGE, "no team")
            if decision.action is Action.PAGE:
                page.append((after, event))
                continue
            delay = (decision.deliver_at or now) - now
            held.append(
                (
                    replace(
                        after,
                        sns_message_id=DIGEST_MESSAGE_ID,
                        # The chain's clock starts when the team is told, not before.
                        escalate_at=after.escalate_at + delay if after.escalate_at else None,
                    ),
                    event,
                )
            )
        return page, held

    def _decide(self, team: Team, task: Task, now: datetime) -> Decision:
        assert self.throttle is not None
        policy = policy_for(team)
        for _ in range(SAVE_ATTEMPTS):
            state, version = self.throttle.load(team.id)
            before = state or TeamThrottle.fresh(policy, now)
            decision, after = admit(
                before, policy, incident_key=task.incident_key, severity=task.severity, at=now
            )
            if after == state or self.throttle.save(team.id, team.state, after, version):
                return decision
        raise UpstreamError(f"paging state of {team.id} kept changing")


@dataclass
class DigestService:
    """Send each team's held digest once it is due: one notice for all its held tasks."""

    tasks: TaskRepository
    throttle: ThrottleStore
    config: CachedConfig
    publisher: TaskPublisher
    clock: Clock
    outbound: Outbound = field(default_factory=Outbound)

    def run(self) -> list[str]:
        now = self.clock()
        sent_to: list[str] = []
        for team_id, state in self.throttle.due(now):
            team = next((t for t in self.config.teams_in_state(state) if t.id == team_id), None)
            if team is not None and self._flush(team, now):
                sent_to.append(team_id)
        return sent_to

    def _flush(self, team: Team, now: datetime) -> bool:
        policy = policy_for(team)
        for _ in range(SAVE_ATTEMPTS):
            state, version = self.throttle.load(team.id)
            if state is None:
                return False
            incidents, after = flush_digest(state, policy, now)
            if incidents:
                held = [self.tasks.get(task_id_for(team.id, key)) for key in incidents]
                still_open = [t for t in held if t is not None and t.is_open]
                # Published before the state is saved: a crash in between repeats the same
                # digest (its key derives from the held task ids), which phones drop.
                notices = digest_notices(team.id, team.state, still_open, self.outbound)
                for call in plan_notices(notices, self.outbound):
                    self.publisher.send(call)
            if self.throttle.save(team.id, team.state, after, version):
                return bool(incidents)
        raise UpstreamError(f"paging state of {team.id} kept changing")
