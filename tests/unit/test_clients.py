"""The real clients over an in-memory transport that replays recorded bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from chalicelib.adapters.platforms.facebook import FacebookPageClient
from chalicelib.adapters.platforms.http import HttpResponse
from chalicelib.adapters.platforms.rss import FeedClient
from chalicelib.adapters.platforms.telegram import TelegramBotClient
from chalicelib.adapters.platforms.x import XClient
from chalicelib.adapters.platforms.youtube import YouTubeClient
from chalicelib.errors import RateLimitedError, UpstreamError
from tests.eventdata import event_bytes

NOW = 1_743_400_000.0  # 2025-03-31 05:46:40 UTC


class ReplayTransport:
    """Answers requests in order from a list of responses, recording what was asked."""

    def __init__(self, *responses: HttpResponse) -> None:
        self.responses = list(responses)
        self.sent: list[tuple[str, dict[str, str]]] = []

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        self.sent.append((url, dict(headers or {})))
        return self.responses.pop(0)


def _page(ids: list[str], next_token: str | None) -> HttpResponse:
    doc: dict[str, object] = {
        "data": [{"id": i, "text": f"t{i}", "author_id": "9"} for i in ids],
        "meta": {"result_count": len(ids), "newest_id": ids[0], "oldest_id": ids[-1]},
    }
    if next_token:
        doc["meta"]["next_token"] = next_token  # type: ignore[index]
    return HttpResponse(200, json.dumps(doc).encode())


def test_x_resumes_an_unfinished_pagination_on_the_next_poll() -> None:
    base = 1600000000000000000
    ids = [str(base + n) for n in (6, 5, 4, 3, 2, 1)]
    transport = ReplayTransport(_page(ids[:2], "t2"), _page(ids[2:4], "t4"), _page(ids[4:], None))
    client = XClient(transport, "tok", base_url="https://x.test", max_pages=2)
    first = client.fetch("9", {"since_id": str(base)})
    assert [m.native_id for m in first.mentions] == ids[:4]
    assert first.cursor == {
        "pagination_token": "t4",
        "since_id": str(base),
        "pending_newest": ids[0],
    }
    second = client.fetch("9", first.cursor)
    assert [m.native_id for m in second.mentions] == ids[4:]
    assert second.cursor == {"since_id": ids[0]}
    assert "pagination_token=t4" in transport.sent[2][0]
    assert transport.sent[0][1]["Authorization"] == "Bearer tok"


def test_x_posts_reach_no_float_on_the_way() -> None:
    big = 2**63 - 25
    body = json.dumps(
        {
            "data": [{"id": big, "text": "t", "author_id": 9}],
            "meta": {"result_count": 1, "newest_id": big},
        }
    )
    client = XClient(
        ReplayTransport(HttpResponse(200, body.encode())), "tok", base_url="https://x.test"
    )
    result = client.fetch("9", {})
    assert result.mentions[0].native_id == str(big)
    assert result.cursor == {"since_id": str(big)}


def test_youtube_quota_exhaustion_waits_for_the_daily_reset() -> None:
    body = b'{"error": {"code": 403, "errors": [{"reason": "quotaExceeded"}]}}'
    client = YouTubeClient(ReplayTransport(HttpResponse(403, body)), "k", clock=lambda: NOW)
    with pytest.raises(RateLimitedError) as err:
        client.fetch("UC1", {})
    assert err.value.retry_at == 1_743_408_000.0  # 2025-03-31 08:00 UTC


def test_youtube_lookups_and_comments() -> None:
    transport = ReplayTransport(
        HttpResponse(200, event_bytes("youtube", "videos_list.json")),
        HttpResponse(200, event_bytes("youtube", "commentThreads_list.json")),
    )
    client = YouTubeClient(transport, "k", base_url="https://yt.test/youtube/v3")
    assert [m.native_id for m in client.videos(["D-lhorsDlUQ"])] == ["D-lhorsDlUQ"]
    comments, token = client.comment_threads("F1UP7wRCPH8")
    assert len(comments) == 5 and token is None
    assert transport.sent[0][0].startswith(
        "https://yt.test/youtube/v3/videos?part=snippet%2Cstatistics"
    )
    assert "key=k" in transport.sent[1][0]


@pytest.mark.parametrize(
    ("cursor", "response_headers", "sent_headers", "new_cursor"),
    [
        (
            {},
            {"etag": '"a"', "last-modified": "Mon, 31 Mar 2025 10:00:00 GMT"},
            {},
            {"etag": '"a"', "last_modified": "Mon, 31 Mar 2025 10:00:00 GMT"},
        ),
        ({"etag": '"a"'}, {}, {"If-None-Match": '"a"'}, {}),
        (
            {"last_modified": "X"},
            {"last-modified": "Y"},
            {"If-Modified-Since": "X"},
            {"last_modified": "Y"},
        ),
    ],
)
def test_feed_validators(
    cursor: dict[str, str],
    response_headers: dict[str, str],
    sent_headers: dict[str, str],
    new_cursor: dict[str, str],
) -> None:
    transport = ReplayTransport(
        HttpResponse(200, event_bytes("rss", "timesofindia_topstories.xml"), response_headers)
    )
    result = FeedClient(transport, clock=lambda: NOW).fetch("https://toi.test/feed", cursor)
    assert len(result.mentions) == 48
    assert result.cursor == new_cursor
    for name, value in sent_headers.items():
        assert transport.sent[0][1][name] == value


def test_feed_304_keeps_the_cursor() -> None:
    result = FeedClient(ReplayTransport(HttpResponse(304))).fetch(
        "https://toi.test/feed", {"etag": '"a"'}
    )
    assert (result.not_modified, result.mentions, result.cursor) == (True, [], {"etag": '"a"'})


def test_telegram_offset_confirms_seen_updates() -> None:
    transport = ReplayTransport(
        HttpResponse(200, event_bytes("telegram", "bot_getUpdates_channel_post_2023.json"))
    )
    result = TelegramBotClient(transport, "1:t", base_url="https://tg.test").fetch("bot", {})
    assert result.cursor == {"offset": "115121084"}
    assert transport.sent[0][0].startswith("https://tg.test/bot1:t/getUpdates?")


def test_facebook_is_off_unless_enabled() -> None:
    client = FacebookPageClient(ReplayTransport(), "token", enabled=False)
    with pytest.raises(UpstreamError):
        client.fetch("4", {})


def test_facebook_cursor_is_the_newest_post_plus_one_second() -> None:
    transport = ReplayTransport(
        HttpResponse(200, event_bytes("facebook", "page_posts_fields.json")),
        HttpResponse(200, b'{"data": [], "paging": {}}'),
    )
    client = FacebookPageClient(transport, "token", enabled=True, base_url="https://fb.test/v19.0")
    result = client.fetch("4", {})
    assert len(result.mentions) == 5
    assert result.cursor == {"since": str(1625428258 + 1)}  # 2021-07-04T19:50:58+0000
    # The second request follows paging.next verbatim; an empty page ends the walk.
    assert transport.sent[1][0].startswith("https://graph.facebook.com/v10.0/4/posts?")
    assert len(transport.sent) == 2
