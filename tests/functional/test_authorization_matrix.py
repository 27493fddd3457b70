"""Every route × every role × an object in and out of the caller's scope → the expected status.

Callers (columns, in this order): national admin, Delhi state head, Delhi/CENTRAL district head,
team lead of DL-CENTRAL-01, a warrior of DL-CENTRAL-01, Uttar Pradesh state head, a warrior of
another Delhi team. "in" objects live in Delhi (team DL-CENTRAL-01, district CENTRAL), "out"
objects in Uttar Pradesh. 404: exists but outside what the caller may see; 403: the role may
not do this, or the object is visible but not theirs to change (docs: chalicelib/domain/access).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api.openapi import OPERATIONS
from chalicelib.domain.incidents import IncidentRecord
from chalicelib.domain.org import Member
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

# A member role given by every caller: (role, expected "in", expected "out").
PROMOTIONS = (
    ("lead", "201 201 201 403 403 404 403", "201 404 404 404 403 201 403"),
    ("district_head", "201 201 403 403 403 404 403", "201 404 404 404 403 201 403"),
    ("state_head", "201 403 403 403 403 404 403", "201 404 404 404 403 403 403"),
)

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
    # Handing out roles: only roles strictly below the caller's own (a national admin: any);
    # a member's role decides which escalations their phone receives.
    *(
        (
            "POST",
            "/teams/{obj}/members",
            {**MEMBER, "id": "m-new", "role": role},
            {**MEMBER, "id": "m-new", "role": role},
            exp_in,
            exp_out,
        )
        for role, exp_in, exp_out in PROMOTIONS
    ),
    *(
        (
            "PUT",
            "/teams/{obj}/members/{obj}-w1",
            {**MEMBER, "id": "{obj}-w1", "role": role},
            {**MEMBER, "id": "{obj}-w1", "role": role},
            exp_in.replace("201", "200"),
            exp_out.replace("201", "200"),
        )
        for role, exp_in, exp_out in PROMOTIONS
    ),
    (
        "PUT",
        "/teams/{obj}",
        {
            "id": "DL-CENTRAL-01",
            "name": "C",
            "state": "DL",
            "district": "CENTRAL",
            "members": [{**MEMBER, "id": "DL-CENTRAL-01-w1", "role": "district_head"}],
        },
        {
            "id": "UP-VARANASI-01",
            "name": "V",
            "state": "UP",
            "members": [{**MEMBER, "id": "UP-VARANASI-01-w1", "role": "district_head"}],
        },
        "200 200 403 403 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    (
        "POST",
        "/teams",
        {
            "id": "DL-NEW",
            "name": "N",
            "state": "DL",
            "district": "CENTRAL",
            "members": [{**MEMBER, "id": "m-new", "role": "state_head"}],
        },
        {
            "id": "UP-NEW",
            "name": "N",
            "state": "UP",
            "members": [{**MEMBER, "id": "m-new", "role": "state_head"}],
        },
        "201 403 403 403 403 403 403",
        "201 403 403 403 403 403 403",
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
    # Telegram links (issue 13): a lead (or a head) links the team's group; members their own.
    (
        "POST",
        "/teams/{obj}/telegram-link",
        None,
        None,
        "201 201 201 201 403 404 403",
        "201 404 404 404 403 201 403",
    ),
    ("POST", "/me/telegram-link", None, None, "403 403 403 404 201 403 201", "-"),
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
    *(
        (
            "GET",
            template,
            None,
            None,
            "200 200 200 403 403 404 403",
            "200 404 404 403 403 200 403",
        )
        for template in ("/stats/daily?state={state}", "/stats/teams?state={state}")
    ),
    (
        "GET",
        "/exports/members?state={state}",
        None,
        None,
        "200 200 200 404 403 404 403",
        "200 404 404 404 403 200 403",
    ),
    # A CSV body (a str here); another scope's team is a problem of its row, in a 200 report.
    (
        "POST",
        "/imports/members",
        "team_id,state,member_id,name\nDL-CENTRAL-01,DL,csv-1,Asha\n",
        None,
        "200 200 200 403 403 200 403",
        "-",
    ),
    # The console's endpoints (issue 14). The watchlist pages like GET /leaders: another
    # state's leaders are left out of the list (200, empty), never named.
    (
        "GET",
        "/watchlist?state={state}",
        None,
        None,
        "200 200 200 403 403 200 403",
        "200 200 200 403 403 200 403",
    ),
    (
        "POST",
        "/keyword-queries/validate",
        {"query": "EVM"},
        None,
        "200 200 200 403 403 200 403",
        "-",
    ),
    (
        "POST",
        "/routes/preview",
        {"mention_key": "{obj}"},
        {"mention_key": "{obj}"},
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
    "/routes": ("x#dl", "x#up"),  # POST /routes/preview of a stored mention
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


def _role_of(body: Any) -> str:
    found = re.search(r'"role": "(\w+)"', json.dumps(body))
    return f" as {found.group(1)}" if found else ""


CASES = [
    pytest.param(
        method,
        template,
        body,
        where,
        caller,
        int(code),
        id=f"{method} {template}{_role_of(body)} {where} {caller}",
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
    csv_body = isinstance(body, str)
    raw = body if isinstance(body, str) else raw
    # Updates and deletes need If-Match ("*": whatever is current); the world has no route
    # tree yet, so PUT /routes creates it, which takes none.
    needs_if_match = method in ("PUT", "DELETE") and path != "/routes"
    headers = auth(caller, **({"If-Match": "*"} if needs_if_match else {}))
    if csv_body:
        headers["Content-Type"] = "text/csv"
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


SELVES = {"state_head": "shead-dl", "district_head": "dhead-dl-central", "team_lead": "lead-dl-c1"}


@pytest.mark.parametrize("caller", list(SELVES))
def test_nobody_changes_their_own_role(client: Client, world: World, caller: str) -> None:
    team = make_team("DL-CENTRAL-01", "DL", district="CENTRAL")
    me = Member(SELVES[caller], "Me", team.id)  # a warrior in the team they manage
    seed(world.config, dataclasses.replace(team, members=(*team.members, me)))
    path = f"/teams/DL-CENTRAL-01/members/{me.id}"
    headers = auth(caller, **{"If-Match": "*"})
    promoted = {"id": me.id, "name": "Me", "role": "lead"}  # below every caller here
    response = client.http.put(path, headers=headers, body=json.dumps(promoted))
    assert response.status_code == 403, response.body
    assert response.json_body["detail"] == "you may not change your own role"
    for change in ({"languages": ["en"]}, {"name": "Me, renamed"}):  # the rest is theirs
        body = {"id": me.id, "name": "Me", "role": "warrior", **change}
        assert client.http.put(path, headers=headers, body=json.dumps(body)).status_code == 200
    assert client.http.delete(path, headers=headers).status_code == 403  # leaving: a change too


def test_naming_a_new_member_as_the_teams_lead_is_a_promotion(client: Client, world: World) -> None:
    # lead_id makes whoever holds that id the lead: a team lead cannot add a second lead by it.
    team = make_team("DL-CENTRAL-01", "DL", district="CENTRAL", lead_id="lead-2")
    seed(world.config, team)
    body = json.dumps({"id": "lead-2", "name": "Second lead"})
    refused = client.http.post("/teams/DL-CENTRAL-01/members", headers=auth("team_lead"), body=body)
    assert refused.status_code == 403
    added = client.http.post(
        "/teams/DL-CENTRAL-01/members", headers=auth("district_head"), body=body
    )
    assert added.status_code == 201


# Audit reads are scoped like the objects: each record shows only to callers who may read
# where its object lived, before and after the change. Changes made through the API by a
# national admin; the world's own seeds were written without a scope (older records): only
# whole-state readers see those.
AUDITED = [
    ("POST", "/teams", {"id": "DL-CENTRAL-02", "name": "C2", "state": "DL", "district": "CENTRAL"}),
    ("POST", "/teams", {"id": "DL-EAST-02", "name": "E2", "state": "DL", "district": "EAST"}),
    ("POST", "/leaders", {"id": "l-dl", "name": "L", "state": "DL"}),
    ("POST", "/leaders", {"id": "l-dl-east", "name": "L", "state": "DL", "district": "EAST"}),
    ("POST", "/keyword-queries", {"id": "q-nat", "query": "x", "scope": "national"}),
    ("POST", "/teams", {"id": "UP-NEW", "name": "U", "state": "UP", "district": "AGRA"}),
    (
        "POST",
        "/teams/DL-EAST-02/members",
        {"id": "east-w", "name": "Neighbour's warrior"},
    ),
    ("PUT", "/teams/DL-EAST-02/members/east-w", {"id": "east-w", "name": "Renamed"}),
    # moved from EAST to CENTRAL: the record holds EAST's team as it was
    (
        "PUT",
        "/teams/DL-EAST-02",
        {"id": "DL-EAST-02", "name": "E2", "state": "DL", "district": "CENTRAL"},
    ),
]
SEEDED_DL = ["create arvind-kejriwal", "create DL-CENTRAL-01", "create DL-EAST-01"]
MADE_DL = [
    "create DL-CENTRAL-02",
    "create DL-EAST-02",
    "create l-dl",
    "create l-dl-east",
    *["update DL-EAST-02"] * 3,  # member added, member renamed, team moved
]
AUDIT_ROWS = [
    ("national_admin", "DL", 200, SEEDED_DL + MADE_DL),
    ("state_head", "DL", 200, SEEDED_DL + MADE_DL),
    # The seeded leader and teams have no district: a district head of DL may read them, and
    # seeding goes through the use cases, so their records say where they live.
    ("district_head", "DL", 200, [*SEEDED_DL, "create DL-CENTRAL-02", "create l-dl"]),
    ("district_head", "national", 200, ["create q-demonetisation", "create q-nat"]),
    ("district_head", "UP", 404, []),
    ("state_head_up", "DL", 404, []),
    (
        "state_head_up",
        "UP",
        200,
        ["create narendra-modi", "create UP-VARANASI-01", "create UP-NEW"],
    ),
    ("team_lead", "DL", 403, []),
]


@pytest.mark.parametrize(("caller", "scope", "status", "expected"), AUDIT_ROWS)
def test_audit_reads_are_scoped_to_what_the_caller_may_read(
    client: Client, world: World, caller: str, scope: str, status: int, expected: list[str]
) -> None:
    for method, path, body in AUDITED:
        headers = auth("national_admin", **({"If-Match": "*"} if method == "PUT" else {}))
        made = client.http.request(method, path, headers=headers, body=json.dumps(body))
        assert made.status_code in (200, 201), made.body
    items: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(20):  # page by page, 2 at a time: leaving records out must not lose any
        url = f"/audit?scope={scope}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = client.http.get(url, headers=auth(caller))
        assert response.status_code == status, response.body
        if status != 200:
            return
        assert len(response.json_body["items"]) <= 2
        items += response.json_body["items"]
        cursor = response.json_body["next_cursor"]
        if not cursor:
            break
    assert sorted(f"{i['action']} {i['entity_id']}" for i in items) == sorted(expected)


MEMBERS_ROW = next(row for row in MATRIX if row[:2] == ("POST", "/teams/{obj}/members"))


@pytest.mark.parametrize("caller", CALLERS)
def test_an_idempotency_key_does_not_carry_an_answer_to_another_url(
    client: Client, scoped_world: World, caller: str
) -> None:
    """One Idempotency-Key and body, sent to the in team's members, then to the out team's.

    The second answers what the matrix says for the out team (404 outside the caller's scope),
    never the first team's 201 replayed (issue 12).
    """
    _, _, body, _, exp_in, exp_out = MEMBERS_ROW
    expected = dict(zip(CALLERS, zip(exp_in.split(), exp_out.split(), strict=True), strict=True))
    headers = auth(caller, **{"Idempotency-Key": "same-key-same-body"})
    answers = [
        client.http.post(f"/teams/{team}/members", headers=headers, body=json.dumps(body))
        for team in OBJECTS["/teams"]
    ]
    assert tuple(str(a.status_code) for a in answers) == expected[caller]
    assert "Idempotent-Replayed" not in answers[1].headers
