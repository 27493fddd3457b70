from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.incidents import (
    BAND_READ_LIMIT,
    BANDS,
    MAX_SIGNATURES_KEPT,
    SLOTS,
    IncidentIndex,
    IncidentProbe,
    IncidentRecord,
    agreement,
    band_keys,
    decide_incident,
    engagement,
    engagement_velocity,
    hash_tokens,
    hash_words,
    incident_key_for,
    is_near_duplicate,
    priority,
    record_with,
    signature,
    signature_from_str,
    signature_to_str,
)

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
GAFFE = "The economy is doing fine and the poor will manage on their own, said the minister today"
HINDI = "प्रधानमंत्री ने कहा कि अर्थव्यवस्था ठीक है और गरीब खुद संभाल लेंगे"
DEMONETISATION = "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। पंजाब गोवा में तो जम के बँटा"
# As a person types it: most words' keys agree with the Devanagari ones, not all.
DEMONETISATION_ROMAN = (
    "modi ji to kah rahe the ki notebandi ke baad kala dhan khatm ho gaya. "
    "panjab goa me to jam ke banta"
)
MEDIUM = GAFFE + " and nobody in the cabinet disagreed"
LONG = GAFFE + " and nobody in the cabinet disagreed with him at the press conference in Delhi"
POSTS = Path("../shared/data/posts")


@pytest.mark.parametrize(
    "variant",
    [
        GAFFE,
        "RT @someone: " + GAFFE,
        "RT @a: RT @b_c: " + GAFFE,
        GAFFE + " https://t.co/AbC123",
        "rt @x " + GAFFE + " http://bit.ly/zz www.example.com/a",
        GAFFE.upper(),
        GAFFE.replace(" ", "   "),
        GAFFE.replace("economy", "#economy"),
        GAFFE.replace("poor", "po\u200bor"),  # zero-width space pasted in
        GAFFE + " via @newsdesk",
        "@minister " + GAFFE,
        GAFFE.replace("and", "&amp;").replace("&amp;", "and"),
    ],
)
def test_reposts_and_cosmetic_variants_hash_identically(variant: str) -> None:
    assert signature(variant) == signature(GAFFE)


@pytest.mark.parametrize(
    "variant",
    [
        HINDI,
        "RT @x: " + HINDI + " https://t.co/a",
        # NFD input (decomposed nukta) normalizes to the same words
        HINDI.replace("है", "है"),
    ],
)
def test_devanagari_reposts_hash_identically(variant: str) -> None:
    assert signature(variant) == signature(HINDI)


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        # truncated repost at 140 characters, cut mid-word with an ellipsis
        (MEDIUM, ("RT @someone_else: " + MEDIUM)[:139] + "…", True),
        # a cut that loses a quarter of the words is no near duplicate any more (such reposts
        # are grouped by their reference to the original instead)
        (LONG, ("RT @someone_else: " + LONG)[:139] + "…", False),
        (GAFFE, "Shameful! " + GAFFE, True),
        (GAFFE, GAFFE + " Resign now.", True),
        # one word edited, two words edited: the copies this method exists for
        (GAFFE, GAFFE.replace("economy", "budget"), True),
        (GAFFE, GAFFE.replace("economy", "budget").replace("poor", "farmers"), True),
        (HINDI, HINDI.replace("गरीब", "किसान"), True),
        # the same post written in Latin letters, by our transliterator and by a person
        (
            HINDI,
            "pradhaanmantree ne kaha ki arthavyavastha theek hai aur gareeb khud sambhaal lenge",
            True,
        ),
        (DEMONETISATION, DEMONETISATION_ROMAN, True),
        (
            GAFFE,
            "Cricket team wins the series in Australia, celebrations across the country",
            False,
        ),
        (GAFFE, HINDI, False),
        (HINDI, "मुख्यमंत्री ने नई सड़क का उद्घाटन किया और किसानों से बात की", False),
    ],
)
def test_near_duplicates(a: str, b: str, near: bool) -> None:
    sa, sb = signature(a), signature(b)
    assert is_near_duplicate(sa, sb) is near
    if near:  # and the index can find it: the two share a band
        assert set(band_keys(sa)) & set(band_keys(sb))


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", []),
        ("https://t.co/x @a #b", ["b"]),
        ("RT @x: Hello, World!", ["hello", "world"]),
        ("RT @x: a truncated repo…", ["a", "truncated"]),
        ("Rahul's #BharatJodo yatra", ["rahul", "s", "bharatjodo", "yatra"]),
        ("क़ानून", ["क़ानून"]),
        ("e-mail me@x.com", ["e", "mail", "me", "x", "com"]),  # an address is not a handle
    ],
)
def test_hash_tokens(text: str, tokens: list[str]) -> None:
    assert hash_tokens(text) == tokens


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", []),
        ("RT @x: Modi ji ne kaha https://t.co/a", ["modi", "ji", "ne", "kaha"]),
        ("कहा", ["kaha"]),
        # the romanized key: one form for both scripts and for common spelling variants
        ("नोटबंदी", ["notbandi"]),
        ("notabandi", ["notbandi"]),
        ("मोदी जी", ["modi", "ji"]),
        ("Modee jee", ["modi", "ji"]),
        ("क़ानून", hash_words("कानून")),  # nukta folded
        ("#Economy", ["ekonomi"]),
    ],
)
def test_hash_words_are_romanized_keys(text: str, words: list[str]) -> None:
    assert hash_words(text) == words


