"""Check a draft keyword query as a head types it: the parser that saving uses, the column of
the first error, and what each term also matches (``domain.query_variants``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.access import Principal, Scope, Verb, authorize
from chalicelib.domain.keywords.model import KeywordQuery
from chalicelib.domain.query_variants import TermVariants, query_variants
from chalicelib.errors import QuerySyntaxError


@dataclass(frozen=True)
class QueryCheckResult:
    valid: bool
    column: int | None = None  # 1-based; None when valid
    message: str = ""
    terms: tuple[TermVariants, ...] = field(default_factory=tuple)


def check_query(
    p: Principal, query: str, exact: bool = False, variants: bool = True
) -> QueryCheckResult:
    """Parse ``query`` under the given options; a syntax error is an answer, not an error."""
    authorize(p, "keyword_query", Verb.READ, Scope(state=p.state, district=p.district))
    draft = KeywordQuery("draft", query, exact=exact, variants=variants)
    if not query.strip():
        return QueryCheckResult(False, 1, "the query is empty")
    try:
        terms = query_variants(draft)
    except QuerySyntaxError as err:
        column = err.column or 1
        # The page says "Column N:" before the reason: drop the parser's own "at column N" for
        # that same column (another column, such as an opening bracket's, stays).
        reason = err.detail.removeprefix("query draft: ").replace(f" at column {column}", "", 1)
        return QueryCheckResult(False, column, reason)
    return QueryCheckResult(True, None, "", tuple(terms))
