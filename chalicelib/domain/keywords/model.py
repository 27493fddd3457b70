"""Keyword queries and their matches as the rest of the service sees them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
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


def query_set_version(queries: Iterable[KeywordQuery]) -> str:
    """A digest of a query set, independent of order: equal exactly when the sets are."""
    rows = sorted(json.dumps(dataclasses.asdict(q), sort_keys=True) for q in queries)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
