"""Small helpers shared by the API blueprints: bodies, query parameters, JSON shapes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.domain.links import task_page_url
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.errors import FieldProblem, MalformedInputError, PayloadTooLargeError
from chalicelib.services.ports import MentionRecord

MAX_BODY_BYTES = 64 * 1024  # configuration objects are small; a bigger body is a mistake


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
        data = json.loads(raw.decode("utf-8"))
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


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def _public_base_url() -> str:
    from chalicelib.wiring import container

    return container().settings.public_base_url


def task_json(task: Task) -> dict[str, Any]:
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


def event_json(event: TaskEvent) -> dict[str, Any]:
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


def mention_json(m: MentionRecord) -> dict[str, Any]:
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
        "matches": [q.as_dict() for q in m.matches],
        "status": m.status,
        "task_ids": list(m.task_ids),
    }
