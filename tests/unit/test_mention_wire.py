from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.platforms.x import parse_x
from chalicelib.domain.mention import (
    Author,
    Mention,
    Reference,
    mention_from_dict,
    mention_to_dict,
)
from tests.eventdata import event_bytes

_text = st.text(max_size=40)
_ids = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(str), st.text(min_size=1, max_size=20)
)
_times = st.datetimes(
    min_value=datetime(2006, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)

mentions = st.builds(
    Mention,
    platform=st.sampled_from(
        ["x", "youtube", "rss", "bluesky", "mastodon", "telegram", "facebook"]
    ),
    native_id=_ids,
    author=st.builds(
        Author, id=_ids, handle=_text, name=_text, followers=st.none() | st.integers(0, 10**9)
    ),
    created_at=_times,
    text=_text,
    url=_text,
    lang_hint=st.none() | st.sampled_from(["hi", "en", "mr"]),
    urls=st.lists(_text, max_size=3).map(tuple),
    hashtags=st.lists(_text, max_size=3).map(tuple),
    mentions=st.lists(_text, max_size=3).map(tuple),
    references=st.lists(
        st.builds(Reference, kind=st.sampled_from(["reply", "quote", "repost"]), id=_ids),
        max_size=3,
    ).map(tuple),
    metrics=st.dictionaries(st.sampled_from(["likes", "reposts", "views"]), st.integers(0, 10**12)),
    withheld_in=st.lists(st.sampled_from(["IN", "DE", "PK"]), max_size=2).map(tuple),
    edit_ids=st.lists(_ids, max_size=3).map(tuple),
    deleted=st.booleans(),
)


@given(mentions)
def test_wire_round_trip(m: Mention) -> None:
    assert mention_from_dict(mention_to_dict(m)) == m


def test_every_parsed_fixture_round_trips_and_times_are_utc() -> None:
    for m in parse_x(event_bytes("x", "user_timeline.json")):
        assert m.created_at.utcoffset() == timedelta(0)
        assert mention_from_dict(mention_to_dict(m)) == m


def test_old_messages_without_deleted_read_as_not_deleted() -> None:
    m = parse_x(event_bytes("x", "tweet_lookup.json"))[0]
    wire = mention_to_dict(m)
    del wire["deleted"]
    assert mention_from_dict(wire).deleted is False
