from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.tasks import TaskAction, transition
from tests.factories import T0, make_message
from tests.functional.conftest import World
from tests.functional.test_event_handlers import analyze
from tests.seeding import seed

CHAIN = {
    "id": "dl",
    "scope": "state",
    "owner": "DL",
    "repeat": 1,
    "steps": [{"wait": "10m"}, {"notify": "team_lead"}, {"wait": "10m"}, {"notify": "state_head"}],
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(world: World) -> Clock:
    c = Clock(T0)
    container = wiring.container()
    container.__dict__["clock"] = c
    for name in ("analyzer", "escalator"):
        container.__dict__.pop(name, None)
    seed(world.config, CHAIN)
    return c


def escalate(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    payload: dict[str, Any] = client.lambda_.invoke("escalate", event).payload
    return payload


def tokens(world: World) -> list[list[str]]:
    return [
        json.loads(call.entries[0].attributes["team_ids"]["StringValue"])
        for call in world.publisher.calls
    ]


def test_an_unacknowledged_task_climbs_its_chain_then_stops(
    client: Client, world: World, clock: Clock
) -> None:
    analyze(client, [json.dumps(make_message())])
    assert escalate(client) == {"notified": 0, "stopped": 0, "failed": 0}
    clock.now = T0 + timedelta(minutes=10)
    assert escalate(client)["notified"] == 2  # both Delhi teams' leads
    assert sorted(t[0] for t in tokens(world)) == ["@lead:DL-CENTRAL-01", "@lead:DL-EAST-01"]
    assert escalate(client)["notified"] == 0  # nothing twice
    clock.now = T0 + timedelta(minutes=20)
    escalate(client)
    assert sorted(t[0] for t in tokens(world))[-1] == "@shead:DL"
    clock.now = T0 + timedelta(hours=2)
    for _ in range(4):
        escalate(client)
    # repeat=1: two passes of two notify steps, per task, and then the chain is exhausted.
    assert len(world.publisher.calls) == 2 * 4
    assert all(t.escalate_at is None for t in world.tasks.tasks.values())


def test_an_acknowledgement_stops_the_chain(client: Client, world: World, clock: Clock) -> None:
    analyze(client, [json.dumps(make_message())])
    for task in list(world.tasks.tasks.values()):
        acked, event = transition(task, TaskAction.ACK, "w1", T0 + timedelta(minutes=1))
        assert event is not None
        world.tasks.save_transition(acked, event, task.version)
    clock.now = T0 + timedelta(hours=1)
    assert escalate(client) == {"notified": 0, "stopped": 0, "failed": 0}
    assert world.publisher.calls == []


def test_a_step_recorded_by_an_overlapping_run_is_not_taken_again(
    client: Client, world: World, clock: Clock
) -> None:
    analyze(client, [json.dumps(make_message())])
    clock.now = T0 + timedelta(minutes=10)
    task = next(iter(world.tasks.tasks.values()))
    stale = replace(task)
    assert world.tasks.record_escalation(task, 0, T0 + timedelta(minutes=20))
    assert not world.tasks.record_escalation(stale, 0, T0 + timedelta(minutes=20))


def test_a_throttled_escalation_is_retried_at_the_next_run(
    client: Client, world: World, clock: Clock
) -> None:
    analyze(client, [json.dumps(make_message())])
    clock.now = T0 + timedelta(minutes=10)
    world.publisher.failures_left = 1
    assert escalate(client)["failed"] == 1
    assert escalate(client)["notified"] == 1
    assert len(world.publisher.calls) == 2
