"""API endpoints the cell heads' console is built on (compatible additions): the watchlist with
poll health, a draft query's syntax check and variants, and a route preview. Views stay thin."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import wire
from chalicelib.api.auth import principal_of
from chalicelib.api.http import query_param, read_json_object
from chalicelib.api.problems import problems, request_path
from chalicelib.domain.pagination import parse_limit
from chalicelib.domain.states import is_state
from chalicelib.errors import FieldProblem, InvalidInputError
from chalicelib.wiring import container

console_api = Blueprint(__name__)
JSON = ["application/json"]


def _path() -> str:
    return request_path(console_api.current_request)


def _body(model: str) -> dict[str, Any]:
    from chalicelib.api import schemas

    data = read_json_object(console_api.current_request)
    return schemas.validate(schemas.MODELS[model], data)


def _time(value: float | None) -> str | None:
    from datetime import UTC, datetime

    if value is None or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")


def watchlist_json(leaders: list[Any], cursor: str | None) -> wire.Watchlist:
    """The wire form of a watchlist page (``services.watchlist``)."""
    items: list[wire.WatchedLeader] = []
    for w in leaders:
        accounts: list[wire.WatchedAccount] = []
        for a in w.accounts:
            s = a.state
            accounts.append(
                {
                    "platform": a.account.platform,
                    "handle": a.account.handle,
                    "platform_id": a.account.platform_id,
                    "account_key": a.account_key,
                    "last_polled_at": _time(s.last_polled_at if s else None),
                    "last_success_at": _time(s.last_success_at if s else None),
                    "next_due_at": _time(s.next_due_at if s else None),
                    "failures": s.failures if s else 0,
                    "healthy": s.healthy if s else True,
                    "last_error": s.last_error if s else "",
                    "quota_used": a.units_used,
                    "quota_units": a.quota_units,
                    "quota_window_seconds": a.quota_window_seconds,
                }
            )
        leader = w.leader
        items.append(
            {
                "id": leader.id,
                "name": leader.name,
                "state": leader.state,
                "district": leader.district,
                "party": leader.party,
                "version": w.version,
                "accounts": accounts,
            }
        )
    return {"items": items, "next_cursor": cursor}


@console_api.route("/watchlist", methods=["GET"])
@problems(_path)
def get_watchlist() -> wire.Watchlist:
    from chalicelib.services.watchlist import watchlist

    request = console_api.current_request
    state = query_param(request, "state")
    if state is not None and not is_state(state):
        raise InvalidInputError(
            "state must be a state code", [FieldProblem("state", "not a state or UT code")]
        )
    c = container()
    leaders, cursor = watchlist(
        c.config_repo,
        c.cursor_store,
        principal_of(request),
        c.wall_time(),
        state,
        parse_limit(query_param(request, "limit")),
        query_param(request, "cursor") or None,
    )
    return watchlist_json(leaders, cursor)


def query_check_json(result: Any) -> wire.QueryCheck:
    return {
        "valid": result.valid,
        "column": result.column,
        "message": result.message,
        "terms": [
            {
                "term": t.term,
                "column": t.column,
                "how": t.how,
                "spellings": list(t.spellings),
                "roman_key": t.roman_key,
                "reaches_devanagari": t.reaches_devanagari,
                "example": t.example,
            }
            for t in result.terms
        ],
    }


@console_api.route("/keyword-queries/validate", methods=["POST"], content_types=JSON)
@problems(_path)
def validate_keyword_query() -> wire.QueryCheck:
    from chalicelib.services.query_check import check_query

    body = _body("QueryCheckIn")
    p = principal_of(console_api.current_request)
    return query_check_json(check_query(p, body["query"], body["exact"], body["variants"]))


def route_preview_json(preview: Any) -> wire.RoutePreview:
    return {
        "digest": preview.digest,
        "draft": preview.draft,
        "labels": dict(preview.labels),
        "routes": [{"path": path, "name": name} for path, name in preview.routes],
        "reached": [
            {
                "state": r.state,
                "team_ids": list(r.team_ids),
                "teams": r.count,
                "route_paths": list(r.route_paths),
            }
            for r in preview.reached
        ],
    }


@console_api.route("/routes/preview", methods=["POST"], content_types=JSON)
@problems(_path)
def preview_routes_view() -> wire.RoutePreview:
    from chalicelib.services.route_preview import check_labels, preview_routes

    body = _body("RoutePreviewIn")
    labels = check_labels(body["labels"]) if body["labels"] is not None else None
    c = container()
    preview = preview_routes(
        c.config_repo,
        c.mentions,
        principal_of(console_api.current_request),
        body["config"],
        labels,
        body["mention_key"],
    )
    return route_preview_json(preview)
