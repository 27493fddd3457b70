"""The console's pages over HTTP (chalice.test.Client): what each shows a head, forms that
write through the API's use cases, errors summarised on the page, scope refusals."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.org import Account
from chalicelib.services.polling import PollState, with_units
from chalicelib.web.session import csrf_token
from tests.factories import make_leader
from tests.functional.conftest import NOW, World, token
from tests.seeding import seed

FORM = "application/x-www-form-urlencoded"


def body(response: Any) -> str:
    raw = response.body
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def get(client: Client, path: str, who: str = "state_head", lang: str = "en") -> Any:
    return client.http.get(
        path, headers={"Cookie": f"tvarit_session={token(who)}; tvarit_lang={lang}"}
    )


def post(
    client: Client, path: str, fields: dict[str, str], who: str = "state_head", csrf: bool = True
) -> Any:
    session = token(who)
    if csrf:
        fields = {"csrf": csrf_token(session), **fields}
    return client.http.post(
        path,
        headers={"Cookie": f"tvarit_session={session}; tvarit_lang=en", "Content-Type": FORM},
        body=urlencode(fields),
    )


def leaders(world: World) -> dict[str, Any]:
    return {r.id: r.data for r in world.config.list_items("LEADER")}


# --- Watchlist -----------------------------------------------------------------------------


def test_the_watchlist_shows_each_accounts_poll_health(client: Client, world: World) -> None:
    seed(
        world.config,
        make_leader(
            accounts=(Account("x", "ArvindKejriwal", "405427035"), Account("telegram", "aap"))
        ),
    )
    store = wiring.container().cursor_store
    bad = with_units(PollState(), "x", 2, NOW - 30)
    store.save(
        "x#405427035", dataclasses.replace(bad, failures=5, healthy=False, last_error="HTTP 502")
    )
    page = body(get(client, "/console/watchlist"))
    assert "<h2>Arvind Kejriwal</h2>" in page
    assert "Unhealthy (5 failures in a row)" in page and "HTTP 502" in page
    assert "2 of 2,000,000 units per 30 day(s)" in page
    assert "Pushed to the bot, not polled" in page
    assert 'aria-current="page">Watchlist</a>' in page


def test_a_head_adds_a_leader_with_an_account(client: Client, world: World) -> None:
    r = post(
        client,
        "/console/watchlist",
        {
            "name": "Atishi",
            "leader_id": "atishi",
            "state": "DL",
            "party": "AAP",
            "reach": "1200000",
            "platform": "bluesky",
            "handle": "atishi.bsky.social",
        },
    )
    assert r.status_code == 303, body(r)
    assert r.headers["Location"] == "/console/watchlist?state=DL&added=atishi#leader-atishi"
    stored = leaders(world)["atishi"]
    assert stored["accounts"] == [
        {"platform": "bluesky", "handle": "atishi.bsky.social", "platform_id": ""}
    ]
    assert stored["reach"] == 1_200_000
    audit, _ = world.config.audit_log("DL", 10, None)
    assert (audit[0].actor, audit[0].action, audit[0].entity_id) == ("shead-dl", "create", "atishi")
    page = body(get(client, r.headers["Location"]))
    assert "Leader atishi added." in page and "<h2>Atishi</h2>" in page


def test_the_form_says_what_to_fix_and_keeps_what_was_typed(client: Client, world: World) -> None:
    r = post(
        client,
        "/console/watchlist",
        {
            "name": "Atishi",
            "leader_id": "bad id!",
            "state": "DL",
            "platform": "x",
            "handle": "AtishiAAP",
            "reach": "lots",
        },
    )
    assert r.status_code == 422
    page = body(r)
    assert '<a href="#leader_id">' in page and '<a href="#reach">' in page
    assert 'value="AtishiAAP"' in page and "atishi" not in leaders(world)
    r = post(
        client,
        "/console/watchlist",
        {"name": "Atishi", "leader_id": "atishi", "state": "DL", "platform": "x"},
    )
    assert r.status_code == 422 and "Enter the account&#x27;s handle" in body(r)


def test_an_id_taken_is_409_on_the_page(client: Client, world: World) -> None:
    fields = {
        "name": "AK",
        "leader_id": "arvind-kejriwal",
        "state": "DL",
        "platform": "x",
        "handle": "AK",
    }
    r = post(client, "/console/watchlist", fields)
    assert r.status_code == 409 and "This id is taken" in body(r)


def test_a_state_head_cannot_add_a_leader_to_another_state(client: Client, world: World) -> None:
    fields = {
        "name": "Yogi",
        "leader_id": "yogi",
        "state": "UP",
        "platform": "x",
        "handle": "myogi",
    }
    r = post(client, "/console/watchlist", fields)
    assert r.status_code == 403 and "yogi" not in leaders(world)


def test_a_post_without_the_csrf_token_is_refused(client: Client, world: World) -> None:
    fields = {
        "name": "Atishi",
        "leader_id": "atishi",
        "state": "DL",
        "platform": "x",
        "handle": "a",
    }
    r = post(client, "/console/watchlist", fields, csrf=False)
    assert r.status_code == 403 and "atishi" not in leaders(world)


def test_another_states_head_does_not_see_the_leader(client: Client, world: World) -> None:
    page = body(get(client, "/console/watchlist?state=DL", "state_head_up"))
    assert "Arvind Kejriwal" not in page and "Narendra Modi" in page
