from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.adapters.platforms.facebook import parse_facebook
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes


def test_page_posts_default_fields() -> None:
    mentions = parse_facebook(event_bytes("facebook", "page_posts_fields.json"))
    assert [m.native_id for m in mentions][:2] == ["4_10113477241177441", "4_10113449068715281"]
    first = mentions[0]
    assert first.text == "Happy July 4th! 🇺🇸"
    assert first.author.id == "4"
    # +0000 without a colon, as the Graph API writes it.
    assert first.created_at == datetime(2021, 7, 4, 19, 50, 58, tzinfo=UTC)
    assert first.url == "https://www.facebook.com/4/posts/10113477241177441"


def test_page_feed_with_metrics_tags_and_permalink() -> None:
    first = parse_facebook(event_bytes("facebook", "page_feed_default_fields.json"))[0]
    assert first.native_id == "19292868552_10158349356748553"
    assert dict(first.metrics) == {"shares": 10, "comments": 13, "reactions": 125, "likes": 119}
    assert first.mentions == ("Ninja Van Singapore", "Messenger")
    assert first.urls == ("https://fb.me/Ninja-Van-Success-Story",)
    assert first.url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert first.edit_ids == ("updated:2021-07-12T01:03:23+0000",)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (
            '{"error": {"message": "(#10) To use Page Public Content Access", "code": 10}}',
            "Page Public Content Access",
        ),
        (
            '{"data": [{"message": "no id", "created_time": "2021-07-04T19:50:58+0000"}]}',
            "/data/0/id",
        ),
        ('{"data": [{"id": "1_2", "created_time": "July 4th"}]}', "/data/0/created_time"),
        ('{"data": {"id": "1_2"}}', "/data"),
        ('{"paging": {}}', "no data member"),
    ],
)
def test_malformed(raw: str, fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_facebook(raw)
    assert fragment in err.value.detail
