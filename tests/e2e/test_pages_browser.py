"""A warrior's pages in a real browser (Debian's chromium driven by Playwright) on the local stack.

Steps read as a person's: follow the task's link, sign in on the dev login page, acknowledge,
paste the response link, press Done. Screenshots of the inbox and a task page at 360×640, in
Hindi and in English, go to ``test-output/screenshots/`` for a reviewer to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from local.demo import load_demo_config, seed
from local.replay import signed_request
from local.stack import LocalStack
from tests.conftest import ROOT

playwright = pytest.importorskip("playwright.sync_api")

SHOTS = ROOT / "test-output" / "screenshots"
PHONE = {"width": 360, "height": 640}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system)")

POSTS = [
    {
        "platform": "x",
        "id": f"18700000000000000{n}",
        "author": {"id": "ArvindKejriwal", "handle": "ArvindKejriwal", "name": "Arvind Kejriwal"},
        "created_at": f"2016-11-{10 + n:02d}T10:00:00Z",
        "text": text,
        "url": f"https://x.com/ArvindKejriwal/status/18700000000000000{n}",
    }
    for n, text in enumerate(
        [
            "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। कहाँ गया काला धन?",
            "EVM पर फिर सवाल: the CBI should look into this corruption, says the party.",
        ]
    )
]
TEAM, MEMBER, MEMBER_NAME = "DL-CENTRAL-01", "w-dl-2", "Rohit Saini"
OTHER_TEAM_MEMBER = "Farah Khan"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = LocalStack(visibility_timeout=1, max_receive_count=2).start()
    try:
        seed(wiring.container().config_repo, load_demo_config())
        yield s
    finally:
        s.stop()


def _bearer(stack: LocalStack, claims: dict[str, str]) -> str:
    return str(stack.issuer.mint(claims, datetime.now(UTC)))


def _api(stack: LocalStack, path: str) -> Any:
    claims = {"sub": MEMBER, "custom:role": "warrior", "custom:team": TEAM}
    request = urllib.request.Request(  # noqa: S310 (the local stack's http URL)
        stack.api_url + path, headers={"Authorization": f"Bearer {_bearer(stack, claims)}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local)
        return json.loads(response.read())


@pytest.fixture(scope="module")
def task_urls(stack: LocalStack) -> list[str]:
    """The page URLs of the team's tasks for the two posts, as the API gives them."""
    for post in POSTS:
        request = signed_request(stack.api_url, stack.webhook_secret, post, int(time.time()))
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (local)
            pass
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = _api(stack, "/me/tasks")["items"]
        if len(items) >= len(POSTS):
            by_post = {t["mention_key"]: t["page_url"] for t in items}
            return [by_post[f"x#{p['id']}"] for p in POSTS]
        time.sleep(0.3)
    raise AssertionError("the posts made no tasks for the team")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser with no session, as a warrior's phone would be."""
    context = browser.new_context(viewport=PHONE, locale="hi-IN", device_scale_factor=1)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in_as(page: Any, name: str) -> None:
    """On the dev login page, choose who you are."""
    assert "/dev/login" in page.url
    page.get_by_role("button", name=name).click()
    page.wait_for_load_state()


