"""Precision and recall of variants on a labelled pair table (tests/data/variant_pairs.tsv).

Each row is a one-word query, a word seen in the real posts (or named in issue 16), and
whether the query must find it (``yes``: the same word in another script or spelling) or
must never find it (``no``: a different word: हार/हर, काम/कम, जनता/जानता, the/थे, nai/नहीं).
Variants are on, as by default.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.keywords import KeywordQuery, compile_queries

TABLE = Path(__file__).resolve().parent.parent / "data" / "variant_pairs.tsv"
ROWS = [
    tuple(line.rstrip("\n").split("\t"))
    for line in TABLE.open(encoding="utf-8")
    if line.strip() and not line.startswith("#")
]
MATCH = [(q, w) for q, w, label, _ in ROWS if label == "yes"]
MUST_NOT = [(q, w) for q, w, label, _ in ROWS if label == "no"]
MIN_RECALL = 0.97


def finds(query: str, word: str) -> bool:
    return bool(compile_queries([KeywordQuery("q", query)], strict=True).match(word))


def test_the_table_is_well_formed() -> None:
    assert all(len(r) == 4 and r[2] in ("yes", "no") and r[3] for r in ROWS)
    assert len(MATCH) >= 100 and len(MUST_NOT) >= 50
    assert len(set(ROWS)) == len(ROWS)


@pytest.mark.parametrize(("query", "word"), MUST_NOT)
def test_a_different_word_is_never_found(query: str, word: str) -> None:
    assert not finds(query, word)


def test_recall_over_spellings_of_the_same_word() -> None:
    missed = [(q, w) for q, w in MATCH if not finds(q, w)]
    recall = 1 - len(missed) / len(MATCH)
    assert recall >= MIN_RECALL, missed


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("janata", "जनता"),
        ("mehngai", "महंगाई"),
        ("कांग्रेस", "कोंग्रेस"),
        ("ji", "जी"),
        ("congress", "कांग्रेस"),
    ],
)
def test_the_known_misses_of_issue_16_are_found(query: str, word: str) -> None:
    assert finds(query, word)


@pytest.mark.parametrize(("query", "word"), [("हार", "हर"), ("jee", "zee"), ("nai", "nahin")])
def test_without_variants_nothing_but_the_word_is_found(query: str, word: str) -> None:
    matcher = compile_queries([KeywordQuery("q", query, variants=False)], strict=True)
    assert not matcher.match(word)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ('"rahul gandhi"', "राहुल गांधी", True),
        ('"rahul gandhi"', "rahul gandhi ji", True),
        ('"राहुल गांधी"', "Rahul Gandhi", True),
        ('"rahul gandhi"', "rahul गांधी", False),  # one script at a time
        ("bharat", "भारत", True),
        ("bharat", "भरत", False),  # a length-less spelling means the commonest word
        ("भरत", "bharat", False),
        ("की", "ki", False),  # की / कि share even the strict key: no romanized variants
        ("zee", "जी", False),
        ("jee", "जी", True),
    ],
)
def test_phrases_and_readings(query: str, text: str, expected: bool) -> None:
    assert finds(query, text) is expected