def _hash_tokens_unguarded(text: str) -> list[str]:
    """hash_tokens with every pattern applied to every text: the guards must change nothing."""
    import unicodedata

    import regex

    t = unicodedata.normalize("NFC", text or "")
    t = regex.sub(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", t.replace("&amp;", "&"))
    t = regex.sub(r"^\s*(?:RT\s*@[\w.]+\s*:?\s*)+", "", t, flags=regex.IGNORECASE)
    t = regex.sub(r"(?:https?://|www\.)\S+", " ", t, flags=regex.IGNORECASE)
    t = regex.sub(r"\s+(?:via|h/t)\s+@[\w.]+\s*$", "", t, flags=regex.IGNORECASE)
    t = regex.sub(r"[\p{L}\p{M}\p{N}]*(?:…|\.\.\.)\s*$", "", t)
    t = regex.sub(r"(?<![\w@])@[\w.]+", " ", t)
    return [w.casefold() for w in regex.findall(r"[\p{L}\p{M}\p{N}]+", t)]


pieces = st.sampled_from(
    [
        "RT @a: ",
        "rt @b_c ",
        "@x",
        " via @d",
        "https://t.co/z",
        "WWW.x.in/a",
        "www",
        "…",
        "...",
        "&amp;",
        "\u200b",
        "\u00ad",
        "क़",
        "ज़",
        "Modi",
        " ",
        "\n",
        ":",
        "#",
        "2024",
        "e@x.com",
    ]
)


@given(st.lists(st.one_of(pieces, st.text(max_size=5)), max_size=12))
def test_hash_tokens_skips_only_patterns_that_cannot_match(parts: list[str]) -> None:
    text = "".join(parts)
    assert hash_tokens(text) == _hash_tokens_unguarded(text)


def test_a_huge_text_hashes_by_its_first_thousand_words() -> None:
    head = " ".join(f"word{i}" for i in range(1000))
    assert signature(head + " tail" * 50_000) == signature(head)


@pytest.mark.parametrize(
    "text", ["", "https://t.co/x @someone 🙏🙏", "🙏🔥😡", "   ", "RT @x:", "\u093c \u0901", "#"]
)
def test_a_text_without_words_has_no_signature_and_never_matches(text: str) -> None:
    assert signature(text) == ()
    assert band_keys(signature(text)) == []
    probe = IncidentProbe("x#9", "L2", ("q9",), signature(text), T0)
    rec = IncidentRecord("inc_a", "L1", ("q1",), (), T0, T0)
    assert decide_incident(probe, [rec]).reason == "new"
    assert agreement((), ()) == 0


words = st.lists(
    st.sampled_from(["modi", "rahul", "economy", "गरीब", "किसान", "vote", "2024", "scam"]),
    min_size=1,
    max_size=30,
)


@given(
    words, st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True), st.sampled_from(["", "x1", "AbC"])
)
def test_repost_with_prefix_and_url_hashes_like_the_original(
    ws: list[str], handle: str, url_tail: str
) -> None:
    text = " ".join(ws)
    repost = f"RT @{handle}: {text} https://t.co/{url_tail}"
    assert signature(repost) == signature(text)


