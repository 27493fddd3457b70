"""Romanized keys: one spelling-tolerant form for Hindi written in Latin or Devanagari.

``roman_key("nahin") == roman_key("nahi") == roman_key("nai") == roman_key("नहीं")``.
This is a matching key, not a transliteration for people to read: it maps Devanagari to the
"chat" romanization people type (no diacritics, inherent vowel dropped where speech drops it)
and then folds the common spelling variation of romanized Hindi on both sides.

Hand-written rather than a library: scholarly schemes (IAST, ITRANS, HK) keep the vowel length
and retroflex distinctions that chat spelling ignores, so they would need the same folding on
top, and the table below imports in microseconds (cold start matters on Lambda).
"""

from __future__ import annotations

import regex

_VIRAMA = "\u094d"
_NUKTA = "\u093c"

# Consonants as chat spelling writes them (aspirates kept; retroflex/dental merged).
_CONSONANTS: dict[str, str] = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n",
    "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n",
    "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m",
    "य": "y", "र": "r", "ल": "l", "ळ": "l", "व": "v",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
    "ऩ": "n", "ऱ": "r", "ऴ": "l",
    "क़": "k", "ख़": "kh", "ग़": "g", "ज़": "z", "ड़": "r", "ढ़": "rh", "फ़": "f", "य़": "y",
}  # fmt: skip

# Nukta forms after nukta folding land on the plain letter; these catch unfolded input.
_NUKTA_CONSONANTS: dict[str, str] = {"ज": "z", "फ": "f", "ड": "r", "ढ": "rh"}

_VOWELS: dict[str, str] = {
    "अ": "a", "आ": "aa", "इ": "i", "ई": "ee", "उ": "u", "ऊ": "oo", "ऋ": "ri",
    "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au", "ऑ": "o", "ऍ": "e", "ऎ": "e", "ऒ": "o",
}  # fmt: skip

_MATRAS: dict[str, str] = {
    "ा": "aa", "ि": "i", "ी": "ee", "ु": "u", "ू": "oo", "ृ": "ri",
    "े": "e", "ै": "ai", "ो": "o", "ौ": "au", "ॉ": "o", "ॅ": "e", "ॆ": "e", "ॊ": "o",
}  # fmt: skip

_SIGNS: dict[str, str] = {"ं": "n", "ँ": "n", "ः": "h", "ऽ": ""}

_DIGITS = {chr(0x0966 + i): str(i) for i in range(10)}


def deva_to_roman(word: str) -> str:
    """Devanagari to chat romanization (other characters pass through): ``राहुल`` -> ``rahul``."""
    # Units: (latin, is_consonant_with_inherent_a). Schwa deletion runs on them afterwards.
    units: list[list[str | bool]] = []
    i = 0
    n = len(word)
    while i < n:
        ch = word[i]
        if ch in _CONSONANTS:
            latin = _CONSONANTS[ch]
            if i + 1 < n and word[i + 1] == _NUKTA:
                latin = _NUKTA_CONSONANTS.get(ch, latin)
                i += 1
            units.append([latin, True])
        elif ch in _MATRAS or ch == _VIRAMA:
            if units and units[-1][1] is True:
                units[-1][1] = False
            if ch != _VIRAMA:
                units.append([_MATRAS[ch], False])
        elif ch in _VOWELS:
            units.append([_VOWELS[ch], False])
        elif ch in _SIGNS:
            if units and units[-1][1] is True:
                # A nasal sign right after a consonant keeps that consonant's inherent vowel.
                units[-1][0] = str(units[-1][0]) + "a"
                units[-1][1] = False
            units.append([_SIGNS[ch], False])
        elif ch == _NUKTA:
            pass
        else:
            units.append([_DIGITS.get(ch, ch), False])
        i += 1
    return "".join(_with_schwa(units))


def _with_schwa(units: list[list[str | bool]]) -> list[str]:
    """Add the inherent ``a`` where Hindi speech keeps it (final and V C _ C V schwas drop)."""
    keep = [bool(u[1]) for u in units]
    consonant = [bool(u[1]) or _is_consonant_latin(str(u[0])) for u in units]
    last = len(units) - 1
    if last >= 1 and keep[last]:
        keep[last] = False
    # Right to left: a schwa between a vowel-led consonant and a vowel-led consonant drops.
    for j in range(last - 1, 0, -1):
        if not keep[j]:
            continue
        prev_vowel = keep[j - 1] or not consonant[j - 1]
        nxt = j + 1
        next_has_vowel = (
            nxt <= last
            and consonant[nxt]
            and (keep[nxt] or (nxt + 1 <= last and not consonant[nxt + 1]))
        )
        if prev_vowel and next_has_vowel:
            keep[j] = False
    return [str(u[0]) + ("a" if k else "") for u, k in zip(units, keep, strict=True)]


def _is_consonant_latin(s: str) -> bool:
    return bool(s) and s[0] not in "aeiou" and s.isalpha()


# Folding of romanized spelling variation, applied in this order.
_FOLDS: tuple[tuple[regex.Pattern[str], str], ...] = tuple(
    (regex.compile(p), r)
    for p, r in (
        (r"ph", "f"),
        (r"sh", "s"),
        (r"chh|cch", "ch"),
        (r"c(?!h)", "k"),
        (r"q", "k"),
        (r"x", "ks"),
        (r"ow(?![aeiou])", "au"),
        (r"w", "v"),
        (r"z", "j"),
        (r"e{2,}|i{2,}", "i"),
        (r"o{2,}|u{2,}", "u"),
        (r"a{2,}", "a"),
        (r"(?<=[aeiou])h(?=[aeiou])", ""),
        (r"(?<=[aeiou])yi", "i"),
        (r"iy(?=[aeiou])", "i"),
        (r"([bdfgjklmnprstv])\1+", r"\1"),
        (r"(ch|kh|gh|jh|th|dh|bh)\1+", r"\1"),
        (r"(?<=[iu])n$", ""),
        (r"(?<=[a-z][b-df-hj-np-tv-z])y$", "i"),
    )
)
_FINAL_ONLY = 2  # the last rules look at the end of the word: not for wildcard prefixes


def roman_fold(word: str, *, final: bool = True) -> str:
    """Fold romanized spelling variants: ``nahin``/``nahi``/``nai`` -> ``nai``, ``w``->``v``."""
    rules = _FOLDS if final else _FOLDS[:-_FINAL_ONLY]
    # A rule can open a chance for an earlier one (aha -> aa): fold to a fixed point.
    for _ in range(4):
        before = word
        for pattern, repl in rules:
            word = pattern.sub(repl, word)
        if word == before:
            break
    return word


def has_devanagari(word: str) -> bool:
    """Whether any character of ``word`` is in the Devanagari block."""
    return any("\u0900" <= ch <= "\u097f" for ch in word)


def roman_key(word: str, *, final: bool = True) -> str:
    """The spelling-tolerant key of one (already case-folded) word, in either script."""
    if word.isascii():
        return roman_fold(word, final=final) if word.isalpha() else word
    if has_devanagari(word):
        word = deva_to_roman(word)
    return roman_fold(word, final=final)
