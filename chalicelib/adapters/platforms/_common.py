"""Helpers shared by the platform parsers: strict field access, ids, times, HTML to text.

Every helper raises :class:`ParseError` naming the place in the payload (``loc``), so a bad
item can go to the dead-letter queue with a message an operator can act on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import regex

from chalicelib.domain.json_limits import check_json_text
from chalicelib.domain.mention import Author, Mention, parse_timestamp
from chalicelib.errors import FieldProblem, MalformedInputError, ParseError

Json = Any


def fail(loc: str, msg: str) -> ParseError:
    """A ParseError for one place in the payload."""
    return ParseError(f"{loc}: {msg}", [FieldProblem(loc, msg)])


def decode_text(raw: bytes | str, what: str) -> str:
    """The payload as text; bytes must be UTF-8 (a BOM is tolerated)."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(what, f"not UTF-8 ({err.reason} at byte {err.start})") from None


def load_json(raw: bytes | str, what: str) -> Json:
    """Parse JSON without ever producing a float: a non-integer number becomes a Decimal.

    X ids beyond 2**53 lose digits in a float; keeping numbers exact means an id that arrives
    as a JSON number is still right, and a lossy one (``8.26e+17``) is caught by :func:`as_id`.
    """
    text = decode_text(raw, what)
    if not text.strip():
        raise fail(what, "empty input")
    try:
        check_json_text(text, what)  # a RecursionError or int()'s digit limit would be a 500
    except MalformedInputError as err:
        raise fail(what, err.problems[0].msg) from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as err:
        raise fail(what, f"not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None


def as_dict(value: Json, loc: str) -> dict[str, Json]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, dict):
        raise fail(loc, f"expected an object, got {_kind(value)}")
    return value


def as_list(value: Json, loc: str) -> list[Json]:
    """``value`` if it is a JSON array."""
    if not isinstance(value, list):
        raise fail(loc, f"expected an array, got {_kind(value)}")
    return value


def req(obj: Mapping[str, Json], key: str, loc: str) -> Json:
    """A required member of an object."""
    if key not in obj or obj[key] is None:
        raise fail(f"{loc}/{key}", "required")
    return obj[key]


def req_str(obj: Mapping[str, Json], key: str, loc: str) -> str:
    """A required string member."""
    value = req(obj, key, loc)
    if not isinstance(value, str):
        raise fail(f"{loc}/{key}", f"expected a string, got {_kind(value)}")
    return value


def opt_str(obj: Mapping[str, Json], key: str, loc: str, default: str = "") -> str:
    """An optional string member."""
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise fail(f"{loc}/{key}", f"expected a string, got {_kind(value)}")
    return value


def opt_dict(obj: Mapping[str, Json], key: str, loc: str) -> dict[str, Json]:
    """An optional object member ({} when absent or null)."""
    value = obj.get(key)
    return {} if value is None else as_dict(value, f"{loc}/{key}")


def opt_list(obj: Mapping[str, Json], key: str, loc: str) -> list[Json]:
    """An optional array member ([] when absent or null)."""
    value = obj.get(key)
    return [] if value is None else as_list(value, f"{loc}/{key}")


def as_id(value: Json, loc: str) -> str:
    """A platform id as a string: strings pass, integers are exact, floats are refused."""
    if isinstance(value, bool):
        raise fail(loc, "expected an id, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise fail(loc, "empty id")
        return text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (Decimal, float)):
        raise fail(loc, f"id {value} is a non-integer number; its digits may be lost")
    raise fail(loc, f"expected an id, got {_kind(value)}")


def req_id(obj: Mapping[str, Json], key: str, loc: str) -> str:
    """A required id member, as a string."""
    return as_id(req(obj, key, loc), f"{loc}/{key}")


def as_count(value: Json, loc: str) -> int:
    """A non-negative integer count (strings of digits are accepted: YouTube sends those)."""
    if isinstance(value, bool):
        raise fail(loc, "expected a count, got a boolean")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value >= 0 and value == value.to_integral_value():
        return int(value)
    raise fail(loc, f"expected a non-negative count, got {value!r}")


def counts(obj: Mapping[str, Json], names: Mapping[str, str], loc: str) -> dict[str, int]:
    """Metrics under our names (``names``: theirs -> ours); absent ones are left out."""
    out: dict[str, int] = {}
    for theirs, ours in names.items():
        if obj.get(theirs) is not None:
            out[ours] = as_count(obj[theirs], f"{loc}/{theirs}")
    return out


def as_time(value: Json, loc: str) -> datetime:
    """An ISO-8601 timestamp (``Z``, ``+0000`` or ``+05:30``) as aware UTC."""
    if not isinstance(value, str):
        raise fail(loc, f"expected a timestamp string, got {_kind(value)}")
    try:
        return parse_timestamp(value)
    except ValueError:
        raise fail(loc, f"not an ISO-8601 timestamp: {value!r}") from None


def req_time(obj: Mapping[str, Json], key: str, loc: str) -> datetime:
    """A required ISO-8601 timestamp member."""
    return as_time(req(obj, key, loc), f"{loc}/{key}")


def epoch_time(value: Json, loc: str) -> datetime:
    """Unix seconds (number or digit string) as aware UTC."""
    seconds = as_count(value, loc)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise fail(loc, f"Unix time {seconds} is out of range") from None


def _kind(value: Json) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        Decimal: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


# Word characters for hashtags/mentions include combining marks, or Devanagari words break at
# every matra (see DESIGN.md: Python's `re` \w misses Mn/Mc).
_HASHTAG = regex.compile(r"(?<![\p{L}\p{M}\p{N}_&/])#([\p{L}\p{M}\p{N}_]+)")
_AT_MENTION = regex.compile(
    r"(?<![\p{L}\p{M}\p{N}_.@/])@([A-Za-z0-9_](?:[A-Za-z0-9_.@-]*[A-Za-z0-9_])?)"
)
_URL = regex.compile(r"https?://[^\s<>\"'\u200b]+")
_TRAILING_PUNCT = ".,;:!?)]}'\"…"


def find_hashtags(text: str) -> tuple[str, ...]:
    """Hashtags in plain text, without the ``#``, in order, de-duplicated."""
    return _unique(m.group(1) for m in _HASHTAG.finditer(text) if not m.group(1).isdigit())


def find_mentions(text: str) -> tuple[str, ...]:
    """``@handles`` in plain text, without the ``@``, in order, de-duplicated."""
    return _unique(m.group(1) for m in _AT_MENTION.finditer(text))


def find_urls(text: str) -> tuple[str, ...]:
    """http(s) URLs in plain text, trailing punctuation trimmed, de-duplicated."""
    return _unique(m.group(0).rstrip(_TRAILING_PUNCT) for m in _URL.finditer(text))


def _unique(items: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)


_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre"}
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


_BLANK_RUNS = regex.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_SPACES = regex.compile(r"[ \t]+\n")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept."""
    return html_to_text_and_links(html)[0]


def html_to_text_and_links(html: str) -> tuple[str, tuple[str, ...]]:
    """Plain text plus the ``href`` of every link, for HTML post bodies."""
    if "<" not in html and "&" not in html:
        return html.strip(), ()
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = _SPACES.sub("\n", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip(), _unique(parser.hrefs)


def deletion_marker(platform: str, native_id: str, author: Author, at: datetime) -> Mention:
    """The mention that tells the store to remove its copy of ``platform#native_id``."""
    return Mention(
        platform=platform, native_id=native_id, author=author, created_at=at, text="", deleted=True
    )
