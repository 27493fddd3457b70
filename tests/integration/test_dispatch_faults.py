"""Faults in dispatch: SNS throttling, and a crash between publish and marking dispatched.

No task may be lost; a repeat publish can only come from the crash window, carries the same
task ids and version, and each phone shows the task once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.adapters.channels.sns import SnsChannel
from chalicelib.adapters.dynamo.repositories import DynamoTaskRepository
from chalicelib.adapters.sns import SnsTaskPublisher
from chalicelib.domain.notify import Publish
from chalicelib.domain.tasks import Task, TaskEvent, TaskStatus
from chalicelib.errors import UpstreamError
from chalicelib.services.dispatch import DispatchService
from chalicelib.settings import Settings
from local.phone import PhoneSink
from tests.factories import T0, make_team
from tests.integration.test_repository_contracts import make_task


class Crash(Exception):
    """The Lambda environment dying mid-invocation."""


@dataclass
class FlakyPublisher:
    real: SnsTaskPublisher
    throttle_first: int = 1
    sent: int = 0

    def send(self, call: Publish) -> list[str]:
        if self.throttle_first > 0:
            self.throttle_first -= 1
            raise UpstreamError("Throttling: Rate exceeded")
        self.sent += 1
        return self.real.send(call)


class CrashAfterPublish(DynamoTaskRepository):
    crashes_left = 1

    def save_transition(self, task: Task, event: TaskEvent, expected_version: int) -> None:
        if self.crashes_left > 0:
            self.crashes_left -= 1
            raise Crash
        super().save_transition(task, event, expected_version)


def test_throttling_then_a_crash_lose_nothing_and_phones_show_each_task_once(
    tables: Settings, clients: dict[str, Any]
) -> None:
    sns, sqs = clients["sns"], clients["sqs"]
    topic = sns.create_topic(Name="tvarit-state-DL")["TopicArn"]
    phone = PhoneSink(sqs, sns, lambda state: topic)
    teams = [make_team("DL-CENTRAL-01"), make_team("DL-EAST-01"), make_team("DL-WEST-01")]
    for team in teams:
        phone.add_device(team.members[0], team)
    tasks = CrashAfterPublish()
    new = [make_task("DL-CENTRAL-01"), make_task("DL-EAST-01")]
    for task in new:
        tasks.create(task)
    publisher = FlakyPublisher(SnsTaskPublisher(sns, lambda state: topic))
    service = DispatchService(tasks, {"sns": SnsChannel(publisher)}, lambda: T0)

    # 1. SNS throttles (after botocore's own retries): reported failed, nothing marked, no send.
    report = service.dispatch(new)
    assert sorted(report.failed_task_ids) == sorted(t.task_id for t in new)
    assert publisher.sent == 0
    assert all(tasks.get(t.task_id).status is TaskStatus.NEW for t in new)  # type: ignore[union-attr]

    # 2. The stream retries; the publish goes out, then the environment dies before marking.
    with pytest.raises(Crash):
        service.dispatch(new)
    assert publisher.sent == 1

    # 3. The stream retries again: the tasks are still new, so they are published again.
    report = service.dispatch(new)
    assert sorted(report.dispatched_task_ids) == sorted(t.task_id for t in new)
    assert publisher.sent == 2
    stored = [tasks.get(t.task_id) for t in new]
    assert all(
        s is not None and s.status is TaskStatus.DISPATCHED and s.version == 2 for s in stored
    )

    # 4. A later redelivery of the same records publishes nothing more.
    service.dispatch(new)
    assert publisher.sent == 2

    while phone.poll_once():
        pass
    shown = sorted((d.team_id, d.task_id, d.version) for d in phone.deliveries)
    # once each, as version 1 (the first notice); none for WEST
    assert shown == sorted((t.team_id, t.task_id, 1) for t in new)
    assert phone.repeats_dropped == 2  # the crash-window repeat, one per phone, dropped