@given(st.lists(st.integers(0, 0xFFFF), min_size=SLOTS, max_size=SLOTS))
def test_signatures_store_and_read_back(slots: list[int]) -> None:
    sig = tuple(slots)
    assert signature_from_str(signature_to_str(sig)) == sig
    assert len(band_keys(sig)) == BANDS
    assert agreement(sig, sig) == SLOTS


@pytest.mark.parametrize("stored", ["", "zz", "g" * 4 * SLOTS, "0" * (4 * SLOTS - 1), "12345"])
def test_a_stored_signature_that_is_not_one_reads_as_none(stored: str) -> None:
    assert signature_from_str(stored) == ()


def probe(
    key: str = "x#2",
    leader: str = "L1",
    queries: tuple[str, ...] = ("q1",),
    text: str = GAFFE,
    at: datetime = T0,
    refs: tuple[str, ...] = (),
) -> IncidentProbe:
    return IncidentProbe(key, leader, queries, signature(text), at, refs)


OTHER = "Cricket team wins the series in Australia, celebrations across the country"
REC_GAFFE = IncidentRecord("inc_gaffe", "L9", ("q9",), (signature(GAFFE),), T0, T0, ("x#1",))
REC_LQ = IncidentRecord("inc_lq", "L1", ("q1", "q2"), (signature(OTHER),), T0, T0, ("x#7",))
REC_OLD = IncidentRecord(
    "inc_old", "L1", ("q1",), (signature(GAFFE),), T0 - timedelta(days=1), T0 - timedelta(hours=7)
)
# The same gaffe, one word changed, already an incident of its own.
REC_EDITED = IncidentRecord(
    "inc_edit", "L8", ("q8",), (signature(GAFFE.replace("poor", "farmers")),), T0, T0, ("x#8",)
)


@pytest.mark.parametrize(
    ("p", "cands", "key", "reason"),
    [
        (probe(), [], incident_key_for("x#2"), "new"),
        (probe(), [REC_GAFFE], "inc_gaffe", "near_duplicate"),
        (probe(), [REC_EDITED], "inc_edit", "near_duplicate"),
        # the nearer text wins
        (probe(), [REC_EDITED, REC_GAFFE], "inc_gaffe", "near_duplicate"),
        # near-duplicate text beats same leader+query
        (probe(), [REC_LQ, REC_GAFFE], "inc_gaffe", "near_duplicate"),
        # same leader and a shared query, different text
        (probe(text=HINDI, queries=("q2",)), [REC_LQ], "inc_lq", "same_leader_query"),
        # same leader, different query: new
        (probe(text=HINDI, queries=("q3",)), [REC_LQ], incident_key_for("x#2"), "new"),
        # different leader, same query: new
        (probe(text=HINDI, leader="L2"), [REC_LQ], incident_key_for("x#2"), "new"),
        # a quote of a post we hold wins even with unrelated text
        (probe(text=HINDI, leader="L5", refs=("x#7",)), [REC_GAFFE, REC_LQ], "inc_lq", "reference"),
        # outside the window: ignored even though the text is identical
        (probe(), [REC_OLD], incident_key_for("x#2"), "new"),
        (
            probe(at=T0 - timedelta(hours=7) + timedelta(hours=6)),
            [REC_OLD],
            "inc_old",
            "near_duplicate",
        ),
        # arriving out of order: a post far older than the incident's first mention (a poll
        # returning newest first, a backfill) is not part of it
        (
            probe(text=HINDI, queries=("q2",), at=T0 - timedelta(days=3)),
            [REC_LQ],
            incident_key_for("x#2"),
            "new",
        ),
        (probe(at=T0 - timedelta(days=2)), [REC_OLD], incident_key_for("x#2"), "new"),
        # but an older post within the window of the first mention still joins
        (
            probe(text=HINDI, queries=("q2",), at=T0 - timedelta(hours=5)),
            [REC_LQ],
            "inc_lq",
            "same_leader_query",
        ),
    ],
)
def test_decide_incident_table(
    p: IncidentProbe, cands: list[IncidentRecord], key: str, reason: str
) -> None:
    got = decide_incident(p, cands)
    assert (got.incident_key, got.reason) == (key, reason)


