"""The training script's romanizer and word table (``local/train_langid.py``), on tables.

Pure: no data files and no wordfreq needed; the full rebuild is checked in test_language_data.
"""

from __future__ import annotations

import pytest

from local.chat_romanizer import chat_spellings
from local.train_langid import word_log_odds

# Devanagari word, spellings people write for it that must be among the generated ones.
SPELLINGS = [
    ("है", {"hai"}),
    ("नहीं", {"naheen", "nahin", "nahi", "nhi"}),
    ("में", {"men", "mein", "me"}),
    ("क्या", {"kyaa", "kya"}),
    ("कुछ", {"kuchh", "kuch"}),
    ("यह", {"yah", "yeh"}),
    ("वो", {"vo", "wo"}),
    ("रहा", {"raha", "rha"}),
    ("बड़ा", {"bara", "bada"}),
    ("पढ़ना", {"parhna", "padhna"}),
    ("हैं", {"hain", "hai"}),
    ("जनता", {"janta"}),
]


@pytest.mark.parametrize(("deva", "expected"), SPELLINGS)
def test_chat_spellings_cover_how_people_write(deva: str, expected: set[str]) -> None:
    got = chat_spellings(deva)
    assert expected <= set(got)
    assert sum(got.values()) == pytest.approx(1.0)
    assert all(w.isascii() and w.isalpha() and w.islower() for w in got)


@pytest.mark.parametrize("word", ["", "BJP", "2016", "।"])
def test_nothing_to_romanize_gives_no_spelling(word: str) -> None:
    assert chat_spellings(word) == {}


def test_a_final_consonant_is_not_dropped_like_a_nasal_sign() -> None:
    # कौन ends in the letter न, not in a nasal sign: "kau" is not a spelling of it.
    assert "kau" not in chat_spellings("कौन")


def test_word_only_seen_on_one_side_leans_that_way_whatever_the_corpus_sizes() -> None:
    # The Hindi corpus is 100 times the English one; one shared floor keeps a word seen only
    # in Hindi (or only in English) on its own side.
    hi_counts = {"sarkar": 3.0, "filler": 997.0}
    en_counts = {"government": 3.0, "other": 7.0}
    odds = word_log_odds(hi_counts, en_counts, {}, {})
    assert odds["sarkar"] > 0
    assert odds["government"] < 0


def test_general_lists_enter_the_table_even_when_the_corpora_lack_the_word() -> None:
    odds = word_log_odds({"x": 1e6}, {"y": 1e6}, {"kyun": 1e-4}, {"why": 1e-3})
    assert odds["kyun"] > 0 > odds["why"]
