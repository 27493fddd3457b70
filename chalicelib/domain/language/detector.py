"""``detect(text)``: script routing, then a per-script language decision, then mixing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import regex

from chalicelib.domain.language import devanagari, latin
from chalicelib.domain.language.scripts import UNKNOWN_SCRIPT, script_of

# Scripts written by exactly one of our languages (Bengali script: see _bengali_or_assamese).
_SINGLE_SCRIPT_LANG = {
    "Guru": "pa",
    "Gujr": "gu",
    "Orya": "or",
    "Taml": "ta",
    "Telu": "te",
    "Knda": "kn",
    "Mlym": "ml",
}
# ৰ and ৱ are Assamese letters that Bengali does not use.
_ASSAMESE_LETTERS = frozenset("\u09f0\u09f1")
# Letters Urdu uses and Arabic does not (the first two, ی and ک, Persian uses too), the Arabic
# forms Urdu writes differently, and letters only Pashto has.
_URDU_LETTERS = frozenset("\u06cc\u06a9\u06d2\u06ba\u0679\u0688\u0691\u06be\u06c1")
_URDU_ONLY_LETTERS = frozenset("\u06d2\u06ba\u0679\u0688\u0691\u06be\u06c1")
_ARABIC_LETTERS = frozenset("\u064a\u0643\u0629\u0649")
_PASHTO_LETTERS = frozenset("\u067c\u0689\u0693\u069a\u06ab\u0681\u0685\u0696\u06cd\u06d0")
# Urdu is told from Persian and Pashto by its own letters only on texts this long.
_URDU_MIN_WORDS = 4

# URLs, e-mail addresses, @handles, #hashtags and HTML entities say nothing about the language
# of the post; they are blanked (offsets kept) before anything looks at words. Each alternative
# may only start where its run of characters starts (the lookbehinds), which keeps the scan
# linear on long runs without spaces: "\S+@" alone took 18 s on 100,000 emoji.
_URL = r"(?:https?://|www\.)\S+"
_EMAIL = r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_TLDS = r"(?:com|in|org|net|ly|co|gov|be|gl|me|io|tv|info)\b"
_DOMAIN = rf"|(?<![\w.-])[\w-]+(?:\.[\w-]+)*\.{_TLDS}(?:/\S*)?"
_TAG_OR_ENTITY = r"|[@#][\p{L}\p{M}\p{N}_]+|&#?\w+;"
_NOISE = regex.compile(_URL + _EMAIL + _DOMAIN + _TAG_OR_ENTITY, regex.IGNORECASE)
# The bare-domain alternative costs more than the others together (it is tried at every word
# start); a text with no ".<tld>" anywhere cannot match it, so those texts, most posts, use
# the same expression without it: the same result, in half the time.
_NOISE_NO_DOMAIN = regex.compile(_URL + _EMAIL + _TAG_OR_ENTITY, regex.IGNORECASE)
_TLD_HINT = regex.compile(rf"\.{_TLDS}", regex.IGNORECASE)

# A word starts with a letter; marks and joiners (ZWJ/ZWNJ) stay inside Indic words. Letters
# glued to digits are units or ordinals ("512K", "2nd"), not words.
_WORD = regex.compile(r"(?<![\p{N}\p{L}\p{M}])\p{L}[\p{L}\p{M}\u200c\u200d]*(?:['\u2019]\p{L}+)*")

# A decision on this many words or fewer is capped at the matching confidence.
_SHORT_CAP = {1: 0.35, 2: 0.5, 3: 0.65}
# Script-exact languages are sure even on one word, but a word may be a name or a loan.
_EXACT_CAP = {1: 0.8, 2: 0.9}
# Romanized Hindi when the mean P(Hindi) of the informative Latin words reaches this.
_HI_LATN_SHARE = 0.5
# Hindi-English mixing: each side has at least this many words and this share of the words.
_MIX_MIN_WORDS = 2
_MIX_MIN_SHARE = 0.15


class TokenTag(NamedTuple):
    """One word of the text with its language tag (character offsets into the input).

    A named tuple, not a frozen dataclass: a post has 15 of them on average and a frozen
    dataclass's ``__init__`` made building them an eighth of ``detect``'s time.
    """

    text: str
    start: int
    end: int
    lang: str


@dataclass(frozen=True)
class LanguageResult:
    """Language of one post: ``lang`` and ``script`` codes, Hindi-English mixing, confidence."""

    lang: str
    script: str
    mixed: bool
    confidence: float
    tokens: tuple[TokenTag, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``tvarit langid`` (a stable interface, see docs/language.md)."""
        return {
            "lang": self.lang,
            "script": self.script,
            "mixed": self.mixed,
            "confidence": round(self.confidence, 4),
            "tokens": [[t.text, t.start, t.end, t.lang] for t in self.tokens],
        }


UNDETERMINED = LanguageResult(lang="und", script="Zyyy", mixed=False, confidence=0.0)


def _cap(confidence: float, words: int, caps: dict[int, float] = _SHORT_CAP) -> float:
    return min(confidence, caps.get(words, 1.0))


def _bengali_or_assamese(words: list[str]) -> str:
    return "as" if any(ch in _ASSAMESE_LETTERS for w in words for ch in w) else "bn"


