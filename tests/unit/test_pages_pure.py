"""Pure parts of the pages: highlighting, safe redirects, response links, the catalogues."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.domain.highlight import highlight_segments
from chalicelib.domain.mention import PLATFORM_HOSTS, PLATFORMS, platform_of_url
from chalicelib.domain.tasks import TERMINAL, TaskStatus
from chalicelib.web.render import (
    HERE,
    LANGUAGES,
    Messages,
    Safe,
    catalogue,
    message_keys_in_templates,
    render,
)
from chalicelib.web.session import csrf_token, safe_next

TEXT = "नोटबंदी के बाद काला धन"


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], [(TEXT, False)]),
        ([(0, 7)], [("नोटबंदी", True), (" के बाद काला धन", False)]),
        ([(15, 22)], [("नोटबंदी के बाद ", False), ("काला धन", True)]),
        ([(0, 3), (2, 7)], [("नोटबंदी", True), (" के बाद काला धन", False)]),  # overlap merges
        ([(0, 7), (7, 10)], [("नोटबंदी के", True), (" बाद काला धन", False)]),  # touching merges
        ([(15, 99)], [("नोटबंदी के बाद ", False), ("काला धन", True)]),  # clipped
        ([(5, 5), (9, 3), (-4, -1)], [(TEXT, False)]),  # empty, inverted, outside
    ],
)
def test_highlight_segments(spans: list[tuple[int, int]], expected: list[tuple[str, bool]]) -> None:
    assert highlight_segments(TEXT, spans) == expected
    assert "".join(p for p, _ in highlight_segments(TEXT, spans)) == TEXT


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://x.com/a/status/1", "x"),
        ("https://mobile.twitter.com/a/status/1", "x"),
        ("https://www.youtube.com/watch?v=1", "youtube"),
        ("https://youtu.be/1", "youtube"),
        ("https://m.facebook.com/story", "facebook"),
        ("https://t.me/chan/5", "telegram"),
        ("https://bsky.app/profile/a/post/1", "bluesky"),
        ("https://x.com.evil.example/a", None),
        ("https://notx.com/a", None),
        ("ftp://x.com/a", None),
        ("javascript:alert(1)//x.com", None),
        ("https://example.com/", None),
        ("", None),
        ("https://[::1", None),
    ],
)
def test_platform_of_url(url: str, platform: str | None) -> None:
    assert platform_of_url(url) == platform


def test_response_hosts_belong_to_known_platforms() -> None:
    assert set(PLATFORM_HOSTS) <= PLATFORMS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/t/t_1", "/t/t_1"),
        ("/t?x=1", "/t?x=1"),
        ("//evil.example/t", "/t"),
        ("https://evil.example/", "/t"),
        ("/\\evil.example", "/t"),
        ("/t\r\nSet-Cookie: x", "/t"),
        ("", "/t"),
        (None, "/t"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_csrf_token_is_per_session() -> None:
    assert csrf_token("a") != csrf_token("b")
    assert csrf_token("a") == csrf_token("a") and len(csrf_token("a")) == 32


def test_both_catalogues_have_the_same_keys_and_every_template_key() -> None:
    hi, en = catalogue("hi"), catalogue("en")
    assert set(hi) == set(en)
    assert message_keys_in_templates() <= set(en)
    # Keys the code names literally (m("key") and message_page(..., "key", ...)).
    code = (HERE / "pages.py").read_text("utf-8")
    literal = set(re.findall(r'\bm\("([a-z_]+)"', code))
    literal |= {
        k
        for call in re.findall(r"message_page\(([^)]*)\)", code)
        for k in re.findall(r'"([a-z_]+)"', call)
    }
    literal |= set(re.findall(r'"(err_[a-z_]+)"', code))
    literal = {k for k in literal if not k.endswith("_")}  # prefixes, checked below
    assert literal and literal <= set(en), literal - set(en)
    assert {f"status_{s.value}" for s in TaskStatus} <= set(en)
    assert {f"finished_{s.value}" for s in TERMINAL} <= set(en)
    assert all(re.search(r"[\u0900-\u097f]", v) for k, v in hi.items() if k.endswith("_heading"))


def test_every_catalogue_placeholder_is_the_same_in_both_languages() -> None:
    hi, en = catalogue("hi"), catalogue("en")
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", hi[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


def test_render_escapes_values_and_messages_but_not_safe_html() -> None:
    m = Messages("en")
    out = render("message.html", m, heading="<b>", text=Safe("<i>ok</i>"), href='"x', link="a&b")
    assert "&lt;b&gt;" in out and "<i>ok</i>" in out and 'href="&quot;x"' in out
    with pytest.raises(KeyError):
        render("message.html", m, heading="h")
    assert m("signed_in_as", name="<script>") == "Signed in as &lt;script&gt;"


def test_ui_languages_are_hindi_first() -> None:
    assert LANGUAGES == ("hi", "en")
    assert (
        json.loads((Path(HERE) / "messages" / "hi.json").read_text("utf-8"))["ack_button"]
        == "स्वीकार करें"
    )


def test_a_pending_login_survives_its_cookie_and_a_tampered_one_does_not() -> None:
    from chalicelib.web.oauth import PendingLogin, authorize_url, challenge_of

    pending = PendingLogin.new("/t/t_abc?x=1")
    assert PendingLogin.from_cookie(pending.cookie_value()) == pending
    for bad in ("", "a.b", "..", "a.b.c.d"):
        assert PendingLogin.from_cookie(bad) is None
    assert PendingLogin.new("/t").state != PendingLogin.new("/t").state
    url = authorize_url("https://auth.example", "client", "https://app/auth/callback", pending)
    assert f"code_challenge={challenge_of(pending.verifier)}" in url
    assert pending.verifier not in url  # only its hash leaves the browser's cookie
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge_of(pending.verifier))
