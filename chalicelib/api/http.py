"""Small helpers shared by the API blueprints: bodies, query parameters, JSON shapes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast, overload

from chalice import Response
from chalice.app import handle_extra_types

from chalicelib.api import wire
from chalicelib.domain.json_limits import loads_bounded
from chalicelib.domain.links import task_page_url
from chalicelib.domain.stats import ResponseStats, StateStats
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.errors import (
    FieldProblem,
    InvalidInputError,
    MalformedInputError,
    PayloadTooLargeError,
)
from chalicelib.services.ports import MentionRecord

MAX_BODY_BYTES = 64 * 1024  # configuration objects are small; a bigger body is a mistake
JSON_UTF8 = "application/json; charset=utf-8"
_JSON_MEDIA = frozenset({"application/json", "application/problem+json"})


def as_utf8_json(response: Response) -> Response:
    """Serialise a JSON answer as UTF-8 text: Devanagari goes out as itself, not ``\\u0905``.

    Chalice would ``json.dumps`` the body with ``ensure_ascii`` on: six bytes per Indic letter
    instead of three, and unreadable in logs and curl.
    """
    if isinstance(response.body, (str, bytes)):
        return response
    name = next((k for k in response.headers if k.lower() == "content-type"), "Content-Type")
    current = response.headers.get(name, "application/json")
    media = str(current).split(";")[0].strip().lower()
    if media not in _JSON_MEDIA:
        return response
    response.body = json.dumps(
        response.body, ensure_ascii=False, separators=(",", ":"), default=handle_extra_types
    )
    if media == "application/json":
        response.headers[name] = JSON_UTF8
    return response


def _allowed_query() -> dict[tuple[str, str], frozenset[str]]:
    from chalicelib.api.openapi import OPERATIONS

    return {
        (op.path, op.method.upper()): frozenset(op.query) for op in OPERATIONS if op.strict_query
    }


_ALLOWED_QUERY: dict[tuple[str, str], frozenset[str]] = {}


def known_query(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: a query parameter the operation does not take is 422, not ignored.

    A misspelt ``?stauts=open`` would otherwise answer every task as if it filtered them.
    The parameters of each operation are those the OpenAPI document lists.
    """
    if not _ALLOWED_QUERY:
        _ALLOWED_QUERY.update(_allowed_query())
    allowed = _ALLOWED_QUERY.get((str(event.path), str(event.method).upper()))
    unknown = sorted(set(event.query_params or {}) - allowed) if allowed is not None else []
    if unknown:
        from chalicelib.api.problems import problem_for, request_path

        err = InvalidInputError(
            f"unknown query parameter(s): {', '.join(repr(n) for n in unknown)}",
            [
                FieldProblem(f"query:{name}", "not a parameter of this operation")
                for name in unknown
            ],
        )
        return problem_for(err, request_path(event))
    return get_response(event)


def utf8_json(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: every JSON answer, errors included, as UTF-8 (see :func:`as_utf8_json`)."""
    return as_utf8_json(get_response(event))


def read_json_object(request: Any, max_bytes: int = MAX_BODY_BYTES, required: bool = True) -> Any:
    """The request body as a JSON object: 413 when too big, 400 when not a JSON object."""
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > max_bytes:
        raise PayloadTooLargeError(f"the body is larger than {max_bytes} bytes")
    if not raw.strip():
        if required:
            raise MalformedInputError("a JSON body is required", [FieldProblem("body", "empty")])
        return {}
    try:
        data = loads_bounded(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedInputError(
            "the body is not JSON", [FieldProblem("body", "not JSON")]
        ) from None
    if not isinstance(data, dict):
        raise MalformedInputError(
            "the body must be a JSON object", [FieldProblem("body", "not an object")]
        )
    return data


def query_param(request: Any, name: str) -> str | None:
    params = request.query_params or {}
    value = params.get(name)
    return None if value is None else str(value)


@overload
def iso(dt: datetime) -> str: ...
@overload
def iso(dt: datetime | None) -> str | None: ...
def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def _public_base_url() -> str:
    from chalicelib.wiring import container

    return container().settings.public_base_url


def task_json(task: Task) -> wire.Task:
    return {
        "task_id": task.task_id,
        "team_id": task.team_id,
        "state": task.state,
        "district": task.district,
        "status": task.status.value,
        "version": task.version,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
        "incident_key": task.incident_key,
        "mention_key": task.mention_key,
        "leader_id": task.leader_id,
        "leader_name": task.leader_name,
        "query_ids": list(task.query_ids),
        "category": task.category,
        "severity": task.severity,
        "lang": task.lang,
        "excerpt": task.excerpt,
        "url": task.url,
        "response_url": task.response_url,
        "priority": task.priority,
        "page_url": task_page_url(_public_base_url(), task.task_id),
    }


def event_json(event: TaskEvent) -> wire.TaskEvent:
    return {
        "seq": event.seq,
        "action": event.action.value,
        "actor": event.actor,
        "at": iso(event.at),
        "from_status": event.from_status.value,
        "to_status": event.to_status.value,
        "detail": dict(event.detail),
    }


def etag(version: int) -> str:
    return f'"{version}"'


def mention_json(m: MentionRecord) -> wire.Mention:
    return {
        "key": m.key,
        "platform": m.platform,
        "author_handle": m.author_handle,
        "leader_id": m.leader_id or None,
        "state": m.state or None,
        "created_at": iso(m.created_at),
        "ingested_at": iso(m.ingested_at),
        "text": m.text,
        "url": m.url,
        "lang": m.lang,
        "script": m.script,
        "mixed": m.mixed,
        "matches": [
            {"query_id": q.query_id, "terms": list(q.terms), "spans": [list(s) for s in q.spans]}
            for q in m.matches
        ],
        "status": m.status,
        "task_ids": list(m.task_ids),
    }


def response_stats_json(s: ResponseStats) -> wire.ResponseStats:
    # The wire form is the domain's fields, one for one (test_response_schemas checks it).
    return cast(wire.ResponseStats, dataclasses.asdict(s))


def stats_json(report: StateStats) -> wire.Stats:
    return {
        "state": report.state,
        "total": response_stats_json(report.total),
        "teams": [response_stats_json(t) for t in report.teams],
    }
