"""Chat spellings of Devanagari Hindi words, for training the romanized-Hindi model.

``chat_spellings("नहीं") == {"naheen": ..., "nahin": ..., "nahi": ..., "nhi": ...}``: the
spellings people type for a Hindi word, with shares summing to 1. Used only by
``local/train_langid.py``; never shipped.

The base romanizer is a frozen copy of ``chalicelib.domain.transliterate.deva_to_roman`` as it
was when the committed model was trained: the runtime transliterator evolves with the keyword
matcher, and the model must rebuild byte for byte whatever it becomes.
"""

from __future__ import annotations

from collections import defaultdict

import regex

from chalicelib.domain.language.latin import normalize_word

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


def romanize(word: str) -> str:
    """Devanagari to plain chat romanization (other characters pass through): राहुल -> rahul."""
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


def has_devanagari(word: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in word)


# Chat spellings of one romanized word, with a priori weights (normalized per word). People
# write long vowels short and "chh" as "ch" ("kya", "nahin", "kuch"), drop a final nasal
# ("nahi", "hai" for "hain"), write "-ein" for final "-en" ("mein"), "eh" for "ah" before a
# consonant ("yeh", "mehngai"), "w" for "v" ("wo") and drop short "a" between consonants
# ("rha", "nhi"). Weights were fixed from that list, not searched on any set.
_SHORTENINGS = tuple(
    (regex.compile(p), r)
    for p, r in (("aa", "a"), ("ee", "i"), ("oo", "u"), ("chchh", "chh"), ("chh", "ch"))
)
_AH = regex.compile(r"ah(?![aeiou])")
_FLAPS = regex.compile("[\u0921\u0922]\u093c|[\u095c\u095d]")  # ड़ ढ़, composed or not
_PLAIN_OF_FLAP = {"\u095c": "\u0921", "\u095d": "\u0922"}
_INNER_A = regex.compile(r"(?<=[b-df-hj-np-tv-z])a(?=[b-df-hj-np-tv-z])")
_FINAL_NASAL_SIGNS = ("\u0902", "\u0901")  # anusvara, candrabindu
_E_NASAL = "\u0947\u0902"  # e-matra + anusvara: "en" written "ein"
W_PLAIN, W_SHORT, W_NO_NASAL, W_EIN, W_EH, W_W, W_NO_INNER_A = (1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5)


def chat_spellings(deva: str) -> dict[str, float]:
    """Romanized spellings of one Devanagari word and their shares (summing to 1)."""
    if not has_devanagari(deva):
        return {}
    forms = [deva]
    unflapped = _FLAPS.sub(lambda m: _PLAIN_OF_FLAP.get(m.group(), m.group()[0]), deva)
    if unflapped != deva:
        # ड़ and ढ़ are written "d" and "dh" as often as "r" and "rh" ("bada", "padhna").
        forms.append(unflapped)
    out: dict[str, float] = defaultdict(float)
    for form in forms:
        for word, share in _spellings(form).items():
            out[word] += share / len(forms)
    return dict(sorted(out.items()))


def _spellings(deva: str) -> dict[str, float]:
    plain = normalize_word(romanize(deva))
    if not plain:
        return {}
    weights: dict[str, float] = defaultdict(float)
    weights[plain] += W_PLAIN
    short = plain
    for pattern, repl in _SHORTENINGS:
        short = pattern.sub(repl, short)
    weights[short] += W_SHORT
    tail = short
    if deva.endswith(_FINAL_NASAL_SIGNS) and short.endswith("n") and len(short) > 2:
        tail = short[:-1]
        weights[tail] += W_NO_NASAL
    if deva.endswith(_E_NASAL) and short.endswith("en"):
        weights[short[:-2] + "ein"] += W_EIN
    if _AH.search(tail):
        weights[_AH.sub("eh", tail)] += W_EH
    if "v" in tail:
        weights[tail.replace("v", "w")] += W_W
    squeezed = _INNER_A.sub("", tail)
    if squeezed != tail and regex.search("[aeiou]", squeezed):
        weights[squeezed] += W_NO_INNER_A
    total = sum(weights.values())
    return {w: x / total for w, x in weights.items()}
