"""Heads read what was ingested and grouped: ``GET /mentions``, ``/mentions/{key}``,
``/incidents/{key}``."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from chalice.test import Client

from chalicelib.api.tasks import mention_key_of
from chalicelib.domain.config_kinds import LEADERS
from chalicelib.domain.incidents import IncidentRecord
from chalicelib.domain.mention import Author
from chalicelib.domain.tasks import Task, TaskStatus
from chalicelib.services.config_admin import ConfigAdmin
from tests.factories import T0
from tests.functional.conftest import World, auth, store_mention
from tests.seeding import SEEDER

_TEXT = "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया।"
UNMATCHED = "बस यूं ही एक पोस्ट, कोई मुद्दा नहीं"
BLUESKY_ID = "at://did:plc:abc123/app.bsky.feed.post/3kq%2Fz"  # '/' and a literal '%'
# Newest ingested first; x#3 and the Bluesky post were ingested at the same minute.
ALL_DL = ["x#4", "x#3", "bluesky#" + BLUESKY_ID, "x#2", "x#1", "x#0"]


@pytest.fixture
def stored(world: World) -> World:
    for n in range(5):  # x#0 .. x#4, ingested a minute apart; x#2 matches no query
        store_mention(world, str(n), minutes=n, text=UNMATCHED if n == 2 else _TEXT)
    store_mention(world, "up", leader="narendra-modi", state="UP", minutes=9)
    store_mention(world, "stranger", leader=None, author=Author(id="9", handle="someone"))
    store_mention(world, BLUESKY_ID, platform="bluesky", minutes=3)
    return world


def _keys(client: Client, query: str, who: str = "state_head") -> tuple[list[str], int]:
    """Every page's keys, following next_cursor; the number of pages."""
    keys: list[str] = []
    cursor, pages = "", 0
    while True:
        response = client.http.get(f"/mentions?{query}{cursor}", headers=auth(who))
        assert response.status_code == 200, response.body
        body = response.json_body
        keys += [m["key"] for m in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            return keys, pages
        cursor = f"&cursor={body['next_cursor']}"


@pytest.mark.parametrize(
    ("query", "who", "expected", "pages"),
    [
        ("limit=2", "state_head", ALL_DL, 3),  # a state head's own state by default
        ("state=DL&limit=10", "national_admin", ALL_DL, 1),
        ("state=DL&matched=false", "district_head", ["x#2"], 1),
        ("state=UP&matched=true", "national_admin", ["x#up"], 1),
        ("state=RJ", "national_admin", [], 1),
    ],
)
def test_a_states_mentions_newest_first_filtered_and_paged(
    client: Client,
    stored: World,
    query: str,
    who: str,
    expected: list[str],
    pages: int,
) -> None:
    keys, walked = _keys(client, query, who)
    assert keys == expected
    assert walked == pages
    assert "x#stranger" not in keys  # no watched author, no state: not in the by-state index


def test_a_mention_reads_back_with_its_analysis(client: Client, stored: World) -> None:
    stored.mentions.mark_routed("x#4", ["t_a", "t_b"])
    response = client.http.get("/mentions/x%234", headers=auth("district_head"))
    assert response.status_code == 200, response.body
    body = response.json_body
    assert {k: body[k] for k in ("key", "platform", "author_handle", "leader_id", "state")} == {
        "key": "x#4",
        "platform": "x",
        "author_handle": "ArvindKejriwal",
        "leader_id": "arvind-kejriwal",
        "state": "DL",
    }
    assert (body["created_at"], body["ingested_at"]) == (
        "2026-11-01T10:00:00Z",
        "2026-11-01T10:04:00Z",
    )
    assert (body["lang"], body["status"], body["task_ids"]) == ("hi", "routed", ["t_a", "t_b"])
    assert body["matches"][0]["query_id"] == "q-demonetisation"
    assert body["matches"][0]["terms"] and body["matches"][0]["spans"][0][1] > 0
    assert body["url"].startswith("https://x.com/") and body["text"] == _TEXT


@pytest.mark.parametrize(
    ("path_value", "key"),
    [
        ("x%231", "x#1"),  # what clients send: # would start the fragment
        ("x#1", "x#1"),  # a gateway that decoded already: not decoded twice
        ("bluesky%23at%3A%2F%2Fdid%2Fp%252F", "bluesky#at://did/p%2F"),
        ("bluesky#at://did/p%2F", "bluesky#at://did/p%2F"),
        ("x1", "x1"),
    ],
)
def test_the_key_in_the_path_is_decoded_once(path_value: str, key: str) -> None:
    assert mention_key_of(path_value) == key


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        (quote("bluesky#" + BLUESKY_ID, safe=""), "state_head", 200),
        ("x%23stranger", "state_head_up", 200),  # no leader: a national object, read-only
        ("x%23stranger", "team_lead", 403),
        ("x%23up", "state_head", 404),
        ("x%23missing", "state_head", 404),
        ("x%23missing", "warrior", 403),
        ("x%231", "warrior", 403),
    ],
)
def test_mention_scope(client: Client, stored: World, path: str, who: str, status: int) -> None:
    response = client.http.get(f"/mentions/{path}", headers=auth(who))
    assert response.status_code == status, response.body
    if status == 200:
        assert quote(response.json_body["key"], safe="") == path


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("matched=yes", "matched"),
        ("state=XX", "state"),
        ("limit=0", "limit"),
        ("cursor=abc", "cursor"),
    ],
)
def test_bad_parameters_are_named(client: Client, stored: World, query: str, loc: str) -> None:
    response = client.http.get(f"/mentions?{query}", headers=auth("state_head"))
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [e["loc"] for e in response.json_body["errors"]] == [loc]


