"""The console's frame over HTTP: who gets in, the navigation, the dev login's demo heads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from tests.functional.conftest import CLAIMS, ISSUER, World, token
from tests.functional.test_pages import install, settings

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def body(response: Any) -> str:
    raw = response.body
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def get(client: Client, path: str, who: str | dict[str, str], lang: str = "en") -> Any:
    cookie = f"tvarit_session={token(who)}; tvarit_lang={lang}"
    return client.http.get(path, headers={"Cookie": cookie})


@pytest.fixture
def dev_key(tmp_path: Path) -> str:
    path = tmp_path / "key.pem"
    ISSUER.save(path)
    return str(path)


def test_without_a_session_the_console_sends_you_to_sign_in_and_back(
    client: Client, world: World
) -> None:
    r = client.http.get("/console")
    assert r.status_code == 303
    assert r.headers["Location"] == "/auth/login?" + urlencode({"next": "/console"})


@pytest.mark.parametrize("who", ["team_lead", "warrior"])
def test_team_leads_and_warriors_are_refused_the_console(
    client: Client, world: World, who: str
) -> None:
    r = get(client, "/console", who)
    assert r.status_code == 403
    assert "The console is for cell heads" in body(r)


@pytest.mark.parametrize(
    ("who", "scope"),
    [
        ("national_admin", "All of India"),
        ("state_head", "Delhi"),
        ("district_head", "Delhi · CENTRAL"),
    ],
)
def test_heads_see_the_frame_with_every_section_and_their_scope(
    client: Client, world: World, who: str, scope: str
) -> None:
    r = get(client, "/console", who)
    assert r.status_code == 200
    page = body(r)
    nav = re.search(r'<nav class="console-nav".*?</nav>', page, re.S)
    assert nav is not None
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav.group(0))
    assert links == [
        ("/console/watchlist", "Watchlist"),
        ("/console/queries", "Queries"),
        ("/console/teams", "Teams"),
        ("/console/routes", "Routes"),
        ("/console/chains", "Chains"),
        ("/console/feed", "Feed"),
        ("/console/stats", "Stats"),
        ("/console/audit", "Audit"),
    ]
    assert f'<p class="console-scope">{scope}</p>' in page
    assert re.search(r'<link rel="stylesheet" href="/static/console\.[0-9a-f]{10}\.css">', page)
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_the_frame_speaks_hindi_by_default(client: Client, world: World) -> None:
    cookie = f"tvarit_session={token('state_head')}"
    page = body(client.http.get("/console", headers={"Cookie": cookie}))
    assert '<html lang="hi">' in page and "निगरानी सूची" in page


def test_the_dev_login_lists_the_demo_heads_and_signs_one_in_to_the_console(
    client: Client, world: World, dev_key: str
) -> None:
    install(world, settings(dev_signing_key=dev_key))
    listing = body(
        client.http.get("/dev/login?next=/console", headers={"Cookie": "tvarit_lang=en"})
    )
    for name in ("Meera Iyer", "Gayatri Rathore", "Imran Qureshi"):
        assert f">{name}</button>" in listing
    assert "state head, RJ" in listing and "district head, RJ · jaipur" in listing
    r = client.http.post(
        "/dev/login", headers=FORM, body=urlencode({"head": "head-rj", "next": "/console"})
    )
    assert r.status_code == 303 and r.headers["Location"] == "/console"
    cookie = next(c for c in _cookies(r) if c.startswith("tvarit_session="))
    session = cookie.split(";", 1)[0]
    page = client.http.get("/console", headers={"Cookie": session + "; tvarit_lang=en"})
    assert page.status_code == 200 and '<p class="console-scope">Rajasthan</p>' in body(page)
    # No next page: a head lands on the console, not on a warrior's inbox.
    r = client.http.post("/dev/login", headers=FORM, body=urlencode({"head": "head-national"}))
    assert r.headers["Location"] == "/console"


def test_an_unknown_dev_head_is_404_and_signs_nobody_in(
    client: Client, world: World, dev_key: str
) -> None:
    install(world, settings(dev_signing_key=dev_key))
    r = client.http.post("/dev/login", headers=FORM, body=urlencode({"head": "head-xx"}))
    assert r.status_code == 404 and not _cookies(r)


def test_without_the_dev_issuer_no_head_can_sign_in(client: Client, world: World) -> None:
    install(world, settings())  # no dev key configured
    r = client.http.post("/dev/login", headers=FORM, body=urlencode({"head": "head-rj"}))
    assert r.status_code == 404 and not _cookies(r)


def _cookies(response: Any) -> list[str]:
    value = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
    return value if isinstance(value, list) else [value]


assert CLAIMS["district_head"]["custom:district"] == "CENTRAL"  # the scope text above
