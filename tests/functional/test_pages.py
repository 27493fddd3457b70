"""The warriors' pages over HTTP (chalice.test.Client): session cookie, forms, languages,
sign-in (dev login and Cognito's code flow against a fake token endpoint), static files."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.keywords import KeywordQuery
from chalicelib.domain.links import incident_page_path
from chalicelib.domain.org import Member
from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from chalicelib.services.config_cache import CachedConfig
from chalicelib.settings import Settings
from chalicelib.web.session import csrf_token
from tests.factories import T0, make_query, make_team
from tests.functional.conftest import ISSUER, SETTINGS, World, auth, store_mention, token
from tests.seeding import seed

BASE = "https://tvarit.example.in"
WARRIOR = {
    "sub": "w-dl-2",
    "custom:role": "warrior",
    "custom:team": "DL-CENTRAL-01",
    "name": "Rohit Saini",
}
OTHER = {"sub": "w-dl-3", "custom:role": "warrior", "custom:team": "DL-EAST-01"}
BRIEF = {
    "hi": "तथ्य: नोटबंदी के आँकड़े RBI की रिपोर्ट में हैं।",
    "en": "Facts: see the RBI report, https://rbi.org.in/annual-report?y=2018&l=en.",
}


def settings(**changes: Any) -> Settings:
    return dataclasses.replace(SETTINGS, public_base_url=BASE, **changes)


def install(world: World, s: Settings, **extra: Any) -> None:
    wiring.use(
        wiring.Container(
            s,
            mentions=world.mentions,
            tasks=world.tasks,
            config_repo=world.config,
            config=CachedConfig(world.config, 0.0, lambda: 0.0),
            devices=world.devices,
            **extra,
        )
    )


@pytest.fixture
def pages(world: World) -> World:
    """The world with a brief on the query, members with names, and one task with its post."""
    members = (
        Member("w-dl-1", "Asha Verma", "DL-CENTRAL-01", role="lead", languages=("hi", "en")),
        Member("w-dl-2", "Rohit Saini", "DL-CENTRAL-01", languages=("hi",)),
    )
    seed(
        world.config,
        make_query(brief=BRIEF),
        make_team("DL-CENTRAL-01", "DL", name="Delhi Central 1", members=members),
        make_team("DL-EAST-01", "DL", members=(Member("w-dl-3", "Farah Khan", "DL-EAST-01"),)),
    )
    key = store_mention(world, "100")
    task = make_task(key, priority=5.0)
    world.tasks.create(task)
    install(world, settings())
    return world


def make_task(mention_key: str, n: int = 1, **changes: Any) -> Task:
    values: dict[str, Any] = {
        "task_id": task_id_for("DL-CENTRAL-01", f"{mention_key}/{n}"),
        "team_id": "DL-CENTRAL-01",
        "state": "DL",
        "incident_key": f"{mention_key}/{n}",
        "mention_key": mention_key,
        "created_at": T0 + timedelta(minutes=n),
        "status": TaskStatus.DISPATCHED,
        "version": 2,
        "leader_id": "arvind-kejriwal",
        "leader_name": "Arvind Kejriwal",
        "query_ids": ("q-demonetisation",),
        "category": "economy",
        "severity": 4,
        "lang": "hi",
        "excerpt": "मोदी जी तो कह रहे थे कि नोटबंदी के बाद…",
        "url": "https://x.com/ArvindKejriwal/status/100",
        "mention_count": 3,
    }
    values.update(changes)
    return Task(**values)


def the_task(world: World) -> Task:
    return next(iter(world.tasks.tasks.values()))


def cookie_for(claims: dict[str, str], lang: str = "") -> tuple[str, str]:
    session = token(claims)
    return session, f"tvarit_session={session}" + (f"; tvarit_lang={lang}" if lang else "")


def get(client: Client, path: str, claims: dict[str, str] | None = None, lang: str = "") -> Any:
    headers = {"Cookie": cookie_for(claims, lang)[1]} if claims else {}
    return client.http.get(path, headers=headers)


def form_post(
    client: Client,
    path: str,
    claims: dict[str, str],
    fields: dict[str, str],
    with_csrf: bool = True,
) -> Any:
    session, cookie = cookie_for(claims)
    if with_csrf:
        fields = {"csrf": csrf_token(session), **fields}
    return client.http.post(
        path,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(fields),
    )


def text(response: Any) -> str:
    body = response.body
    return body.decode() if isinstance(body, bytes) else str(body)


def set_cookies(response: Any) -> list[str]:
    value = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
    return value if isinstance(value, list) else [value]


# --- The task page ---------------------------------------------------------------------------


def test_without_a_session_the_task_page_sends_you_to_sign_in_and_back(
    client: Client, pages: World
) -> None:
    tid = the_task(pages).task_id
    r = client.http.get(f"/t/{tid}")
    assert r.status_code == 303
    assert r.headers["Location"] == "/auth/login?" + urlencode({"next": f"/t/{tid}"})


def test_the_task_page_shows_the_post_highlighted_with_its_facts_brief_and_actions(
    client: Client, pages: World
) -> None:
    r = get(client, f"/t/{the_task(pages).task_id}", WARRIOR)
    page = text(r)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="hi">' in page  # Rohit reads Hindi first
    assert "<mark>नोटबंदी</mark>" in page
    assert 'href="https://x.com/ArvindKejriwal/status/1849000000000000001"' in page
    assert "Arvind Kejriwal" in page and "5 में से 4" in page and "5.0" in page
    assert ">3<" in page  # mentions the incident grouped
    assert BRIEF["hi"] in page and "Facts: see" not in page
    for button in ("स्वीकार करें", "हो गया", "मना करें"):
        assert f">{button}</button>" in page


def test_the_page_has_a_strict_policy_no_inline_code_and_fits_the_budget(
    client: Client, pages: World
) -> None:
    r = get(client, f"/t/{the_task(pages).task_id}", WARRIOR)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe" not in csp
    page = text(r)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", page), "inline style or handler"
    assert r.headers["Cache-Control"] == "no-store"
    statics = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    total = len(gzip.compress(page.encode()))
    for path in statics:
        total += len(gzip.compress(text(client.http.get(path)).encode()))
    assert total <= 60 * 1024


def test_english_is_one_link_away_and_sticks(client: Client, pages: World) -> None:
    tid = the_task(pages).task_id
    page = text(get(client, f"/t/{tid}", WARRIOR))
    link = re.search(r'<a href="(/lang/en\?[^"]+)" lang="en"', page)
    assert link is not None
    r = client.http.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 303 and r.headers["Location"] == f"/t/{tid}"
    assert any(c.startswith("tvarit_lang=en;") for c in set_cookies(r))
    english = text(get(client, f"/t/{tid}", WARRIOR, lang="en"))
    assert '<html lang="en">' in english and ">Acknowledge</button>" in english
    assert "Facts: see the RBI report, " in english
    # The brief's link to the facts can be followed (escaped, the sentence's full stop left out).
    assert (
        '<a href="https://rbi.org.in/annual-report?y=2018&amp;l=en" rel="noopener noreferrer">'
        in english
    )
    assert not re.search(r"[\u0900-\u097f]", english.split("<blockquote", 1)[0].split("हिन्दी")[0])


def test_acknowledge_then_done_go_through_the_task_flow_and_show_in_the_progress(
    client: Client, pages: World
) -> None:
    tid = the_task(pages).task_id
    r = form_post(client, f"/t/{tid}/ack", WARRIOR, {})
    assert r.status_code == 303 and r.headers["Location"] == f"/t/{tid}"
    r = form_post(
        client, f"/t/{tid}/done", WARRIOR, {"response_url": "https://x.com/rohit/status/9"}
    )
    assert r.status_code == 303
    events = pages.tasks.events(tid)
    assert [(e.action.value, e.actor) for e in events] == [
        ("ack", "w-dl-2"),
        ("complete", "w-dl-2"),
    ]
    assert events[1].detail == {"response_url": "https://x.com/rohit/status/9"}
    page = text(get(client, f"/t/{tid}", WARRIOR, lang="en"))
    assert "Rohit acknowledged at" in page and "Rohit responded at" in page
    assert "This task is done" in page and ">Done</button>" not in page
    api = client.http.get(f"/tasks/{tid}", headers=auth(WARRIOR)).json_body
    assert [(e["action"], e["actor"]) for e in api["events"]] == [
        ("ack", "w-dl-2"),
        ("complete", "w-dl-2"),
    ]


def test_a_post_without_the_csrf_token_changes_nothing(client: Client, pages: World) -> None:
    tid = the_task(pages).task_id
    r = form_post(client, f"/t/{tid}/ack", WARRIOR, {}, with_csrf=False)
    assert r.status_code == 403
    r = form_post(
        client, f"/t/{tid}/ack", WARRIOR, {"csrf": csrf_token("another session")}, with_csrf=False
    )
    assert r.status_code == 403
    assert pages.tasks.events(tid) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"response_url": ""}, "Enter the link to your response"),
        ({"response_url": "https://example.com/blog"}, "Enter a link to a post on X"),
        ({"response_url": "not a url"}, "Enter a link to a post on X"),
    ],
)
def test_a_bad_response_link_is_summarised_at_the_top_and_linked_to_its_field(
    client: Client, pages: World, fields: dict[str, str], message: str
) -> None:
    tid = the_task(pages).task_id
    session, cookie = cookie_for(WARRIOR, "en")
    r = client.http.post(
        f"/t/{tid}/done",
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"csrf": csrf_token(session), **fields}),
    )
    page = text(r)
    assert r.status_code == 422
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f'<a href="#response_url">{message}' in summary
    assert 'id="response_url-error"' in page
    assert 'aria-describedby="response_url-hint response_url-error"' in page
    assert "<title>Error:" in page
    assert pages.tasks.events(tid) == []


def test_decline_needs_a_reason_and_keeps_it(client: Client, pages: World) -> None:
    tid = the_task(pages).task_id
    r = form_post(client, f"/t/{tid}/decline", WARRIOR, {"reason": ""})
    assert r.status_code == 422 and 'href="#reason"' in text(r)
    r = form_post(client, f"/t/{tid}/decline", WARRIOR, {"reason": "I am travelling"})
    assert r.status_code == 303
    assert pages.tasks.events(tid)[0].detail == {"reason": "I am travelling"}


def test_a_warrior_of_another_team_gets_404(client: Client, pages: World) -> None:
    tid = the_task(pages).task_id
    r = get(client, f"/t/{tid}", OTHER)
    assert r.status_code == 404 and "नोटबंदी" not in text(r)
    assert form_post(client, f"/t/{tid}/ack", OTHER, {}).status_code == 404
    assert get(client, "/t/t_000000000000000000000000", WARRIOR).status_code == 404


def test_the_inbox_lists_open_tasks_highest_priority_first_and_finished_ones_leave(
    client: Client, pages: World
) -> None:
    key = store_mention(pages, "200")
    urgent = make_task(key, 2, priority=9.0, leader_name="Urgent Leader")
    done = make_task(
        key, 3, priority=99.0, leader_name="Finished Leader", status=TaskStatus.COMPLETED
    )
    other = dataclasses.replace(make_task(key, 4, leader_name="East Leader"), team_id="DL-EAST-01")
    for t in (urgent, done, other):
        pages.tasks.create(t)
    page = text(get(client, "/t", WARRIOR, lang="en"))
    assert page.index("Urgent Leader") < page.index("Arvind Kejriwal")
    assert "Finished Leader" not in page and "East Leader" not in page
    tid = the_task(pages).task_id
    form_post(client, f"/t/{tid}/done", WARRIOR, {"response_url": "https://youtu.be/abc"})
    assert "Arvind Kejriwal" not in text(get(client, "/t", WARRIOR, lang="en"))


# --- API ------------------------------------------------------------------------------------


def test_api_tasks_carry_their_page_url(client: Client, pages: World) -> None:
    tid = the_task(pages).task_id
    body = client.http.get(f"/tasks/{tid}", headers=auth(WARRIOR)).json_body
    assert body["page_url"] == f"{BASE}/t/{tid}"
    listed = client.http.get("/me/tasks", headers=auth(WARRIOR)).json_body["items"]
    assert {t["page_url"] for t in listed} == {f"{BASE}/t/{tid}"}


def test_a_query_brief_is_validated_where_queries_are(client: Client, pages: World) -> None:
    body = {"id": "q-b", "query": "sting", "brief": {"hi": "x" * 2001}}
    r = client.http.post("/keyword-queries", headers=auth("national_admin"), body=json.dumps(body))
    assert r.status_code == 422
    body["brief"] = {"Hindi": "x"}
    r = client.http.post("/keyword-queries", headers=auth("national_admin"), body=json.dumps(body))
    assert r.status_code == 422
    body["brief"] = {"hi": "तथ्य दें", "en": "Give facts"}
    r = client.http.post("/keyword-queries", headers=auth("national_admin"), body=json.dumps(body))
    assert r.status_code == 201
    stored = client.http.get("/keyword-queries/q-b", headers=auth("national_admin")).json_body
    assert stored["brief"] == {"hi": "तथ्य दें", "en": "Give facts"}


# --- Sign-in --------------------------------------------------------------------------------


@pytest.fixture
def dev_key(tmp_path: Path) -> str:
    path = tmp_path / "key.pem"
    ISSUER.save(path)
    return str(path)


def test_the_dev_login_lists_members_and_returns_to_the_page(
    client: Client, pages: World, dev_key: str
) -> None:
    install(pages, settings(dev_signing_key=dev_key))
    tid = the_task(pages).task_id
    r = client.http.get("/auth/login?" + urlencode({"next": f"/t/{tid}"}))
    assert r.status_code == 303 and r.headers["Location"].startswith("/dev/login?")
    listing = text(client.http.get(r.headers["Location"]))
    assert ">Rohit Saini</button>" in listing and ">Farah Khan</button>" in listing
    r = client.http.post(
        "/dev/login",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"member": "w-dl-2", "next": f"/t/{tid}"}),
    )
    assert r.status_code == 303 and r.headers["Location"] == f"/t/{tid}"
    (cookie,) = [c for c in set_cookies(r) if c.startswith("tvarit_session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    session = cookie.split(";", 1)[0]
    assert client.http.get(f"/t/{tid}", headers={"Cookie": session}).status_code == 200


def test_a_production_configuration_has_no_dev_login(
    client: Client, pages: World, dev_key: str
) -> None:
    # Cognito's issuer: even with a dev key lying around, no dev login.
    install(
        pages,
        settings(
            jwt_issuer="https://cognito-idp.ap-south-1.amazonaws.com/pool", dev_signing_key=dev_key
        ),
    )
    assert client.http.get("/dev/login").status_code == 404
    r = client.http.post(
        "/dev/login",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"member": "w-dl-2"}),
    )
    assert r.status_code == 404 and not set_cookies(r)
    install(pages, settings())  # the dev issuer's URL, but no key configured
    assert client.http.get("/dev/login").status_code == 404


class FakeTokenEndpoint:
    """Cognito's /oauth2/token as the local dev issuer would answer it: codes it issued."""

    def __init__(self, claims: dict[str, str]) -> None:
        self.claims = claims
        self.calls: list[tuple[str, str, str]] = []

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        from chalicelib.errors import AuthenticationError

        self.calls.append((code, verifier, redirect_uri))
        if code != "good-code":
            raise AuthenticationError("invalid_grant")
        return {"id_token": ISSUER.mint(self.claims, datetime.now(UTC)), "token_type": "Bearer"}


