from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.incidents import IncidentProbe, signature
from tests.factories import T0
from tests.fakes import InMemoryIncidentIndex

TEXT = "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। पंजाब गोवा में तो जम के बँटा"


@pytest.fixture(params=["memory", "dynamo"])
def index(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryIncidentIndex()
    request.getfixturevalue("tables")
    from chalicelib.adapters.dynamo.incidents import DynamoIncidentIndex

    return DynamoIncidentIndex()


def probe(
    key: str, text: str, leader: str = "kejriwal", hours: float = 0, **kw: Any
) -> IncidentProbe:
    return IncidentProbe(
        mention_key=key,
        leader_id=leader,
        query_ids=kw.pop("query_ids", ("q-demonetisation",)),
        signature=signature(text),
        at=T0 + timedelta(hours=hours),
        **kw,
    )


def test_incident_decisions(index: Any) -> None:
    first = index.assign(probe("x#1", TEXT))
    assert first.reason == "new"
    assert index.incident_of("x#1") == first.incident_key
    repost = index.assign(probe("x#2", "RT @AamAadmiParty: " + TEXT, leader="someone"))
    assert (repost.incident_key, repost.reason) == (first.incident_key, "near_duplicate")
    quote = index.assign(
        probe("x#3", "Shame!", leader="other", query_ids=("q-x",), references=("x#1",))
    )
    assert (quote.incident_key, quote.reason) == (first.incident_key, "reference")
    same = index.assign(probe("x#4", "बिल्कुल अलग बात है यह, कोई संबंध नहीं", hours=3))
    assert (same.incident_key, same.reason) == (first.incident_key, "same_leader_query")
    later = index.assign(probe("x#5", "बिल्कुल अलग बात है यह, कोई संबंध नहीं", hours=30))
    # Outside the 6-hour window of the incident's last mention: a new incident.
    assert later.reason == "new"
    assert later.incident_key != first.incident_key
    other = index.assign(
        probe("x#6", "Completely unrelated words here today", leader="modi", hours=40)
    )
    assert other.reason == "new"
    assert other.incident_key != first.incident_key
    assert index.incident_of("x#missing") is None


def test_an_incident_reads_back_with_its_mentions(index: Any) -> None:
    first = index.assign(probe("x#1", TEXT))
    index.assign(probe("x#2", "RT @AamAadmiParty: " + TEXT, hours=1, query_ids=("q-other",)))
    record = index.get(first.incident_key)
    assert record is not None
    assert (record.incident_key, record.leader_id) == (first.incident_key, "kejriwal")
    assert record.query_ids == ("q-demonetisation", "q-other")
    assert (record.first_seen, record.last_seen) == (T0, T0 + timedelta(hours=1))
    assert record.mention_keys == ("x#1", "x#2")
    assert index.get("inc_missing") is None


def test_a_copy_with_one_word_edited_joins(index: Any) -> None:
    first = index.assign(probe("x#1", TEXT))
    edited = index.assign(probe("x#2", TEXT.replace("काला", "सफ़ेद"), leader="someone", hours=1))
    assert (edited.incident_key, edited.reason) == (first.incident_key, "near_duplicate")


def test_a_crowded_band_is_read_newest_first_and_bounded(index: Any) -> None:
    """More incidents share the bands than one read returns: the newest still take a copy."""
    from chalicelib.domain.incidents import BAND_READ_LIMIT

    # The same text every 7 hours: each outside the window of the last, so each a new incident.
    opened = [
        index.assign(probe(f"x#{i}", TEXT, leader=f"L{i}", hours=7 * i)).incident_key
        for i in range(BAND_READ_LIMIT + 3)
    ]
    assert len(set(opened)) == len(opened)
    copy = index.assign(probe("x#copy", TEXT, leader="Lc", hours=7 * len(opened) - 6))
    assert (copy.incident_key, copy.reason) == (opened[-1], "near_duplicate")
