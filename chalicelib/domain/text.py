"""Text normalization shared by posts and keyword queries.

A text becomes a sequence of tokens, each with its folded form and its offsets in the
original text (so matches can be highlighted where the reader sees them):

* words are runs of letters and marks of ONE script (``IITखड़गपुर`` is two words), found
  with explicit Unicode classes of the ``regex`` module; digits are words of their own;
* folding: Unicode NFC, invisible characters (ZWJ, ZWNJ, soft hyphen, word joiner, BOM)
  removed, nukta removed (ज़ -> ज), chandrabindu -> anusvara (ँ -> ं), a homorganic nasal
  with virama -> anusvara (हिन्दी -> हिंदी), candra vowels -> plain (कॉ -> को),
  Devanagari digits -> ASCII, Latin and other cased scripts case-folded;
* URLs and HTML entities are skipped; ``@handle`` is one token; ``#HashTag`` is one token
  for display and whole-tag matching and is also split into words (CamelCase, digits,
  underscores, script changes, and lower-case runs by a unigram model, see ``segment``)
  that are matched like any other words.

Every token also carries its romanized key (see ``transliterate``) and its exact form
(NFC, invisibles removed, case kept).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

import regex

from chalicelib.domain.segment import segment
from chalicelib.domain.text_classes import ASCII_PATTERN, OUTSIDE_SIMPLE, SIMPLE_PATTERN
from chalicelib.domain.transliterate import match_key

# Characters that may sit inside a word but carry no letter; folding removes them.
INVISIBLE = "\u00ad\u200c\u200d\u2060\ufeff"
_VIRAMA = "\u094d"
ANUSVARA = "\u0902"

# Scripts whose words are runs of letters of that script; any other letter is a word alone.
_SCRIPTS = (
    "Latn", "Deva", "Beng", "Guru", "Gujr", "Orya", "Taml", "Telu", "Knda", "Mlym",
    "Sinh", "Arab", "Cyrl", "Grek", "Armn", "Hebr", "Thai", "Tibt", "Geor", "Hang",
)  # fmt: skip


_NOT_WORD = r"\p{N}\p{P}\p{S}\p{Z}"


def _first(script: str) -> str:
    """Characters that start a word of ``script``: its letters and marks."""
    return rf"[\p{{{script}}}--[{_NOT_WORD}\p{{C}}]]"


def _rest(script: str) -> str:
    """Characters that continue a word of ``script``: also inherited marks and invisibles."""
    return rf"[[\p{{{script}}}\p{{Zinh}}\p{{M}}{INVISIBLE}]--[{_NOT_WORD}\p{{Cc}}]]"


def _script_word(script: str) -> str:
    return f"{_first(script)}{_rest(script)}*"


_WORD_ALTERNATIVES = "|".join(
    [r"\p{Nd}+"] + [_script_word(s) for s in _SCRIPTS] + [rf"\p{{L}}[\p{{M}}{INVISIBLE}]*"]
)
_TAG_CHARS = rf"[\p{{L}}\p{{M}}\p{{N}}_{INVISIBLE}]"
# One capturing group around everything: ``split`` then yields gaps and tokens alternately,
# whose lengths give every token's offsets without a match object per token.
_TOKEN = regex.compile(
    rf"((?<![\p{{L}}\p{{M}}\p{{N}}_#@&])#{_TAG_CHARS}+"
    # A handle may follow a non-Latin letter: glued text like "से@ArvindKejriwal" is common.
    r"|(?<![A-Za-z0-9_#@&])@[A-Za-z0-9_]+"
    rf"|{_WORD_ALTERNATIVES})",
    regex.V1,
)
_PIECE = regex.compile(_WORD_ALTERNATIVES, regex.V1)


def simple_tokenizer_patterns() -> tuple[str, str, str]:
    """The same tokenizer for texts in Latin, Devanagari, punctuation and emoji only, and
    again for ASCII texts only; then the class of characters outside the first's blocks.

    Python's ``re`` with explicit character classes runs this 3x faster than the general
    ``regex`` pattern; the classes are derived from the general ones (so they agree, which
    a test checks code point by code point) for the blocks listed here. Deriving them scans
    every code point of the blocks (~8 ms), so the result ships in ``text_classes.py``
    (``python bench/build_text_classes.py``; a test checks it is current).
    """
    blocks = (
        (0x0000, 0x024F), (0x0300, 0x036F), (0x0900, 0x097F), (0x2000, 0x206F),
        (0x20A0, 0x20CF), (0x2190, 0x2BFF), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
        (0x1F000, 0x1FAFF),
    )  # fmt: skip
    classes = {
        "lb": r"[\p{L}\p{M}\p{N}_#@&]",
        "tag": _TAG_CHARS,
        "nd": r"\p{Nd}",
        "lf": _first("Latn"),
        "lr": _rest("Latn"),
        "df": _first("Deva"),
        "dr": _rest("Deva"),
        "l": r"\p{L}",
        "mi": rf"[\p{{M}}{INVISIBLE}]",
    }
    # One scan per class over every code point of the blocks.
    chars = "".join(chr(cp) for lo, hi in blocks for cp in range(lo, hi + 1))
    members = {
        k: [ord(m.group()) for m in regex.finditer(v, chars, flags=regex.V1)]
        for k, v in classes.items()
    }
    # Two thirds of posts are ASCII: their classes shrink to a few ranges, which ``re``
    # tests faster than the long lists (split ~20% faster on the real posts).
    ascii_members = {k: [cp for cp in v if cp < 0x80] for k, v in members.items()}
    outside = "".join(f"{_esc(lo)}-{_esc(hi)}" for lo, hi in blocks)
    return _simple_pattern(members), f"[^{outside}]", _simple_pattern(ascii_members)


def _simple_pattern(members: dict[str, list[int]]) -> str:
    cls = {k: _char_class(v) for k, v in members.items()}

    def then(rest: str) -> str:
        return f"{cls[rest]}*" if members[rest] else ""

    # Every alternative starts with the character it consumes (the lookbehinds come after
    # ``#``/``@`` and look two back), so ``re`` knows the set of first characters and skips
    # the gaps between tokens in C (split took ~30% less time on the real posts).
    # An alternative whose first class is empty (Devanagari within ASCII) is left out, and
    # so is an empty class of continuing characters.
    words = [
        cls[first] + tail
        for first, tail in (("nd", "+"), ("lf", then("lr")), ("df", then("dr")), ("l", then("mi")))
        if members[first]
    ]
    return (
        f"(#(?<!{cls['lb']}#){cls['tag']}+"
        r"|@(?<![A-Za-z0-9_#@&]@)[A-Za-z0-9_]+"
        f"|{'|'.join(words)})"
    )


def _esc(cp: int) -> str:
    return f"\\U{cp:08x}"


def _char_class(cps: list[int]) -> str:
    if not cps:
        return "(?!)"
    ranges: list[tuple[int, int]] = []
    for cp in cps:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return "[" + "".join(_esc(a) if a == b else f"{_esc(a)}-{_esc(b)}" for a, b in ranges) + "]"


_SIMPLE_TOKEN = re.compile(SIMPLE_PATTERN)
_ASCII_TOKEN = re.compile(ASCII_PATTERN)
_NOT_SIMPLE = re.compile(OUTSIDE_SIMPLE)
# CamelCase inside a hashtag word: NoVoteToBJP -> No Vote To BJP; BJPKeNeta -> BJP Ke Neta.
_CAMEL = regex.compile(
    r"[\p{Lu}\p{Lt}]+(?=[\p{Lu}\p{Lt}][^\p{Lu}\p{Lt}])|[\p{Lu}\p{Lt}]?[^\p{Lu}\p{Lt}]+|[\p{Lu}\p{Lt}]+",
    regex.V1,
)
# URLs and HTML entities are blanked (same length) before tokenizing, so offsets stay put.
_SKIP = regex.compile(r"(?:https?://|www\.)\S+|&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);")
_NASAL = regex.compile("ङ्(?=[कखगघ])|ञ्(?=[चछजझ])|ण्(?=[टठडढ])|न्(?=[तथदध])|म्(?=[पफबभ])")

_FOLD_TABLE: dict[int, str | None] = {ord(c): None for c in INVISIBLE + "\u093c"}
_FOLD_TABLE.update(
    {
        ord("ँ"): ANUSVARA,
        ord("ॉ"): "ो",
        ord("ऑ"): "ओ",
        ord("ॅ"): "े",
        ord("ऍ"): "ए",
        ord("ऩ"): "न",
        ord("ऱ"): "र",
        ord("ऴ"): "ळ",
    }
)
_FOLD_TABLE.update({0x0966 + i: str(i) for i in range(10)})
_EXACT_TABLE: dict[int, str | None] = {ord(c): None for c in INVISIBLE}

SHADOW_SEPARATOR = "\x00"


def fold(s: str) -> str:
    """The folded form of one word (see the module docstring for the rules)."""
    if s.isascii():
        return s.lower()
    return _fold(s)


@lru_cache(maxsize=1 << 16)
def _fold(s: str) -> str:
    s = unicodedata.normalize("NFC", s).translate(_FOLD_TABLE)
    s = unicodedata.normalize("NFC", s.casefold())
    if _VIRAMA in s:
        s = _NASAL.sub(ANUSVARA, s)
    # Marks left leading (a nukta removed before an accent, a stray matra) start no word,
    # so the folded form would not read back as one token: drop them.
    start = 0
    while start < len(s) and unicodedata.category(s[start])[0] == "M":
        start += 1
    return s[start:]


def exact_form(s: str) -> str:
    """A word as written: NFC, invisible characters removed, case kept."""
    if s.isascii():
        return s
    return unicodedata.normalize("NFC", s).translate(_EXACT_TABLE)


# (folded, romanized key, exact): the three forms a word is matched in.
Forms = tuple[str, str, str]


_EMPTY: Forms = ("", "", "")
# Marker: folding turned one token into several (``ŉ`` -> ``ʼn``, ``Zͅ`` -> ``zι``).
_SPLIT: Forms = ("", "\x01", "")


@lru_cache(maxsize=1 << 16)
def word_forms(raw: str) -> Forms:
    """Folded, romanized and exact forms of one word, handle or number token."""
    f = fold(raw)
    if not f:
        return _EMPTY
    if raw[0] == "@":
        return (f, f, f)
    if not f.isascii() and _TOKEN.findall(f) != [f]:
        return _SPLIT
    return (f, match_key(f) or f, exact_form(raw))


@lru_cache(maxsize=1 << 15)
def token_parts(raw: str) -> tuple[Forms, ...]:
    """The forms of one raw token: usually one, none if it folds away, several if it splits.

    Splitting keeps normalization idempotent: a folded token always reads back as itself.
    """
    forms = word_forms(raw)
    if forms is _EMPTY:
        return ()
    if forms is not _SPLIT:
        return (forms,)
    parts: list[Forms] = []
    for piece in _TOKEN.findall(fold(raw)):
        f = fold(piece)
        if f and _TOKEN.findall(f) == [f]:
            parts.append((f, match_key(f) or f, f))
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class HashtagForms:
    """A hashtag whole (``#novotetobjp``) and its words with offsets relative to the tag."""

    whole: Forms
    pieces: tuple[tuple[int, int, str, str, str], ...]


@lru_cache(maxsize=1 << 15)
def hashtag_forms(raw: str) -> HashtagForms:
    """Split ``#NoVoteToBJP`` into words (offsets relative to ``raw``) and fold it whole."""
    pieces: list[tuple[int, int, str, str, str]] = []
    for m in _PIECE.finditer(raw, 1):
        seg = m.group()
        for c in _CAMEL.finditer(seg):
            start = m.start() + c.start()
            word = c.group()
            # A lower-case run (or one capital then lower case) may be several words.
            words = segment(word.lower()) if word[1:].islower() and word.isascii() else None
            if words is None:
                for f, r, x in token_parts(word):
                    pieces.append((start, start + len(word), f, r, x))
                continue
            for w in words:
                for f, r, x in token_parts(raw[start : start + len(w)]):
                    pieces.append((start, start + len(w), f, r, x))
                start += len(w)
    body = fold(raw[1:])
    whole = ("#" + body, "#" + (match_key(body) or body), "#" + exact_form(raw[1:]))
    return HashtagForms(whole, tuple(pieces))


class Scanned:
    """A text cut into match tokens: the main words in order, then the whole hashtags.

    ``folds``/``romans``/``exacts`` are parallel sequences, one entry per token; index
    ``n_main`` holds a separator so that no phrase runs from the words into the tags.
    Offsets (``starts``/``ends``) are worked out only when asked for, i.e. on a match.
    """

    __slots__ = (
        "_ends",
        "_parts",
        "_places",
        "_raws",
        "_starts",
        "_text",
        "exacts",
        "folds",
        "n_main",
        "romans",
        "shadow_pos",
    )

    def __init__(self, text: str, parts: list[str]) -> None:
        self._text = text
        # gap, token, gap, token, ..., gap: as ``split`` with a capturing group returns them
        self._parts = parts
        self._raws = parts[1::2]
        # Per token: (index of its raw token, start and end inside that raw token); None
        # when tokens and raw tokens correspond one to one.
        self._places: list[tuple[int, int, int]] | None = None
        self.folds: Sequence[str] = ()
        self.romans: Sequence[str] = ()
        self.exacts: Sequence[str] = ()
        self._starts: list[int] | None = None
        self._ends: list[int] = []
        self.n_main = 0
        self.shadow_pos: list[int] = []

    @property
    def starts(self) -> list[int]:
        """Start offset in the original text of every token."""
        if self._starts is None:
            self._locate()
        assert self._starts is not None
        return self._starts

    @property
    def ends(self) -> list[int]:
        """End offset in the original text of every token."""
        if self._starts is None:
            self._locate()
        return self._ends

    def _raw_bounds(self) -> tuple[list[int], list[int]]:
        """Start and end offsets of every raw token, from the lengths of the split parts."""
        bounds = list(accumulate(map(len, self._parts)))
        return bounds[0:-1:2], bounds[1::2]

    def _locate(self) -> None:
        raw_starts, raw_ends = self._raw_bounds()
        if self._places is None:
            self._starts, self._ends = raw_starts, raw_ends
            return
        self._starts = [raw_starts[k] + rs for k, rs, _ in self._places]
        self._ends = [raw_starts[k] + re_ for k, _, re_ in self._places]

    @property
    def raws(self) -> list[str]:
        """The raw tokens as the tokenizer cut them (a hashtag whole, a word unfolded)."""
        return self._raws

    @property
    def plain(self) -> bool:
        """No hashtags: raw tokens and match tokens correspond one to one, unless a token
        folds away or splits (``word_forms`` then gives an empty fold)."""
        return "#" not in self._text

    def position(self, index: int) -> int:
        """Word position of a token (a whole hashtag sits at its first word)."""
        if index < self.n_main:
            return index
        return self.shadow_pos[index - self.n_main - 1]


def scan(text: str) -> Scanned:
    """Tokenize and fold ``text`` for matching (offsets refer to ``text`` as given)."""
    out = split_tokens(text)
    fill_forms(out)
    return out


def split_tokens(text: str) -> Scanned:
    """The first half of ``scan``: raw tokens and offsets, no forms yet (``fill_forms``).

    Until then ``n_main`` counts the raw tokens, which is right when ``plain`` is true and
    every raw token has one form (``word_forms`` gives a non-empty fold).
    """
    if "://" in text or "www." in text or "&" in text:
        text = _SKIP.sub(_blank, text)
    # ASCII lies inside the simple tokenizer's blocks, and has a smaller pattern of its own.
    pattern: re.Pattern[str] | regex.Pattern[str]
    if text.isascii():
        pattern = _ASCII_TOKEN
    else:
        pattern = _TOKEN if _NOT_SIMPLE.search(text) else _SIMPLE_TOKEN
    out = Scanned(text, pattern.split(text))
    out.n_main = len(out._raws)
    return out


def fill_forms(out: Scanned) -> None:
    """The second half of ``scan``: every token's folded, romanized and exact forms."""
    raws = out._raws
    if "#" not in out._text:
        if not raws:
            return
        folds, romans, exacts = zip(*map(word_forms, raws), strict=True)
        # An empty fold marks a token that folds away or splits: take the general path.
        if "" not in folds:
            out.folds, out.romans, out.exacts = folds, romans, exacts
            out.n_main = len(folds)
            return
    _scan_pieces(out, raws)


def _scan_pieces(out: Scanned, raws: list[str]) -> None:
    """The general case: hashtags split into words, tokens that fold away or split."""
    folds: list[str] = []
    romans: list[str] = []
    exacts: list[str] = []
    places: list[tuple[int, int, int]] = []
    tags: list[tuple[HashtagForms, int, int]] = []
    for k, raw in enumerate(raws):
        if raw[0] == "#":
            h = hashtag_forms(raw)
            if not h.pieces:
                continue
            tags.append((h, k, len(folds)))
            for ps, pe, f, r, x in h.pieces:
                folds.append(f)
                romans.append(r)
                exacts.append(x)
                places.append((k, ps, pe))
            continue
        for f, r, x in token_parts(raw):
            folds.append(f)
            romans.append(r)
            exacts.append(x)
            places.append((k, 0, len(raw)))
    out.n_main = len(folds)
    if tags:
        # The separator sits on the last tag; it is never part of a match.
        last = tags[-1][1]
        folds.append(SHADOW_SEPARATOR)
        romans.append(SHADOW_SEPARATOR)
        exacts.append(SHADOW_SEPARATOR)
        places.append((last, 0, len(raws[last])))
        for h, k, first in tags:
            folds.append(h.whole[0])
            romans.append(h.whole[1])
            exacts.append(h.whole[2])
            places.append((k, 0, len(raws[k])))
            out.shadow_pos.append(first)
    out.folds, out.romans, out.exacts = folds, romans, exacts
    out._places = places


def _blank(m: regex.Match[str]) -> str:
    return " " * len(m.group())


@dataclass(frozen=True)
class Token:
    """One token of a text as a reader sees it: folded text, kind and original offsets."""

    text: str
    kind: str
    start: int
    end: int
    words: tuple[str, ...] = ()


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` in order; a hashtag keeps its whole form and lists its words."""
    if "://" in text or "www." in text or "&" in text:
        text = _SKIP.sub(_blank, text)
    tokens: list[Token] = []
    for m in _TOKEN.finditer(text):
        raw = m.group()
        if raw[0] == "#":
            h = hashtag_forms(raw)
            if h.pieces:
                words = tuple(p[2] for p in h.pieces)
                tokens.append(Token(h.whole[0], "hashtag", m.start(), m.end(), words))
            continue
        kind = "handle" if raw[0] == "@" else "number" if raw[0].isdigit() else "word"
        for forms in token_parts(raw):
            tokens.append(Token(forms[0], kind, m.start(), m.end()))
    return tokens


def normalize(text: str) -> str:
    """The folded tokens of ``text`` joined by single spaces (hashtags kept whole)."""
    return " ".join(t.text for t in tokenize(text))
