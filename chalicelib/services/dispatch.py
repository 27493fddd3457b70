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

from chalicelib.domain.channels import SNS, UPDATE, ChannelPlan, DeliveryKey, plan_deliveries
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
    # Per dispatched task: the SNS message id of its publish, and when the publish returned.
    message_ids: Mapping[str, str] = field(default_factory=dict)
    published_at: Mapping[str, datetime] = field(default_factory=dict)
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
        """Page the stream batch's new tasks; mark each dispatched (or held) afterwards.

        The batch's AWS calls before the first page are bounded, not per task: one consistent
        read of all its tasks and one read and write of each team's paging state. Every
        group is sent before any task is marked: the marks (one transaction a task) would
        otherwise hold the next group's phones back. A crash in between repeats the sends
        with the same task ids and versions, which receivers drop.
        """
        # Re-read: a task already dispatched (a redelivered record) is not published again.
        ids = list(dict.fromkeys(t.task_id for t in new_tasks))
        current = self.tasks.get_many(ids) if ids else {}
        now = self.clock()
        groups: dict[tuple[str, str], list[tuple[Task, TaskEvent]]] = {}
        for task_id in ids:
            task = current.get(task_id)
            if task is None or task.status is not TaskStatus.NEW:
                continue
            after, event = transition(task, TaskAction.DISPATCH, DISPATCHER, now)
            if event is not None:
                groups.setdefault((task.state, task.incident_key), []).append((after, event))
        decisions, unknown = self._decisions([t for g in groups.values() for t, _ in g], now)
        published = 0
        failed: list[str] = []
        counts: dict[str, int] = {}
        sent: list[tuple[list[tuple[Task, TaskEvent]], list[tuple[Task, TaskEvent]], str, datetime]]
        sent = []
        for moved in groups.values():
            if any(t.team_id in unknown for t, _ in moved):
                # A team's paging state could not be read or saved: the stream retries these.
                failed.extend(t.task_id for t, _ in moved)
                continue
            page, held = self._split(moved, decisions, now)
            try:
                plan = self.plan([t for t, _ in page])
                message_ids: list[str] = []
                published_at: datetime | None = None
                for delivery in plan.deliveries:
                    # When the publish was asked (kept once it succeeds): SNS may hand the
                    # message to a subscriber before its answer is back, so a mark taken after
                    # the answer could come later than the phone's.
                    asked = self.clock()
                    refs = self.channels[delivery.channel].deliver(delivery)
                    counts[delivery.channel] = counts.get(delivery.channel, 0) + len(delivery.tasks)
                    if delivery.channel == SNS:
                        message_ids += refs
                        published += len(refs)
                        published_at = published_at or asked  # the phones' way starts here
            except UpstreamError:
                # Reported back as batch item failures: the stream redelivers these records.
                failed.extend(t.task_id for t, _ in moved)
                continue
            first_id = message_ids[0] if message_ids else ""
            sent.append((page, held, first_id, published_at or self.clock()))
        done: list[str] = []
        held_ids: list[str] = []
        message_of: dict[str, str] = {}
        times: dict[str, datetime] = {}
        for page, held, first_id, sent_at in sent:
            for after, event in page:
                if self._save(replace(after, sns_message_id=first_id), event):
                    done.append(after.task_id)
                    message_of[after.task_id] = first_id
                    times[after.task_id] = sent_at
            for after, event in held:
                if self._save(after, event):
                    held_ids.append(after.task_id)
        return DispatchReport(
            published,
            tuple(done),
            tuple(failed),
            tuple(held_ids),
            message_ids=message_of,
            published_at=times,
            channel_counts=counts,
        )

    def plan(self, tasks: Sequence[Task], kind: str = "task") -> ChannelPlan:
        """Plan ``tasks`` over the wired channels (who each reaches, what each delivered)."""
        team_ids = sorted({t.team_id for t in tasks})
        reach = {name: ch.reachable(team_ids) for name, ch in self.channels.items()}
        delivered: dict[str, frozenset[DeliveryKey]] = {}
        if kind != UPDATE:  # an edit is never a repeat: only posts dedupe (domain.channels)
            for name, ch in self.channels.items():
                keys = [(t.task_id, notice_version(t)) for t in tasks if t.team_id in reach[name]]
                # A chat channel linked to none of these teams delivered none of them: a
                # ledger read less before the page, on a stage where few teams link a chat.
                delivered[name] = ch.delivered(keys) if keys else frozenset()
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

    def _decisions(
        self, moved: Sequence[Task], now: datetime
    ) -> tuple[dict[str, Decision], set[str]]:
        """Each task's paging decision by task id, and the teams whose state failed.

        One read and one conditional write of each team's paging state for the whole batch,
        the team's tasks admitted in batch order (as one read and write per task would).
        """
        if self.throttle is None or self.config is None:
            return {}, set()
        config = self.config
        rosters = {
            state: {team.id: team for team in config.teams_in_state(state)}
            for state in {t.state for t in moved}
        }
        by_team: dict[tuple[str, str], list[Task]] = {}
        for task in moved:
            by_team.setdefault((task.state, task.team_id), []).append(task)
        decisions: dict[str, Decision] = {}
        failed: set[str] = set()
        for (state, team_id), tasks in by_team.items():
            team = rosters[state].get(team_id)
            if team is None:
                continue  # no team (any more): paged, as before the limits existed
            try:
                decisions.update(self._decide(team, tasks, now))
            except UpstreamError:
                failed.add(team_id)
        return decisions, failed

    def _split(
        self, moved: list[tuple[Task, TaskEvent]], decisions: Mapping[str, Decision], now: datetime
    ) -> tuple[list[tuple[Task, TaskEvent]], list[tuple[Task, TaskEvent]]]:
        """Split tasks into those paged now and those held for their team's digest."""
        page: list[tuple[Task, TaskEvent]] = []
        held: list[tuple[Task, TaskEvent]] = []
        for after, event in moved:
            decision = decisions.get(after.task_id, Decision(Action.PAGE, "no team"))
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

    def _decide(self, team: Team, tasks: Sequence[Task], now: datetime) -> dict[str, Decision]:
        assert self.throttle is not None
        policy = policy_for(team)
        for _ in range(SAVE_ATTEMPTS):
            state, version = self.throttle.load(team.id)
            after = state or TeamThrottle.fresh(policy, now)
            decided: dict[str, Decision] = {}
            for task in tasks:
                decided[task.task_id], after = admit(
                    after, policy, incident_key=task.incident_key, severity=task.severity, at=now
                )
            if after == state or self.throttle.save(team.id, team.state, after, version):
                return decided
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