def _arabic_script_lang(words: list[str]) -> str:
    """Urdu unless the letters say Arabic, Persian or Pashto."""
    letters = "".join(words)
    urdu = sum(ch in _URDU_LETTERS for ch in letters)
    arabic = sum(ch in _ARABIC_LETTERS for ch in letters)
    if arabic >= 3 and arabic > urdu:
        return "ar"
    if len(words) >= _URDU_MIN_WORDS and not any(ch in _URDU_ONLY_LETTERS for ch in letters):
        return "ps" if sum(ch in _PASHTO_LETTERS for ch in letters) >= 2 else "fa"
    return "ur"


def _blank(m: regex.Match[str]) -> str:
    return " " * len(m.group())


@lru_cache(maxsize=65536)
def _word_probability(word: str) -> float | None:
    """P(romanized Hindi) of one Latin word as written, None if it is no evidence."""
    norm = latin.normalize_word(word)
    if not norm or norm in latin.NEUTRAL_WORDS:
        return None
    return latin.hindi_probability(norm)


def _mid_sentence(clean: str, start: int) -> bool:
    """True when the word at ``start`` follows a word or a comma, not a sentence break."""
    before = clean[max(0, start - 8) : start].rstrip()
    return bool(before) and (before[-1].isalnum() or before[-1] == ",")


def _latin_probabilities(clean: str, matches: list[regex.Match[str]]) -> list[float | None]:
    """P(romanized Hindi) per Latin word; None for words that are no evidence either way."""
    words = [m.group() for m in matches]
    # All-caps words are acronyms ("AAP", "BJP", "RAM") unless the whole post is shouted.
    shouting = not any(ch.islower() for w in words for ch in w)
    # Capitalized words inside a sentence are names ("Sudha Singh", "Yuva Shakti"), which say
    # nothing about the language, unless the post capitalizes 3 words in 4 (headline style).
    headline = 4 * sum(1 for w in words if w[0].isupper()) >= 3 * len(words)
    out: list[float | None] = []
    for m, w in zip(matches, words, strict=True):
        if (not shouting and len(w) > 1 and w.isupper()) or (
            not headline and w[0].isupper() and _mid_sentence(clean, m.start())
        ):
            out.append(None)
        else:
            out.append(_word_probability(w))
    return out


def detect(text: str) -> LanguageResult:
    """Detect the language of one post; never raises, same answer in every process."""
    if not isinstance(text, str) or not text:
        return UNDETERMINED
    noise = _NOISE if _TLD_HINT.search(text) else _NOISE_NO_DOMAIN
    clean = noise.sub(_blank, text)
    matches = list(_WORD.finditer(clean))
    if not matches:
        return UNDETERMINED

    by_script: dict[str, list[int]] = {}
    letters: dict[str, int] = {}
    scripts: list[str] = []
    for i, m in enumerate(matches):
        word = m.group()
        script = script_of(word[0]) or UNKNOWN_SCRIPT
        scripts.append(script)
        by_script.setdefault(script, []).append(i)
        letters[script] = letters.get(script, 0) + len(word)
    total = sum(letters.values())
    # Most letters wins; ties go to the alphabetically first code so the answer is stable.
    script = min(letters, key=lambda s: (-letters[s], s))
    share = letters[script] / total

    tags: list[str] = ["und"] * len(matches)
    hindi_words = english_words = 0
    lang, confidence = "und", 0.0

    for s, idx in by_script.items():
        words = [matches[i].group() for i in idx]
        if s == "Deva":
            deva_lang, posterior = devanagari.classify(words)
            for i in idx:
                tags[i] = deva_lang
            if deva_lang == "hi":
                hindi_words += len(idx)
            if s == script:
                lang, confidence = deva_lang, _cap(posterior, len(idx))
        elif s == "Latn":
            probs = _latin_probabilities(clean, [matches[i] for i in idx])
            informative = [p for p in probs if p is not None]
            for i, p in zip(idx, probs, strict=True):
                if p is not None:
                    tags[i] = "hi-Latn" if p >= 0.5 else "en"
            hi = sum(1 for p in informative if p >= 0.5)
            hindi_words += hi
            english_words += len(informative) - hi
            if s == script and informative:
                mean = sum(informative) / len(informative)
                lang = "hi-Latn" if mean >= _HI_LATN_SHARE else "en"
                confidence = _cap(max(mean, 1.0 - mean), len(informative))
        else:
            if s == "Beng":
                fixed = _bengali_or_assamese(words)
            elif s == "Arab":
                fixed = _arabic_script_lang(words)
            else:
                fixed = _SINGLE_SCRIPT_LANG.get(s, "und")
            for i in idx:
                tags[i] = fixed
            if s == script and fixed != "und":
                # Bengali script may be Assamese, Arabic script Persian: keep the short caps.
                caps = _SHORT_CAP if s in ("Beng", "Arab") else _EXACT_CAP
                lang, confidence = fixed, _cap(1.0, len(idx), caps)

    # Words that are no evidence (names, acronyms) take the language of the post around them.
    tags = [lang if t == "und" and scripts[i] == "Latn" else t for i, t in enumerate(tags)]
    minority = min(hindi_words, english_words)
    mixed = (
        minority >= _MIX_MIN_WORDS and minority / (hindi_words + english_words) >= _MIX_MIN_SHARE
    )
    tokens = tuple(
        TokenTag(m.group(), m.start(), m.end(), tag) for m, tag in zip(matches, tags, strict=True)
    )
    return LanguageResult(lang, script, mixed, round(confidence * share, 4), tokens)