def test_cognito_code_flow_with_pkce_sets_a_session_cookie(client: Client, pages: World) -> None:
    fake = FakeTokenEndpoint(WARRIOR)
    install(pages, settings(cognito_domain="https://auth.tvarit.example.in"), login_exchange=fake)
    tid = the_task(pages).task_id
    r = client.http.get("/auth/login?" + urlencode({"next": f"/t/{tid}"}))
    assert r.status_code == 303
    where = urlsplit(r.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(where.query).items()}
    assert (
        f"{where.scheme}://{where.netloc}{where.path}"
        == "https://auth.tvarit.example.in/oauth2/authorize"
    )
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert (
        query["redirect_uri"] == f"{BASE}/auth/callback"
        and query["client_id"] == SETTINGS.jwt_audience
    )
    (flow,) = set_cookies(r)
    assert "HttpOnly" in flow and "Secure" in flow and "Path=/auth" in flow
    flow_cookie = flow.split(";", 1)[0]
    from chalicelib.web.oauth import PendingLogin, challenge_of

    pending = PendingLogin.from_cookie(flow_cookie.split("=", 1)[1])
    assert pending is not None and challenge_of(pending.verifier) == query["code_challenge"]

    wrong_state = client.http.get(
        "/auth/callback?" + urlencode({"code": "good-code", "state": "forged"}),
        headers={"Cookie": flow_cookie},
    )
    assert wrong_state.status_code == 400 and not fake.calls
    bad_code = client.http.get(
        "/auth/callback?" + urlencode({"code": "used", "state": query["state"]}),
        headers={"Cookie": flow_cookie},
    )
    assert bad_code.status_code == 400
    r = client.http.get(
        "/auth/callback?" + urlencode({"code": "good-code", "state": query["state"]}),
        headers={"Cookie": flow_cookie},
    )
    assert r.status_code == 303 and r.headers["Location"] == f"/t/{tid}"
    assert fake.calls[-1] == ("good-code", pending.verifier, f"{BASE}/auth/callback")
    (session,) = [c for c in set_cookies(r) if c.startswith("tvarit_session=")]
    assert "HttpOnly" in session and "Secure" in session and "SameSite=Lax" in session
    assert "token" not in r.headers["Location"]
    assert (
        client.http.get(f"/t/{tid}", headers={"Cookie": session.split(";")[0]}).status_code == 200
    )


