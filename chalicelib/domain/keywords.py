"""Keyword queries: what cell heads write to decide which posts become tasks.

Interface kept stable for the rest of the service:
``compile_queries(queries) -> Matcher`` and ``Matcher.match(text, ...) -> list[QueryMatch]``.
This first version treats a query as ``term OR "a phrase" OR ...``, case-folded, on
script-aware word boundaries; issue #4 replaces it with the full boolean language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

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


@dataclass(frozen=True)
class QueryMatch:
    """One query matching one text: the terms found and their spans in the original text."""

    query_id: str
    terms: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "terms": list(self.terms),
            "spans": [list(s) for s in self.spans],
        }


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


def _terms(query: str) -> list[str]:
    parts = regex.split(r"\s+OR\s+", query.strip())
    return [p.strip().strip('"').strip() for p in parts if p.strip().strip('"').strip()]


@dataclass
class Matcher:
    """All enabled queries compiled together."""

    _patterns: list[tuple[str, regex.Pattern[str]]] = field(default_factory=list)

    def match(
        self,
        text: str,
        *,
        lang: str | None = None,
        platform: str | None = None,
        author: str | None = None,
    ) -> list[QueryMatch]:
        found: list[QueryMatch] = []
        for query_id, pattern in self._patterns:
            hits = [(m.group(), m.span()) for m in pattern.finditer(text)]
            if hits:
                terms = tuple(dict.fromkeys(t.casefold() for t, _ in hits))
                found.append(QueryMatch(query_id, terms, tuple(s for _, s in hits)))
        return found


def compile_queries(queries: Iterable[KeywordQuery]) -> Matcher:
    """Compile every enabled query into one matcher."""
    compiled: list[tuple[str, regex.Pattern[str]]] = []
    for q in queries:
        if not q.enabled:
            continue
        terms: Sequence[str] = _terms(q.query)
        if not terms:
            continue
        alternation = "|".join(regex.escape(t) for t in sorted(terms, key=len, reverse=True))
        flags = regex.UNICODE | (0 if q.exact else regex.IGNORECASE)
        compiled.append(
            (
                q.id,
                regex.compile(
                    rf"(?<![\p{{L}}\p{{M}}\p{{N}}])(?:{alternation})(?![\p{{L}}\p{{M}}\p{{N}}])",
                    flags,
                ),
            )
        )
    return Matcher(compiled)
