"""YouTube uploads-playlist polling: the parser over the recorded playlistItems.list response,
and the client's paging and cursor over replayed pages."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chalicelib.adapters.platforms.http import HttpResponse
from chalicelib.adapters.platforms.youtube import (
    UNITS,
    YouTubeClient,
    parse_youtube,
    uploads_playlist_id,
)
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes
from tests.unit.test_clients import ReplayTransport

RECORDED = json.loads(event_bytes("youtube", "playlistItems_list.json"))


def test_the_recorded_playlist_items_parse_into_their_videos() -> None:
    mentions = parse_youtube(event_bytes("youtube", "playlistItems_list.json"))
    assert [(m.key, m.created_at.isoformat()) for m in mentions] == [
        ("youtube#H1HZyvc0QnI", "2019-05-11T00:27:38+00:00"),
        ("youtube#5NgsfxIWNls", "2019-05-11T00:52:10+00:00"),
    ]
    first = mentions[0]
    assert first.author.id == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert first.author.handle == "Google Developers"
    assert first.text.startswith("Google I/O'19 - I/O Live (Day 1 Composite)\n\nRelive")
    assert first.url == "https://www.youtube.com/watch?v=H1HZyvc0QnI"
    assert "https://goo.gle/io19allsessions" in first.urls


def _item(video_id: str, published: str, **snippet: Any) -> dict[str, Any]:
    item = copy.deepcopy(RECORDED["items"][0])
    item["snippet"]["resourceId"]["videoId"] = video_id
    item["snippet"].update(snippet)
    item["contentDetails"] = {"videoId": video_id, "videoPublishedAt": published}
    return item


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # contentDetails' videoPublishedAt is the video's time, not the playlist's.
        (_item("v1", "2024-01-02T03:04:05Z"), ("youtube#v1", "2024-01-02T03:04:05+00:00")),
        (
            _item("v2", "2024-01-02T03:04:05Z", videoOwnerChannelId="UCowner"),
            ("youtube#v2", "2024-01-02T03:04:05+00:00"),
        ),
        # A private or deleted video stays listed without anything to read.
        (
            {
                **_item("v3", ""),
                "contentDetails": {"videoId": "v3"},
                "snippet": {**RECORDED["items"][0]["snippet"], "title": "Private video"},
            },
            None,
        ),
    ],
)
def test_playlist_item_rows(item: dict[str, Any], expected: tuple[str, str] | None) -> None:
    doc = {"kind": "youtube#playlistItemListResponse", "items": [item]}
    mentions = parse_youtube(json.dumps(doc))
    if expected is None:
        assert mentions == []
    else:
        assert [(m.key, m.created_at.isoformat()) for m in mentions] == [expected]


def test_an_item_without_a_video_id_names_the_place() -> None:
    item = copy.deepcopy(RECORDED["items"][0])
    del item["snippet"]["resourceId"]["videoId"]
    doc = {"kind": "youtube#playlistItemListResponse", "items": [item]}
    with pytest.raises(ParseError, match="/items/0/snippet/resourceId/videoId"):
        parse_youtube(json.dumps(doc))


def _page(items: list[dict[str, Any]], token: str | None = None) -> HttpResponse:
    doc: dict[str, Any] = {"kind": "youtube#playlistItemListResponse", "items": items}
    if token:
        doc["nextPageToken"] = token
    return HttpResponse(200, json.dumps(doc).encode())


def test_the_client_reads_the_uploads_playlist_and_stops_at_what_it_has_seen() -> None:
    newest_first = [_item(f"v{n}", f"2024-01-{n:02d}T00:00:00Z") for n in range(9, 0, -1)]
    transport = ReplayTransport(
        _page(newest_first[:3]),  # first poll: one page, no backfill
        _page(newest_first[:2], "p2"),  # nothing newer than v9 yet: page 1 reaches it
        _page([_item("v11", "2024-01-11T00:00:00Z"), _item("v10", "2024-01-10T00:00:00Z")], "p2"),
        _page(newest_first[:2], "p3"),
    )
    client = YouTubeClient(transport, "k", base_url="https://yt.test/youtube/v3")
    first = client.fetch("UC_channel", {})
    assert [m.native_id for m in first.mentions] == ["v9", "v8", "v7"]
    assert first.cursor == {"playlist_after": "2024-01-09T00:00:00Z"}
    assert first.units == UNITS["playlistItems.list"] == 1
    assert "playlistId=UU_channel" in transport.sent[0][0]
    again = client.fetch("UC_channel", first.cursor)
    assert [m.native_id for m in again.mentions] == ["v9"]  # the inclusive edge, same key
    assert again.units == 1
    newer = client.fetch("UC_channel", again.cursor)
    # Two new uploads fill page 1; page 2 reaches the cursor, and paging stops there.
    assert [m.native_id for m in newer.mentions] == ["v11", "v10", "v9"]
    assert (newer.units, newer.cursor) == (2, {"playlist_after": "2024-01-11T00:00:00Z"})
    assert "pageToken=p2" in transport.sent[3][0]


def test_a_cursor_of_the_activities_poller_carries_over() -> None:
    transport = ReplayTransport(_page([_item("v2", "2024-01-02T00:00:00Z")]))
    client = YouTubeClient(transport, "k")
    result = client.fetch("UCx", {"published_after": "2024-01-03T00:00:00Z"})
    assert result.mentions == []
    assert result.cursor == {"playlist_after": "2024-01-03T00:00:00Z"}


@pytest.mark.parametrize(
    ("channel", "playlist"),
    [("UC_x5XG1OV2P6uZZ5FSM9Ttw", "UU_x5XG1OV2P6uZZ5FSM9Ttw"), ("X1", "X1")],
)
def test_uploads_playlist_id(channel: str, playlist: str) -> None:
    assert uploads_playlist_id(channel) == playlist
