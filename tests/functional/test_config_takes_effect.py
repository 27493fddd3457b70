"""Configuration written through the HTTP API drives the next pipeline run, kind by kind.

Each test writes one kind of configuration with the API only (no seeding back door) and then
runs the stage that reads it, as ``domain.config_kinds`` says: analyze (leaders, keyword
queries, teams, the route tree, chains snapshotted into tasks), dispatch (a team's quiet
hours), escalate (chains, team level tokens) and device registration (members).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.config_kinds import KINDS
from chalicelib.domain.mention import Author
from chalicelib.domain.subscriptions import policy_matches
from chalicelib.domain.tasks import Task
from tests.factories import T0, make_message
from tests.functional.conftest import World, auth
from tests.functional.test_escalation_handler import Clock, escalate
from tests.functional.test_event_handlers import analyze, stream_event


@pytest.fixture
def clock(world: World) -> Clock:
    c = Clock(T0)
    container = wiring.container()
    container.__dict__["clock"] = c
    for name in ("analyzer", "escalator", "dispatcher", "digester"):
        container.__dict__.pop(name, None)
    return c


def post(client: Client, path: str, body: dict[str, Any], who: str = "state_head") -> Any:
    response = client.http.post(path, headers=auth(who), body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return response.json_body


def tasks_of(world: World) -> dict[str, Task]:
    return {t.team_id: t for t in world.tasks.tasks.values()}


def team_tokens(world: World) -> list[str]:
    """The audiences each published task reached, once per task (not per delivery language)."""
    seen: set[tuple[int, str, str]] = set()
    out: list[str] = []
    for n, call in enumerate(world.publisher.calls):
        for entry in call.entries:
            for token in json.loads(entry.attributes["team_ids"]["StringValue"]):
                if (n, entry.notice.task_id, token) not in seen:
                    seen.add((n, entry.notice.task_id, token))
                    out.append(token)
    return out


def test_every_kind_names_its_readers() -> None:
    # The table below is the contract these tests check; a kind nobody reads is a broken promise.
    assert {k.name: k.readers for k in KINDS} == {
        "leader": ("analyze",),
        "keyword_query": ("analyze",),
        "team": ("analyze", "dispatch", "escalate", "devices"),
        "member": ("devices", "escalate"),
        "routes": ("analyze",),
        "escalation_chain": ("analyze", "escalate"),
        # Taken into effect in tests/functional/test_telegram_bot.py
        "team_chat": ("dispatch", "bot"),
        "member_chat": ("bot",),
    }


def test_a_leader_added_by_the_api_is_watched_by_analyze(client: Client, world: World) -> None:
    atishi = Author(id="9", handle="AtishiAAP")
    analyze(client, [json.dumps(make_message(native_id="7", author=atishi))])
    assert world.tasks.tasks == {}  # not a watched author yet
    leader = {
        "id": "atishi",
        "name": "Atishi",
        "state": "DL",
        "accounts": [{"platform": "x", "handle": "AtishiAAP"}],
    }
    post(client, "/leaders", leader)
    analyze(client, [json.dumps(make_message(native_id="8", author=atishi))])
    assert {t.leader_id for t in world.tasks.tasks.values()} == {"atishi"}
    assert sorted(tasks_of(world)) == ["DL-CENTRAL-01", "DL-EAST-01"]


def test_a_keyword_query_added_by_the_api_matches_in_analyze(client: Client, world: World) -> None:
    text = "The paper leak is a scandal"
    analyze(client, [json.dumps(make_message(native_id="1", text=text))])
    assert world.tasks.tasks == {}  # the seeded query does not match this post
    query = {
        "id": "q-paper-leak",
        "query": '"paper leak" OR पेपरलीक',
        "category": "exams",
        "severity": 5,
        "scope": "DL",
    }
    post(client, "/keyword-queries", query)
    analyze(client, [json.dumps(make_message(native_id="2", text=text))])
    assert {(t.query_ids, t.severity, t.category) for t in world.tasks.tasks.values()} == {
        (("q-paper-leak",), 5, "exams")
    }


def test_a_team_added_by_the_api_is_routed_to_and_its_quiet_hours_hold_dispatch(
    client: Client, world: World, clock: Clock
) -> None:
    team = {"id": "DL-NORTH-01", "name": "North", "state": "DL", "quiet_hours": "15:00-16:00"}
    post(client, "/teams", team)
    analyze(client, [json.dumps(make_message())])
    assert sorted(tasks_of(world)) == ["DL-CENTRAL-01", "DL-EAST-01", "DL-NORTH-01"]
    # Dispatch reads the same team: 10:00 UTC is 15:30 IST, inside its quiet hours.
    new = list(world.tasks.tasks.values())
    assert client.lambda_.invoke("dispatch", stream_event(new)).payload == {"batchItemFailures": []}
    assert "DL-NORTH-01" not in team_tokens(world)
    assert {"DL-CENTRAL-01", "DL-EAST-01"} <= set(team_tokens(world))
    held, _ = world.throttle.load("DL-NORTH-01")
    assert held is not None and held.digest == (new[0].incident_key,)


def test_a_member_added_by_the_api_receives_their_teams_escalation(
    client: Client, world: World, clock: Clock
) -> None:
    chain = {"id": "dl", "scope": "state", "owner": "DL", "steps": [{"wait": "5m"}]}
    post(
        client, "/escalation-chains", {**chain, "steps": [*chain["steps"], {"notify": "team_lead"}]}
    )
    lead = {"id": "lead-dl-c2", "name": "Kavita", "role": "lead", "languages": ["en"]}
    post(client, "/teams/DL-CENTRAL-01/members", lead)
    me = {"sub": "lead-dl-c2", "custom:role": "team_lead", "custom:team": "DL-CENTRAL-01"}
    device = client.http.post(
        "/me/devices",
        headers=auth(me),
        body=json.dumps({"platform": "fcm", "token": "fcm-token-lead-dl-c2"}),
    )
    assert device.status_code == 201, device.json_body
    policy = device.json_body["filter_policy"]
    analyze(client, [json.dumps(make_message())])
    clock.now = T0 + timedelta(minutes=5)
    assert escalate(client)["notified"] == 2
    reached = [
        e.notice.team_ids
        for call in world.publisher.calls
        for e in call.entries
        if policy_matches(policy, e.attributes)
    ]
    assert reached == [("@lead:DL-CENTRAL-01",)]  # their own team's escalation, in English only


def test_a_route_tree_put_by_the_api_picks_the_teams(client: Client, world: World) -> None:
    tree = {
        "route": {
            "receivers": [{"teams_of": "state"}],
            "routes": [{"matchers": ["category=economy"], "receivers": ["UP-VARANASI-01"]}],
        }
    }
    response = client.http.put("/routes", headers=auth("national_admin"), body=json.dumps(tree))
    assert response.status_code == 200, response.json_body
    analyze(client, [json.dumps(make_message())])
    assert sorted(tasks_of(world)) == ["UP-VARANASI-01"]
    [task] = world.tasks.tasks.values()
    assert task.route["routes"][0]["path"] == "route.routes[0]"


def test_a_chain_made_by_the_api_escalates_a_task_on_the_schedule(
    client: Client, world: World, clock: Clock
) -> None:
    chain = {
        "id": "dl-fast",
        "scope": "state",
        "owner": "DL",
        "steps": [{"wait": "5m"}, {"notify": "state_head"}],
    }
    post(client, "/escalation-chains", chain)
    analyze(client, [json.dumps(make_message())])
    assert {t.route["escalation"]["id"] for t in world.tasks.tasks.values()} == {"dl-fast"}
    clock.now = T0 + timedelta(minutes=4)
    assert escalate(client)["notified"] == 0
    clock.now = T0 + timedelta(minutes=5)
    assert escalate(client)["notified"] == 2
    assert team_tokens(world) == ["@shead:DL", "@shead:DL"]


def test_a_team_chain_made_by_the_api_wins_over_its_states(
    client: Client, world: World, clock: Clock
) -> None:
    state_chain = {"id": "dl", "scope": "state", "owner": "DL", "steps": [{"notify": "team"}]}
    team_chain = {
        "id": "east",
        "scope": "team",
        "owner": "DL-EAST-01",
        "steps": [{"wait": "1m"}, {"notify": "district_head"}],
    }
    post(client, "/escalation-chains", state_chain)
    post(client, "/escalation-chains", team_chain)
    analyze(client, [json.dumps(make_message())])
    chains = {team: t.route["escalation"]["id"] for team, t in tasks_of(world).items()}
    assert chains == {"DL-CENTRAL-01": "dl", "DL-EAST-01": "east"}


def test_a_routes_escalation_names_the_chain_of_its_tasks(
    client: Client, world: World, clock: Clock
) -> None:
    chain = {"id": "crisis", "scope": "state", "owner": "UP", "steps": [{"notify": "state_head"}]}
    post(client, "/escalation-chains", chain, who="national_admin")
    tree = {"route": {"receivers": [{"teams_of": "state"}], "escalation": "crisis"}}
    response = client.http.put("/routes", headers=auth("national_admin"), body=json.dumps(tree))
    assert response.status_code == 200, response.json_body
    analyze(client, [json.dumps(make_message())])  # a Delhi post: Delhi's teams
    assert {t.route["escalation"]["id"] for t in world.tasks.tasks.values()} == {"crisis"}
    assert escalate(client)["notified"] == 2
    assert team_tokens(world) == ["@shead:DL", "@shead:DL"]
