"""A tiny template renderer and the message catalogue: no library on the cold-start path.

Templates are HTML files with three kinds of placeholder, filled in one regex pass:

* ``{{ name }}``: a value, HTML-escaped unless it is :class:`Safe` (already-rendered HTML);
* ``{{ _.key }}``: a message of the catalogue in the page's language, escaped;
* nothing else: no logic in templates. Loops and conditions live in Python, which renders
  fragments and passes them in as :class:`Safe`.

A placeholder without a value, or a message key missing from a catalogue, raises: a page
never ships a blank where a word belongs.
"""

from __future__ import annotations

import json
import re
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LANGUAGES = ("hi", "en")  # the UI's languages; the first is the default
_PLACEHOLDER = re.compile(r"\{\{\s*(_\.)?([A-Za-z0-9_.-]+)\s*\}\}")


class Safe(str):
    """HTML that is already escaped or built from escaped parts."""

    __slots__ = ()


def esc(value: Any) -> Safe:
    return value if isinstance(value, Safe) else Safe(escape(str(value), quote=True))


@cache
def template(name: str) -> str:
    return (HERE / "templates" / name).read_text(encoding="utf-8")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """``messages/<lang>.json`` and every ``messages/<part>.<lang>.json`` (the console's own
    messages live in a file of their own); a key defined twice is an error, not an override."""
    if lang not in LANGUAGES:
        raise KeyError(f"no message catalogue for {lang!r}")
    folder = HERE / "messages"
    data: dict[str, str] = json.loads((folder / f"{lang}.json").read_text("utf-8"))
    for part in sorted(folder.glob(f"*.{lang}.json")):
        more: dict[str, str] = json.loads(part.read_text("utf-8"))
        twice = sorted(data.keys() & more.keys())
        if twice:
            raise KeyError(f"{part.name} defines {twice} again")
        data.update(more)
    return data


@cache
def escaped_catalogue(lang: str) -> dict[str, Safe]:
    return {key: esc(text) for key, text in catalogue(lang).items()}


class Messages:
    """The catalogue of one language: ``m("key", count=3)`` is an escaped, filled message."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._texts = escaped_catalogue(lang)

    def __call__(self, key: str, **params: Any) -> Safe:
        text = self._texts[key]
        if not params:
            return text
        return Safe(text.format(**{k: esc(v) for k, v in params.items()}))

    def has(self, key: str) -> bool:
        return key in self._texts


def render(name: str, m: Messages, /, **values: Any) -> Safe:
    """Fill template ``name``: values by name, messages from ``m``."""

    def fill(match: re.Match[str]) -> str:
        is_message, key = match.group(1), match.group(2)
        if is_message:
            return m(key)
        if key not in values:
            raise KeyError(f"template {name} needs a value for {key!r}")
        return esc(values[key])

    return Safe(_PLACEHOLDER.sub(fill, template(name)))


def message_keys_in_templates() -> set[str]:
    """Every ``{{ _.key }}`` the templates use (for the catalogue's completeness test)."""
    keys: set[str] = set()
    for path in (HERE / "templates").glob("*.html"):
        keys |= {k for msg, k in _PLACEHOLDER.findall(path.read_text("utf-8")) if msg}
    return keys