def test_index_groups_a_repost_wave_into_one_incident() -> None:
    index = IncidentIndex()
    first = index.assign(probe("x#1", text=GAFFE))
    wave = [
        index.assign(
            probe(f"x#{i}", leader=f"L{i}", queries=("q7",), text=t, at=T0 + timedelta(minutes=i))
        )
        for i, t in enumerate(
            ["RT @a: " + GAFFE, GAFFE + " https://t.co/z", "Shameful! " + GAFFE], start=2
        )
    ]
    quote = index.assign(probe("x#9", leader="L9", queries=("q8",), text="lol", refs=("x#3",)))
    unrelated = index.assign(probe("x#10", leader="L10", queries=("q8",), text=OTHER))
    assert first.reason == "new"
    assert {d.incident_key for d in [*wave, quote]} == {first.incident_key}
    assert unrelated.incident_key != first.incident_key
    assert len(index.records[first.incident_key].mention_keys) == 5


def test_a_crowded_band_is_read_newest_first_and_bounded() -> None:
    """More incidents in one band than a read returns: the newest are the candidates."""
    index = IncidentIndex()
    # The same text every 7 hours: each outside the last one's window, so each a new incident.
    crowd = [
        probe(f"x#{i}", leader=f"L{i}", text=OTHER, at=T0 + timedelta(hours=7 * i))
        for i in range(BAND_READ_LIMIT + 5)
    ]
    assert {index.assign(p).reason for p in crowd} == {"new"}
    last = crowd[-1].at + timedelta(hours=1)
    seen = index.candidates(probe("x#new", leader="Lnew", queries=(), text=OTHER, at=last))
    newest = {incident_key_for(p.mention_key) for p in crowd[-BAND_READ_LIMIT:]}
    assert {r.incident_key for r in seen} == newest
    # and the newest is still found: a copy joins it
    joined = index.assign(probe("x#new", leader="Lnew", queries=(), text=OTHER, at=last))
    assert (joined.incident_key, joined.reason) == (
        incident_key_for(crowd[-1].mention_key),
        "near_duplicate",
    )


def test_record_with_keeps_a_bounded_number_of_texts_and_mentions() -> None:
    rec = None
    for i in range(MAX_SIGNATURES_KEPT + 10):
        p = probe(f"x#{i}", text=f"{GAFFE} number {i} word{i}", at=T0 + timedelta(minutes=i))
        rec = record_with(rec, p, "inc_a", max_mentions=20)
    assert rec is not None
    assert len(rec.signatures) == MAX_SIGNATURES_KEPT
    assert rec.mention_keys == tuple(
        f"x#{i}" for i in range(MAX_SIGNATURES_KEPT - 10, MAX_SIGNATURES_KEPT + 10)
    )
    assert (rec.first_seen, rec.last_seen) == (T0, T0 + timedelta(minutes=MAX_SIGNATURES_KEPT + 9))


def test_incident_keys_are_deterministic() -> None:
    assert incident_key_for("x#1") == incident_key_for("x#1") != incident_key_for("x#2")


