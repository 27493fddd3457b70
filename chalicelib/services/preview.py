"""Try a draft keyword query against stored mentions before saving it."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.access import Principal, Scope, Verb, authorize, visible
from chalicelib.domain.config_kinds import validate_query
from chalicelib.domain.keywords import compile_queries
from chalicelib.services.ports import MentionRepository, StoredMention

SAMPLE = 500  # mentions read per preview: bounded work per request


def preview_query(
    mentions: MentionRepository, p: Principal, draft: dict[str, Any]
) -> dict[str, Any]:
    authorize(p, "keyword_query", Verb.READ, Scope(state=p.state, district=p.district))
    # The same check as saving: a draft that cannot run is a 422 with its column, not "0 hits".
    query = validate_query(
        {
            "id": "draft",
            "query": draft["query"],
            "exact": draft["exact"],
            "variants": draft["variants"],
        }
    )
    matcher = compile_queries([query], strict=True)
    if p.state:
        # A state's (or district's) head: the newest mentions of their own state, from the
        # state index, rather than a table-wide sample that may hold none of theirs.
        records, _ = mentions.list_by_state(p.state, SAMPLE)
        sample = [
            StoredMention(r.key, r.text, r.lang, r.state)
            for r in records
            if visible(p, Scope(state=r.state))
        ]
    else:
        sample = [m for m in mentions.sample(SAMPLE) if visible(p, Scope(state=m.state))]
    hits: list[dict[str, Any]] = []
    for m in sample:
        found = matcher.match(m.text, lang=m.lang)
        if found:
            hits.append(
                {
                    "key": m.key,
                    "text": m.text,
                    "lang": m.lang,
                    "state": m.state,
                    "terms": list(found[0].terms),
                    "spans": [list(s) for s in found[0].spans],
                }
            )
    return {"scanned": len(sample), "matched": len(hits), "items": hits[: draft["limit"]]}
