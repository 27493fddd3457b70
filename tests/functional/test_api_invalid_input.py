"""Invalid input to every write route: the exact problem+json body, every problem at once."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from chalice.test import Client

from tests.functional.conftest import World, auth

TITLES = {
    400: ("malformed-input", "Malformed input"),
    404: ("not-found", "Not found"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    428: ("precondition-required", "Precondition required"),
}
PATTERN_ID = "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]*$'"
PATTERN_HOURS = (
    "String should match pattern '^$|^([01]\\d|2[0-3]):[0-5]\\d-([01]\\d|2[0-3]):[0-5]\\d$'"
)
IF1 = {"If-Match": '"1"'}
LEADER = {"id": "arvind-kejriwal", "name": "L", "state": "DL"}


def e(loc: str, msg: str) -> dict[str, str]:
    return {"loc": loc, "msg": msg}


# (method, path, extra headers, body, status, detail, instance, errors)
CASES: list[tuple[str, str, dict[str, str], Any, int, str, str, list[dict[str, str]]]] = [
    (
        "POST",
        "/leaders",
        {},
        {"id": "bad id", "name": "", "state": "XX"},
        422,
        "3 invalid field(s)",
        "/leaders",
        [
            e("id", PATTERN_ID),
            e("name", "String should have at least 1 character"),
            e("state", "Value error, not a state or union territory code"),
        ],
    ),
    (
        "POST",
        "/leaders",
        {},
        {
            "id": "l1",
            "name": "L",
            "state": "DL",
            "accounts": [{"platform": "myspace", "handle": ""}],
            "reach": -1,
        },
        422,
        "3 invalid field(s)",
        "/leaders",
        [
            e(
                "accounts[0].platform",
                "Input should be 'x', 'youtube', 'facebook', 'telegram', "
                "'bluesky', 'mastodon', 'rss' or 'webhook'",
            ),
            e("accounts[0].handle", "String should have at least 1 character"),
            e("reach", "Input should be greater than or equal to 0"),
        ],
    ),
    (
        "POST",
        "/leaders",
        {},
        {"id": "l1", "name": "L", "state": "DL", "colour": "red"},
        422,
        "1 invalid field(s)",
        "/leaders",
        [e("colour", "Extra inputs are not permitted")],
    ),
    (
        "POST",
        "/leaders",
        {},
        {"id": 5, "name": "L", "state": "DL"},
        422,
        "1 invalid field(s)",
        "/leaders",
        [e("id", "Input should be a valid string")],
    ),
    (
        "POST",
        "/leaders",
        {},
        "[1, 2]",
        400,
        "the body must be a JSON object",
        "/leaders",
        [e("body", "not an object")],
    ),
    (
        "POST",
        "/leaders",
        {},
        "{not json",
        400,
        "the body is not JSON",
        "/leaders",
        [e("body", "not JSON")],
    ),
    (
        "POST",
        "/leaders",
        {},
        "x" * 70_000,
        413,
        "the body is larger than 65536 bytes",
        "/leaders",
        [],
    ),
    (
        "POST",
        "/leaders",
        {"Content-Type": "text/plain"},
        "hello",
        415,
        "Unsupported media type: text/plain",
        "/leaders",
        [],
    ),
    (
        "POST",
        "/leaders",
        {"Idempotency-Key": ""},
        {**LEADER, "id": "l1"},
        422,
        "Idempotency-Key must be 1..128 characters",
        "/leaders",
        [e("header:Idempotency-Key", "1..128 characters")],
    ),
    (
        "POST",
        "/leaders",
        {},
        LEADER,
        409,
        "leader arvind-kejriwal exists already",
        "/leaders",
        [e("id", "taken")],
    ),
    (
        "PUT",
        "/leaders/arvind-kejriwal",
        IF1,
        {**LEADER, "id": "someone-else"},
        422,
        "the id cannot change",
        "/leaders/arvind-kejriwal",
        [e("id", "must match the URL")],
    ),
    (
        "PUT",
        "/leaders/arvind-kejriwal",
        {},
        LEADER,
        428,
        "send If-Match with the ETag you read",
        "/leaders/arvind-kejriwal",
        [e("header:If-Match", "required")],
    ),
    (
        "PUT",
        "/leaders/arvind-kejriwal",
        {"If-Match": "yesterday"},
        LEADER,
        400,
        "If-Match must be an ETag of this API",
        "/leaders/arvind-kejriwal",
        [e("header:If-Match", "not an ETag")],
    ),
    (
        "PUT",
        "/leaders/arvind-kejriwal",
        {"If-Match": '"7"'},
        LEADER,
        412,
        "leader arvind-kejriwal is at version 1, not 7",
        "/leaders/arvind-kejriwal",
        [],
    ),
    (
        "DELETE",
        "/leaders/arvind-kejriwal",
        {},
        None,
        428,
        "send If-Match with the ETag you read",
        "/leaders/arvind-kejriwal",
        [e("header:If-Match", "required")],
    ),
    ("DELETE", "/leaders/nobody", IF1, None, 404, "no such leader", "/leaders/nobody", []),
    (
        "GET",
        "/me/tasks?stauts=new&limit=2",  # a misspelt filter is refused, not ignored
        {},
        None,
        422,
        "unknown query parameter(s): 'stauts'",
        "/me/tasks",
        [e("query:stauts", "not a parameter of this operation")],
    ),
    (
        "POST",
        "/keyword-queries",
        {},
        {"id": "q1", "query": "", "severity": 9, "scope": "Delhi"},
        422,
        "3 invalid field(s)",
        "/keyword-queries",
        [
            e("query", "String should have at least 1 character"),
            e("severity", "Input should be less than or equal to 5"),
            e("scope", "Value error, not a state or union territory code"),
        ],
    ),
    (
        "POST",
        "/keyword-queries",
        {},
        {"id": "q1", "query": "x", "severity": "5", "enabled": "yes"},
        422,
        "2 invalid field(s)",
        "/keyword-queries",
        [
            e("severity", "Input should be a valid integer"),
            e("enabled", "Input should be a valid boolean"),
        ],
    ),
    (
        "POST",
        "/keyword-queries",
        {},
        {"id": "q-demonetisation", "query": "x"},
        409,
        "keyword_query q-demonetisation exists already",
        "/keyword-queries",
        [e("id", "taken")],
    ),
    (
        "PUT",
        "/keyword-queries/q-demonetisation",
        IF1,
        {"id": "q-demonetisation", "query": " "},
        422,
        "1 invalid field(s)",
        "/keyword-queries/q-demonetisation",
        [e("query", "String should have at least 1 character")],
    ),
    (
        "POST",
        "/teams",
        {},
        {
            "id": "T1",
            "name": "T",
            "state": "DL",
            "quiet_hours": "10pm-7am",
            "members": [
                {"id": "m1", "name": "M", "role": "king", "channels": ["pigeon"], "min_severity": 0}
            ],
        },
        422,
        "4 invalid field(s)",
        "/teams",
        [
            e("quiet_hours", PATTERN_HOURS),
            e(
                "members[0].role",
                "Input should be 'warrior', 'lead', 'district_head' or 'state_head'",
            ),
            e("members[0].channels[0]", "Input should be 'push', 'sms' or 'email'"),
            e("members[0].min_severity", "Input should be greater than or equal to 1"),
        ],
    ),
    (
        "POST",
        "/teams",
        {},
        {"id": "DL-CENTRAL-01", "name": "T", "state": "DL"},
        409,
        "team DL-CENTRAL-01 exists already",
        "/teams",
        [e("id", "taken")],
    ),
    (
        "PUT",
        "/teams/DL-CENTRAL-01",
        IF1,
        {"id": "DL-CENTRAL-01", "name": "T", "state": "UP"},
        422,
        "a team cannot move to another state; create a new one",
        "/teams/DL-CENTRAL-01",
        [e("state", "cannot change")],
    ),
    (
        "POST",
        "/teams/DL-CENTRAL-01/members",
        {},
        {"id": "DL-CENTRAL-01-w1", "name": "W"},
        409,
        "member DL-CENTRAL-01-w1 exists already",
        "/teams/DL-CENTRAL-01/members",
        [e("id", "taken")],
    ),
    (
        "POST",
        "/teams/DL-CENTRAL-01/members",
        {},
        {"id": "m2", "name": "W", "languages": ["h"]},
        422,
        "1 invalid field(s)",
        "/teams/DL-CENTRAL-01/members",
        [e("languages[0]", "String should have at least 2 characters")],
    ),
    (
        "PUT",
        "/teams/DL-CENTRAL-01/members/m9",
        {},
        {"id": "m9", "name": "W"},
        404,
        "no such member",
        "/teams/DL-CENTRAL-01/members/m9",
        [],
    ),
    (
        "PUT",
        "/teams/DL-CENTRAL-01/members/m9",
        {},
        {"id": "m8", "name": "W"},
        422,
        "the id cannot change",
        "/teams/DL-CENTRAL-01/members/m9",
        [e("id", "must match the URL")],
    ),
    (
        "PUT",
        "/teams/DL-CENTRAL-01/members/DL-CENTRAL-01-w1",
        {},
        {"id": "DL-CENTRAL-01-w1", "name": "W"},
        428,
        "send If-Match with the ETag you read",
        "/teams/DL-CENTRAL-01/members/DL-CENTRAL-01-w1",
        [e("header:If-Match", "required")],
    ),
    (
        "PUT",
        "/teams/DL-CENTRAL-01/members/DL-CENTRAL-01-w1",
        {"If-Match": '"7"'},
        {"id": "DL-CENTRAL-01-w1", "name": "W"},
        412,
        "team DL-CENTRAL-01 is at version 1, not 7",
        "/teams/DL-CENTRAL-01/members/DL-CENTRAL-01-w1",
        [],
    ),
    (
        "DELETE",
        "/teams/DL-CENTRAL-01/members/DL-CENTRAL-01-w1",
        {},
        None,
        428,
        "send If-Match with the ETag you read",
        "/teams/DL-CENTRAL-01/members/DL-CENTRAL-01-w1",
        [e("header:If-Match", "required")],
    ),
    (
        "PUT",
        "/routes",
        {"If-Match": "*"},
        {"route": {"receivers": [{"teams_of": "state"}]}},
        412,
        "there is no route tree yet; create it without If-Match",
        "/routes",
        [],
    ),
    (
        "PUT",
        "/routes",
        {},
        {"route": {"receivers": [{"teams_of": "galaxy"}]}},
        422,
        "invalid route config: 1 problem(s), first at route.receivers[0].teams_of",
        "/routes",
        [e("route.receivers[0].teams_of", "one of all, district, state")],
    ),
    (
        "PUT",
        "/routes",
        {},
        {"routes": []},
        422,
        "a route config is an object with a 'route' key",
        "/routes",
        [e("route", "required")],
    ),
    (
        "POST",
        "/me/devices",
        {},
        {"platform": "nokia", "token": "short"},
        422,
        "2 invalid field(s)",
        "/me/devices",
        [
            e("platform", "Input should be 'fcm' or 'apns'"),
            e("token", "String should have at least 8 characters"),
        ],
    ),
    (
        "POST",
        "/escalation-chains",
        {},
        {"id": "c1", "scope": "weekly", "repeat": 9, "steps": []},
        422,
        "invalid escalation chain at chain.scope",
        "/escalation-chains",
        [
            e("chain.scope", "team, state or default"),
            e("chain.owner", "the team id or state code"),
            e("chain.repeat", "an integer from 0 to 5"),
            e("chain.steps", "a non-empty list"),
        ],
    ),
    (
        "POST",
        "/escalation-chains",
        {},
        {"id": "c2", "scope": "team", "owner": "NOPE", "steps": [{"notify": "team"}]},
        422,
        "the chain's team does not exist",
        "/escalation-chains",
        [e("owner", "no such team")],
    ),
    (
        "PUT",
        "/escalation-chains/c9",
        IF1,
        {"scope": "default", "steps": [{"notify": "team"}]},
        404,
        "no such escalation_chain",
        "/escalation-chains/c9",
        [],
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "detail", "instance", "errors"),
    CASES,
    ids=[f"{c[0]} {c[1]} {c[4]} {i}" for i, c in enumerate(CASES)],
)
def test_invalid_input_gets_the_exact_problem(
    client: Client,
    world: World,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any,
    status: int,
    detail: str,
    instance: str,
    errors: list[dict[str, str]],
) -> None:
    who = "warrior" if path.startswith("/me/") else "national_admin"
    raw = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
    response = client.http.request(method, path, headers=auth(who, **headers), body=raw)
    slug, title = TITLES[status]
    expected: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        expected["errors"] = errors
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body == expected


def test_nothing_invalid_was_stored_or_audited(client: Client, world: World) -> None:
    before = len(world.config.audit)
    client.http.post(
        "/leaders", headers=auth("national_admin"), body=json.dumps({"id": "x y", "state": "DL"})
    )
    assert len(world.config.audit) == before


def test_idempotency_key_replays_the_first_answer(client: Client, world: World) -> None:
    body = json.dumps({"id": "new-leader", "name": "N", "state": "DL"})
    headers = auth("state_head", **{"Idempotency-Key": "k-1"})
    first = client.http.post("/leaders", headers=headers, body=body)
    again = client.http.post("/leaders", headers=headers, body=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body == first.json_body
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.http.post("/leaders", headers=headers, body=body.replace("N", "M"))
    assert other.status_code == 422
    assert other.json_body["errors"] == [
        e("header:Idempotency-Key", "reused with a different body")
    ]


def test_if_match_guards_against_lost_updates(client: Client, world: World) -> None:
    read = client.http.get("/leaders/arvind-kejriwal", headers=auth("state_head"))
    tag = read.headers["ETag"]
    body = json.dumps({**LEADER, "name": "First"})
    first = client.http.put(
        "/leaders/arvind-kejriwal", headers=auth("state_head", **{"If-Match": tag}), body=body
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = client.http.put(
        "/leaders/arvind-kejriwal", headers=auth("state_head", **{"If-Match": tag}), body=body
    )
    assert second.status_code == 412
    audit = client.http.get("/audit?scope=DL", headers=auth("state_head")).json_body["items"]
    assert audit[0]["action"] == "update" and audit[0]["actor"] == "shead-dl"
    assert audit[0]["before"]["name"] == "Arvind Kejriwal" and audit[0]["after"]["name"] == "First"


def test_the_route_tree_is_created_without_if_match_and_changed_only_with_it(
    client: Client, world: World
) -> None:
    tree = json.dumps({"route": {"receivers": [{"teams_of": "state"}]}})
    admin = auth("national_admin")
    created = client.http.put("/routes", headers=admin, body=tree)
    assert created.status_code == 200 and created.headers["ETag"] == '"1"'
    again = client.http.put("/routes", headers=admin, body=tree)
    assert again.status_code == 428
    assert again.json_body["errors"] == [e("header:If-Match", "required")]
    changed = client.http.put("/routes", headers=auth("national_admin", **IF1), body=tree)
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = client.http.put("/routes", headers=auth("national_admin", **IF1), body=tree)
    assert stale.status_code == 412
    anyway = client.http.put(
        "/routes", headers=auth("national_admin", **{"If-Match": "*"}), body=tree
    )
    assert anyway.status_code == 200 and anyway.headers["ETag"] == '"3"'


def test_a_member_change_names_the_teams_etag(client: Client, world: World) -> None:
    path = "/teams/DL-CENTRAL-01/members/DL-CENTRAL-01-w1"
    tag = client.http.get("/teams/DL-CENTRAL-01", headers=auth("state_head")).headers["ETag"]
    body = json.dumps({"id": "DL-CENTRAL-01-w1", "name": "Renamed"})
    first = client.http.put(path, headers=auth("state_head", **{"If-Match": tag}), body=body)
    assert first.status_code == 200 and first.headers["ETag"] != tag
    lost = client.http.delete(path, headers=auth("state_head", **{"If-Match": tag}))
    assert lost.status_code == 412
    gone = client.http.delete(
        path, headers=auth("state_head", **{"If-Match": first.headers["ETag"]})
    )
    assert gone.status_code == 200 and gone.json_body["members"] == []


def test_a_team_chain_belongs_to_its_teams_scope(client: Client, world: World) -> None:
    chain = {
        "id": "c3",
        "scope": "team",
        "owner": "DL-CENTRAL-01",
        "steps": [{"wait": "5m"}, {"notify": "team_lead"}],
    }
    created = client.http.post(
        "/escalation-chains", headers=auth("state_head"), body=json.dumps(chain)
    )
    assert created.status_code == 201
    assert client.http.get("/escalation-chains/c3", headers=auth("team_lead")).status_code == 200
    assert (
        client.http.get("/escalation-chains/c3", headers=auth("state_head_up")).status_code == 404
    )
    audit = client.http.get("/audit?scope=DL", headers=auth("state_head")).json_body["items"]
    assert (audit[0]["entity"], audit[0]["entity_id"]) == ("escalation_chain", "c3")


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


DEEP = "[" * 5000 + "]" * 5000
DIGITS = "9" * 5000
TOO_DEEP = [e("body", "nested deeper than 32 at char 32")]
# Bodies, cursors and numbers that once reached json's recursion or int()'s digit limit (500s).
# (method, path, extra headers, raw body, status, errors)
HOSTILE: list[tuple[str, str, dict[str, str], str, int, list[dict[str, str]]]] = [
    ("POST", "/leaders", {}, DEEP, 400, TOO_DEEP),
    (
        "POST",
        "/leaders",
        {},
        '{"id": "l1", "a": {"b": ' + "[" * 3000 + "]" * 3000 + "}}",
        400,
        [e("body", "nested deeper than 32 at char 54")],
    ),
    (
        "POST",
        "/leaders",
        {},
        '{"id": "l1", "name": "L", "state": "DL", "reach": ' + DIGITS + "}",
        400,
        [e("body", "number over 40 chars at char 50")],
    ),
    (
        "POST",
        "/leaders",
        {},
        '{"id": "l-brackets", "name": "' + "[" * 150 + '\\"[", "state": "DL"}',
        201,  # brackets inside strings are text, not nesting
        [],
    ),
    ("PUT", "/routes", {}, '{"a":' + DEEP, 400, [e("body", "nested deeper than 32 at char 36")]),
    ("POST", "/keyword-queries/preview", {}, DEEP, 400, TOO_DEEP),
    ("POST", "/tasks/t1/ack", {}, "[" * 1500 + "]" * 1500, 400, TOO_DEEP),
    ("GET", f"/me/tasks?limit={DIGITS}", {}, "", 422, [e("limit", "1..100")]),
    ("GET", f"/audit?limit={DIGITS}", {}, "", 422, [e("limit", "1..100")]),
    ("GET", f"/mentions?state=DL&limit={DIGITS}", {}, "", 422, [e("limit", "1..100")]),
    (
        "PUT",
        "/leaders/arvind-kejriwal",
        {"If-Match": f'"{DIGITS}"'},
        json.dumps(LEADER),
        400,
        [e("header:If-Match", "not an ETag")],
    ),
    (
        "DELETE",
        "/leaders/arvind-kejriwal",
        {"If-Match": DIGITS},
        "",
        400,
        [e("header:If-Match", "not an ETag")],
    ),
    (
        "GET",
        f"/me/tasks?cursor={_cursor('[' * 2000)}",
        {},
        "",
        422,
        [e("cursor", "nested deeper than 32 at char 32")],
    ),
    (
        "GET",
        "/mentions?state=DL&cursor=" + _cursor('{"i": ' + "9" * 100 + "}"),
        {},
        "",
        422,
        [e("cursor", "number over 40 chars at char 6")],
    ),
    (
        "GET",
        f"/me/tasks?cursor={'A' * 5000}",
        {},
        "",
        422,
        [e("cursor", "at most 4096 characters")],
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "errors"),
    HOSTILE,
    ids=[f"{c[0]} {c[1][:40]} {c[4]} {i}" for i, c in enumerate(HOSTILE)],
)
def test_hostile_json_and_numbers_get_a_problem_not_a_500(
    client: Client,
    world: World,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str,
    status: int,
    errors: list[dict[str, str]],
) -> None:
    who = "warrior" if path.startswith(("/me/", "/tasks/")) else "national_admin"
    response = client.http.request(method, path, headers=auth(who, **headers), body=body)
    assert response.status_code == status, response.body[:300]
    if status >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json_body["errors"] == errors
        assert response.json_body["instance"] == path.split("?")[0]


def test_a_websub_hub_may_add_its_own_parameters(client: Client, world: World) -> None:
    # The hub, not our client, chooses the verification's parameters: extra ones are no 422.
    response = client.http.get(
        "/ingest/websub/youtube?hub.mode=subscribe&hub.topic=t&hub.challenge=c&hub.verify_token=v"
    )
    assert response.status_code != 422, response.body
    assert response.json_body["type"] != "/problems/invalid-input"
