"""Keyword queries: what cell heads write to decide which posts become tasks.

Interface for the rest of the service: ``compile_queries(queries) -> Matcher`` and
``Matcher.match(text, lang=..., platform=..., author=...) -> list[QueryMatch]``; spans are
offsets into the text as given. The language is documented in docs/queries.md.
"""

from __future__ import annotations

from chalicelib.domain.keywords.engine import (
    Matcher,
    MatcherCache,
    compile_queries,
    parse_query,
)
from chalicelib.domain.keywords.model import (
    KeywordQuery,
    QueryMatch,
    keyword_query_from_dict,
    query_set_version,
)
from chalicelib.domain.keywords.parser import parse

__all__ = [
    "KeywordQuery",
    "Matcher",
    "MatcherCache",
    "QueryMatch",
    "compile_queries",
    "keyword_query_from_dict",
    "parse",
    "parse_query",
    "query_set_version",
]
