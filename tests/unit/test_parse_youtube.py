from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.platforms.youtube import (
    parse_youtube,
    verify_websub_signature,
    websub_challenge,
)
from chalicelib.domain.mention import Reference
from chalicelib.errors import AuthenticationError, ParseError
from tests.eventdata import event_bytes


def test_videos_list() -> None:
    [m] = parse_youtube(event_bytes("youtube", "videos_list.json"))
    assert m.key == "youtube#D-lhorsDlUQ"
    assert m.author.id == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert m.author.handle == "Google Developers"
    assert m.created_at == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert m.text.startswith(
        "What are Actions on Google (Assistant on Air)\n\nIn the first episode"
    )
    assert m.lang_hint == "en"
    assert m.urls[:2] == ("http://bit.ly/2YabdS5", "https://goo.gle/2X0nBqG")
    assert m.url == "https://www.youtube.com/watch?v=D-lhorsDlUQ"


def test_search_list_unescapes_titles_and_keys_by_video_id() -> None:
    mentions = parse_youtube(event_bytes("youtube", "search_list.json"))
    assert [m.native_id for m in mentions][:2] == ["gQ_1zX-F_No", "i2hewkFijuY"]
    assert mentions[1].text.startswith("SURFING PERFECT PIPE & BACKDOOR || SUNRISE SHACK!")
    assert mentions[1].author.handle == "Koa Rothman"


def test_activities_without_content_details_find_the_video_id_in_the_thumbnail() -> None:
    mentions = parse_youtube(event_bytes("youtube", "activities_list.json"))
    assert [m.native_id for m in mentions][:2] == ["Du7E0okmNlk", "Yg7woDxIeBY"]
    assert mentions[0].hashtags == ("DevShow",)
    assert mentions[0].created_at == datetime(2019, 10, 31, 21, 0, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("index", "native_id", "text", "hashtags", "urls", "likes"),
    [
        (0, "UgyZ1jqkHKYvi1-ruOZ4AaABAg", "Google.com", (), ("http://google.com/",), 0),
        (
            1,
            "Ugy4OzAuz5uJuFt3FH54AaABAg",
            "Please use CLS on your own search results page..",
            (),
            (),
            1,
        ),
        (
            4,
            None,
            "Lot's of good light coming in from here #ChromeDevSummit the web is evolving",
            ("ChromeDevSummit", "chromedevsummit"),
            (),
            None,
        ),
    ],
)
def test_comment_threads(
    index: int,
    native_id: str | None,
    text: str,
    hashtags: tuple[str, ...],
    urls: tuple[str, ...],
    likes: int | None,
) -> None:
    m = parse_youtube(event_bytes("youtube", "commentThreads_list.json"))[index]
    if native_id is not None:
        assert m.native_id == native_id
    assert m.text.startswith(text)
    assert "<" not in m.text and "&#39;" not in m.text
    assert m.hashtags == hashtags
    assert m.urls == urls
    if likes is not None:
        assert m.metrics["likes"] == likes
    assert m.references == (Reference("reply", "F1UP7wRCPH8"),)


def test_first_comment_author() -> None:
    m = parse_youtube(event_bytes("youtube", "commentThreads_list.json"))[0]
    assert (m.author.id, m.author.handle) == ("UCzj-CjKYmGlZ7vTL-vOe57A", "himani agarwal")
    assert m.created_at == datetime(2019, 11, 26, 15, 51, 44, tzinfo=UTC)


