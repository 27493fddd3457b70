from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.platforms.x import (
    StreamDecoder,
    parse_x,
    parse_x_stream,
    rule_ids,
    snowflake_time,
)
from chalicelib.domain.mention import Reference
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes

TIMELINE = parse_x(event_bytes("x", "user_timeline.json"))
BY_ID = {m.native_id: m for m in TIMELINE}


def test_timeline_keeps_every_post_in_order_with_string_ids() -> None:
    assert [m.native_id for m in TIMELINE][:3] == [
        "1257786232978968578",
        "1257712972564180997",
        "1257712877559037961",
    ]
    assert len(TIMELINE) == 12
    assert all(isinstance(m.native_id, str) and m.native_id.isdigit() for m in TIMELINE)
    assert TIMELINE[0].key == "x#1257786232978968578"


@pytest.mark.parametrize(
    ("native_id", "field", "expected"),
    [
        ("1257786232978968578", "text", "RT @frankgore: #Year16 ✈️✈️✈️"),
        ("1257786232978968578", "hashtags", ("Year16",)),
        ("1257786232978968578", "mentions", ("frankgore",)),
        ("1257786232978968578", "references", (Reference("repost", "1257755870282334208"),)),
        # "und" says nothing about the language: no hint rather than a wrong one.
        ("1257786232978968578", "lang_hint", None),
        ("1257786232978968578", "created_at", datetime(2020, 5, 5, 21, 36, 21, tzinfo=UTC)),
        ("1257712972564180997", "references", (Reference("reply", "1257680252781899776"),)),
        ("1257712972564180997", "mentions", ("BleacherReport", "NBAHistory")),
        ("1257712972564180997", "lang_hint", "en"),
        # X escapes & in text; the mention carries the character itself.
        (
            "1257321286520303624",
            "text",
            "@BoBaskar @BleacherReport @dylaneusher His entire hof speech was about taking "
            "offense to everything & everyone",
        ),
        (
            "1257469520882647040",
            "urls",
            (
                "http://epicstream.com/news/NicoParungo/"
                "Star-Wars-Releases-May-the-4th-Video-to-Inspire-Fans-in-These-Dark-Times",
            ),
        ),
        ("1257712877559037961", "url", "https://x.com/PhillyNEFL/status/1257712877559037961"),
    ],
)
def test_timeline_field_values(native_id: str, field: str, expected: object) -> None:
    assert getattr(BY_ID[native_id], field) == expected


def test_timeline_metrics_and_author_come_from_includes() -> None:
    m = BY_ID["1257712877559037961"]
    assert dict(m.metrics) == {"likes": 0, "reposts": 10842, "replies": 0, "quotes": 0}
    assert (m.author.id, m.author.handle, m.author.name, m.author.followers) == (
        "2351222345",
        "PhillyNEFL",
        "Philly NEFL",
        443,
    )


def test_withheld_countries_and_expanded_urls() -> None:
    [m] = parse_x(event_bytes("x", "tweet_lookup_withheld_IN.json"))
    assert m.native_id == "1388424788171841537"
    assert m.withheld_in == ("IN",)
    assert m.author.handle == "manavjivan"
    assert m.urls[0].startswith("https://www.economist.com/diary/2021/04/30/")


def test_edit_history_ids_are_kept() -> None:
    [m] = parse_x(event_bytes("x", "tweet_lookup.json"))
    assert m.edit_ids == ("1589681856941002753",)
    # The repost's own text stops at "a couple of…"; the original's full text replaces it.
    assert m.text.startswith("RT @S3NT1N3L17: Looking for gaming mutuals")
    assert "a couple of minutes old 😉)\n\nFan of: \n@Xbox" in m.text
    assert m.created_at == datetime(2022, 11, 7, 18, 11, 4, tzinfo=UTC)
    assert m.author.followers == 569


def test_default_fields_take_the_time_from_the_snowflake_id() -> None:
    # The recorded exchange parses whole (its body is the payload) or as the bare body.
    recorded = event_bytes("x", "user_timeline_default_fields_cassette.json")
    mentions = parse_x(recorded)
    assert mentions == parse_x(json.dumps(json.loads(recorded)["body"]))
    assert [m.native_id for m in mentions] == ["1577730467436138524", "1565318587736285184"]
    # The post was made shortly before the recorded response's Date (2022-10-07 22:43 UTC).
    assert mentions[0].created_at == datetime(2022, 10, 5, 18, 40, 30, 908000, tzinfo=UTC)
    assert mentions[1].edit_ids == ("1565318587736285184",)


def test_v11_search_uses_id_str_and_keeps_the_platforms_language_label() -> None:
    mentions = parse_x(event_bytes("x", "v11_search_hi_pappu.json"))
    assert [m.native_id for m in mentions] == [
        "1138358130708901888",
        "1138348920965177345",
        "1138324229592502272",
    ]
    romanized = mentions[2]
    # X calls romanized Hindi "hi": it stays a hint, the analyze stage decides.
    assert romanized.lang_hint == "hi"
    assert romanized.text.startswith("@RahulGandhi strict action lenge tabhi")
    assert romanized.created_at == datetime(2019, 6, 11, 5, 57, 0, tzinfo=UTC)
    assert mentions[1].hashtags == ("Rafale", "Pappu")
    assert mentions[0].references == (Reference("reply", "1138279800617832449"),)
    assert mentions[0].author.followers == 1944