def test_sign_out_needs_the_csrf_token_and_clears_the_session(client: Client, pages: World) -> None:
    r = form_post(client, "/auth/logout", WARRIOR, {}, with_csrf=False)
    assert r.status_code == 403
    r = form_post(client, "/auth/logout", WARRIOR, {})
    assert r.status_code == 303
    assert any(c.startswith("tvarit_session=;") and "Max-Age=0" in c for c in set_cookies(r))


# --- Static files, service worker, notifications ------------------------------------------


def test_static_files_have_fingerprinted_names_and_long_cache(client: Client, pages: World) -> None:
    page = text(get(client, f"/t/{the_task(pages).task_id}", WARRIOR))
    css = re.search(r'href="(/static/app\.[0-9a-f]{10}\.css)"', page)
    js = re.search(r'src="(/static/app\.[0-9a-f]{10}\.js)"', page)
    assert css and js
    r = client.http.get(css.group(1))
    assert (
        r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    )
    assert r.headers["Content-Type"].startswith("text/css")
    assert client.http.get("/static/app.css").status_code == 404


def test_the_service_worker_is_served_at_the_root_for_the_whole_site(
    client: Client, pages: World
) -> None:
    r = client.http.get("/sw.js")
    assert r.status_code == 200 and r.headers["Service-Worker-Allowed"] == "/"
    assert r.headers["Cache-Control"] == "no-cache"
    assert "notificationclick" in text(r) and '"X-Requested-With": "tvarit-sw"' in text(r)


