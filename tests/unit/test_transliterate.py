"""Romanized keys: spellings people type for the same Hindi word share one key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.transliterate import deva_to_roman, roman_fold, roman_key


@pytest.mark.parametrize(
    "spellings",
    [
        ("nahi", "nahin", "nahee", "नहीं", "नही"),
        ("rahul", "raahul", "राहुल"),
        ("modi", "modee", "मोदी"),
        ("kejriwal", "kejrival", "kejreewal", "केजरीवाल"),
        ("sarkar", "sarkaar", "सरकार"),
        ("chowkidar", "chaukidar", "चौकीदार"),
        ("pappu", "papu", "पप्पू"),
        ("zameen", "jameen", "jamin", "ज़मीन", "जमीन"),
        ("phir", "fir", "फिर"),
        ("shaadi", "sadi", "शादी"),
        ("chahiye", "chahie", "चाहिए"),
        ("accha", "acha", "achha", "अच्छा"),
        ("hai", "hain", "है", "हैं"),
        ("badhai", "badhayee", "बधाई"),
        ("congress", "kongres", "कोंग्रेस", "कॉंग्रेस"),
        ("vote", "wote"),
        ("samajhna", "समझना"),
        ("party", "parti", "पार्टी"),
    ],
)
def test_variant_spellings_share_a_key(spellings: tuple[str, ...]) -> None:
    keys = {roman_key(s.casefold()) for s in spellings}
    assert len(keys) == 1, dict(zip(spellings, map(roman_key, spellings), strict=True))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("kisan", "kisa"),
        ("modi", "mod"),
        ("bjp", "aap"),
        ("कमल", "कमला"),
        ("नीयत", "नहीं"),
        ("delhi", "dil"),
    ],
)
def test_different_words_keep_different_keys(a: str, b: str) -> None:
    assert roman_key(a) != roman_key(b)


@pytest.mark.parametrize(
    ("deva", "latin"),
    [
        ("राहुल", "raahul"),
        ("कमल", "kamal"),
        ("समझना", "samajhnaa"),
        ("भारत", "bhaarat"),
        ("हिंदी", "hindee"),
        ("क्षमा", "kshamaa"),
        ("ज़रा", "zaraa"),
        ("२०१९", "2019"),
    ],
)
def test_devanagari_to_chat_romanization(deva: str, latin: str) -> None:
    assert deva_to_roman(deva) == latin


def test_wildcard_prefixes_skip_the_word_final_rules() -> None:
    assert roman_fold("nahin") == "nahi"
    assert roman_fold("nahin", final=False) == "nahin"


@given(st.text(alphabet=st.sampled_from(list("abcdehiknoprstuvwyz")), max_size=15))
def test_folding_is_idempotent_on_latin(word: str) -> None:
    once = roman_fold(word)
    assert roman_fold(once) == once
