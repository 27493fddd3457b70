from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.platforms.mastodon import parse_mastodon
from chalicelib.domain.mention import Reference
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes

STATUS = json.loads(event_bytes("mastodon", "status.json"))


def test_status_html_is_stripped_keeping_the_link_text() -> None:
    [m] = parse_mastodon(event_bytes("mastodon", "status.json"))
    assert m.native_id == "https://mastodon.social/users/Gargron/statuses/103270115826048975"
    assert m.text == (
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
    )
    assert (m.author.id, m.author.handle, m.author.name, m.author.followers) == (
        "1",
        "Gargron",
        "Eugen",
        322930,
    )
    assert m.created_at == datetime(2019, 12, 8, 3, 48, 33, 901000, tzinfo=UTC)
    assert dict(m.metrics) == {"likes": 11, "reposts": 6, "replies": 5, "quotes": 2}
    assert m.url == "https://mastodon.social/@Gargron/103270115826048975"
    assert m.lang_hint == "en"
    assert m.urls == (
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code",
    )


def test_streaming_update_reply_with_mention() -> None:
    [m] = parse_mastodon(event_bytes("mastodon", "streaming_update_event.txt"))
    assert m.text == "@disarray glad i was able to help"
    assert m.mentions == ("disarray@pl.nulled.red",)
    assert m.urls == ()  # the mention's profile link is not a content URL
    assert m.references == (Reference("reply", "108914298452377720"),)
    assert m.lang_hint is None
    assert m.author.handle == "freon@letsalllovela.in"


def _status(**overrides: object) -> dict[str, object]:
    return {**STATUS, **overrides}


@pytest.mark.parametrize(
    ("status", "field", "expected"),
    [
        (
            _status(
                content="<p>चुनाव &amp; <a href='https://m.s/tags/x' class='hashtag'>#<span>किसान</span></a></p>",  # noqa: E501
                tags=[{"name": "किसान"}],
            ),
            "hashtags",
            ("किसान",),
        ),
        (
            _status(content="<p>line one<br>line two</p><p>para</p>"),
            "text",
            "line one\nline two\n\npara",
        ),
        (
            _status(content="<p>hidden</p>", spoiler_text="CW politics"),
            "text",
            "CW politics\n\nhidden",
        ),
        (
            _status(edited_at="2020-01-01T00:00:00.000Z"),
            "edit_ids",
            ("edited:2020-01-01T00:00:00.000Z",),
        ),
        (
            _status(
                reblog={**STATUS, "uri": "https://a.example/statuses/9", "content": "<p>orig</p>"}
            ),
            "references",
            (Reference("repost", "https://a.example/statuses/9"),),
        ),
        (
            _status(
                reblog={**STATUS, "uri": "https://a.example/statuses/9", "content": "<p>orig</p>"}
            ),
            "text",
            "orig",
        ),
        (
            _status(quote={"state": "accepted", "quoted_status": {"uri": "https://q.example/1"}}),
            "references",
            (Reference("quote", "https://q.example/1"),),
        ),
    ],
)
def test_status_variants(status: dict[str, object], field: str, expected: object) -> None:
    [m] = parse_mastodon(json.dumps(status, ensure_ascii=False))
    assert getattr(m, field) == expected


def test_account_statuses_array() -> None:
    mentions = parse_mastodon(event_bytes("mastodon", "account_statuses_constructed.json"))
    assert [m.author.id for m in mentions] == ["464472", "1"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{", "not JSON"),
        (json.dumps({k: v for k, v in STATUS.items() if k != "account"}), "/account"),
        (json.dumps({k: v for k, v in STATUS.items() if k != "uri"}), "/uri"),
        (json.dumps(_status(created_at="never")), "/created_at"),
        ("event: update\ndata: {not json}\n\n", "not JSON"),
        ("[1, 2]", "/0"),
    ],
)
def test_malformed(raw: str, fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_mastodon(raw)
    assert fragment in err.value.detail
