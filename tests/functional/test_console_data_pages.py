"""The console's teams and stats pages over HTTP, with the session cookie as a browser sends it."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.member_csv import COLUMNS
from chalicelib.domain.tasks import Task, TaskStatus
from chalicelib.services.rollup import record_changes
from chalicelib.web.session import csrf_token
from tests.factories import make_team
from tests.functional.conftest import World, token
from tests.seeding import seed

FORM = "application/x-www-form-urlencoded"


def text(response: Any) -> str:
    raw = response.body
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def get(client: Client, path: str, who: str | dict[str, str] = "state_head") -> Any:
    cookie = f"tvarit_session={token(who)}; tvarit_lang=en"
    return client.http.get(path, headers={"Cookie": cookie})


def post(client: Client, path: str, form: dict[str, str], who: str = "state_head") -> Any:
    session = token(who)
    body = urlencode({"csrf": csrf_token(session), **form})
    headers = {"Cookie": f"tvarit_session={session}; tvarit_lang=en", "Content-Type": FORM}
    return client.http.post(path, headers=headers, body=body)


def _world(world: World) -> None:
    seed(
        world.config,
        make_team("DL-CENTRAL-01", "DL", district="CENTRAL", name="Central One"),
        make_team("DL-EAST-01", "DL", district="EAST", name="East One"),
    )


def test_teams_page_lists_searches_and_keeps_districts_apart(client: Client, world: World) -> None:
    _world(world)
    page = text(get(client, "/console/teams"))
    assert "DL-CENTRAL-01" in page and "DL-EAST-01" in page
    found = text(get(client, "/console/teams?q=east"))
    assert "DL-EAST-01" in found and "DL-CENTRAL-01" not in found
    mine = text(get(client, "/console/teams", "district_head"))
    assert "DL-CENTRAL-01" in mine and "DL-EAST-01" not in mine
    assert "DL-EAST-01" not in text(get(client, "/console/teams?q=east", "district_head"))
    export = get(client, "/console/teams/export", "district_head")
    assert export.headers["Content-Type"].startswith("text/csv")
    assert "DL-EAST-01" not in text(export) and "DL-CENTRAL-01" in text(export)


def test_the_file_chooser_waits_for_script_and_is_never_posted(
    client: Client, world: World
) -> None:
    _world(world)
    page = text(get(client, "/console/teams"))
    # Hidden until console.js can read the file into the text area; it has no name, so the
    # form posts the text area's text and nothing else.
    assert '<div class="group" id="csv-file-group" hidden>' in page
    chooser = re.search(r'<input class="file" type="file"[^>]*>', page)
    assert chooser and "name=" not in chooser.group(0)
    assert '<textarea class="input code" id="csv" name="csv"' in page


def test_import_checks_names_bad_rows_then_applies(client: Client, world: World) -> None:
    lines = [",".join(COLUMNS)] + [
        f"DL-IMP-{i // 25},Imported {i // 25},DL,CENTRAL,p{i:03d},Person {i},warrior,hi,push,,,no"
        for i in range(60)
    ]
    lines[5] = "DL-IMP-0,Imported 0,DL,CENTRAL,p004,Person 4,chief,hi,push,,,no"
    csv_text = "\n".join(lines) + "\n"
    check = post(client, "/console/teams/import", {"csv": csv_text})
    assert check.status_code == 200
    page = text(check)
    assert "1 row(s) cannot be imported" in page and "Line 6 (p004)" in page
    assert "Apply the 59 good rows" in page
    assert "DL-IMP-0" not in text(get(client, "/console/teams"))  # nothing written yet
    csrf = re.search(r'name="apply" value="yes"><input type="hidden" name="csv" value="', page)
    assert csrf
    done = post(client, "/console/teams/import", {"csv": csv_text, "apply": "yes"})
    assert done.status_code == 303 and "imported=3.0" in done.headers["Location"]
    assert "DL-IMP-2" in text(get(client, "/console/teams?q=imp"))
    again = text(post(client, "/console/teams/import", {"csv": csv_text}))
    assert "Nothing to apply: every team is already as the file says." in again
    # A file with no good row is not "already as the file says": its rows need mending.
    only_bad = text(
        post(client, "/console/teams/import", {"csv": "\n".join(lines[:1] + lines[5:6])})
    )
    assert "1 row(s) cannot be imported" in only_bad
    assert "Nothing to apply: no row can be imported. Mend the rows above" in only_bad
    assert "already as the file says" not in only_bad


def test_import_refuses_a_bad_file_and_a_missing_csrf(client: Client, world: World) -> None:
    bad = post(client, "/console/teams/import", {"csv": "team,phone\n1,2\n"})
    assert bad.status_code == 422 and "header.team" in text(bad)
    session = token("state_head")
    r = client.http.post(
        "/console/teams/import",
        headers={"Cookie": f"tvarit_session={session}", "Content-Type": FORM},
        body=urlencode({"csv": "x", "csrf": "forged"}),
    )
    assert r.status_code == 403


def test_stats_page_draws_the_rollup_with_tables(client: Client, world: World) -> None:
    _world(world)
    now = datetime.now(UTC) - timedelta(hours=1)
    base = Task("t1", "DL-CENTRAL-01", "DL", "i1", "m1", now, district="CENTRAL")
    silent = dataclasses.replace(base, task_id="t2", team_id="DL-EAST-01", district="EAST")
    acked = dataclasses.replace(
        base, status=TaskStatus.COMPLETED, version=2, updated_at=now + timedelta(minutes=12)
    )
    record_changes(wiring.container().rollups, [(None, base), (None, silent), (base, acked)], now)
    page = text(get(client, "/console/stats?days=7"))
    assert page.count('<svg class="chart"') == 3 and page.count("<table") == 4
    assert "1 of 2 teams with tasks never responded." in page
    assert re.search(r"DL-EAST-01</code> <strong class=\"bad\">never responds", page)
    mine = text(get(client, "/console/stats", "district_head"))
    assert "DL-EAST-01" not in mine and "0 of 1 teams" in mine
    assert get(client, "/console/stats", "warrior").status_code == 403
    assert 'style="' not in page  # the CSP allows no inline style


def test_feed_shows_incidents_with_each_teams_progress_and_refreshes(
    client: Client, world: World
) -> None:
    from tests.functional.conftest import store_mention

    _world(world)
    at = datetime.now(UTC)
    central = Task("t_c", "DL-CENTRAL-01", "DL", "inc_1", "x#f1", at, district="CENTRAL")
    east = dataclasses.replace(central, task_id="t_e", team_id="DL-EAST-01", district="EAST")
    world.tasks.create(dataclasses.replace(central, status=TaskStatus.COMPLETED))
    world.tasks.create(east)
    store_mention(world, native_id="f1", task_ids=("t_c", "t_e"))
    page = get(client, "/console/feed")
    assert page.status_code == 200
    html = text(page)
    assert "1 of 2 teams done, 0 working on it" in html
    assert "DL-EAST-01" in html and "DL-CENTRAL-01" in html
    assert re.search(r'<a href="https://[^"]+" rel="noopener noreferrer">original post</a>', html)
    assert re.search(r'<script src="/static/feed\.[0-9a-f]+\.js" defer>', html)
    fragment = get(client, "/console/feed/items?state=DL")
    assert fragment.headers["Content-Type"].startswith("text/html")
    assert "<html" not in text(fragment) and "DL-EAST-01" in text(fragment)
    mine = text(get(client, "/console/feed", "district_head"))
    assert "DL-CENTRAL-01" in mine and "DL-EAST-01" not in mine
    assert "1 of 1 teams done" in mine
    assert get(client, "/console/feed/items", "warrior").status_code == 403
