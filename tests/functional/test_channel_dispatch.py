"""Dispatch over the delivery-channel seam: SNS as before, plus a chat channel (a fake)."""

from __future__ import annotations

from dataclasses import replace

from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.channels import SNS, TELEGRAM, UPDATE
from chalicelib.domain.tasks import TaskAction, TaskStatus, transition
from tests.factories import T0
from tests.fakes import RecordingChannel
from tests.functional.conftest import World
from tests.functional.test_event_handlers import stream_event
from tests.functional.test_throttle_dispatch import new_task


def with_chat(world: World, reach: set[str]) -> RecordingChannel:
    chat = RecordingChannel(TELEGRAM, reach)
    c = wiring.container()
    c.__dict__["channels"] = {**c.channels, TELEGRAM: chat}
    c.__dict__.pop("dispatcher", None)
    return chat


def test_a_task_goes_to_sns_and_to_the_linked_teams_chat(client: Client, world: World) -> None:
    chat = with_chat(world, {"DL-CENTRAL-01"})
    tasks = [new_task("DL-CENTRAL-01", 1), new_task("DL-EAST-01", 1)]
    for t in tasks:
        world.tasks.create(t)
    result = client.lambda_.invoke("dispatch", stream_event(tasks)).payload
    assert result == {"batchItemFailures": []}
    assert len(world.publisher.calls) == 1  # SNS: one publish, as before the seam
    assert [[t.team_id for t in d.tasks] for d in chat.deliveries] == [["DL-CENTRAL-01"]]
    # Redelivered stream records: the tasks are dispatched already, nothing goes out again.
    client.lambda_.invoke("dispatch", stream_event(tasks))
    assert len(world.publisher.calls) == 1 and len(chat.deliveries) == 1


def test_a_route_that_chose_sns_only_keeps_the_chat_quiet(client: Client, world: World) -> None:
    chat = with_chat(world, {"DL-CENTRAL-01"})
    only_sns = replace(new_task("DL-CENTRAL-01", 2), route={"channels": [SNS]})
    world.tasks.create(only_sns)
    client.lambda_.invoke("dispatch", stream_event([only_sns]))
    assert len(world.publisher.calls) == 1 and chat.deliveries == []


def test_a_failing_chat_fails_the_records_so_nothing_is_lost(client: Client, world: World) -> None:
    chat = with_chat(world, {"DL-CENTRAL-01"})
    chat.failures_left = 1
    task = new_task("DL-CENTRAL-01", 3)
    world.tasks.create(task)
    first = client.lambda_.invoke("dispatch", stream_event([task])).payload
    assert len(first["batchItemFailures"]) == 1
    stored = world.tasks.get(task.task_id)
    assert stored is not None and stored.status is TaskStatus.NEW  # retried by the stream
    client.lambda_.invoke("dispatch", stream_event([task]))
    assert [d.keys for d in chat.deliveries] == [((task.task_id, 1),)]
    # SNS went out twice (the first attempt and the retry): the same (task id, version),
    # which phones drop.
    assert len(world.publisher.calls) == 2


def test_a_change_after_dispatch_is_an_edit_in_the_chat(client: Client, world: World) -> None:
    chat = with_chat(world, {"DL-CENTRAL-01"})
    task = new_task("DL-CENTRAL-01", 4)
    world.tasks.create(task)
    client.lambda_.invoke("dispatch", stream_event([task]))
    sent = world.tasks.get(task.task_id)
    assert sent is not None
    acked, _ = transition(sent, TaskAction.ACK, "w-1", T0)
    assert wiring.container().dispatcher.update([acked]) == 1
    assert [d.kind for d in chat.deliveries] == ["task", UPDATE]
    assert len(world.publisher.calls) == 1  # an update pages nobody
