"""Language identification for Indian political posts.

Interface: ``detect(text) -> LanguageResult``. This first version routes by Unicode script and
asks seeded langdetect (restricted to hi/mr/ne) for Devanagari; issue #3 deepens it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex

# Code point ranges of the scripts we care about, ISO 15924 codes.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latn"),
    (0x0061, 0x007A, "Latn"),
    (0x00C0, 0x024F, "Latn"),
    (0x0600, 0x06FF, "Arab"),
    (0x0750, 0x077F, "Arab"),
    (0x0900, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"),
    (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"),
    (0x0D00, 0x0D7F, "Mlym"),
    (0xA8E0, 0xA8FF, "Deva"),
    (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"),
)

# Scripts used by exactly one of our languages.
_SINGLE_SCRIPT_LANG = {
    "Beng": "bn",
    "Guru": "pa",
    "Gujr": "gu",
    "Orya": "or",
    "Taml": "ta",
    "Telu": "te",
    "Knda": "kn",
    "Mlym": "ml",
    "Arab": "ur",
}

_NOISE = regex.compile(r"https?://\S+|www\.\S+|[@#][\p{L}\p{M}\p{N}_]+", regex.UNICODE)
_WORD = regex.compile(r"[\p{L}\p{M}]+", regex.UNICODE)


@dataclass(frozen=True)
class TokenTag:
    """One word of the text with its language tag (character offsets into the input)."""

    text: str
    start: int
    end: int
    lang: str


@dataclass(frozen=True)
class LanguageResult:
    lang: str
    script: str
    mixed: bool
    confidence: float
    tokens: tuple[TokenTag, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "script": self.script,
            "mixed": self.mixed,
            "confidence": round(self.confidence, 4),
            "tokens": [[t.text, t.start, t.end, t.lang] for t in self.tokens],
        }


UNDETERMINED = LanguageResult(lang="und", script="Zyyy", mixed=False, confidence=0.0)


def script_of(ch: str) -> str | None:
    cp = ord(ch)
    for lo, hi, name in _SCRIPT_RANGES:
        if lo <= cp <= hi:
            return name
    return None


def dominant_script(text: str) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    for ch in text:
        s = script_of(ch)
        if s is not None:
            counts[s] = counts.get(s, 0) + 1
    if not counts:
        return "Zyyy", counts
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0], counts


_detector_lock = threading.Lock()


@lru_cache(maxsize=1)
def _seeded_langdetect() -> Any:
    # Profiles load lazily on the first call (0.5-1 s); seeding makes results repeatable.
    from langdetect import DetectorFactory, detect_langs

    DetectorFactory.seed = 0
    return detect_langs


def _langdetect_probs(text: str) -> dict[str, float]:
    from langdetect.lang_detect_exception import LangDetectException

    detect_langs = _seeded_langdetect()
    with _detector_lock:
        try:
            return {p.lang: p.prob for p in detect_langs(text)}
        except LangDetectException:
            return {}


def detect(text: str) -> LanguageResult:
    """Detect the language of one post; never raises."""
    # Blank out URLs, @handles and #hashtags keeping offsets, so they cannot sway the answer.
    clean = _NOISE.sub(lambda m: " " * len(m.group()), text or "")
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(clean)]
    if not words:
        return UNDETERMINED
    script, counts = dominant_script(clean)
    total = sum(counts.values())
    share = counts.get(script, 0) / total if total else 0.0
    if script in _SINGLE_SCRIPT_LANG:
        lang, confidence = _SINGLE_SCRIPT_LANG[script], share
    elif script == "Deva":
        probs = _langdetect_probs(clean)
        restricted = {k: v for k, v in probs.items() if k in ("hi", "mr", "ne")}
        if restricted:
            lang = max(restricted, key=lambda k: restricted[k])
            confidence = restricted[lang] * share
        else:
            lang, confidence = "hi", 0.3 * share
    elif script == "Latn":
        probs = _langdetect_probs(clean)
        lang = "en"
        confidence = probs.get("en", 0.5) * share
    else:
        return UNDETERMINED
    if len(words) < 3:
        confidence = min(confidence, 0.5)
    mixed = counts.get("Deva", 0) > 0 and counts.get("Latn", 0) > 0 and share < 0.8
    tokens = tuple(
        TokenTag(w, s, e, _SINGLE_SCRIPT_LANG.get(script_of(w[0]) or "", lang)) for w, s, e in words
    )
    return LanguageResult(lang, script, mixed, confidence, tokens)