def test_the_service_workers_one_tap_acknowledge_is_accepted_from_our_origin_only(
    client: Client, pages: World
) -> None:
    tid = the_task(pages).task_id
    _, cookie = cookie_for(WARRIOR)
    headers = {
        "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Requested-With": "tvarit-sw",
    }
    cross = client.http.post(
        f"/t/{tid}/ack", headers={**headers, "Sec-Fetch-Site": "cross-site"}, body=""
    )
    assert cross.status_code == 403
    r = client.http.post(
        f"/t/{tid}/ack", headers={**headers, "Sec-Fetch-Site": "same-origin"}, body=""
    )
    assert r.status_code == 204
    assert [e.action.value for e in pages.tasks.events(tid)] == ["ack"]


def test_turn_on_notifications_registers_through_the_devices_use_case(
    client: Client, pages: World
) -> None:
    install(pages, settings(web_push_key="BPubKey"))
    page = text(get(client, f"/t/{the_task(pages).task_id}", WARRIOR))
    assert 'data-key="BPubKey"' in page and "सूचनाएँ चालू करें" in page
    r = form_post(client, "/web/devices", WARRIOR, {"token": "fcm-web-token-123"})
    assert r.status_code == 204
    (sub,) = pages.devices.subscriptions.values()
    assert sub["user"] == "w-dl-2"
    (device,) = pages.config.list_items("DEVICES#w-dl-2")
    assert device.data["platform"] == "fcm" and device.data["team_id"] == "DL-CENTRAL-01"
    assert (
        form_post(client, "/web/devices", WARRIOR, {"token": "x" * 9}, with_csrf=False).status_code
        == 403
    )


