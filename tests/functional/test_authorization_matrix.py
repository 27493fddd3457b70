"""Every route × every role × an object in and out of the caller's scope → the expected status.

Callers (columns, in this order): national admin, Delhi state head, Delhi/CENTRAL district head,
team lead of DL-CENTRAL-01, a warrior of DL-CENTRAL-01, Uttar Pradesh state head, a warrior of
another Delhi team. "in" objects live in Delhi (team DL-CENTRAL-01, district CENTRAL), "out"
objects in Uttar Pradesh. 404: exists but outside what the caller may see; 403: the role may
not do this, or the object is visible but not theirs to change (docs: chalicelib/domain/access).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api.openapi import OPERATIONS
from chalicelib.domain.incidents import IncidentRecord
from chalicelib.domain.tasks import Task, TaskStatus
from tests.factories import T0, make_leader, make_query, make_team
from tests.functional.conftest import World, auth, store_mention
from tests.seeding import seed

CALLERS = (
    "national_admin",
    "state_head",
    "district_head",
    "team_lead",
    "warrior",
    "state_head_up",
    "warrior_other_team",
)

LEADER = {"name": "Changed", "accounts": [{"platform": "x", "handle": "h"}]}
MEMBER = {"name": "New Warrior", "languages": ["hi"]}
DEVICE = {"platform": "fcm", "token": "fcm-token-0123456789"}
CHAIN = {"scope": "state", "steps": [{"wait": "10m"}, {"notify": "team_lead"}]}
ROUTES = {"route": {"receivers": [{"teams_of": "state"}]}}

# (method, path template, body for "in", body for "out", expected "in", expected "out")
# {obj} is the in/out object id; bodies may use it too.
MATRIX: list[tuple[str, str, Any, Any, str, str]] = [
    ("GET", "/me/tasks", None, None, "403 403 403 200 200 403 200", "-"),
    (
        "GET",
        "/tasks/{obj}",
        None,
        None,
        "200 200 200 200 200 404 404",
        "200 404 404 404 404 200 404",
    ),
    *(
        (
            "POST",
            f"/tasks/{{obj}}/{verb}",
            body,
            body,
            "403 403 403 200 200 403 404",
            "403 403 403 404 404 403 404",
        )
        for verb, body in (
            ("ack", None),
            ("complete", {"response_url": "https://x.com/r/1"}),
            ("decline", None),
        )
    ),
    (
        "GET",
        "/teams/{obj}/tasks",
        None,
        None,
        "200 200 200 200 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    ("GET", "/leaders", None, None, "200 200 200 403 403 200 403", "-"),
    (
        "POST",
        "/leaders",
        {"id": "new", "name": "N", "state": "DL", "district": "CENTRAL"},
        {"id": "new", "name": "N", "state": "UP"},
        "201 201 201 403 403 403 403",
        "201 403 403 403 403 201 403",
    ),
    (
        "GET",
        "/leaders/{obj}",
        None,
        None,
        "200 200 200 403 403 404 403",
        "200 404 404 403 403 200 403",
    ),
    (
        "PUT",
        "/leaders/{obj}",
        {**LEADER, "id": "arvind-kejriwal", "state": "DL"},
        {**LEADER, "id": "narendra-modi", "state": "UP"},
        "200 200 403 403 403 404 403",
        "200 404 404 403 403 200 403",
    ),
    (
        "DELETE",
        "/leaders/{obj}",
        None,
        None,
        "204 204 403 403 403 404 403",
        "204 404 404 403 403 204 403",
    ),
    ("GET", "/keyword-queries", None, None, "200 200 200 403 403 200 403", "-"),
    ("POST", "/keyword-queries/preview", {"query": "x"}, None, "200 200 200 403 403 200 403", "-"),
    (
        "POST",
        "/keyword-queries",
        {"id": "q-new", "query": "x", "scope": "DL"},
        {"id": "q-new", "query": "x", "scope": "UP"},
        "201 201 403 403 403 403 403",
        "201 403 403 403 403 201 403",
    ),
    (
        "GET",
        "/keyword-queries/{obj}",
        None,
        None,
        "200 200 200 403 403 404 403",
        "200 404 404 403 403 200 403",
    ),
    (
        "PUT",
        "/keyword-queries/{obj}",
        {"id": "q-dl", "query": "y", "scope": "DL"},
        {"id": "q-up", "query": "y", "scope": "UP"},
        "200 200 403 403 403 404 403",
        "200 404 404 403 403 200 403",
    ),
    (
        "DELETE",
        "/keyword-queries/{obj}",
        None,
        None,
        "204 204 403 403 403 404 403",
        "204 404 404 403 403 204 403",
    ),
    ("GET", "/teams", None, None, "422 200 200 200 403 200 403", "-"),
    (
        "POST",
        "/teams",
        {"id": "DL-NEW", "name": "N", "state": "DL", "district": "CENTRAL"},
        {"id": "UP-NEW", "name": "N", "state": "UP"},
        "201 201 201 403 403 403 403",
        "201 403 403 403 403 201 403",
    ),
    (
        "GET",
        "/teams/{obj}",
        None,
        None,
        "200 200 200 200 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    (
        "PUT",
        "/teams/{obj}",
        {"id": "DL-CENTRAL-01", "name": "C", "state": "DL", "district": "CENTRAL"},
        {"id": "UP-VARANASI-01", "name": "V", "state": "UP"},
        "200 200 200 403 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    (
        "DELETE",
        "/teams/{obj}",
        None,
        None,
        "204 204 204 403 403 404 403",
        "204 404 404 404 403 204 403",
    ),
    (
        "POST",
        "/teams/{obj}/members",
        {**MEMBER, "id": "m-new"},
        {**MEMBER, "id": "m-new"},
        "201 201 201 201 403 404 403",
        "201 404 404 404 403 201 403",
    ),
    (
        "PUT",
        "/teams/{obj}/members/{obj}-w1",
        {**MEMBER, "id": "{obj}-w1"},
        {**MEMBER, "id": "{obj}-w1"},
        "200 200 200 200 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    (
        "DELETE",
        "/teams/{obj}/members/{obj}-w1",
        None,
        None,
        "200 200 200 200 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    ("GET", "/escalation-chains", None, None, "200 200 200 200 403 200 403", "-"),
    (
        "POST",
        "/escalation-chains",
        {**CHAIN, "id": "ch-new", "owner": "DL"},
        {**CHAIN, "id": "ch-new", "owner": "UP"},
        "201 201 403 403 403 403 403",
        "201 403 403 403 403 201 403",
    ),
    (
        "GET",
        "/escalation-chains/{obj}",
        None,
        None,
        "200 200 200 404 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    (
        "PUT",
        "/escalation-chains/{obj}",
        {**CHAIN, "id": "ch-dl", "owner": "DL"},
        {**CHAIN, "id": "ch-up", "owner": "UP"},
        "200 200 403 404 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    (
        "DELETE",
        "/escalation-chains/{obj}",
        None,
        None,
        "204 204 403 404 403 404 403",
        "204 404 404 404 403 204 403",
    ),
    ("GET", "/routes", None, None, "200 200 200 403 403 200 403", "-"),
    ("POST", "/me/devices", DEVICE, None, "403 403 403 404 201 403 201", "-"),
    ("GET", "/me/devices", None, None, "200 200 200 200 200 200 200", "-"),
    (
        "DELETE",
        "/me/devices/{obj}",
        None,
        None,
        "404 404 404 404 204 404 404",
        "404 404 404 404 404 404 404",
    ),
    (
        "GET",
        "/stats?state={state}",
        None,
        None,
        "200 200 200 403 403 404 403",
        "200 404 404 403 403 200 403",
    ),
    ("PUT", "/routes", ROUTES, None, "200 403 403 403 403 403 403", "-"),
    *(
        (
            "GET",
            template,
            None,
            None,
            "200 200 200 403 403 404 403",
            "200 404 404 403 403 200 403",
        )
        for template in ("/mentions?state={state}", "/mentions/{obj}", "/incidents/{obj}")
    ),
    (
        "GET",
        "/audit?scope={state}",
        None,
        None,
        "200 200 200 403 403 404 403",
        "200 404 404 403 403 200 403",
    ),
]

OBJECTS = {
    "/tasks": ("t_dl", "t_up"),
    "/leaders": ("arvind-kejriwal", "narendra-modi"),
    "/keyword-queries": ("q-dl", "q-up"),
    "/teams": ("DL-CENTRAL-01", "UP-VARANASI-01"),
    "/audit": ("DL", "UP"),
    "/escalation-chains": ("ch-dl", "ch-up"),
    "/me": ("d_dl", "d_up"),
    "/stats": ("DL", "UP"),
    "/mentions": ("x%23dl", "x%23up"),
    "/incidents": ("inc_dl", "inc_up"),
}


def _task(task_id: str, team: str, state: str, district: str) -> Task:
    return Task(
        task_id,
        team,
        state,
        f"x#{task_id}",
        f"x#{task_id}",
        T0 + timedelta(minutes=1),
        status=TaskStatus.DISPATCHED,
        version=2,
        district=district,
    )


@pytest.fixture
def scoped_world(world: World) -> World:
    seed(
        world.config,
        make_team("DL-CENTRAL-01", "DL", district="CENTRAL"),
        make_team("UP-VARANASI-01", "UP", district="VARANASI"),
        make_leader(id="narendra-modi", state="UP", accounts=()),
        make_query(id="q-dl", scope="DL"),
        make_query(id="q-up", scope="UP"),
        *({**CHAIN, "id": f"ch-{state.lower()}", "owner": state} for state in ("DL", "UP")),
    )
    world.tasks.create(_task("t_dl", "DL-CENTRAL-01", "DL", "CENTRAL"))
    device = {
        "id": "d_dl",
        "platform": "fcm",
        "team_id": "DL-CENTRAL-01",
        "state": "DL",
        "endpoint_arn": "e",
        "subscription_arn": "s",
        "filter_policy": {},
    }
    world.config.write_item("DEVICES#DL-CENTRAL-01-w1", "d_dl", "device", device, "DL", "w", None)
    world.tasks.create(_task("t_up", "UP-VARANASI-01", "UP", "VARANASI"))
    for state, leader in (("DL", "arvind-kejriwal"), ("UP", "narendra-modi")):
        low = state.lower()
        store_mention(world, native_id=low, leader=leader, state=state)
        world.incidents.index.records[f"inc_{low}"] = IncidentRecord(
            f"inc_{low}", leader, (f"q-{low}",), (), T0, T0, (f"x#{low}",)
        )
    return world


CASES = [
    pytest.param(
        method, template, body, where, caller, int(code), id=f"{method} {template} {where} {caller}"
    )
    for method, template, body_in, body_out, exp_in, exp_out in MATRIX
    for where, body, expected in (("in", body_in, exp_in), ("out", body_out, exp_out))
    if expected != "-"
    for caller, code in zip(CALLERS, expected.split(), strict=True)
]


@pytest.mark.parametrize(("method", "template", "body", "where", "caller", "expected"), CASES)
def test_authorization_matrix(
    client: Client,
    scoped_world: World,
    method: str,
    template: str,
    body: Any,
    where: str,
    caller: str,
    expected: int,
) -> None:
    base = "/" + template.split("/")[1].split("?")[0]
    obj = OBJECTS.get(base, ("", ""))[0 if where == "in" else 1]
    path = template.replace("{obj}", obj).replace("{state}", "DL" if where == "in" else "UP")
    raw = json.dumps(body).replace("{obj}", obj) if body is not None else ""
    headers = auth(caller, **{"If-Match": "*"})
    response = client.http.request(method, path, headers=headers, body=raw)
    assert response.status_code == expected, response.body


def test_the_matrix_covers_every_protected_route() -> None:
    covered = {
        (m.lower(), t.split("?")[0].replace("{obj}-w1", "{member_id}")) for m, t, *_ in MATRIX
    }
    protected = {
        (
            op.method,
            op.path.replace("{task_id}", "{obj}")
            .replace("{object_id}", "{obj}")
            .replace("{team_id}", "{obj}")
            .replace("{device_id}", "{obj}")
            .replace("{key}", "{obj}")
            .replace("{incident_key}", "{obj}"),
        )
        for op in OPERATIONS
        if not op.public
    }
    assert protected == covered
