"""The API endpoints the console is built on: the watchlist with poll health, a draft query's
check, and the route preview; problem+json for bad input and for callers out of scope."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.org import Account
from chalicelib.services.polling import InMemoryCursorStore, PollState, with_units
from tests.factories import make_leader, make_team
from tests.functional.conftest import NOW, World, auth, store_mention
from tests.seeding import seed

PROBLEM = "application/problem+json"


@pytest.fixture
def cursors(world: World) -> Iterator[InMemoryCursorStore]:
    """The world with a watched Delhi leader whose accounts were polled, and poll states."""
    store = wiring.container().cursor_store
    assert isinstance(store, InMemoryCursorStore)
    seed(
        world.config,
        make_leader(
            accounts=(
                Account("x", "ArvindKejriwal", "405427035"),
                Account("bluesky", "arvind.bsky.social"),
                Account("telegram", "aapchannel"),  # pushed to the bot: never polled
            )
        ),
    )
    ok = with_units(PollState(last_success_at=NOW - 60), "x", 3, NOW - 60)
    store.save("x#405427035", dataclasses.replace(ok, next_due_at=NOW + 300))
    failing = with_units(PollState(), "bluesky", 1, NOW - 30)
    store.save(
        "bluesky#arvind.bsky.social",
        dataclasses.replace(failing, failures=5, healthy=False, last_error="HTTP 502"),
    )
    yield store


def _json(response: Any) -> Any:
    return json.loads(response.body)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, Any] = _json(response)
    assert body["status"] == status
    return body


# --- GET /watchlist ------------------------------------------------------------------------


def test_a_state_head_sees_each_account_with_its_poll_health(
    client: Client, cursors: InMemoryCursorStore
) -> None:
    r = client.http.get("/watchlist", headers=auth("state_head"))
    assert r.status_code == 200
    (leader,) = _json(r)["items"]
    assert (leader["id"], leader["state"]) == ("arvind-kejriwal", "DL")
    x, bsky, telegram = leader["accounts"]
    assert x["account_key"] == "x#405427035" and x["healthy"] is True
    a_minute_ago = datetime.fromtimestamp(NOW - 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert x["last_polled_at"] == x["last_success_at"] == a_minute_ago
    assert (x["quota_used"], x["quota_units"], x["quota_window_seconds"]) == (
        3,
        2_000_000,
        30 * 86400.0,
    )
    assert bsky["healthy"] is False and bsky["failures"] == 5
    assert bsky["last_error"] == "HTTP 502" and bsky["last_success_at"] is None
    assert telegram["account_key"] == "" and telegram["last_polled_at"] is None


def test_units_spent_in_an_earlier_window_are_not_quota_used_now(
    client: Client, cursors: InMemoryCursorStore
) -> None:
    old = with_units(PollState(), "bluesky", 7, NOW - 301)  # bluesky's window: 5 minutes
    cursors.save("bluesky#arvind.bsky.social", old)
    (leader,) = _json(client.http.get("/watchlist", headers=auth("state_head")))["items"]
    assert leader["accounts"][1]["quota_used"] == 0


def test_another_states_head_does_not_see_the_leader(
    client: Client, cursors: InMemoryCursorStore
) -> None:
    body = _json(client.http.get("/watchlist", headers=auth("state_head_up")))
    assert [i["id"] for i in body["items"]] == ["narendra-modi"]
    body = _json(client.http.get("/watchlist?state=DL", headers=auth("state_head_up")))
    assert body["items"] == []


def test_the_watchlist_pages_like_every_list(client: Client, cursors: InMemoryCursorStore) -> None:
    seed(wiring.container().config_repo, make_leader(id="atishi", name="Atishi", accounts=()))
    first = _json(client.http.get("/watchlist?limit=1", headers=auth("national_admin")))
    assert len(first["items"]) == 1 and first["next_cursor"]
    r = client.http.get(
        f"/watchlist?limit=1&cursor={first['next_cursor']}", headers=auth("national_admin")
    )
    assert [i["id"] for i in _json(r)["items"]] != [i["id"] for i in first["items"]]


@pytest.mark.parametrize(
    ("query", "loc"), [("state=XX", "state"), ("limit=0", "limit"), ("colour=red", "colour")]
)
def test_bad_watchlist_queries_are_422_naming_the_parameter(
    client: Client, cursors: InMemoryCursorStore, query: str, loc: str
) -> None:
    body = _problem(client.http.get(f"/watchlist?{query}", headers=auth("state_head")), 422)
    assert loc in json.dumps(body["errors"])


def test_warriors_may_not_read_the_watchlist(client: Client, cursors: InMemoryCursorStore) -> None:
    _problem(client.http.get("/watchlist", headers=auth("warrior")), 403)
    _problem(client.http.get("/watchlist"), 401)


# --- POST /keyword-queries/validate --------------------------------------------------------


def _validate(client: Client, body: Any, who: str = "state_head") -> Any:
    return client.http.post(
        "/keyword-queries/validate", headers=auth(who), body=json.dumps(body, ensure_ascii=False)
    )


def test_a_syntax_error_answers_its_column(client: Client, world: World) -> None:
    r = _validate(client, {"query": "नोटबंदी OR OR कालाधन"})
    assert r.status_code == 200
    body = _json(r)
    assert body["valid"] is False and body["column"] == 12 and body["terms"] == []
    # The column is its own field: the message does not repeat it ...
    assert body["message"].startswith("unexpected 'OR'") and "column 12" not in body["message"]
    # ... but names another column it refers to (the bracket left open).
    body = _json(_validate(client, {"query": "नोटबंदी OR (notebandi"}))
    assert body["column"] == 22 and "'(' at column 12" in body["message"]


def test_a_good_query_lists_what_each_term_also_matches(client: Client, world: World) -> None:
    body = _json(_validate(client, {"query": 'नोटबंदी OR sarkaar OR "the" OR @AamAadmiParty'}))
    assert body["valid"] is True and body["column"] is None
    terms = {t["term"]: t for t in body["terms"]}
    assert terms["नोटबंदी"]["roman_key"] == "notbandi"
    assert terms["नोटबंदी"]["example"] == "notabandee"
    assert terms["sarkaar"]["roman_key"] == "sarkar" and terms["sarkaar"]["reaches_devanagari"]
    assert terms["the"]["how"] == "english" and terms["@AamAadmiParty"]["how"] == "handle"
    exact = _json(_validate(client, {"query": "नोटबंदी", "exact": True}))
    assert [t["how"] for t in exact["terms"]] == ["exact"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [({}, "query"), ({"query": 7}, "query"), ({"query": "x", "colour": 1}, "colour")],
)
def test_a_malformed_check_request_is_422(
    client: Client, world: World, body: dict[str, Any], loc: str
) -> None:
    problem = _problem(_validate(client, body), 422)
    assert [e["loc"] for e in problem["errors"]] == [loc]


def test_warriors_may_not_check_queries(client: Client, world: World) -> None:
    _problem(_validate(client, {"query": "x"}, "warrior"), 403)


# --- POST /routes/preview ------------------------------------------------------------------


def _preview(client: Client, body: Any, who: str = "state_head") -> Any:
    return client.http.post("/routes/preview", headers=auth(who), body=json.dumps(body))


DRAFT = {
    "route": {
        "name": "root",
        "receivers": [{"teams_of": "state"}],
        "routes": [
            {
                "name": "severe to central",
                "matchers": ["severity=~4|5"],
                "receivers": [{"teams": ["DL-CENTRAL-01"]}],
            }
        ],
    }
}


def test_labels_reach_the_teams_the_tree_in_force_chooses(client: Client, world: World) -> None:
    body = _json(_preview(client, {"labels": {"state": "DL"}}))
    assert body["draft"] is False and body["routes"] == [
        {"path": "route", "name": body["routes"][0]["name"]}
    ]
    assert body["reached"] == [
        {
            "state": "DL",
            "team_ids": ["DL-CENTRAL-01", "DL-EAST-01"],
            "teams": 2,
            "route_paths": ["route"],
        }
    ]


def test_a_draft_tree_is_previewed_without_being_saved(client: Client, world: World) -> None:
    body = _json(_preview(client, {"config": DRAFT, "labels": {"state": "DL", "severity": "4"}}))
    assert body["draft"] is True
    assert [r["name"] for r in body["routes"]] == ["severe to central"]
    assert body["reached"][0]["team_ids"] == ["DL-CENTRAL-01"]
    stored = _json(client.http.get("/routes", headers=auth("state_head")))
    assert stored["config"] is None


def test_a_stored_mention_is_previewed_with_the_labels_analyze_gives_it(
    client: Client, world: World
) -> None:
    key = store_mention(world, "4242")
    body = _json(_preview(client, {"config": DRAFT, "mention_key": key}))
    assert body["labels"]["state"] == "DL" and body["labels"]["severity"] == "4"
    assert body["labels"]["category"] == "economy" and body["labels"]["leader"] == "arvind-kejriwal"
    assert body["reached"][0]["team_ids"] == ["DL-CENTRAL-01"]


def test_a_district_head_sees_only_their_districts_teams_but_the_count_of_all(
    client: Client, world: World
) -> None:
    seed(world.config, make_team("DL-EAST-02", "DL", district="EAST"))
    body = _json(_preview(client, {"labels": {"state": "DL"}}, "district_head"))
    (dl,) = body["reached"]
    assert "DL-EAST-02" not in dl["team_ids"] and dl["teams"] == 3


def test_another_states_mention_is_404(client: Client, world: World) -> None:
    key = store_mention(world, "4243")
    _problem(_preview(client, {"mention_key": key}, "state_head_up"), 404)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, "labels"),
        ({"labels": {"colour": "red"}}, "labels.colour"),
        ({"labels": {"state": 5}}, "labels.state"),
        (
            {
                "config": {"route": {"receivers": [{"teams_of": "planet"}]}},
                "labels": {"state": "DL"},
            },
            "route",
        ),
        ({"config": [], "labels": {"state": "DL"}}, "config"),
    ],
)
def test_bad_previews_are_422_with_where(
    client: Client, world: World, body: dict[str, Any], loc: str
) -> None:
    problem = _problem(_preview(client, body), 422)
    assert any(e["loc"].startswith(loc) for e in problem["errors"]), problem


def test_a_mention_that_routes_nowhere_is_422(client: Client, world: World) -> None:
    key = store_mention(world, "4244", leader=None)
    problem = _problem(_preview(client, {"mention_key": key}, "national_admin"), 422)
    assert problem["errors"][0]["loc"] == "mention_key"


def test_warriors_may_not_preview_routes(client: Client, world: World) -> None:
    _problem(_preview(client, {"labels": {"state": "DL"}}, "warrior"), 403)