def test_api_routes_still_need_a_bearer_token_and_pages_do_not_take_one(
    client: Client, pages: World
) -> None:
    tid = the_task(pages).task_id
    assert (
        client.http.get(f"/tasks/{tid}", headers={"Cookie": cookie_for(WARRIOR)[1]}).status_code
        == 401
    )
    r = client.http.get(f"/t/{tid}", headers=auth(WARRIOR))
    assert r.status_code == 303  # a bearer token is no session


def test_the_query_model_keeps_its_brief() -> None:
    q = KeywordQuery(id="q", query="x", brief={"hi": "क"})
    assert q.brief == {"hi": "क"}


def test_a_short_reference_resolves_to_my_own_open_task(client: Client, pages: World) -> None:
    tid = the_task(pages).task_id
    r = get(client, f"/t/{tid[2:10]}", WARRIOR)
    assert r.status_code == 303 and r.headers["Location"] == f"/t/{tid}"
    assert get(client, f"/t/{tid[2:10]}", OTHER).status_code == 404  # not theirs
    assert get(client, "/t/zz", WARRIOR).status_code == 404


def test_a_conflicting_action_says_so_at_the_top(client: Client, pages: World) -> None:
    tid = the_task(pages).task_id
    form_post(client, f"/t/{tid}/decline", WARRIOR, {"reason": "busy"})
    r = form_post(client, f"/t/{tid}/ack", WARRIOR, {})
    assert r.status_code == 409 and 'href="#respond"' in text(r) and 'id="respond"' in text(r)


