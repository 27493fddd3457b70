from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.adapters.platforms.rss import lenient_rfc822, parse_rss
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes

FEED = "https://timesofindia.indiatimes.com/rssfeedstopstories.cms"
TOI = parse_rss(event_bytes("rss", "timesofindia_topstories.xml"))


def test_every_item_becomes_one_mention_keyed_by_guid() -> None:
    assert len(TOI) == 48
    assert len({m.key for m in TOI}) == 48
    first = TOI[0]
    assert first.native_id == (
        "https://timesofindia.indiatimes.com/india/kaun-sa-dharm-ganda-hai-bjp-slams-mamata-"
        "banerjee-over-alleged-provocative-speech-on-eid/articleshow/119799583.cms"
    )
    assert first.url == first.native_id


def test_hinglish_headline_with_cdata_description_and_ist_date() -> None:
    first = TOI[0]
    # The title wraps across lines in the XML; the mention reads as one line.
    assert first.text.startswith(
        "'Kaun sa dharm ganda hai?': BJP flays Mamata over 'provocative speech' at Eid event\n\n"
        "West Bengal BJP leader Suvendu Adhikari"
    )
    # Mon, 31 Mar 2025 14:53:56 +0530
    assert first.created_at == datetime(2025, 3, 31, 9, 23, 56, tzinfo=UTC)
    assert first.lang_hint == "en"
    assert (first.author.id, first.author.handle, first.author.name) == (
        FEED,
        "Times of India",
        "TOI NEWS DESK",
    )


def test_empty_cdata_description_leaves_the_title() -> None:
    assert (
        TOI[1].text
        == "'7 states of India': B'desh interim chief Yunus makes shocking offer to China"
    )


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (9, datetime(2025, 3, 30, 7, 11, 13, tzinfo=UTC)),  # "Sun, 30Mar 2025 12:41:13 +0530"
        (35, datetime(2025, 3, 31, 6, 4, 52, tzinfo=UTC)),  # "Mon,31 Mar 2025 11:34:52 +0530"
        (42, datetime(2025, 3, 31, 5, 20, 41, tzinfo=UTC)),  # "Mon, 31 Mar 202510:50:41 +0530"
    ],
)
def test_real_broken_dates_still_read(index: int, expected: datetime) -> None:
    assert TOI[index].created_at == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 31 Mar 2025 14:53:56 +0530", datetime(2025, 3, 31, 9, 23, 56, tzinfo=UTC)),
        ("31 Mar 2025 14:53 GMT", datetime(2025, 3, 31, 14, 53, tzinfo=UTC)),
        ("Tue, 1 Apr 2025 00:10:00 -0400", datetime(2025, 4, 1, 4, 10, tzinfo=UTC)),
        ("Sun, 30Mar 2025 12:41:13 +0530", datetime(2025, 3, 30, 7, 11, 13, tzinfo=UTC)),
        ("30 Foo 2025 12:41:13", None),
        ("31 Feb 2025 12:00:00 +0000", None),
        ("yesterday", None),
    ],
)
def test_lenient_rfc822(value: str, expected: datetime | None) -> None:
    assert lenient_rfc822(value) == expected


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="hi">
  <title>\xe0\xa4\x96\xe0\xa4\xac\xe0\xa4\xb0</title>
  <link rel="self" href="https://news.example.in/atom.xml"/>
  <entry>
    <id>tag:news.example.in,2025:1</id>
    <title>&#2344;&#2375;&#2340;&#2366; &amp; #&#2330;&#2369;&#2344;&#2366;&#2357;</title>
    <link href="https://news.example.in/1"/>
    <updated>2025-04-01T10:00:00+05:30</updated>
    <summary type="html">&lt;p&gt;Para one&lt;/p&gt;&lt;p&gt;Para &lt;b&gt;two&lt;/b&gt; &lt;a href="https://x.example/a"&gt;link&lt;/a&gt;&lt;/p&gt;</summary>
  </entry>
  <entry>
    <id>tag:news.example.in,2025:1</id>
    <title>duplicate guid</title>
    <updated>2025-04-01T11:00:00Z</updated>
  </entry>
</feed>"""


def test_atom_html_summary_is_stripped_and_a_repeated_guid_is_one_story() -> None:
    [m] = parse_rss(ATOM)
    assert m.native_id == "tag:news.example.in,2025:1"
    assert m.text == "नेता & #चुनाव\n\nPara one\n\nPara two link"
    assert m.hashtags == ("चुनाव",)
    assert m.urls == ("https://x.example/a",)
    assert m.created_at == datetime(2025, 4, 1, 4, 30, tzinfo=UTC)
    assert m.lang_hint == "hi"
    assert m.author.id == "https://news.example.in/atom.xml"


def test_undated_item_uses_the_fetch_time_when_given() -> None:
    raw = b"<rss version='2.0'><channel><title>t</title><item><title>a</title><link>https://e.x/1</link></item></channel></rss>"
    with pytest.raises(ParseError) as err:
        parse_rss(raw)
    assert "/item/0/pubDate" in err.value.detail
    now = datetime(2025, 1, 1, tzinfo=UTC)
    [m] = parse_rss(raw, default_time=now)
    assert m.created_at == now


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty input"),
        (b"hello world", "not an RSS or Atom feed"),
        (b'{"json": true}', "not an RSS or Atom feed"),
        (
            b"<rss version='2.0'><channel><item><description>no id</description><pubDate>Mon, 31 Mar 2025 14:53:56 +0530</pubDate></item></channel></rss>",  # noqa: E501
            "guid, a link or a title",
        ),
    ],
)
def test_malformed(raw: bytes, fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_rss(raw)
    assert fragment in err.value.detail