def test_stream_capture_with_a_cut_last_line() -> None:
    raw = event_bytes("x", "filtered_stream_truncated.jsonl").decode()
    result = parse_x_stream(raw)
    assert result.mentions[0].native_id == "1377650090978992134"
    assert len(result.mentions) == 3
    assert result.mentions[0].references == (Reference("quote", "1377640162566496258"),)
    assert result.truncated_tail.startswith('{"data": {"author_id": "1021159080151404544"')
    # The rule id is a JSON number in this capture; it comes out as the exact string.
    assert result.matching_rules[0] == ("1377649934414049282",)
    assert parse_x(raw) == result.mentions


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"matching_rules": [{"id": 1377649934414049282, "tag": None}]}, ("1377649934414049282",)),
        ({"matching_rules": [{"id": "1377649934414049282", "tag": "x"}]}, ("1377649934414049282",)),
        ({"matching_rules": [{"id": 1, "tag": None}, {"id": "2"}]}, ("1", "2")),
        ({"matching_rules": []}, ()),
    ],
)
def test_rule_ids_as_number_or_string(doc: dict[str, object], expected: tuple[str, ...]) -> None:
    assert rule_ids(doc, "") == expected


def test_stream_decoder_keeps_a_partial_line_until_it_completes() -> None:
    line = json.dumps(
        {"data": {"id": "1", "text": "hi", "author_id": "2", "created_at": "2021-04-01T00:00:00Z"}}
    )
    decoder = StreamDecoder()
    first = decoder.feed(line[:25])
    second = decoder.feed(line[25:] + "\n\r\n")
    assert first == []
    assert [doc["data"]["id"] for _, doc in second] == ["1"]
    assert decoder.pending == ""


@given(st.integers(min_value=1, max_value=len("abcdefghij")))
def test_any_split_point_gives_the_same_messages(cut: int) -> None:
    lines = [json.dumps({"data": {"id": str(10**18 + i), "text": "t"}}) for i in range(3)]
    stream = "\r\n".join(lines) + "\r\n"
    cut = min(cut * 7, len(stream) - 1)
    decoder = StreamDecoder()
    docs = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
    assert [d["data"]["id"] for _, d in docs] == [str(10**18 + i) for i in range(3)]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # v2 compliance stream
        (
            {
                "data": {
                    "delete": {
                        "tweet": {"id": "1600000000000000000", "author_id": "9"},
                        "event_at": "2023-01-01T00:00:00.000Z",
                    }
                }
            },
            ("1600000000000000000", "9", datetime(2023, 1, 1, tzinfo=UTC)),
        ),
        # v1.1 status delete notice
        (
            {
                "delete": {
                    "status": {"id_str": "1138358130708901888", "user_id_str": "77"},
                    "timestamp_ms": "1560240702000",
                }
            },
            ("1138358130708901888", "77", datetime(2019, 6, 11, 8, 11, 42, tzinfo=UTC)),
        ),
        # batch compliance job line
        (
            {
                "id": "1388424788171841537",
                "action": "delete",
                "redacted_at": "2021-06-01T10:00:00.000Z",
            },
            ("1388424788171841537", "", datetime(2021, 6, 1, 10, tzinfo=UTC)),
        ),
    ],
)
def test_deletions_become_markers(
    payload: dict[str, object], expected: tuple[str, str, datetime]
) -> None:
    [m] = parse_x(json.dumps(payload))
    assert m.deleted
    assert (m.native_id, m.author.id, m.created_at) == expected
    assert m.text == ""


@pytest.mark.parametrize(
    ("raw", "loc_fragment"),
    [
        (b"", "empty input"),
        (b"not json at all", "not JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (
            b'{"data": [{"id": 8.26e+17, "text": "lossy", "created_at": "2016-01-01T00:00:00Z"}]}',
            "/data/0/id",
        ),
        (b'{"data": [{"text": "no id", "created_at": "2016-01-01T00:00:00Z"}]}', "/data/0/id"),
        (b'{"data": [{"id": "12", "text": "old id, no time"}]}', "/data/0/created_at"),
        (
            b'{"data": [{"id": "1257786232978968578", "text": "x", "created_at": "yesterday"}]}',
            "/data/0/created_at",
        ),
        (b'{"data": "oops"}', "/data"),
        (b'{"something": "else"}', "not an X payload"),
        (
            b'[{"id_str": "1", "created_at": "Tue Jun 11 08:11:42 +0000 2019", "text": "x"}]',
            "/0/user",
        ),
        (b'{"data": [{"id": true, "text": "x"}]}', "/data/0/id"),
    ],
)
def test_malformed_input_is_a_parse_error_naming_the_place(raw: bytes, loc_fragment: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_x(raw)
    assert loc_fragment in err.value.detail


@pytest.mark.parametrize(
    ("tweet_id", "expected"),
    [
        ("1577730467436138524", datetime(2022, 10, 5, 18, 40, 30, 908000, tzinfo=UTC)),
        ("1388424788171841537", datetime(2021, 5, 1, 9, 27, 19, 770000, tzinfo=UTC)),
        ("20", None),  # 2006: sequential ids carry no time
        ("abc", None),
    ],
)
def test_snowflake_time(tweet_id: str, expected: datetime | None) -> None:
    got = snowflake_time(tweet_id)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert abs((got - expected).total_seconds()) < 1


@given(st.integers(min_value=2**53 + 1, max_value=2**63 - 1))
def test_ids_beyond_float_precision_survive_exactly(n: int) -> None:
    raw = json.dumps({"data": [{"id": n, "text": "t", "created_at": "2021-01-01T00:00:00Z"}]})
    [m] = parse_x(raw)
    assert m.native_id == str(n)


def test_a_cut_pretty_printed_document_reports_the_document_error() -> None:
    raw = event_bytes("x", "tweet_lookup.json")[:300]
    with pytest.raises(ParseError) as err:
        parse_x(raw)
    assert err.value.detail.startswith("x: not JSON")
