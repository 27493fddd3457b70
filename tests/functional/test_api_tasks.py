"""The warriors' task flow over HTTP: list (paginated), read, ack, complete, decline."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from tests.factories import T0
from tests.functional.conftest import World, auth


def make_task(team: str, n: int, state: str = "DL", district: str = "CENTRAL") -> Task:
    return Task(
        task_id=task_id_for(team, f"x#{n}"),
        team_id=team,
        state=state,
        district=district,
        incident_key=f"x#{n}",
        mention_key=f"x#{n}",
        created_at=T0 + timedelta(minutes=n),
        status=TaskStatus.DISPATCHED,
        version=2,
    )


@pytest.fixture
def seeded(world: World) -> dict[str, Task]:
    tasks = {f"c{n}": make_task("DL-CENTRAL-01", n) for n in range(5)}
    tasks["east"] = make_task("DL-EAST-01", 9, district="EAST")
    tasks["up"] = make_task("UP-VARANASI-01", 10, state="UP", district="VARANASI")
    for t in tasks.values():
        world.tasks.create(t)
    return tasks


def post(client: Client, path: str, who: str, body: dict[str, Any] | None = None) -> Any:
    return client.http.post(path, headers=auth(who), body=json.dumps(body) if body else "")


def test_me_tasks_pages_through_my_team_newest_first(
    client: Client, seeded: dict[str, Task]
) -> None:
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        url = "/me/tasks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.http.get(url, headers=auth("warrior")).json_body
        seen += [t["task_id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [seeded[f"c{n}"].task_id for n in (4, 3, 2, 1, 0)]


def test_me_tasks_filters_by_status(client: Client, seeded: dict[str, Task]) -> None:
    post(client, f"/tasks/{seeded['c1'].task_id}/ack", "warrior")
    body = client.http.get("/me/tasks?status=acknowledged", headers=auth("warrior")).json_body
    assert [t["task_id"] for t in body["items"]] == [seeded["c1"].task_id]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=101", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("status=done", "status"),
    ],
)
def test_me_tasks_refuses_bad_parameters(
    client: Client, seeded: dict[str, Task], query: str, loc: str
) -> None:
    response = client.http.get(f"/me/tasks?{query}", headers=auth("warrior"))
    assert response.status_code == 422
    assert [e["loc"] for e in response.json_body["errors"]] == [loc]


def test_heads_have_no_tasks_of_their_own(client: Client, seeded: dict[str, Task]) -> None:
    response = client.http.get("/me/tasks", headers=auth("state_head"))
    assert response.status_code == 403


def test_the_full_flow_is_recorded_as_events(
    client: Client, seeded: dict[str, Task], world: World
) -> None:
    tid = seeded["c2"].task_id
    ack = post(client, f"/tasks/{tid}/ack", "warrior")
    assert ack.status_code == 200 and ack.json_body["status"] == "acknowledged"
    assert ack.headers["ETag"] == '"3"'
    done = post(client, f"/tasks/{tid}/complete", "warrior", {"response_url": "https://x.com/r/1"})
    assert done.json_body["status"] == "completed"
    assert done.json_body["response_url"] == "https://x.com/r/1"
    body = client.http.get(f"/tasks/{tid}", headers=auth("team_lead")).json_body
    assert [(e["action"], e["actor"]) for e in body["events"]] == [
        ("ack", "DL-CENTRAL-01-w1"),
        ("complete", "DL-CENTRAL-01-w1"),
    ]
    assert body["events"][1]["detail"] == {"response_url": "https://x.com/r/1"}


def test_repeating_an_action_changes_nothing(
    client: Client, seeded: dict[str, Task], world: World
) -> None:
    tid = seeded["c3"].task_id
    first = post(client, f"/tasks/{tid}/ack", "warrior")
    again = post(client, f"/tasks/{tid}/ack", "warrior")
    assert first.json_body == again.json_body
    assert len(world.tasks.events(tid)) == 1


def test_a_conflicting_transition_is_409(client: Client, seeded: dict[str, Task]) -> None:
    tid = seeded["c4"].task_id
    post(client, f"/tasks/{tid}/decline", "warrior")
    response = post(client, f"/tasks/{tid}/ack", "warrior")
    assert response.status_code == 409
    assert response.json_body == {
        "type": "/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "cannot ack a task that is declined",
        "instance": f"/tasks/{tid}/ack",  # the path asked for, not the route template
        "errors": [{"loc": "status", "msg": "declined"}],
    }


@pytest.mark.parametrize(
    ("body", "status", "errors"),
    [
        (None, 422, [{"loc": "response_url", "msg": "an http(s) URL is required"}]),
        (
            {"response_url": "ftp://x"},
            422,
            [{"loc": "response_url", "msg": "an http(s) URL is required"}],
        ),
        ({"response_url": 5}, 422, [{"loc": "response_url", "msg": "a string URL"}]),
    ],
)
def test_complete_needs_a_response_link(
    client: Client, seeded: dict[str, Task], body: Any, status: int, errors: list[dict[str, str]]
) -> None:
    response = post(client, f"/tasks/{seeded['c0'].task_id}/complete", "warrior", body)
    assert response.status_code == status
    assert response.json_body["errors"] == errors


@pytest.mark.parametrize(
    ("raw", "status", "loc"),
    [("[1]", 400, "body"), ("{", 400, "body"), ("x" * 5000, 413, None)],
)
def test_malformed_or_huge_bodies(
    client: Client, seeded: dict[str, Task], raw: str, status: int, loc: str | None
) -> None:
    response = client.http.post(
        f"/tasks/{seeded['c0'].task_id}/ack", headers=auth("warrior"), body=raw
    )
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    if loc:
        assert response.json_body["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("who", "task", "read", "act"),
    [
        ("warrior", "c0", 200, 200),
        ("warrior", "east", 404, 404),  # another team's task: as if it did not exist
        ("warrior_other_team", "c0", 404, 404),
        ("team_lead", "c0", 200, 200),
        ("state_head", "c0", 200, 403),  # heads read, warriors work
        ("state_head", "up", 404, 403),
        ("state_head_up", "c0", 404, 403),
        ("district_head", "c0", 200, 403),
        ("district_head", "east", 404, 403),
        ("national_admin", "up", 200, 403),
    ],
)
def test_task_scope(
    client: Client, seeded: dict[str, Task], who: str, task: str, read: int, act: int
) -> None:
    tid = seeded[task].task_id
    assert client.http.get(f"/tasks/{tid}", headers=auth(who)).status_code == read
    assert post(client, f"/tasks/{tid}/ack", who).status_code == act


def test_an_unknown_task_is_404(client: Client, seeded: dict[str, Task]) -> None:
    assert client.http.get("/tasks/t_nope", headers=auth("warrior")).status_code == 404
