"""The console's teams, stats and feed pages in a real browser on the local stack.

A state head imports a CSV of 1,000 members with 3 bad rows (sees the 3 rows named, then
applies the rest); a national head opens the stats page, drawn from the rollup that the tasks
stream fed, and the live feed; a district head sees their district's teams only. Screenshots:
``test-output/screenshots/console-*.png``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.member_csv import COLUMNS
from local.replay import signed_request
from local.stack import LocalStack
from tests.e2e.test_pages_browser import CHROMIUM, SHOTS, browser, stack  # noqa: F401

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system)")

DESKTOP = {"width": 1280, "height": 800}
POST = {
    "platform": "x",
    "id": "1871000000000000001",
    "author": {"id": "ArvindKejriwal", "handle": "ArvindKejriwal", "name": "Arvind Kejriwal"},
    "created_at": "2016-11-20T10:00:00Z",
    "text": "नोटबंदी के बाद काला धन कहाँ गया? demonetisation failed",
    "url": "https://x.com/ArvindKejriwal/status/1871000000000000001",
}


def members_csv() -> tuple[str, list[int]]:
    """1,000 members in 25 Rajasthan teams (Jaipur and Kota), 3 rows wrong: their lines."""
    rows = [",".join(COLUMNS)]
    for i in range(1000):
        team = i // 40
        district = "jaipur" if team % 2 == 0 else "KOTA"
        rows.append(
            f"RJ-IMP-{team:02d},Import {team},RJ,{district},rj-m{i:04d},Sadasya {i},"
            f"warrior,hi,push,,,no"
        )
    rows[101] = rows[101].replace(",warrior,", ",general,")  # not a role
    rows[502] = rows[502].replace(",,,no", ",+91 98290 11111,,no")  # a phone without consent
    rows[903] = rows[903].replace(",RJ,", ",ZZ,")  # not a state
    return "\n".join(rows) + "\n", [102, 503, 904]


@pytest.fixture
def desk(browser: Any) -> Iterator[Any]:  # noqa: F811 (the imported fixture)
    context = browser.new_context(viewport=DESKTOP, locale="en-IN", device_scale_factor=1)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in_head(page: Any, path: str, role_text: str) -> None:
    """Open a console page; on the dev login, choose the head by their role's line."""
    page.goto(path)
    assert "/dev/login" in page.url
    page.get_by_role("listitem").filter(has_text=role_text).get_by_role("button").click()
    page.wait_for_load_state()
    if page.get_by_role("link", name="English").count():
        page.get_by_role("link", name="English").click()
        page.wait_for_load_state()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def api(s: LocalStack, path: str, claims: dict[str, str], body: Any = None) -> Any:
    token = s.issuer.mint(claims, datetime.now(UTC))
    request = urllib.request.Request(  # noqa: S310 (the local stack's http URL)
        s.api_url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (local)
        return json.loads(response.read())


def test_a_state_head_imports_1000_members_seeing_the_3_bad_rows_first(
    stack: LocalStack,  # noqa: F811
    desk: Any,
) -> None:
    expect = playwright.expect
    page = desk
    text, bad_lines = members_csv()
    sign_in_head(page, stack.api_url + "/console/teams", "state head")
    expect(page.get_by_role("heading", level=1)).to_have_text("Teams")
    # From a file, as a head with a spreadsheet would; the text area shows what will be checked.
    expect(page.get_by_label("Choose a CSV file")).to_be_visible()  # console.js shows it
    page.get_by_label("Choose a CSV file").set_input_files(
        files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    expect(page.get_by_label("CSV (paste the file's text)")).to_have_value(text)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="3 row(s) cannot be imported")).to_be_visible()
    for line in bad_lines:
        expect(page.get_by_text(re.compile(rf"^Line {line} "))).to_be_visible()
    expect(page.get_by_text(re.compile(r"1000 rows: 997 good"))).to_be_visible()
    shot(page, "console-teams-import-check")
    page.get_by_role("button", name="Apply the 997 good rows").click()
    expect(page.get_by_text("Imported: 25 team(s) created, 0 changed.")).to_be_visible()
    page.get_by_label("Search teams").fill("Import 1")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="RJ-IMP-10")).to_be_visible()
    shot(page, "console-teams")
    head = {"sub": "head-rj", "custom:role": "state_head", "custom:state": "RJ"}
    team = api(stack, "/teams/RJ-IMP-02", head)
    assert len(team["members"]) == 39  # line 102 (member 100) was left out


def test_a_district_head_sees_only_their_districts_teams(
    stack: LocalStack,  # noqa: F811
    desk: Any,
) -> None:
    expect = playwright.expect
    page = desk
    sign_in_head(page, stack.api_url + "/console/teams", "district head")
    expect(page.get_by_role("cell", name="RJ-JAIPUR-01")).to_be_visible()
    expect(page.get_by_role("cell", name="RJ-IMP-00")).to_be_visible()  # jaipur
    expect(page.get_by_role("cell", name="RJ-IMP-01")).to_have_count(0)  # Kota
    page.get_by_label("Search teams").fill("kota")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No team matches.")).to_be_visible()
    shot(page, "console-teams-district")


def test_stats_are_drawn_from_the_rollup_and_the_feed_shows_the_incident(
    stack: LocalStack,  # noqa: F811
    desk: Any,
) -> None:
    expect = playwright.expect
    request = signed_request(stack.api_url, stack.webhook_secret, POST, int(time.time()))
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (local)
        pass
    warrior = {"sub": "w-dl-2", "custom:role": "warrior", "custom:team": "DL-CENTRAL-01"}
    deadline = time.monotonic() + 90
    tasks: list[Any] = []
    while time.monotonic() < deadline and not tasks:
        tasks = [
            t
            for t in api(stack, "/me/tasks", warrior)["items"]
            if t["mention_key"] == "x#" + POST["id"]
        ]
        time.sleep(0.5)
    assert tasks, "the post made no task for DL-CENTRAL-01"
    api(stack, f"/tasks/{tasks[0]['task_id']}/ack", warrior, {})
    admin = {"sub": "head-national", "custom:role": "national_admin"}
    while time.monotonic() < deadline:  # the rollup follows the stream within seconds
        today = api(stack, "/stats/daily?state=DL&days=1", admin)["days"][-1]
        if today["tasks"] >= 1 and today["acknowledged"] >= 1:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the rollup never counted the task: {today}")
    page = desk
    sign_in_head(page, stack.api_url + "/console/stats?state=DL&days=7", "national admin")
    expect(page.get_by_role("heading", name="Tasks per day")).to_be_visible()
    expect(page.get_by_role("img", name="Tasks per day")).to_be_visible()
    assert page.locator("svg.chart rect").count() >= 1  # a bar for today
    assert page.locator("svg.chart circle").count() >= 2  # ack p50 and p90 today
    page.get_by_text("The numbers as a table").first.click()
    expect(page.get_by_role("table").first).to_contain_text(str(today["tasks"]))
    shot(page, "console-stats")
    page.get_by_role("link", name="Feed").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("Feed")
    page.goto(stack.api_url + "/console/feed?state=DL")
    expect(
        page.get_by_text(re.compile(r"of \d+ teams done, \d+ working on it")).first
    ).to_be_visible()
    expect(page.get_by_role("link", name="original post").first).to_have_attribute(
        "href", re.compile(r"^https://")
    )
    shot(page, "console-feed")
