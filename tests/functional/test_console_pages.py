"""The console's pages over HTTP (chalice.test.Client): what each shows a head, forms that
write through the API's use cases, errors summarised on the page, scope refusals."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from typing import Any
from urllib.parse import urlencode

from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.org import Account
from chalicelib.services.polling import PollState, with_units
from chalicelib.web.session import csrf_token
from tests.factories import make_leader, make_query
from tests.functional.conftest import NOW, World, auth, store_mention, token
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


# --- Queries -------------------------------------------------------------------------------


def queries(world: World) -> dict[str, Any]:
    return {r.id: r for r in world.config.list_items("QUERY")}


def test_the_check_fragment_names_the_column_of_a_syntax_error(
    client: Client, world: World
) -> None:
    r = post(client, "/console/queries/check", {"query": "नोटबंदी OR OR कालाधन", "variants": "on"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    page = body(r)
    assert 'data-valid="false"' in page and "Column 12: unexpected &#x27;OR&#x27;" in page
    assert (
        '<pre class="pre" aria-hidden="true">नोटबंदी OR <mark class="caret">OR</mark> कालाधन' in page
    )


def test_the_check_fragment_lists_what_each_term_also_matches(client: Client, world: World) -> None:
    page = body(
        post(client, "/console/queries/check", {"query": "नोटबंदी OR sarkaar", "variants": "on"})
    )
    assert 'data-valid="true"' in page
    assert "romanized spellings read as &quot;notbandi&quot; (e.g. notabandee)" in page
    assert "Devanagari words read as &quot;sarkar&quot;" in page
    page = body(post(client, "/console/queries/check", {"query": "नोटबंदी"}))  # variants off
    assert "only as written (variants are off)" in page


def test_the_preview_marks_matches_in_stored_and_pasted_posts(client: Client, world: World) -> None:
    store_mention(world, "777", text="नोटबंदी पर फिर सवाल उठे")
    fields = {
        "query": "नोटबंदी",
        "variants": "on",
        "posts": "notabandi was a failure\n\nnothing here",
    }
    page = body(post(client, "/console/queries/preview", fields))
    assert "<mark>नोटबंदी</mark> पर फिर सवाल उठे" in page
    assert "1 of the 1 most recent posts match." in page
    assert 'Post 2 · <strong class="hint">no match</strong>' in page


def test_a_state_head_saves_a_new_query_with_briefs(client: Client, world: World) -> None:
    fields = {
        "do": "save",
        "query_id": "q-paper-leak",
        "name": "Paper leak",
        "query": '"paper leak" OR पेपरलीक',
        "scope": "DL",
        "category": "education",
        "severity": "5",
        "variants": "on",
        "brief_hi": "तथ्य रखें।",
        "brief_en": "Stick to facts.",
    }
    r = post(client, "/console/queries", fields)
    assert r.status_code == 303 and r.headers["Location"] == "/console/queries/q-paper-leak?saved=1"
    stored = queries(world)["q-paper-leak"]
    assert stored.data["brief"] == {"hi": "तथ्य रखें।", "en": "Stick to facts."}
    assert (stored.data["severity"], stored.data["scope"], stored.updated_by) == (
        5,
        "DL",
        "shead-dl",
    )
    page = body(get(client, r.headers["Location"]))
    assert f'name="version" value="{stored.version}"' in page
    assert "Stick to facts." in page and "The query is saved" in page


def test_saving_a_query_with_a_syntax_error_shows_the_column_and_stores_nothing(
    client: Client, world: World
) -> None:
    fields = {"do": "save", "query_id": "q-bad", "query": "a AND", "scope": "DL", "severity": "3"}
    r = post(client, "/console/queries", fields)
    assert r.status_code == 422 and "q-bad" not in queries(world)
    assert '<a href="#query">column 6' in body(r)


def test_an_edit_names_the_version_it_read(client: Client, world: World) -> None:
    seed(world.config, make_query(scope="DL", id="q-dl"))
    current = queries(world)["q-dl"]
    fields = {
        "do": "save",
        "query_id": "q-dl",
        "version": str(current.version),
        "query": "EVM",
        "scope": "DL",
        "severity": "4",
    }
    assert post(client, "/console/queries", fields).status_code == 303
    stale = post(client, "/console/queries", {**fields, "query": "ईवीएम"})  # the old version
    assert stale.status_code == 412 and "Someone changed this query" in body(stale)
    assert queries(world)["q-dl"].data["query"] == "EVM"


def test_a_district_head_may_try_but_not_save_queries(client: Client, world: World) -> None:
    page = body(get(client, "/console/queries/new", "district_head"))
    assert "saving them is for state heads" in page and 'value="save"' not in page
    fields = {"do": "save", "query_id": "q-x", "query": "EVM", "scope": "DL", "severity": "3"}
    assert post(client, "/console/queries", fields, "district_head").status_code == 403
    assert "q-x" not in queries(world)


def test_a_state_head_sees_national_queries_but_not_another_states(
    client: Client, world: World
) -> None:
    seed(world.config, make_query(id="q-up", scope="UP", name="UP only"))
    page = body(get(client, "/console/queries"))
    assert "q-demonetisation" in page and "UP only" not in page
    assert get(client, "/console/queries/q-up").status_code == 404


# --- Routes --------------------------------------------------------------------------------

SEVERE = {
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


def test_the_routes_page_shows_the_tree_in_force(client: Client, world: World) -> None:
    page = body(get(client, "/console/routes"))
    assert "every team of the leader&#x27;s state" in page  # the default until one is saved
    assert "saving it is for national admins" in page and 'value="save"' not in page


def test_a_state_head_edits_the_tree_and_sees_which_teams_a_mention_reaches(
    client: Client, world: World
) -> None:
    key = store_mention(world, "888")
    fields = {"do": "preview", "config": json.dumps(SEVERE), "mention_key": key}
    page = body(post(client, "/console/routes", fields))
    reach = page[page.index('id="reach"') :]
    assert "1 team(s), by the tree as edited above (not saved)." in reach
    assert "<td>DL-CENTRAL-01</td>" in reach and "severe to central" in reach
    # The tree in force (the default) reaches both Delhi teams.
    fields = {"do": "preview", "config": get_config(client), "labels": "state=DL\nseverity=2"}
    reach = body(post(client, "/console/routes", fields))
    assert "<td>DL-CENTRAL-01, DL-EAST-01</td>" in reach


def get_config(client: Client) -> str:
    page = body(get(client, "/console/routes"))
    raw = re.search(r'<textarea class="input code" id="config"[^>]*>(.*?)</textarea>', page, re.S)
    assert raw is not None
    return html.unescape(raw.group(1))


def test_a_bad_tree_is_refused_with_every_problem_and_its_path(
    client: Client, world: World
) -> None:
    bad = {"route": {"receivers": [{"teams_of": "planet"}], "routes": [{"matchers": ["sev~~1"]}]}}
    fields = {"do": "preview", "config": json.dumps(bad), "labels": "state=DL"}
    r = post(client, "/console/routes", fields)
    assert r.status_code == 422
    page = body(r)
    assert "route.receivers[0]" in page and "route.routes[0].matchers[0]" in page
    r = post(client, "/console/routes", {"do": "preview", "config": "{oops", "labels": "state=DL"})
    assert r.status_code == 422 and "This is not JSON: line 1, column 2" in body(r)
    r = post(client, "/console/routes", {"do": "preview", "config": "{}", "labels": "colour=red"})
    assert r.status_code == 422 and "labels.colour" in body(r)


def test_only_a_national_admin_saves_the_tree_and_it_is_audited(
    client: Client, world: World
) -> None:
    fields = {"do": "save", "config": json.dumps(SEVERE), "version": ""}
    assert post(client, "/console/routes", fields).status_code == 403
    r = post(client, "/console/routes", fields, "national_admin")
    assert r.status_code == 303 and r.headers["Location"] == "/console/routes?saved=1"
    stored = json.loads(client.http.get("/routes", headers=auth("national_admin")).body)
    assert stored["config"] == SEVERE and stored["updated_by"] == "admin-1"
    stale = post(client, "/console/routes", {**fields, "version": "0"}, "national_admin")
    assert stale.status_code == 412


# --- Escalation chains ---------------------------------------------------------------------


def test_the_chains_page_shows_each_timeline_and_which_chain_a_team_follows(
    client: Client, world: World
) -> None:
    chain = {
        "id": "dl-fast",
        "scope": "state",
        "owner": "DL",
        "repeat": 1,
        "steps": [
            {"wait": "10m"},
            {"notify": "team_lead"},
            {"wait": "1h"},
            {"notify": "state_head"},
        ],
    }
    from chalicelib.domain.config_kinds import CHAINS
    from chalicelib.services.config_admin import ConfigAdmin, system_principal

    ConfigAdmin(world.config).create(CHAINS, system_principal("test"), chain)
    page = body(get(client, "/console/chains"))
    dl = page[page.index('id="chain-dl-fast"') :]
    # Round 2 starts after the first round's 70 minutes.
    assert re.findall(r"<li><strong>([^<]+)</strong>: ([^<]+)</li>", dl)[:4] == [
        ("After 10 min", "the team lead is told (round 1)"),
        ("After 70 min", "the state head is told (round 1)"),
        ("After 80 min", "the team lead is told (round 2)"),
        ("After 140 min", "the state head is told (round 2)"),
    ]
    assert "default" in page and "(built in)" in page
    assert "<td>DL-CENTRAL-01</td><td>dl-fast</td>" in page


def test_a_head_previews_then_saves_a_chain(client: Client, world: World) -> None:
    fields = {
        "do": "preview",
        "chain_id": "dl-slow",
        "scope": "state",
        "owner": "DL",
        "repeat": "0",
        "steps": "wait 30m\nnotify district_head",
    }
    page = body(post(client, "/console/chains", fields))
    assert "<li><strong>After 30 min</strong>: the district head is told</li>" in page
    assert "dl-slow" not in {r.id for r in world.config.list_items("CHAIN")}
    r = post(client, "/console/chains", {**fields, "do": "save"})
    assert r.status_code == 303
    (stored,) = [x for x in world.config.list_items("CHAIN") if x.id == "dl-slow"]
    assert stored.data["steps"] == [{"wait": "30m"}, {"notify": "district_head"}]


def test_a_bad_chain_names_the_step(client: Client, world: World) -> None:
    fields = {
        "do": "preview",
        "chain_id": "x",
        "scope": "state",
        "owner": "DL",
        "repeat": "0",
        "steps": "wait soon\nnotify mayor",
    }
    r = post(client, "/console/chains", fields)
    assert r.status_code == 422 and "steps[0].wait" in body(r)


def test_a_state_head_cannot_save_another_states_chain(client: Client, world: World) -> None:
    fields = {
        "do": "save",
        "chain_id": "up-x",
        "scope": "state",
        "owner": "UP",
        "repeat": "0",
        "steps": "notify team_lead",
    }
    assert post(client, "/console/chains", fields).status_code == 403


# --- Audit ---------------------------------------------------------------------------------


def test_the_audit_log_shows_before_and_after_of_each_change(client: Client, world: World) -> None:
    post(
        client,
        "/console/watchlist",
        {
            "name": "Atishi",
            "leader_id": "atishi",
            "state": "DL",
            "platform": "x",
            "handle": "AtishiAAP",
            "platform_id": "1",
        },
    )
    page = body(get(client, "/console/audit"))
    assert "<code>atishi</code>" in page and "created · shead-dl" in page
    assert "<td><code>accounts</code></td>" in page or "<code>name</code>" in page
    assert '<span class="diff-add">Atishi</span>' in page


def test_a_district_head_reads_only_their_districts_changes(client: Client, world: World) -> None:
    from tests.factories import make_team

    seed(
        world.config,
        make_team("DL-EAST-09", "DL", district="EAST"),
        make_team("DL-CEN-09", "DL", district="CENTRAL"),
    )
    page = body(get(client, "/console/audit?scope=DL", "district_head"))
    assert "DL-CEN-09" in page and "DL-EAST-09" not in page
    assert (
        get(client, "/console/audit?scope=UP", "state_head").status_code == 200
    )  # falls back to DL
    assert "UP-VARANASI-01" not in body(get(client, "/console/audit?scope=UP", "state_head"))


def test_a_national_admin_sees_every_states_leaders_until_choosing_one(
    client: Client, world: World
) -> None:
    page = body(get(client, "/console/watchlist", "national_admin"))
    assert "Arvind Kejriwal" in page and "Narendra Modi" in page
    page = body(get(client, "/console/watchlist?state=UP", "national_admin"))
    assert "Arvind Kejriwal" not in page and "Narendra Modi" in page


def test_no_console_page_escapes_a_message_twice(client: Client, world: World) -> None:
    """Catalogue messages are escaped once (an apostrophe is &#x27;, never &amp;#x27;)."""
    store_mention(world, "999")
    for lang in ("en", "hi"):
        for path in (
            "/console",
            "/console/watchlist",
            "/console/queries",
            "/console/queries/new",
            "/console/queries/q-demonetisation",
            "/console/routes",
            "/console/chains",
            "/console/audit",
        ):
            for who in ("national_admin", "state_head"):
                page = body(get(client, path, who, lang))
                assert "&amp;#" not in page and "&amp;quot;" not in page, (path, who, lang)
    assert "A state&#x27;s teams" in body(get(client, "/console/chains"))
