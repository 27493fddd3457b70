"""Romanized keys: one spelling-tolerant form for Hindi written in Latin or Devanagari.

``roman_key("nahin") == roman_key("nahi") == roman_key("nahee") == roman_key("नहीं")``.
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


def deva_to_roman(word: str, *, keep_schwa: bool = False) -> str:
    """Devanagari to chat romanization (other characters pass through): ``राहुल`` -> ``rahul``.

    ``keep_schwa`` writes every inherent vowel but the last (``गुजरात`` -> ``gujaraat``, as
    names are often spelled) instead of dropping those that speech drops (``gujraat``).
    """
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
    return "".join(_with_schwa(units, keep_schwa))


def _with_schwa(units: list[list[str | bool]], keep_all: bool = False) -> list[str]:
    """Add the inherent ``a`` where Hindi speech keeps it (final and V C _ C V schwas drop)."""
    keep = [bool(u[1]) for u in units]
    consonant = [bool(u[1]) or _is_consonant_latin(str(u[0])) for u in units]
    last = len(units) - 1
    if last >= 1 and keep[last]:
        keep[last] = False
    if keep_all:
        return [str(u[0]) + ("a" if k else "") for u, k in zip(units, keep, strict=True)]
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


# Folding of romanized spelling variation that never tells two words apart, in this order.
_SPELLING: tuple[tuple[str, str], ...] = (
    (r"ph", "f"),
    (r"cch", "chh"),
    (r"c(?!h)", "k"),
    (r"q", "k"),
    (r"x", "ks"),
    (r"ow(?![aeiou])", "au"),
    (r"w", "v"),
    (r"z", "j"),
    (r"ii", "ee"),
    (r"uu", "oo"),
    # e/a before h: mehngai / mahangai, shehar / shahar, kehna / kahna (chat writes both).
    (r"(?<=[^aeiou])eh", "ah"),
    (r"(?<=[aeiou])yi", "i"),
    (r"iy(?=[aeiou])", "i"),
    # The inherent vowel that speech drops: janata / janta / जनता, mahangai / mehngai.
    (r"(?<=[aeiou][b-df-hj-np-tv-z]h?)a(?=[b-df-hj-np-tv-xz]h?[aeiou])", ""),
    (r"(?<=[aeiou][b-df-hj-np-tv-z]h?)a(?=n[b-df-hj-np-tv-z])", ""),
)
# Folds that merge different words too (हार/हर, काम/कम, पता/पत्ता): only for the loose key.
_SIBILANT: tuple[tuple[str, str], ...] = ((r"sh", "s"), (r"chh", "ch"))
_LENGTH: tuple[tuple[str, str], ...] = (
    (r"e{2,}|i{2,}", "i"),
    (r"o{2,}|u{2,}", "u"),
    (r"a{2,}", "a"),
    (r"([bdfgjklmnprstv])\1+", r"\1"),
    (r"(ch|kh|gh|jh|th|dh|bh)\1+", r"\1"),
)
# Word-final rules: not for wildcard prefixes. A final long vowel is written short in chat
# (janta / जनता), so even the strict key folds it.
_FINAL_STRICT: tuple[tuple[str, str], ...] = (
    (r"(?<=[b-df-hj-np-tv-z])aa$", "a"),
    (r"(?<=[b-df-hj-np-tv-z])ee$", "i"),
    (r"(?<=[b-df-hj-np-tv-z])oo$", "u"),
)
_FINAL_LOOSE: tuple[tuple[str, str], ...] = (
    (r"(?<=[iu])n$", ""),
    (r"(?<=[a-z][b-df-hj-np-tv-z])y$", "i"),
)


def _compile(rules: tuple[tuple[str, str], ...]) -> tuple[tuple[regex.Pattern[str], str], ...]:
    return tuple((regex.compile(p), r) for p, r in rules)


_RULES: dict[tuple[bool, bool, bool], tuple[tuple[regex.Pattern[str], str], ...]] = {
    (True, True, True): _compile(_SPELLING + _SIBILANT + _LENGTH + _FINAL_STRICT + _FINAL_LOOSE),
    (True, True, False): _compile(_SPELLING + _SIBILANT + _LENGTH),
    (True, False, True): _compile(_SPELLING + _LENGTH + _FINAL_STRICT + _FINAL_LOOSE),
    (True, False, False): _compile(_SPELLING + _LENGTH),
    (False, False, True): _compile(_SPELLING + _FINAL_STRICT),
    (False, False, False): _compile(_SPELLING),
}


def roman_fold(word: str, *, final: bool = True, loose: bool = True, sibilants: bool = True) -> str:
    """Fold romanized spelling variants: ``nahin``/``nahi``/``nahee`` -> ``nahi``.

    ``loose`` also folds vowel length and doubled consonants (``sarkaar`` = ``sarkar``),
    which merges some different words; the strict form keeps them (``haar`` != ``har``),
    and ``sh``/``chh`` (``sibilants`` off keeps those alone).
    """
    rules = _RULES[loose, sibilants and loose, final]
    # A rule can open a chance for an earlier one (aaa -> a): fold to a fixed point.
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


def roman_key(word: str, *, final: bool = True, loose: bool = True, sibilants: bool = True) -> str:
    """The spelling-tolerant key of one (already case-folded) word, in either script."""
    if word.isascii() and not word.isalpha():
        return word
    if has_devanagari(word):
        word = deva_to_roman(word)
    return roman_fold(word, final=final, loose=loose, sibilants=sibilants)


# Spellings of ONE word that differ in more than the normalizations of ``text.fold``: the
# only Devanagari words a Devanagari term reaches besides itself (curated; vowel signs of
# English loans). Keys are folded forms; every member maps to the first of its group.
SAME_WORD_GROUPS: tuple[tuple[str, ...], ...] = (
    ("कोंग्रेस", "कांग्रेस"),
    ("नहीं", "नही", "नहि"),
    ("दिवाली", "दीवाली"),
    ("कोलेज", "कालेज"),
    ("डोक्टर", "डाक्टर"),
    ("ओफिस", "आफिस"),
)
_CANONICAL: dict[str, str] = {w: g[0] for g in SAME_WORD_GROUPS for w in g}

DEVANAGARI_MARK = "\x02"  # leads the match key of a Devanagari word
OPAQUE_MARK = "\x03"  # leads the match key of a Devanagari word without romanized variants
ENGLISH_MARK = "\x04"  # leads the match key of an English word kept apart from Hindi keys

_ORTHOGRAPHIC = regex.compile(r"(?<=.)य(?=[ीे]$)|[\u0902\u0901\u094d]")


def same_word(word: str) -> str:
    """A form equal for spellings of one word (anusvara, virama, ये/ए, यी/ई, final ू/ु)."""
    word = _ORTHOGRAPHIC.sub("", _CANONICAL.get(word, word))
    word = word.replace("ी", "ई").replace("े", "ए")
    return word[:-1] + "ु" if word.endswith("ू") else word


def canonical(word: str) -> str:
    """The first spelling of a curated same-word group (``कांग्रेस`` -> ``कोंग्रेस``)."""
    return _CANONICAL.get(word, word)


def same_word_spellings(word: str) -> tuple[str, ...]:
    """The curated spellings of one folded Devanagari word, itself first."""
    group = _CANONICAL.get(word)
    if group is None:
        return (word,)
    return (word, *(w for w in SAME_WORD_GROUPS_BY_FIRST[group] if w != word))


SAME_WORD_GROUPS_BY_FIRST: dict[str, tuple[str, ...]] = {g[0]: g for g in SAME_WORD_GROUPS}


class _Tables:
    """The generated ambiguity tables, loaded on first use (cold start)."""

    ambiguous: frozenset[str] = frozenset()
    opaque: frozenset[str] = frozenset()
    english: frozenset[str] = frozenset()
    dominant: dict[str, str] = {}  # noqa: RUF012 (filled once)
    loaded = False


def _tables() -> type[_Tables]:
    if not _Tables.loaded:
        from chalicelib.domain import variant_data

        _Tables.ambiguous = frozenset(variant_data.AMBIGUOUS.split())
        _Tables.opaque = frozenset(variant_data.OPAQUE.split())
        _Tables.english = frozenset(variant_data.ENGLISH.split())
        pairs = variant_data.DOMINANT.split()
        _Tables.dominant = dict(zip(pairs[::2], pairs[1::2], strict=True))
        _Tables.loaded = True
    return _Tables


def match_key(word: str) -> str:
    """The key a (folded) word is matched by when a query allows variants.

    Romanized words get their loose key (``sarkaar`` = ``sarkar``) unless that key is shared
    by different frequent Hindi words (``har``: हर / हार), then their strict key (``haar``
    != ``har``), or the commonest such word's when they write no length (``har``: हर).
    Devanagari words get the same key behind ``DEVANAGARI_MARK`` (so that no Devanagari
    word ever reaches another through it), or ``OPAQUE_MARK`` and the word
    itself when even the strict key is shared. Frequent English words whose key is a
    Hindi word's (``the``: थे) are matched as written, behind ``ENGLISH_MARK``.
    """
    if word.isascii():
        if not word.isalpha():
            return word
        if word in _tables().english:
            return ENGLISH_MARK + word
        latin, deva = word, False
    elif has_devanagari(word):
        word = _CANONICAL.get(word, word)
        latin, deva = deva_to_roman(word), True
    else:
        return roman_fold(word)
    key = roman_fold(latin)
    tables = _tables()
    if key in tables.ambiguous:
        strict = roman_fold(latin, loose=False)
        if deva:
            if strict in tables.opaque:
                return OPAQUE_MARK + word
            key = strict
        else:
            # A romanized spelling that writes no vowel length (bharat, har) means the
            # commonest Hindi word spelled so (भारत, हर); one that does (haar) means its own.
            mid = roman_fold(latin, sibilants=False)
            key = tables.dominant.get(mid, strict) if strict == mid else strict
    return DEVANAGARI_MARK + key if deva else key