def test_query_texts_are_measured_as_sent_before_whitespace_is_stripped(
    client: Client, pages: World
) -> None:
    # Schemathesis found it: 2,001 characters with a leading no-break space passed maxLength.
    for body in (
        {"id": "q-w", "query": "\u00a0" + "a" * 2000},
        {"id": "q-w", "query": "sting", "brief": {"hi": " " + "क" * 2000}},
    ):
        r = client.http.post(
            "/keyword-queries", headers=auth("national_admin"), body=json.dumps(body)
        )
        assert r.status_code == 422, body
        assert r.json_body["errors"][0]["loc"] in ("query", "brief.hi")


def test_the_incident_link_opens_each_teams_own_task_and_nothing_else(
    client: Client, pages: World
) -> None:
    incident = "inc_0123456789abcdef0123"
    for team in ("DL-CENTRAL-01", "DL-EAST-01"):
        pages.tasks.create(
            make_task(
                "x#200",
                task_id=task_id_for(team, incident),
                team_id=team,
                incident_key=incident,
            )
        )
    link = incident_page_path(incident)
    r = client.http.get(link)
    assert r.status_code == 303  # no session: sign in, then back to the same link
    assert r.headers["Location"] == "/auth/login?" + urlencode({"next": link})
    for who, team in ((WARRIOR, "DL-CENTRAL-01"), (OTHER, "DL-EAST-01")):
        r = get(client, link, who)
        assert r.status_code == 303
        assert r.headers["Location"] == f"/t/{task_id_for(team, incident)}"
    # A team without a task of that incident gets the foreign task's 404, and so does a guess.
    up = {"sub": "w-up-1", "custom:role": "warrior", "custom:team": "UP-VARANASI-01"}
    r = get(client, link, up)
    assert r.status_code == 404 and "नोटबंदी" not in text(r)
    assert get(client, incident_page_path("inc_nope"), WARRIOR).status_code == 404


def test_the_service_worker_acknowledges_through_the_incident_link(
    client: Client, pages: World
) -> None:
    task = the_task(pages)
    _, cookie = cookie_for(WARRIOR)
    headers = {
        "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Requested-With": "tvarit-sw",
        "Sec-Fetch-Site": "same-origin",
    }
    key = quote(task.incident_key, safe="")
    r = client.http.post(f"/i/{key}/ack", headers=headers, body="")
    assert r.status_code == 204
    assert [e.action.value for e in pages.tasks.events(task.task_id)] == ["ack"]
    other = {**headers, "Cookie": cookie_for(OTHER)[1]}
    assert client.http.post(f"/i/{key}/ack", headers=other, body="").status_code == 404