def shot(page: Any, name: str) -> None:
    """What the phone's screen shows (360×640), and the whole page for a reviewer."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    page.screenshot(path=str(SHOTS / f"{name}-full.png"), full_page=True)


def test_a_warrior_follows_the_link_signs_in_acknowledges_and_reports_done(
    stack: LocalStack, task_urls: list[str], phone: Any
) -> None:
    url = task_urls[0]
    page = phone
    page.goto(url)
    sign_in_as(page, MEMBER_NAME)
    assert page.url == url
    expect = playwright.expect
    expect(page.get_by_role("heading", level=1)).to_contain_text("Arvind Kejriwal")
    expect(page.locator("mark").first).to_have_text(re.compile("नोटबंदी|काला धन"))
    expect(page.get_by_role("link", name="मूल पोस्ट खोलें")).to_have_attribute("href", POSTS[0]["url"])
    shot(page, "task-hi")
    page.get_by_role("link", name="अपने कार्यों पर वापस").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("आपकी टीम के कार्य")
    shot(page, "inbox-hi")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your team's tasks")
    shot(page, "inbox-en")
    page.get_by_role("link", name=re.compile("Arvind Kejriwal")).first.click()
    page.goto(url)
    expect(page.get_by_role("button", name="Acknowledge")).to_be_visible()
    shot(page, "task-en")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text(re.compile(r"Rohit acknowledged at"))).to_be_visible()
    page.get_by_role("button", name="Done").click()  # no link yet: the page says what to fix
    expect(page.get_by_role("link", name="Enter the link to your response")).to_be_visible()
    shot(page, "task-en-error")
    page.get_by_label("Link to your response").fill("https://x.com/rohit/status/42")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_text("This task is done. Thank you.")).to_be_visible()

    task_id = url.rsplit("/", 1)[1]
    events = _api(stack, f"/tasks/{task_id}")["events"]
    mine = [(e["action"], e["actor"]) for e in events if e["action"] != "dispatch"]
    assert mine == [("ack", MEMBER), ("complete", MEMBER)]
    assert events[-1]["detail"] == {"response_url": "https://x.com/rohit/status/42"}
    page.get_by_role("link", name="Back to your tasks").click()
    expect(page.get_by_role("link", name=re.compile("Arvind Kejriwal"))).to_have_count(1)


def test_a_warrior_of_another_team_gets_404(task_urls: list[str], phone: Any) -> None:
    page = phone
    page.goto(task_urls[1])
    sign_in_as(page, OTHER_TEAM_MEMBER)
    response = page.goto(task_urls[1])
    assert response is not None and response.status == 404
    playwright.expect(page.get_by_role("heading", level=1)).to_have_text("कार्य नहीं मिला")
    assert "EVM" not in page.content()


def test_a_notices_incident_link_opens_my_own_task_page(
    stack: LocalStack, task_urls: list[str], phone: Any
) -> None:
    """Notices to many teams carry ``/i/<incident>``: signed in, it is my team's task page."""
    from chalicelib.domain.links import incident_page_url

    task = _api(stack, f"/tasks/{task_urls[1].rsplit('/', 1)[1]}")
    page = phone
    page.goto(incident_page_url(stack.api_url, task["incident_key"]))
    sign_in_as(page, MEMBER_NAME)
    assert page.url == task_urls[1]
    playwright.expect(page.get_by_role("heading", level=1)).to_contain_text("Arvind Kejriwal")


def test_the_hindi_ui_renders_in_devanagari(task_urls: list[str], phone: Any) -> None:
    page = phone
    page.goto(task_urls[1])
    sign_in_as(page, MEMBER_NAME)
    assert page.locator("html").get_attribute("lang") == "hi"
    button = page.get_by_role("button", name="स्वीकार करें")
    playwright.expect(button).to_be_visible()
    # Drawn with a Devanagari font, not boxes: the machine has one for Hindi (make system).
    fonts = subprocess.run(["fc-list", ":lang=hi", "family"], capture_output=True, text=True)
    assert fonts.stdout.strip(), "no Devanagari font installed (fonts-lohit-deva)"
    # Tofu boxes are all one width; real glyphs of different letters are not.
    widths = page.evaluate(
        """() => ['क', 'ि', 'ख्', 'स्वी'].map(t => {
            const s = document.createElement('span'); s.textContent = t;
            document.body.appendChild(s); const w = s.getBoundingClientRect().width;
            s.remove(); return w; })"""
    )
    assert len(set(widths)) > 1, widths


def test_keyboard_only_tab_to_acknowledge_and_press_enter(task_urls: list[str], phone: Any) -> None:
    page = phone
    page.goto(task_urls[1])
    sign_in_as(page, MEMBER_NAME)
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement && document.activeElement.textContent")
    assert first == "Skip to main content"  # the first stop, as on GOV.UK
    for _ in range(30):
        page.keyboard.press("Tab")
        if (
            page.evaluate("document.activeElement && document.activeElement.textContent")
            == "Acknowledge"
        ):
            break
    else:
        raise AssertionError("Tab never reached the Acknowledge button")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    playwright.expect(page.get_by_text(re.compile(r"Rohit acknowledged at"))).to_be_visible()
    # On to the response link by keyboard, too: the field has its label and takes typing.
    page.get_by_label("Link to your response").focus()
    page.keyboard.type("https://youtu.be/abc")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Done"
    page.keyboard.press("Enter")
    playwright.expect(page.get_by_text("This task is done. Thank you.")).to_be_visible()


def test_the_service_worker_installs_for_the_whole_site(task_urls: list[str], phone: Any) -> None:
    """What "turn on notifications" starts with; a real push needs FCM (not offline)."""
    page = phone
    page.goto(task_urls[1])
    sign_in_as(page, MEMBER_NAME)
    scope = page.evaluate(
        """() => navigator.serviceWorker.register('/sw.js', {scope: '/'})
              .then(() => navigator.serviceWorker.ready).then(r => r.scope)"""
    )
    assert scope == task_urls[1].split("/t/", 1)[0] + "/"


def test_screenshots_are_written_for_review() -> None:
    names = {p.stem for p in Path(SHOTS).glob("*.png")}
    assert {"task-hi", "inbox-hi", "task-en", "inbox-en"} <= names
