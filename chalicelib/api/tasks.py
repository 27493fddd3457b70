"""Warriors' task flow: ``GET /me/tasks``, ``GET /tasks/{id}``, ``POST /tasks/{id}/ack|...``;
and what the tasks came from, for heads: ``GET /mentions``, ``/mentions/{key}``,
``/incidents/{key}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import Blueprint, Response

from chalicelib.api import wire
from chalicelib.api.auth import principal_of
from chalicelib.api.http import (
    etag,
    event_json,
    iso,
    mention_json,
    query_param,
    read_json_object,
    task_json,
)
from chalicelib.api.problems import problems, request_path
from chalicelib.domain.pagination import parse_limit
from chalicelib.domain.states import is_state
from chalicelib.domain.tasks import TaskAction, TaskStatus
from chalicelib.errors import FieldProblem, InvalidInputError
from chalicelib.services import monitoring, task_flow
from chalicelib.wiring import container

tasks_api = Blueprint(__name__)
_STATUSES = frozenset(s.value for s in TaskStatus)
_TRANSITION_BODY_BYTES = 4 * 1024


def _path() -> str:
    return request_path(tasks_api.current_request)


def _status(request: Any) -> str | None:
    status = query_param(request, "status")
    if status is not None and status not in _STATUSES:
        raise InvalidInputError(
            "unknown status", [FieldProblem("status", f"one of {sorted(_STATUSES)}")]
        )
    return status


@tasks_api.route("/me/tasks", methods=["GET"])
@problems(_path)
def my_tasks() -> wire.TaskList:
    request = tasks_api.current_request
    tasks, cursor = task_flow.my_tasks(
        container().tasks,
        principal_of(request),
        parse_limit(query_param(request, "limit")),
        query_param(request, "cursor") or None,
        _status(request),
    )
    return {"items": [task_json(t) for t in tasks], "next_cursor": cursor}


@tasks_api.route("/teams/{team_id}/tasks", methods=["GET"])
@problems(_path)
def team_tasks(team_id: str) -> wire.TaskList:
    request = tasks_api.current_request
    c = container()
    tasks, cursor = task_flow.team_tasks(
        c.tasks,
        c.config_repo,
        principal_of(request),
        team_id,
        parse_limit(query_param(request, "limit")),
        query_param(request, "cursor") or None,
        _status(request),
    )
    return {"items": [task_json(t) for t in tasks], "next_cursor": cursor}


@tasks_api.route("/tasks/{task_id}", methods=["GET"])
@problems(_path)
def get_task(task_id: str) -> Response:
    request = tasks_api.current_request
    task, events = task_flow.read_task(container().tasks, principal_of(request), task_id)
    body: wire.TaskDetail = {**task_json(task), "events": [event_json(e) for e in events]}
    return Response(body=body, status_code=200, headers={"ETag": etag(task.version)})


def _act(task_id: str, action: TaskAction) -> Response:
    request = tasks_api.current_request
    body = read_json_object(request, _TRANSITION_BODY_BYTES, required=False)
    response_url = body.get("response_url", "")
    if not isinstance(response_url, str) or len(response_url) > 2048:
        raise InvalidInputError(
            "response_url must be a URL", [FieldProblem("response_url", "a string URL")]
        )
    c = container()
    task = task_flow.act_on_task(
        c.tasks, principal_of(request), task_id, action, c.clock(), response_url
    )
    return Response(body=task_json(task), status_code=200, headers={"ETag": etag(task.version)})


@tasks_api.route("/tasks/{task_id}/ack", methods=["POST"])
@problems(_path)
def ack_task(task_id: str) -> Response:
    return _act(task_id, TaskAction.ACK)


@tasks_api.route("/tasks/{task_id}/complete", methods=["POST"])
@problems(_path)
def complete_task(task_id: str) -> Response:
    return _act(task_id, TaskAction.COMPLETE)


@tasks_api.route("/tasks/{task_id}/decline", methods=["POST"])
@problems(_path)
def decline_task(task_id: str) -> Response:
    return _act(task_id, TaskAction.DECLINE)


def _matched(request: Any) -> bool | None:
    value = query_param(request, "matched")
    if value is None or value == "":
        return None
    if value not in ("true", "false"):
        raise InvalidInputError("matched is true or false", [FieldProblem("matched", "a boolean")])
    return value == "true"


def _state(request: Any) -> str | None:
    state = query_param(request, "state")
    if state is not None and not is_state(state):
        raise InvalidInputError(
            "state must be a state code", [FieldProblem("state", "not a state or UT code")]
        )
    return state


@tasks_api.route("/mentions", methods=["GET"])
@problems(_path)
def list_mentions() -> wire.MentionList:
    request = tasks_api.current_request
    mentions, cursor = monitoring.mentions_of_state(
        container().mentions,
        principal_of(request),
        _state(request),
        parse_limit(query_param(request, "limit")),
        query_param(request, "cursor") or None,
        _matched(request),
    )
    return {"items": [mention_json(m) for m in mentions], "next_cursor": cursor}


def mention_key_of(path_value: str) -> str:
    """The mention key in a path: ``x%231`` (or ``x#1`` if a gateway decoded it already).

    Chalice hands path parameters over still percent-encoded; should API Gateway have decoded
    them, the key holds its ``#`` already, and decoding again would corrupt ids holding ``%``.
    An encoded path cannot hold a literal ``#`` (it would start the fragment), so this decides.
    """
    return path_value if "#" in path_value else unquote(path_value)


@tasks_api.route("/mentions/{key}", methods=["GET"])
@problems(_path)
def get_mention(key: str) -> wire.Mention:
    request = tasks_api.current_request
    return mention_json(
        monitoring.read_mention(container().mentions, principal_of(request), mention_key_of(key))
    )


@tasks_api.route("/incidents/{incident_key}", methods=["GET"])
@problems(_path)
def get_incident(incident_key: str) -> wire.Incident:
    c = container()
    view = monitoring.read_incident(
        c.incidents,
        c.mentions,
        c.tasks,
        c.config_repo,
        principal_of(tasks_api.current_request),
        incident_key,
    )
    r = view.record
    return {
        "incident_key": r.incident_key,
        "leader_id": r.leader_id,
        "state": view.state or None,
        "query_ids": list(r.query_ids),
        "first_seen": iso(r.first_seen),
        "last_seen": iso(r.last_seen),
        "mention_keys": list(r.mention_keys),
        "tasks": [task_json(t) for t in view.tasks],
    }