def test_websub_notification() -> None:
    [m] = parse_youtube(event_bytes("youtube", "websub_notification.xml"))
    assert (m.native_id, m.author.id, m.author.handle) == (
        "VIDEO_ID",
        "CHANNEL_ID",
        "Channel title",
    )
    assert m.text == "Video title"
    assert m.created_at == datetime(2015, 3, 6, 21, 40, 57, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"kind": "youtube#playlistListResponse", "items": []}', "/kind"),
        (
            b'{"kind": "youtube#videoListResponse", "items": [{"id": "a", "snippet": {"title": "t"}}]}',  # noqa: E501
            "channelId",
        ),
        (
            b'{"kind": "youtube#videoListResponse", "items": [{"id": "a", "snippet": {"title": "t", "channelId": "c", "publishedAt": "soon"}}]}',  # noqa: E501
            "publishedAt",
        ),
        (b'{"kind": "youtube#videoListResponse", "items": "nope"}', "/items"),
        (
            b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>t</title></entry></feed>",
            "videoId",
        ),
        (b"{", "not JSON"),
    ],
)
def test_malformed(raw: bytes, fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_youtube(raw)
    assert fragment in err.value.detail


TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UC1"


@pytest.mark.parametrize(
    ("params", "ok"),
    [
        ({"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.challenge": "abc"}, True),
        ({"hub.mode": "unsubscribe", "hub.topic": TOPIC, "hub.challenge": "abc"}, False),
        ({"hub.mode": "subscribe", "hub.topic": TOPIC + "2", "hub.challenge": "abc"}, False),
        ({"hub.mode": "subscribe", "hub.topic": TOPIC}, False),
        ({"hub.topic": TOPIC, "hub.challenge": "abc"}, False),
    ],
)
def test_websub_challenge(params: dict[str, str], ok: bool) -> None:
    expected = {TOPIC: "subscribe"}
    if ok:
        assert websub_challenge(params, expected) == params["hub.challenge"]
    else:
        with pytest.raises(AuthenticationError):
            websub_challenge(params, expected)


BODY = event_bytes("youtube", "websub_notification.xml")


def _sig(algo: str, secret: str, body: bytes) -> str:
    return f"{algo}=" + hmac.new(secret.encode(), body, getattr(hashlib, algo)).hexdigest()


@pytest.mark.parametrize(
    ("secret", "header", "body", "ok"),
    [
        ("s", _sig("sha1", "s", BODY), BODY, True),
        ("s", _sig("sha256", "s", BODY), BODY, True),
        ("s", _sig("sha1", "s", BODY).upper().replace("SHA1=", "sha1="), BODY, True),
        ("s", _sig("sha1", "other", BODY), BODY, False),
        ("s", _sig("sha1", "s", BODY), BODY + b" ", False),
        ("s", "md5=" + _sig("sha1", "s", BODY)[5:], BODY, False),
        ("s", None, BODY, False),
        ("", _sig("sha1", "", BODY), BODY, False),
    ],
)
def test_websub_signature(secret: str, header: str | None, body: bytes, ok: bool) -> None:
    if ok:
        verify_websub_signature(secret, header, body)
    else:
        with pytest.raises(AuthenticationError):
            verify_websub_signature(secret, header, body)


DELETED = b"""<feed xmlns:at="http://purl.org/atompub/tombstones/1.0" xmlns="http://www.w3.org/2005/Atom">
  <at:deleted-entry ref="yt:video:VIDEO_ID" when="2015-03-09T19:05:24.552394234+00:00">
    <link href="https://www.youtube.com/watch?v=VIDEO_ID"/>
    <at:by>
     <name>Channel title</name>
     <uri>https://www.youtube.com/channel/CHANNEL_ID</uri>
    </at:by>
  </at:deleted-entry>
</feed>"""


def test_websub_deleted_entry_is_a_deletion_marker() -> None:
    [m] = parse_youtube(DELETED)
    assert (m.key, m.deleted, m.author.id) == ("youtube#VIDEO_ID", True, "CHANNEL_ID")
    assert m.created_at == datetime(2015, 3, 9, 19, 5, 24, 552394, tzinfo=UTC)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (b'ref="yt:video:VIDEO_ID"', b'ref="something-else"', "/ref"),
        (b'when="2015-03-09T19:05:24.552394234+00:00"', b'when="later"', "/when"),
    ],
)
def test_websub_broken_tombstone(old: bytes, new: bytes, fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_youtube(DELETED.replace(old, new))
    assert fragment in err.value.detail
