"""Romanized Hindi vs English, word by word, from the committed ``hinglish.json.gz`` model.

A word in the model's table gets its stored log-odds (tweets' Hindi vs tweets' plus general
English frequencies); any other word gets a logistic regression over its character 1-5-grams.
Both are pure functions of the model file, so results never depend on call order or process.
"""

from __future__ import annotations

import gzip
import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

import regex

NGRAM_ORDERS = (1, 2, 3, 4, 5)
MODEL_FILE = "hinglish.json.gz"
# Keeps SGD steps and stored weights in a comfortable range whatever the number of n-grams.
_CHAR_SCALE = 1.0 / len(NGRAM_ORDERS)

_NON_LETTER = regex.compile(r"[^a-z]+")
_RUNS = regex.compile(r"(.)\1{2,}")

# Names and honorifics common in Indian political posts say nothing about the language around
# them ("AAP" is a party, "ji" follows names in English posts too).
_NEUTRAL = """
    aap bjp inc tmc bsp sp jdu rjd ncp shivsena nda upa cpi cpm aimim
    ji jee shri shree sri smt sh mr mrs dr
    modi narendra kejriwal arvind rahul gandhi sonia priyanka amit shah yogi adityanath
    nitish mamata banerjee akhilesh mayawati lalu owaisi sisodia manish nehru
    india bharat delhi mumbai bihar punjab gujarat up bengal
    rt amp via
"""
NEUTRAL_WORDS = frozenset(_NEUTRAL.split())


def normalize_word(token: str) -> str:
    """Lowercase ASCII letters only, letter runs of three or more squeezed to two."""
    word = _NON_LETTER.sub("", token.lower())
    return _RUNS.sub(r"\1\1", word)


def word_ngrams(word: str) -> list[str]:
    padded = f"<{word}>"
    return [padded[i : i + n] for n in NGRAM_ORDERS for i in range(len(padded) - n + 1)]


@lru_cache(maxsize=1)
def _model() -> dict[str, Any]:
    blob = resources.files(__package__).joinpath(MODEL_FILE).read_bytes()
    model: dict[str, Any] = json.loads(gzip.decompress(blob))
    return model


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@lru_cache(maxsize=65536)
def hindi_probability(word: str) -> float:
    """P(romanized Hindi | word) for a normalized, non-empty word."""
    model = _model()
    table: dict[str, float] = model["ngrams"]
    get = table.get
    log_odds: float | None = model["words"].get(word)
    if log_odds is not None:
        return _sigmoid(log_odds)
    score = sum(get(g, 0.0) for g in word_ngrams(word))
    return _sigmoid(_CHAR_SCALE * score + model["bias"])
