"""Unicode script of a character (ISO 15924 codes), by code point range."""

from __future__ import annotations

from bisect import bisect_right

# (first, last, script), sorted and disjoint. Only letters matter: callers look at words.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latn"),
    (0x0061, 0x007A, "Latn"),
    (0x00C0, 0x024F, "Latn"),
    (0x0370, 0x03FF, "Grek"),
    (0x0400, 0x052F, "Cyrl"),
    (0x0590, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"),
    (0x0750, 0x077F, "Arab"),
    (0x08A0, 0x08FF, "Arab"),
    (0x0900, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"),
    (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"),
    (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"),
    (0x1C50, 0x1C7F, "Olck"),
    (0x1CD0, 0x1CFF, "Deva"),
    (0x1E00, 0x1EFF, "Latn"),
    (0x3040, 0x309F, "Hira"),
    (0x30A0, 0x30FF, "Kana"),
    (0x4E00, 0x9FFF, "Hani"),
    (0xA8E0, 0xA8FF, "Deva"),
    (0xAC00, 0xD7AF, "Hang"),
    (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"),
    (0xFF21, 0xFF3A, "Latn"),
    (0xFF41, 0xFF5A, "Latn"),
)
_STARTS = [lo for lo, _, _ in _RANGES]

UNKNOWN_SCRIPT = "Zzzz"


def script_of(ch: str) -> str | None:
    """ISO 15924 code of one character, or None outside the scripts we know."""
    cp = ord(ch)
    i = bisect_right(_STARTS, cp) - 1
    if i >= 0:
        _, hi, name = _RANGES[i]
        if cp <= hi:
            return name
    return None


def dominant_script(text: str) -> tuple[str, dict[str, int]]:
    """The script with the most characters in ``text`` ("Zyyy" if none) and the counts."""
    counts: dict[str, int] = {}
    for ch in text:
        s = script_of(ch)
        if s is not None:
            counts[s] = counts.get(s, 0) + 1
    if not counts:
        return "Zyyy", counts
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0], counts
