from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from tests.factories import T0, make_team
from tests.functional.conftest import World
from tests.functional.test_escalation_handler import Clock, escalate
from tests.functional.test_event_handlers import stream_event
from tests.seeding import seed


def use_clock(now: object) -> Clock:
    clock = Clock(T0)
    container = wiring.container()
    container.__dict__["clock"] = clock
    for name in ("dispatcher", "digester", "escalator", "analyzer"):
        container.__dict__.pop(name, None)
    return clock


def new_task(team: str, n: int, severity: int = 3) -> Task:
    incident = f"inc_{n}"
    return Task(
        task_id=task_id_for(team, incident),
        team_id=team,
        state="DL",
        incident_key=incident,
        mention_key=f"x#{n}",
        created_at=T0,
        severity=severity,
        leader_name="Arvind Kejriwal",
        excerpt=f"post {n}",
        escalate_at=T0 + timedelta(minutes=15),
    )


def dispatch(client: Client, world: World, tasks: list[Task]) -> None:
    for t in tasks:
        world.tasks.create(t)
    assert client.lambda_.invoke("dispatch", stream_event(tasks)).payload == {
        "batchItemFailures": []
    }


def flush(client: Client) -> int:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    return int(client.lambda_.invoke("flush_digests", event).payload["digests"])


def kinds(world: World) -> list[str]:
    return [e.notice.kind for call in world.publisher.calls for e in call.entries[:1]]


def test_a_flood_becomes_three_pages_and_one_digest(client: Client, world: World) -> None:
    clock = use_clock(T0)
    flood = [new_task("DL-CENTRAL-01", n) for n in range(5)]
    dispatch(client, world, flood)
    assert kinds(world) == ["task"] * 3  # the team's burst of 3
    held = [world.tasks.get(t.task_id) for t in flood[3:]]
    assert all(t is not None and t.status is TaskStatus.DISPATCHED for t in held)
    assert {t.sns_message_id for t in held if t} == {"digest"}
    # Their escalation waits for the digest (due 30 minutes later), not the original 15 min.
    assert {t.escalate_at for t in held if t} == {T0 + timedelta(minutes=45)}
    assert flush(client) == 0  # not due yet
    clock.now = T0 + timedelta(minutes=31)
    assert flush(client) == 1
    assert kinds(world) == ["task"] * 3 + ["digest"]
    digest = json.loads(json.loads(world.publisher.calls[-1].entries[0].message)["default"])
    assert digest["held"] == "2"
    assert set(digest["task_ids"].split(",")) == {t.task_id for t in flood[3:]}
    assert flush(client) == 0  # sent once


def test_quiet_hours_hold_pages_but_a_crisis_goes_through(client: Client, world: World) -> None:
    use_clock(T0)  # 10:00 UTC is 15:30 IST
    seed(world.config, make_team("DL-EAST-01", quiet_hours="15:00-16:00"))
    dispatch(client, world, [new_task("DL-EAST-01", 1), new_task("DL-EAST-01", 2, severity=5)])
    assert kinds(world) == ["task"]
    [call] = world.publisher.calls
    assert call.entries[0].notice.severity == 5
    state, _ = world.throttle.load("DL-EAST-01")
    assert state is not None and state.digest == ("inc_1",)
    # The digest waits for the end of quiet hours (16:00 IST = 10:30 UTC).
    assert state.digest_due == T0 + timedelta(minutes=30)


def test_an_acknowledged_held_task_is_left_out_of_the_digest(client: Client, world: World) -> None:
    clock = use_clock(T0)
    flood = [new_task("DL-CENTRAL-01", n) for n in range(5)]
    dispatch(client, world, flood)
    acked = world.tasks.get(flood[4].task_id)
    assert acked is not None
    world.tasks.tasks[acked.task_id] = replace(acked, status=TaskStatus.ACKNOWLEDGED)
    clock.now = T0 + timedelta(minutes=31)
    flush(client)
    digest = json.loads(json.loads(world.publisher.calls[-1].entries[0].message)["default"])
    assert digest["task_ids"] == flood[3].task_id
    assert escalate(client)["failed"] == 0
