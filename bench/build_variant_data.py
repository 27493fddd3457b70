"""Rebuild chalicelib/domain/variant_data.py: the romanized keys that merge different words.

Input: the Hindi list of the ``wordfreq`` package (3.1.1, data CC BY-SA 4.0, see
https://github.com/rspeer/wordfreq; not a dependency of Tvarit: download its wheel and
point --wordfreq at the unpacked ``wordfreq/data`` folder; needs ``msgpack``).

Every Devanagari word with a Zipf frequency of at least --min-zipf gets its loose romanized
key. A key shared by two different words (not spellings of one word, see ``same_word``) is
AMBIGUOUS: words with that key are matched by their strict key (vowel length and doubled
consonants kept). A strict key still shared by different words is OPAQUE: those Devanagari
words get no romanized variants at all. Frequent English words whose key is also a Hindi
word's (the/थे) are ENGLISH: matched as written. Only keys and those English words are
written, not the Hindi word list.

Usage: python bench/build_variant_data.py --wordfreq /path/to/wordfreq/data
"""

from __future__ import annotations

import argparse
import gzip
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.domain.text import fold  # noqa: E402
from chalicelib.domain.transliterate import roman_key, same_word  # noqa: E402

OUT = ROOT / "chalicelib/domain/variant_data.py"


def hindi_words(data: Path, min_zipf: float) -> list[str]:
    """Folded Devanagari words, commonest first."""
    import msgpack  # type: ignore[import-not-found,import-untyped,unused-ignore]

    with gzip.open(data / "small_hi.msgpack.gz") as fh:
        buckets = msgpack.load(fh, raw=False)
    # Bucket i holds words of frequency 10**(-i/100); Zipf = 9 + log10(frequency).
    last = round((9 - min_zipf) * 100)
    out = []
    for i, bucket in enumerate(buckets[1:]):
        if i > last:
            break
        out += [fold(w) for w in bucket if all("\u0900" <= c <= "\u097f" for c in w)]
    return out


# English words whose key meets a Hindi word's key because Hindi writes the same English
# word (a loan): these keep their variants. Curated from the collision list this prints.
LOANS = frozenset(
    [
        "of",
        "for",
        "it",
        "on",
        "with",
        "from",
        "its",
        "good",
        "go",
        "most",
        "still",
        "down",
        "last",
        "best",
        "long",
        "look",
        "three",
        "help",
        "old",
        "end",
        "big",
        "feel",
        "free",
        "left",
        "let",
        "set",
        "top",
        "start",
        "week",
        "point",
        "hard",
        "stop",
        "job",
        "american",
        "less",
        "party",
        "black",
        "president",
        "story",
        "book",
        "local",
        "oh",
        "post",
        "body",
        "food",
        "room",
        "class",
        "data",
        "north",
        "morning",
        "short",
        "red",
        "check",
        "form",
        "no",
        "get",
        "try",
        "well",
    ]
)


def english_words(data: Path, min_zipf: float) -> list[str]:
    import msgpack  # type: ignore[import-not-found,import-untyped,unused-ignore]

    with gzip.open(data / "small_en.msgpack.gz") as fh:
        buckets = msgpack.load(fh, raw=False)
    last = round((9 - min_zipf) * 100)
    return [
        w for i, b in enumerate(buckets[1:]) if i <= last for w in b if w.isascii() and w.isalpha()
    ]


def collisions(words: list[str], *, loose: bool) -> dict[str, set[str]]:
    by_key: dict[str, set[str]] = defaultdict(set)
    for w in words:
        by_key[roman_key(w, loose=loose)].add(w)
    return {k: ws for k, ws in by_key.items() if len({same_word(w) for w in ws}) > 1}


def constant(name: str, words: list[str]) -> str:
    """``NAME = ("w1 w2 " ...)``: space-separated words in lines that ruff accepts."""
    lines = textwrap.wrap(" ".join(words), 90, break_long_words=False, break_on_hyphens=False)
    body = "".join(f"    {line + ' '!r}\n" for line in lines)
    return f"\n{name} = (\n{body})\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordfreq", type=Path, required=True)
    ap.add_argument("--min-zipf", type=float, default=4.0)
    ap.add_argument("--english-zipf", type=float, default=5.3)
    args = ap.parse_args()
    words = hindi_words(args.wordfreq, args.min_zipf)
    ambiguous = collisions(words, loose=True)
    strict_words = [w for ws in ambiguous.values() for w in ws]
    opaque = collisions(strict_words, loose=False)
    # For a romanized spelling without vowel length: the strict key of the commonest word
    # among those spelled so (first in the list wins: it is sorted by frequency).
    dominant: dict[str, str] = {}
    for w in words:
        if roman_key(w) in ambiguous:
            dominant.setdefault(roman_key(w, sibilants=False), roman_key(w, loose=False))
    # English words as frequent as "care" whose key is a frequent Hindi word's (the/थे,
    # call/कल, not/नोट): matched as written, so neither reaches the other.
    hindi_keys = {roman_key(w) for w in hindi_words(args.wordfreq, args.min_zipf - 0.5)}
    english = sorted(
        w
        for w in english_words(args.wordfreq, args.english_zipf)
        if len(w) > 1 and w not in LOANS and roman_key(w) in hindi_keys
    )
    text = (
        '"""Generated by bench/build_variant_data.py from wordfreq 3.1.1 small_hi (CC BY-SA 4.0)'
        f"\n\n{len(words)} Devanagari words with Zipf >= {args.min_zipf}. Do not edit by hand.\n"
        '"""\n\nfrom __future__ import annotations\n'
        + constant("AMBIGUOUS", sorted(ambiguous))
        + constant("OPAQUE", sorted(opaque))
        + constant("ENGLISH", english)
        + constant("DOMINANT", [f"{k} {v}" for k, v in sorted(dominant.items())])
    )
    OUT.write_text(text, encoding="utf-8")
    print(f"{len(words)} words: {len(ambiguous)} ambiguous keys, {len(opaque)} opaque")
    print(f"{len(english)} English words kept apart: {' '.join(english)}")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
