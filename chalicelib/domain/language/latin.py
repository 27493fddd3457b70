"""Romanized Hindi vs English, word by word, from the committed ``hinglish.json.gz`` model.

A word in the model's table gets its stored log-odds (tweets' Hindi vs tweets' plus general
English frequencies); any other word gets a logistic regression over its character 1-5-grams.
Both are pure functions of the model file, so results never depend on call order or process.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import marshal
import math
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
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
    here = resources.files(__package__)
    blob = here.joinpath(MODEL_FILE).read_bytes()
    cache = here.joinpath(MODEL_CACHE_FILE)
    if cache.is_file():
        cached = model_from_cache(blob, cache.read_bytes())
        if cached is not None:
            return cached
    model: dict[str, Any] = json.loads(gzip.decompress(blob))
    return model


# The deployment package carries the model parsed once more, as marshal data (issue 17). It
# names the model file's digest and the Python that wrote it (marshal's format is Python's
# own); any mismatch reads the JSON. Its two tables are kept as sorted keys in one string and
# their values as packed doubles: a dict of their ~105k entries takes ~20 ms to build on a cold
# start, these ~4 ms, and a lookup costs a binary search (words are cached above it).
MODEL_CACHE_FILE = "hinglish.marshal"
_TABLES = ("ngrams", "words")
_SEPARATOR = "\n"


class PackedTable(Mapping[str, float]):
    """A read-only ``str -> float`` table over sorted keys and an array of their values."""

    __slots__ = ("_keys", "_values")

    def __init__(self, keys: list[str], values: array[float]) -> None:
        self._keys = keys
        self._values = values

    @classmethod
    def pack(cls, table: Mapping[str, float]) -> tuple[str, bytes]:
        keys = sorted(table)
        if any(_SEPARATOR in k for k in keys):
            raise ValueError("a model key holds the separator")
        return _SEPARATOR.join(keys), array("d", [table[k] for k in keys]).tobytes()

    @classmethod
    def unpack(cls, joined: str, values: bytes) -> PackedTable:
        return cls(joined.split(_SEPARATOR) if joined else [], array("d", values))

    def get(self, key: str, default: Any = None) -> Any:
        i = bisect_left(self._keys, key)
        if i < len(self._keys) and self._keys[i] == key:
            return self._values[i]
        return default

    def __getitem__(self, key: str) -> float:
        found: float | None = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def model_cache(blob: bytes) -> bytes:
    """The cache file's content for the model file ``blob`` (written by ``infra/build.py``)."""
    header = {"sha256": hashlib.sha256(blob).hexdigest(), "python": list(sys.version_info[:2])}
    model = json.loads(gzip.decompress(blob))
    for name in _TABLES:
        model[name] = PackedTable.pack(model[name])
    return marshal.dumps((header, model))


def model_from_cache(blob: bytes, cached: bytes) -> dict[str, Any] | None:
    """The model from its cache when the cache was made from ``blob`` by this Python."""
    try:
        header, model = marshal.loads(cached)  # noqa: S302 (our package's own file, like a .pyc)
    except (EOFError, ValueError, TypeError):
        return None
    if header != {"sha256": hashlib.sha256(blob).hexdigest(), "python": list(sys.version_info[:2])}:
        return None
    if not isinstance(model, dict):
        return None
    try:
        for name in _TABLES:
            model[name] = PackedTable.unpack(*model[name])
    except (KeyError, TypeError, ValueError):
        return None
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
    table: Mapping[str, float] = model["ngrams"]
    get = table.get
    log_odds: float | None = model["words"].get(word)
    if log_odds is not None:
        return _sigmoid(log_odds)
    score = sum(get(g, 0.0) for g in word_ngrams(word))
    return _sigmoid(_CHAR_SCALE * score + model["bias"])
