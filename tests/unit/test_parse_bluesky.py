from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.platforms.bluesky import parse_bluesky, post_url
from chalicelib.domain.mention import Reference
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes

POST = "at://did:plc:q235v55g5unth4zjjdpacfdr/app.bsky.feed.post/3mmoojp4cd223"


def test_jetstream_post_commit() -> None:
    [m] = parse_bluesky(event_bytes("bluesky", "jetstream_post_commit.json"))
    assert m.native_id == POST
    assert m.author.id == "did:plc:q235v55g5unth4zjjdpacfdr"
    assert m.text == "Try RSV for a good time !!"
    assert m.lang_hint == "en"
    assert m.created_at == datetime(2026, 5, 25, 14, 23, 28, 757000, tzinfo=UTC)
    assert m.references == (
        Reference(
            "reply", "at://did:plc:j76trmiofvaxxpvx2vnb2vwf/app.bsky.feed.post/3mmojbrjwbs26"
        ),
    )
    assert m.url == "https://bsky.app/profile/did:plc:q235v55g5unth4zjjdpacfdr/post/3mmoojp4cd223"


def test_jetstream_lines_keep_posts_and_ignore_likes_follows_profiles_and_identity() -> None:
    mentions = parse_bluesky(event_bytes("bluesky", "jetstream_events.jsonl"))
    assert [m.native_id for m in mentions] == [POST]


def _event(operation: str, collection: str = "app.bsky.feed.post") -> dict[str, object]:
    commit: dict[str, object] = {
        "rev": "r",
        "operation": operation,
        "collection": collection,
        "rkey": "3abc",
    }
    if operation != "delete":
        commit["record"] = {
            "$type": collection,
            "createdAt": "2026-05-25T14:23:28.757Z",
            "text": "नमस्ते",
        }
    return {"did": "did:plc:aaa", "time_us": 1779719009153272, "kind": "commit", "commit": commit}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_event("create"), [("at://did:plc:aaa/app.bsky.feed.post/3abc", False, "नमस्ते")]),
        (_event("update"), [("at://did:plc:aaa/app.bsky.feed.post/3abc", False, "नमस्ते")]),
        (_event("delete"), [("at://did:plc:aaa/app.bsky.feed.post/3abc", True, "")]),
        (_event("delete", "app.bsky.feed.like"), []),
        (_event("create", "app.bsky.graph.follow"), []),
        ({"did": "did:plc:aaa", "time_us": 1, "kind": "identity", "identity": {}}, []),
    ],
)
def test_jetstream_operations(
    event: dict[str, object], expected: list[tuple[str, bool, str]]
) -> None:
    got = parse_bluesky(json.dumps(event, ensure_ascii=False))
    assert [(m.native_id, m.deleted, m.text) for m in got] == expected


def test_jetstream_delete_is_dated_by_time_us() -> None:
    [m] = parse_bluesky(json.dumps(_event("delete")))
    assert m.created_at == datetime(2026, 5, 25, 14, 23, 29, 153272, tzinfo=UTC)


def test_author_feed_skips_reposts_and_reads_facets() -> None:
    first, second = parse_bluesky(event_bytes("bluesky", "getAuthorFeed_constructed.json"))
    assert (
        first.native_id == "at://did:plc:tvaritleader0000000000a/app.bsky.feed.post/3mmq2example1"
    )
    assert (first.author.handle, first.author.name) == ("leader.example.in", "नेता जी")
    assert first.hashtags == ("किसान_सम्मान",)
    assert first.urls == ("https://example.in/yojana",)
    assert first.lang_hint == "hi"
    assert dict(first.metrics) == {"likes": 57, "reposts": 12, "replies": 4, "quotes": 1}
    assert first.url == "https://bsky.app/profile/leader.example.in/post/3mmq2example1"
    # +05:30 in the record becomes UTC.
    assert second.created_at == datetime(2026, 5, 24, 13, 10, tzinfo=UTC)
    assert [r.kind for r in second.references] == ["reply", "quote"]
    assert second.mentions == ("did:plc:someoneelse000000000000b",)


@pytest.mark.parametrize(
    ("uri", "handle", "expected"),
    [
        ("at://did:plc:a/app.bsky.feed.post/3x", "", "https://bsky.app/profile/did:plc:a/post/3x"),
        ("at://did:plc:a/app.bsky.feed.post/3x", "a.in", "https://bsky.app/profile/a.in/post/3x"),
        ("garbage", "", ""),
    ],
)
def test_post_url(uri: str, handle: str, expected: str) -> None:
    assert post_url(uri, handle) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty input"),
        ('{"hello": 1}', "not a Bluesky payload"),
        (
            json.dumps(
                {
                    **_event("create"),
                    "commit": {
                        "operation": "create",
                        "collection": "app.bsky.feed.post",
                        "rkey": "k",
                    },
                }
            ),
            "/commit/record",
        ),
        (
            json.dumps(
                {
                    **_event("create"),
                    "commit": {
                        "operation": "explode",
                        "collection": "app.bsky.feed.post",
                        "rkey": "k",
                    },
                }
            ),
            "unknown operation",
        ),
        (
            '{"feed": [{"post": {"uri": "at://x", "author": {"did": "d"}, "record": {"text": "t"}}}]}',  # noqa: E501
            "createdAt",
        ),
        ('{"feed": [{"notpost": 1}]}', "/feed/0/post"),
    ],
)
def test_malformed(raw: str, fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_bluesky(raw)
    assert fragment in err.value.detail
