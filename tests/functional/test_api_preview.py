"""POST /keyword-queries/preview: a draft query against stored mentions the caller may see."""

from __future__ import annotations

import json
from datetime import timedelta

from chalice.test import Client

from chalicelib.domain.analysis import WatchConfig, analyze
from chalicelib.domain.keywords import compile_queries
from chalicelib.domain.language import detect
from tests.factories import T0, make_leader, make_mention, make_query
from tests.functional.conftest import World, auth


def _store(world: World) -> None:
    config = WatchConfig.build("1", [make_leader()], [make_query()], compile_queries([]))
    for n, text in enumerate(["नोटबंदी के बाद काला धन ख़त्म हो गया।", "Good morning, Delhi"]):
        mention = make_mention(native_id=str(n), text=text)
        record = analyze(mention, detect(text), config, T0, timedelta(days=1), timedelta(days=1))
        world.mentions.put_new(record, "c")


def test_a_draft_query_finds_its_terms_in_stored_mentions(client: Client, world: World) -> None:
    _store(world)
    response = client.http.post(
        "/keyword-queries/preview",
        headers=auth("state_head"),
        body=json.dumps({"query": 'नोटबंदी OR "black money"'}),
    )
    assert response.status_code == 200
    body = response.json_body
    assert (body["scanned"], body["matched"]) == (2, 1)
    assert body["items"][0]["key"] == "x#0" and body["items"][0]["terms"] == ["नोटबंदी"]
    assert body["items"][0]["spans"] == [[0, 7]]


def test_another_states_head_previews_over_their_own_states_mentions(
    client: Client, world: World
) -> None:
    _store(world)
    response = client.http.post(
        "/keyword-queries/preview", headers=auth("state_head_up"), body='{"query": "नोटबंदी"}'
    )
    assert response.json_body == {"scanned": 0, "matched": 0, "items": []}


def test_a_state_head_previews_their_states_newest_mentions_whatever_the_others_hold(
    client: Client, world: World
) -> None:
    """A table-wide sample could be all other states' posts; a state's head reads their own."""
    from chalicelib.domain.mention import Author
    from chalicelib.domain.org import Account
    from chalicelib.services.preview import SAMPLE

    up = make_leader(id="up-leader", state="UP", accounts=(Account("x", "UpLeader"),))
    up_author = Author(id="9", handle="UpLeader", name="UP Leader")
    dl = make_leader()
    config = WatchConfig.build("1", [up, dl], [make_query()], compile_queries([]))
    for n in range(SAMPLE):
        m = make_mention(native_id=f"up{n}", text="Good morning, Lucknow", author=up_author)
        world.mentions.put_new(
            analyze(m, detect(m.text), config, T0, timedelta(days=1), timedelta(days=1)), "c"
        )
    m = make_mention(native_id="dl", text="नोटबंदी पर जवाब दो")
    world.mentions.put_new(
        analyze(m, detect(m.text), config, T0, timedelta(days=1), timedelta(days=1)), "c"
    )
    response = client.http.post(
        "/keyword-queries/preview", headers=auth("state_head"), body='{"query": "नोटबंदी"}'
    )
    assert response.json_body["matched"] == 1
    assert response.json_body["items"][0]["key"] == "x#dl"