# ---- priority ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metrics", "value"),
    [
        ({}, 0.0),
        ({"like_count": 10}, 10.0),
        ({"like_count": 10, "retweet_count": 2, "quote_count": 1, "reply_count": 3}, 26.0),
        ({"view_count": 1000}, 10.0),
        ({"like_count": -5, "bookmark_count": 100}, 0.0),
    ],
)
def test_engagement(metrics: dict[str, int], value: float) -> None:
    assert engagement(metrics) == pytest.approx(value)


@pytest.mark.parametrize(
    ("samples", "per_hour"),
    [
        ([], 0.0),
        ([(T0 + timedelta(hours=2), 100.0)], 50.0),
        ([(T0 + timedelta(minutes=1), 100.0)], 600.0),  # floor of 10 minutes of age
        ([(T0 + timedelta(hours=1), 100.0), (T0 + timedelta(hours=1, minutes=30), 400.0)], 600.0),
        ([(T0 + timedelta(hours=2), 400.0), (T0 + timedelta(hours=1), 100.0)], 300.0),  # unordered
        (
            [(T0 + timedelta(hours=1), 400.0), (T0 + timedelta(hours=2), 300.0)],
            0.0,
        ),  # deleted likes
    ],
)
def test_engagement_velocity(samples: list[tuple[datetime, float]], per_hour: float) -> None:
    assert engagement_velocity(T0, samples) == pytest.approx(per_hour)


@pytest.mark.parametrize(
    ("severity", "followers", "velocity", "score"),
    [
        (1, 0, 0.0, 1.0),
        (5, 0, 0.0, 5.0),
        (3, 9, 0.0, 6.0),  # reach 1 + log10(10) = 2
        (3, 999, 99.0, 36.0),  # 3 x (1 + 3) x (1 + 2)
        (2, None, 9.0, 4.0),
        (9, 0, 0.0, 5.0),  # clamped to 1..5
        (0, 0, 0.0, 1.0),
    ],
)
def test_priority(severity: int, followers: int | None, velocity: float, score: float) -> None:
    assert priority(severity, followers, velocity).score == pytest.approx(score)


@given(
    st.integers(1, 5),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.floats(0, 1e7),
    st.floats(0, 1e7),
)
def test_priority_never_drops_as_reach_or_engagement_grows(
    sev: int, f1: int, f2: int, v1: float, v2: float
) -> None:
    lo = priority(sev, min(f1, f2), min(v1, v2)).score
    assert priority(sev, max(f1, f2), max(v1, v2)).score >= lo
    if sev < 5:
        assert priority(sev + 1, f1, v1).score > priority(sev, f1, v1).score


@pytest.mark.shared
def test_real_posts_unrelated_ones_never_collide_and_reposts_do() -> None:
    files = sorted(POSTS.glob("*.jsonl")) if POSTS.is_dir() else []
    if not files:
        pytest.skip("../shared/data/posts is not available")
    texts = [json.loads(line)["text"] for f in files for line in f.open(encoding="utf-8")]
    texts = [t for t in texts if not t.startswith("RT @") and len(hash_tokens(t)) >= 6]
    rng = random.Random(6)
    sample = rng.sample(texts, 600)
    sigs = [signature(t) for t in sample]
    tokens = [hash_tokens(t) for t in sample]
    for i in range(len(sample)):
        for j in range(i + 1, len(sample)):
            if tokens[i] != tokens[j]:
                assert not is_near_duplicate(sigs[i], sigs[j]), (sample[i], sample[j])
    reposted = [signature(f"RT @someone: {t} https://t.co/x") for t in sample]
    assert reposted == sigs


@given(st.text(max_size=500))
def test_the_signature_of_any_text_is_64_slots_of_16_bits_and_stable(text: str) -> None:
    sig = signature(text)
    assert sig == () or (len(sig) == SLOTS and all(0 <= v <= 0xFFFF for v in sig))
    assert signature(text) == sig
    assert signature(f"RT @someone: {text}") == sig or text.lstrip().lower().startswith("rt")