def test_a_national_admin_must_say_which_state(client: Client, stored: World) -> None:
    response = client.http.get("/mentions", headers=auth("national_admin"))
    assert response.status_code == 422
    assert response.json_body["errors"] == [{"loc": "state", "msg": "required"}]


def _task(task_id: str, team: str, district: str) -> Task:
    return Task(
        task_id, team, "DL", "inc_1", "x#0", T0, status=TaskStatus.DISPATCHED, district=district
    )


@pytest.fixture
def incident(stored: World) -> World:
    stored.tasks.create(_task("t_central", "DL-CENTRAL-01", "CENTRAL"))
    stored.tasks.create(_task("t_east", "DL-EAST-01", "EAST"))
    # Both mentions of the incident reached the same two teams' tasks: listed once each.
    stored.mentions.mark_routed("x#0", ["t_central", "t_east"])
    stored.mentions.mark_routed("x#1", ["t_east", "t_central", "t_gone"])
    stored.incidents.index.records["inc_1"] = IncidentRecord(
        "inc_1",
        "arvind-kejriwal",
        ("q-demonetisation",),
        (),
        T0,
        T0 + timedelta(minutes=1),
        ("x#0", "x#1", "x#expired"),
    )
    return stored


@pytest.mark.parametrize(
    ("who", "tasks"),
    [
        ("national_admin", ["t_central", "t_east"]),
        ("state_head", ["t_central", "t_east"]),
        ("district_head", ["t_central"]),  # the incident, but only their district's tasks
    ],
)
def test_an_incident_with_its_tasks(
    client: Client, incident: World, who: str, tasks: list[str]
) -> None:
    response = client.http.get("/incidents/inc_1", headers=auth(who))
    assert response.status_code == 200, response.body
    body = response.json_body
    assert [t["task_id"] for t in body["tasks"]] == tasks
    assert {k: body[k] for k in body if k != "tasks"} == {
        "incident_key": "inc_1",
        "leader_id": "arvind-kejriwal",
        "state": "DL",
        "query_ids": ["q-demonetisation"],
        "first_seen": "2026-11-01T10:00:00Z",
        "last_seen": "2026-11-01T10:01:00Z",
        "mention_keys": ["x#0", "x#1", "x#expired"],
    }


@pytest.mark.parametrize(
    ("mentions_kept", "who", "status"),
    [
        (True, "state_head", 200),  # the leader left the watchlist: their mentions' state
        (True, "state_head_up", 404),
        (False, "national_admin", 200),  # nothing left to scope it by: national admins only
        (False, "state_head", 404),
    ],
)
def test_an_incident_of_a_leader_no_longer_watched(
    client: Client, incident: World, mentions_kept: bool, who: str, status: int
) -> None:
    ConfigAdmin(incident.config).delete(LEADERS, SEEDER, "arvind-kejriwal", "*")
    assert incident.config.get_item("LEADER", "arvind-kejriwal") is None
    if not mentions_kept:
        for key in ("x#0", "x#1"):
            incident.mentions.delete(key)
    response = client.http.get("/incidents/inc_1", headers=auth(who))
    assert response.status_code == status, response.body


def test_an_unknown_incident_is_404(client: Client, incident: World) -> None:
    response = client.http.get("/incidents/inc_none", headers=auth("state_head"))
    assert response.status_code == 404
    assert response.json_body["detail"] == "no such incident"
