"""Dispatch's round trips per stream batch, and their order (issue 17: post -> phone latency).

Under load every round trip to DynamoDB costs tens of milliseconds, and the phones of a
batch's later groups used to wait for the earlier groups' reads, paging-state writes and
task marks. These tests journal the calls dispatch makes through its ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.channels import DeliveryKey
from chalicelib.domain.notify import Publish
from chalicelib.domain.tasks import Task, TaskEvent, TaskStatus
from chalicelib.domain.throttle import TeamThrottle
from chalicelib.errors import UpstreamError
from chalicelib.services.dispatch import DispatchService
from tests.factories import T0
from tests.fakes import (
    InMemoryTaskRepository,
    InMemoryThrottleStore,
    RecordingChannel,
    RecordingPublisher,
)
from tests.functional.conftest import World
from tests.functional.test_throttle_dispatch import new_task


@dataclass
class Journal:
    calls: list[str] = field(default_factory=list)

    def count(self, name: str) -> int:
        return sum(1 for c in self.calls if c == name)


@dataclass
class JournaledTasks(InMemoryTaskRepository):
    journal: Journal = field(default_factory=Journal)

    def get(self, task_id: str) -> Task | None:
        self.journal.calls.append("get")
        return super().get(task_id)

    def get_many(self, task_ids: Sequence[str]) -> dict[str, Task]:
        self.journal.calls.append("get_many")
        return super().get_many(task_ids)

    def save_transition(self, task: Task, event: TaskEvent, expected_version: int) -> None:
        self.journal.calls.append("save_transition")
        super().save_transition(task, event, expected_version)


@dataclass
class JournaledThrottle(InMemoryThrottleStore):
    journal: Journal = field(default_factory=Journal)
    broken_team: str = ""

    def load(self, team_id: str) -> tuple[TeamThrottle | None, int]:
        self.journal.calls.append("throttle.load")
        if team_id == self.broken_team:
            raise UpstreamError("reading the paging state failed")
        return super().load(team_id)

    def save(self, team_id: str, state_code: str, state: TeamThrottle, expected: int) -> bool:
        self.journal.calls.append("throttle.save")
        item = self.items.get(team_id)  # not self.load: that would journal a read
        if (item[2] if item else 0) != expected:
            return False
        self.items[team_id] = (state_code, state, expected + 1)
        return True


@dataclass
class JournaledPublisher(RecordingPublisher):
    journal: Journal = field(default_factory=Journal)

    def send(self, call: Publish) -> list[str]:
        self.journal.calls.append("publish")
        return super().send(call)


def service(world: World, broken_team: str = "") -> tuple[DispatchService, JournaledTasks, Journal]:
    from chalicelib import wiring
    from chalicelib.adapters.channels.sns import SnsChannel

    journal = Journal()
    tasks = JournaledTasks(journal=journal)
    throttle = JournaledThrottle(journal=journal, broken_team=broken_team)
    publisher = JournaledPublisher(journal=journal)
    config = wiring.container().config  # the world's seeded teams, read as dispatch reads them

    def clock() -> datetime:
        return T0

    svc = DispatchService(tasks, {"sns": SnsChannel(publisher)}, clock, config, throttle)
    return svc, tasks, journal


def a_batch() -> list[Task]:
    # Three incidents (three groups), two teams, two tasks of one team in one incident's group.
    return [
        new_task("DL-CENTRAL-01", 1),
        new_task("DL-EAST-01", 1),
        new_task("DL-CENTRAL-01", 2),
        new_task("DL-EAST-01", 3),
    ]


def test_a_batch_is_read_once_and_each_team_paging_state_once(world: World) -> None:
    svc, tasks, journal = service(world)
    batch = a_batch()
    for t in batch:
        tasks.create(t)
    report = svc.dispatch(batch)
    assert sorted(report.dispatched_task_ids) == sorted(t.task_id for t in batch)
    assert journal.count("get_many") == 1 and journal.count("get") == 0
    # Two teams: one read and one write of each, not one of each per task.
    assert journal.count("throttle.load") == 2
    assert journal.count("throttle.save") == 2
    assert journal.count("save_transition") == len(batch)


def test_every_group_is_published_before_any_task_is_marked(world: World) -> None:
    svc, tasks, journal = service(world)
    batch = a_batch()
    for t in batch:
        tasks.create(t)
    svc.dispatch(batch)
    publishes = [i for i, c in enumerate(journal.calls) if c == "publish"]
    marks = [i for i, c in enumerate(journal.calls) if c == "save_transition"]
    assert len(publishes) == 3  # one per incident group (one state topic)
    assert max(publishes) < min(marks), journal.calls


def test_a_team_whose_paging_state_fails_fails_only_its_groups(world: World) -> None:
    svc, tasks, _ = service(world, broken_team="DL-EAST-01")
    batch = a_batch()
    for t in batch:
        tasks.create(t)
    report = svc.dispatch(batch)
    # Incident 1 holds a DL-EAST-01 task: the whole group is retried, as one publish per group.
    assert sorted(report.failed_task_ids) == sorted(
        t.task_id for t in batch if t.incident_key in {"inc_1", "inc_3"}
    )
    assert report.dispatched_task_ids == (batch[2].task_id,)
    assert all(
        (tasks.get(t.task_id) or t).status is TaskStatus.NEW
        for t in batch
        if t.task_id in report.failed_task_ids
    )


def test_a_task_dispatched_already_is_not_published_again(world: World) -> None:
    svc, tasks, journal = service(world)
    batch = a_batch()
    for t in batch:
        tasks.create(t)
    svc.dispatch(batch)
    before = journal.count("publish")
    again = svc.dispatch(batch)  # the stream redelivers the same records
    assert journal.count("publish") == before
    assert again.dispatched_task_ids == ()


@dataclass
class JournaledChat(RecordingChannel):
    asked: list[list[DeliveryKey]] = field(default_factory=list)

    def delivered(self, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        self.asked.append(list(keys))
        return super().delivered(keys)


def with_chat(
    world: World, reach: set[str]
) -> tuple[DispatchService, JournaledTasks, JournaledChat]:
    svc, tasks, _ = service(world)
    chat = JournaledChat(reach=reach)
    svc = replace(svc, channels={**svc.channels, "telegram": chat})
    return svc, tasks, chat


def test_a_chat_linked_to_none_of_the_teams_is_not_asked_what_it_delivered(
    world: World,
) -> None:
    svc, tasks, chat = with_chat(world, reach={"UP-VARANASI-01"})
    batch = a_batch()
    for t in batch:
        tasks.create(t)
    svc.dispatch(batch)
    assert chat.asked == [] and chat.deliveries == []


def test_a_linked_chat_is_asked_only_about_its_own_teams_tasks(world: World) -> None:
    svc, tasks, chat = with_chat(world, reach={"DL-EAST-01"})
    batch = a_batch()
    for t in batch:
        tasks.create(t)
    svc.dispatch(batch)
    east = {t.task_id for t in batch if t.team_id == "DL-EAST-01"}
    assert chat.asked and all({k[0] for k in keys} <= east for keys in chat.asked)
    assert {t.task_id for d in chat.deliveries for t in d.tasks} == east


def test_an_update_asks_no_channel_what_it_delivered(world: World) -> None:
    svc, tasks, chat = with_chat(world, reach={"DL-EAST-01", "DL-CENTRAL-01"})
    batch = a_batch()
    for t in batch:
        tasks.create(t)
    svc.dispatch(batch)
    asked = len(chat.asked)
    sent = [t for t in (tasks.get(t.task_id) for t in batch) if t is not None]
    assert svc.update(sent) == len(batch)  # every chat message edited
    assert len(chat.asked) == asked


def test_a_task_is_marked_published_when_its_publish_was_asked(world: World) -> None:
    # SNS may hand a message to a phone before its answer is back: the mark is the moment the
    # publish was asked, so published -> delivered is never negative.
    from datetime import timedelta

    from chalicelib import wiring
    from chalicelib.adapters.channels.sns import SnsChannel

    ticks = iter(T0 + timedelta(seconds=n) for n in range(100))
    journal = Journal()
    times: dict[str, datetime] = {}

    @dataclass
    class TimedPublisher(JournaledPublisher):
        def send(self, call: Publish) -> list[str]:
            times["sent"] = next(ticks)  # the clock moves while SNS answers
            return super().send(call)

    tasks = JournaledTasks(journal=journal)
    svc = DispatchService(
        tasks,
        {"sns": SnsChannel(TimedPublisher(journal=journal))},
        lambda: next(ticks),
        wiring.container().config,
        JournaledThrottle(journal=journal),
    )
    task = new_task("DL-CENTRAL-01", 1)
    tasks.create(task)
    report = svc.dispatch([task])
    assert report.published_at[task.task_id] < times["sent"]
