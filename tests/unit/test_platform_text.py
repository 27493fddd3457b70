from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.platforms._common import (
    as_id,
    find_hashtags,
    find_mentions,
    find_urls,
    html_to_text,
    html_to_text_and_links,
)
from chalicelib.adapters.platforms.telegram import verify_webhook_secret
from chalicelib.adapters.platforms.youtube import quota_reset_after
from chalicelib.errors import AuthenticationError, ParseError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#किसान_आंदोलन जारी", ("किसान_आंदोलन",)),  # matras and virama stay in the tag
        ("नमस्ते #मोदी_जी और #BJP4India", ("मोदी_जी", "BJP4India")),
        ("#ਪੰਜਾਬ #বাংলা #தமிழ்", ("ਪੰਜਾਬ", "বাংলা", "தமிழ்")),
        ("price #1 and #2024", ()),  # all-digit tags are numbers, not hashtags
        ("a#b c&#39;s https://e.in/#frag", ()),
        ("#dup #dup #Dup", ("dup", "Dup")),
        ("", ()),
    ],
)
def test_find_hashtags(text: str, expected: tuple[str, ...]) -> None:
    assert find_hashtags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@RahulGandhi ji aur @narendramodi.", ("RahulGandhi", "narendramodi")),
        ("mail me a@b.com", ()),
        ("@user@mastodon.social hi", ("user@mastodon.social",)),
        ("@ alone", ()),
    ],
)
def test_find_mentions(text: str, expected: tuple[str, ...]) -> None:
    assert find_mentions(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://e.in/a.", ("https://e.in/a",)),
        ("(https://e.in/b) and http://x.y/z?q=1", ("https://e.in/b", "http://x.y/z?q=1")),
        ("देखें:https://e.in/योजना…", ("https://e.in/योजना",)),
        ("no links", ()),
    ],
)
def test_find_urls(text: str, expected: tuple[str, ...]) -> None:
    assert find_urls(text) == expected


@pytest.mark.parametrize(
    ("html", "text", "links"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb", ()),
        ("a<br>b<br/>c", "a\nb\nc", ()),
        ("Tom &amp; Jerry &#39;s &lt;3", "Tom & Jerry 's <3", ()),
        ('<a href="https://e.in">e.in</a> <script>x()</script>ok', "e.in ok", ("https://e.in",)),
        ("<p>नमस्ते <b>भारत</b></p>", "नमस्ते भारत", ()),
        ("plain text", "plain text", ()),
        ("<p></p><p>  </p><p>x</p>", "x", ()),
    ],
)
def test_html_to_text(html: str, text: str, links: tuple[str, ...]) -> None:
    assert html_to_text_and_links(html) == (text, links)


@given(st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=60))
def test_text_without_markup_is_only_trimmed(text: str) -> None:
    assert html_to_text(text) == text.strip()


@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=10), max_size=5)
)
def test_tags_never_survive(parts: list[str]) -> None:
    html = "".join(f"<p><b>{p}</b></p>" for p in parts)
    out = html_to_text(html)
    assert "<p>" not in out and "<b>" not in out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123", "123"),
        (1257786232978968578, "1257786232978968578"),
        (" 9 ", "9"),
        ("did:plc:x", "did:plc:x"),
    ],
)
def test_as_id_accepts_strings_and_exact_integers(value: object, expected: str) -> None:
    assert as_id(value, "/id") == expected


@pytest.mark.parametrize("value", [8.26e17, 1.0, True, None, "", [], {}])
def test_as_id_refuses_floats_and_non_ids(value: object) -> None:
    with pytest.raises(ParseError):
        as_id(value, "/id")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 4, 1, 7, 59, tzinfo=UTC), datetime(2025, 4, 1, 8, 0, tzinfo=UTC)),
        (datetime(2025, 4, 1, 8, 0, tzinfo=UTC), datetime(2025, 4, 2, 8, 0, tzinfo=UTC)),
        (datetime(2025, 4, 1, 23, 0, tzinfo=UTC), datetime(2025, 4, 2, 8, 0, tzinfo=UTC)),
    ],
)
def test_youtube_quota_resets_at_pacific_midnight(now: datetime, expected: datetime) -> None:
    assert quota_reset_after(now.timestamp()) == expected.timestamp()


@pytest.mark.parametrize(
    ("expected", "header", "ok"),
    [
        ("s3cret", "s3cret", True),
        ("s3cret", "S3CRET", False),
        ("s3cret", None, False),
        ("", "", False),
    ],
)
def test_telegram_webhook_secret(expected: str, header: str | None, ok: bool) -> None:
    if ok:
        verify_webhook_secret(expected, header)
    else:
        with pytest.raises(AuthenticationError):
            verify_webhook_secret(expected, header)
