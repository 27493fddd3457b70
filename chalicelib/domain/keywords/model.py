"""Keyword queries and their matches as the rest of the service sees them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import FieldProblem, InvalidInputError


@dataclass(frozen=True)
class KeywordQuery:
    """A saved query. ``scope`` is ``national`` or a state code."""

    id: str
    query: str
    name: str = ""
    category: str = "general"
    severity: int = 3
    scope: str = "national"
    enabled: bool = True
    variants: bool = True
    exact: bool = False
    # The response brief per language ("hi", "en"): what to do, talking points, links to facts.
    # Shown on the task page in the warrior's language; set by the cell head per query.
    brief: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueryMatch:
    """One query matching one text: the terms found and their spans in the original text."""

    query_id: str
    terms: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used by ``tvarit match --json`` and the API."""
        return {
            "query_id": self.query_id,
            "terms": list(self.terms),
            "spans": [list(s) for s in self.spans],
        }


BRIEF_LANG = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?$")
MAX_BRIEF_CHARS = 2000
MAX_BRIEF_LANGS = 10


def _brief(value: Any) -> dict[str, str]:
    """A query's response brief: language code -> text (at most 2,000 characters each)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_BRIEF_LANGS:
        raise InvalidInputError(
            "brief maps languages to text",
            [
                FieldProblem(
                    "brief",
                    f'an object like {{"hi": "...", "en": "..."}}, at most {MAX_BRIEF_LANGS}',
                )
            ],
        )
    out: dict[str, str] = {}
    for lang, text in value.items():
        if not isinstance(lang, str) or not BRIEF_LANG.match(lang):
            raise InvalidInputError(
                "brief keys are language codes", [FieldProblem(f"brief.{lang}", "a code like hi")]
            )
        if not isinstance(text, str) or len(text) > MAX_BRIEF_CHARS:
            raise InvalidInputError(
                "a brief is text",
                [FieldProblem(f"brief.{lang}", f"a string of at most {MAX_BRIEF_CHARS}")],
            )
        if text.strip():
            out[lang] = text.strip()
    return out


def keyword_query_from_dict(d: dict[str, Any]) -> KeywordQuery:
    """Build a query from its JSON form, applying the documented defaults."""
    try:
        severity = int(d.get("severity", 3))
    except (TypeError, ValueError):
        severity = -1
    if not 1 <= severity <= 5:
        raise InvalidInputError(
            "severity must be an integer from 1 to 5", [FieldProblem("severity", "1..5")]
        )
    for name in ("id", "query"):
        if not isinstance(d.get(name), str) or not d[name].strip():
            raise InvalidInputError(f"{name} is required", [FieldProblem(name, "required")])
    return KeywordQuery(
        brief=_brief(d.get("brief")),
        id=d["id"],
        query=d["query"],
        name=str(d.get("name", "")),
        category=str(d.get("category", "general")),
        severity=severity,
        scope=str(d.get("scope", "national")),
        enabled=bool(d.get("enabled", True)),
        variants=bool(d.get("variants", True)),
        exact=bool(d.get("exact", False)),
    )


def query_set_version(queries: Iterable[KeywordQuery]) -> str:
    """A digest of a query set, independent of order: equal exactly when the sets are."""
    rows = sorted(json.dumps(dataclasses.asdict(q), sort_keys=True) for q in queries)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
