from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.platforms.telegram import parse_telegram, peer_id
from chalicelib.domain.mention import Reference
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes


def test_channel_post_2018_with_author_signature_and_url_entity() -> None:
    [m] = parse_telegram(
        event_bytes("telegram", "bot_getUpdates_channel_post_2018_author_signature.json")
    )
    assert m.key == "telegram#1241558182:21"
    assert (m.author.id, m.author.name) == ("1241558182", "VVV talk")
    assert m.created_at == datetime(2018, 6, 23, 13, 2, 30, tzinfo=UTC)
    assert m.urls == (
        "https://userinterfacing.com/how-to-improve-on-naming-contexts-in-domain-driven-design/"
        "?utm_campaign=elixir_radar_144&utm_medium=email&utm_source=RD+Station",
    )
    assert m.text.endswith("Phoenix 1.3 更新之后，推荐使用 context")


def test_channel_post_2023_sender_chat() -> None:
    [m] = parse_telegram(event_bytes("telegram", "bot_getUpdates_channel_post_2023.json"))
    assert (m.native_id, m.author.id, m.author.name, m.text) == (
        "1961815317:29",
        "1961815317",
        "testChannel",
        "12",
    )
    assert m.created_at == datetime(2023, 4, 3, 19, 10, 50, tzinfo=UTC)


def test_supergroup_message_author_is_the_user() -> None:
    [m] = parse_telegram(event_bytes("telegram", "bot_getUpdates_supergroup_message_2023.json"))
    assert m.native_id == "1906889117:6"
    assert (m.author.id, m.author.handle, m.author.name) == (
        "214659520",
        "hietotusfloreo",
        "Timur Kulakov",
    )


def test_desktop_export_uses_unix_time_and_flattens_text_parts() -> None:
    mentions = parse_telegram(event_bytes("telegram", "desktop_export_messages_excerpt.json"))
    assert [m.native_id for m in mentions] == [
        "1487851422:46544",
        "1487851422:46545",
        "1487851422:46553",
        "1487851422:46556",
    ]
    first, second, third, fourth = mentions
    # "date" is the exporter's local time (12:18:49); date_unixtime is the truth.
    assert first.created_at == datetime(2023, 1, 7, 6, 48, 49, tzinfo=UTC)
    assert (
        first.text
        == "Aristo Houseware Diamond Plastic Storage Container 4 Pcs Set @116\n\nhttps://amzn.to/3vMu0oi"
    )
    assert first.urls == ("https://amzn.to/3vMu0oi",)
    assert second.mentions == ("1999",)
    assert third.hashtags == ("Myntra",)
    assert third.edit_ids == ("edited:1673082977",)
    assert (
        fourth.text
        == "🎉 Pongal & Sanranti Shopping Store ⚡️ Up to 80% Off\n\nhttps://amzn.to/3Giu0kS"
    )
    assert first.author.name == "TR Facts Deals🔥🔥🔥"


def _update(text: str, entities: list[dict[str, object]], **extra: object) -> str:
    post = {
        "message_id": 7,
        "chat": {
            "id": -1001234567890,
            "title": "नेता",
            "username": "neta_official",
            "type": "channel",
        },
        "date": 1700000000,
        "text": text,
        "entities": entities,
        **extra,
    }
    return json.dumps({"update_id": 1, "channel_post": post}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "entities", "field", "expected"),
    [
        # Offsets count UTF-16 units: the emoji before the hashtag is two of them.
        ("🔥 #किसान", [{"type": "hashtag", "offset": 3, "length": 6}], "hashtags", ("किसान",)),
        ("😀😀 @neta", [{"type": "mention", "offset": 5, "length": 5}], "mentions", ("neta",)),
        (
            "देखें https://e.in/a",
            [{"type": "url", "offset": 6, "length": 14}],
            "urls",
            ("https://e.in/a",),
        ),
        (
            "click",
            [{"type": "text_link", "offset": 0, "length": 5, "url": "https://e.in/b"}],
            "urls",
            ("https://e.in/b",),
        ),
        ("no entities #tag", [], "hashtags", ("tag",)),
    ],
)
def test_bot_entities(
    text: str, entities: list[dict[str, object]], field: str, expected: object
) -> None:
    [m] = parse_telegram(_update(text, entities))
    assert getattr(m, field) == expected
    assert m.url == "https://t.me/neta_official/7"


def test_reply_and_forward_references() -> None:
    raw = _update(
        "re",
        [],
        reply_to_message={"message_id": 5, "chat": {"id": -1001234567890}, "date": 1, "text": "x"},
        forward_origin={"type": "channel", "chat": {"id": -1009999}, "message_id": 3, "date": 1},
    )
    [m] = parse_telegram(raw)
    assert m.references == (Reference("reply", "1234567890:5"), Reference("repost", "9999:3"))


@pytest.mark.parametrize(
    ("chat_id", "expected"),
    [("-1001241558182", "1241558182"), ("214659520", "214659520"), ("-4567", "-4567")],
)
def test_peer_id(chat_id: str, expected: str) -> None:
    assert peer_id(chat_id) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('{"ok": false, "error_code": 401, "description": "Unauthorized"}', "Unauthorized"),
        (
            '{"ok": true, "result": [{"update_id": 1, "channel_post": {"message_id": 1, "date": 1}}]}',  # noqa: E501
            "/chat",
        ),
        (
            '{"ok": true, "result": [{"update_id": 1, "channel_post": {"message_id": 1, "chat": {"id": 1}, "date": "x"}}]}',  # noqa: E501
            "/date",
        ),
        (_update("ab", [{"type": "url", "offset": 1, "length": 5}]), "runs past the text"),
        (
            '[{"id": 1, "type": "message", "from_id": "channel5", "date": "2023-01-07T12:18:49", "text": "x"}]',  # noqa: E501
            "date_unixtime",
        ),
        ('{"what": 1}', "not a Telegram payload"),
    ],
)
def test_malformed(raw: str, fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_telegram(raw)
    assert fragment in err.value.detail
