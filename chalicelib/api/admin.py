"""Cell heads' configuration API: watchlist (leaders), keyword queries (and their preview),
teams and members, escalation chains, routes, warriors' devices, the audit log and stats.
Views stay thin: parse, call a use case (``services/``), shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import wire
from chalicelib.api.auth import principal_of
from chalicelib.api.http import etag, iso, query_param, read_json_object, stats_json
from chalicelib.api.problems import problems, request_path
from chalicelib.domain.access import Principal
from chalicelib.domain.pagination import parse_limit
from chalicelib.domain.states import is_state
from chalicelib.errors import (
    FieldProblem,
    InvalidInputError,
    MalformedInputError,
)
from chalicelib.services import config_admin
from chalicelib.services.config_admin import (
    CHAINS,
    LEADERS,
    QUERIES,
    TEAMS,
    ConfigAdmin,
    IfMatch,
    Kind,
)
from chalicelib.services.ports import ConfigRecord, StoredAnswer
from chalicelib.wiring import container

admin_api = Blueprint(__name__)
JSON = ["application/json"]


def _path() -> str:
    return request_path(admin_api.current_request)


def _admin() -> ConfigAdmin:
    c = container()
    return ConfigAdmin(c.config_repo, c.contact_sync, c.device_sync)


def _caller() -> Principal:
    return principal_of(admin_api.current_request)


def _body(model_name: str) -> dict[str, Any]:
    if not model_name:  # validated by the domain (escalation chains: parse_chain)
        return dict(read_json_object(admin_api.current_request))
    from chalicelib.api import schemas  # pydantic: off the cold-start path

    return schemas.validate(schemas.MODELS[model_name], read_json_object(admin_api.current_request))


def _if_match() -> IfMatch | None:
    """The version named by If-Match (``*`` as such), None without one.

    The use cases answer 428 for an update or delete without it (config_admin.expected_version).
    """
    raw = admin_api.current_request.headers.get("if-match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if value == "*":
        return "*"
    # Length first: int() refuses thousands of digits with a ValueError (a 500).
    if not (value.isascii() and value.isdigit() and len(value) <= 12):
        raise MalformedInputError(
            "If-Match must be an ETag of this API", [FieldProblem("header:If-Match", "not an ETag")]
        )
    return int(value)


def _state_param(name: str, national: bool = False) -> str | None:
    value = query_param(admin_api.current_request, name)
    if value is None or (national and value == "national"):
        return value
    if not is_state(value):
        raise InvalidInputError(
            f"{name} must be a state code", [FieldProblem(name, "not a state or UT code")]
        )
    return value


def _record(record: ConfigRecord, status: int = 200) -> Response:
    body = {
        **record.data,
        "version": record.version,
        "updated_at": iso(record.updated_at),
        "updated_by": record.updated_by,
    }
    return Response(body=body, status_code=status, headers={"ETag": etag(record.version)})


def _idempotent(create: Callable[[], Response]) -> Response:
    """Run ``create`` once per Idempotency-Key; a repeat gets the first answer replayed.

    Keyed by caller, method and full path (``services.idempotency``): the same key sent to
    another URL is another request.
    """
    request = admin_api.current_request
    key = request.headers.get("idempotency-key")
    if key is None:
        return create()
    from chalicelib.services import idempotency

    raw = request.raw_body or b""
    first: list[Response] = []

    def execute() -> StoredAnswer:
        response = create()
        first.append(response)
        headers = {k: str(v) for k, v in response.headers.items() if k == "ETag"}
        return StoredAnswer(response.status_code, response.body, headers)

    c = container()
    answer, replayed = idempotency.run_once(
        c.idempotency,
        idempotency.Request(
            _caller().sub,
            request.method,
            request_path(request),
            key,
            raw if isinstance(raw, bytes) else raw.encode(),
        ),
        execute,
        c.clock,
        c.new_id,
    )
    if not replayed:
        return first[0]
    return Response(
        body=answer.body,
        status_code=answer.status,
        headers={**answer.headers, "Idempotent-Replayed": "true"},
    )


def _crud(kind: Kind, model: str, collection: str, item: str) -> None:
    """Register list/create/get/replace/delete for one kind of configuration object."""

    @admin_api.route(collection, methods=["GET"], name=f"list_{kind.name}")
    @problems(_path)
    def list_view() -> dict[str, Any]:
        request = admin_api.current_request
        q = query_param(request, "q")  # teams only (the OpenAPI document lists it there)
        if q is not None:
            from chalicelib.services.team_roster import search_teams

            records, cursor = search_teams(
                _admin(),
                _caller(),
                _state_param("state"),
                q,
                parse_limit(query_param(request, "limit")),
                query_param(request, "cursor") or None,
            )
        else:
            records, cursor = _admin().list(
                kind,
                _caller(),
                _state_param("state"),
                parse_limit(query_param(request, "limit")),
                query_param(request, "cursor") or None,
            )
        return {
            "items": [{**r.data, "version": r.version} for r in records],
            "next_cursor": cursor,
        }

    @admin_api.route(collection, methods=["POST"], content_types=JSON, name=f"create_{kind.name}")
    @problems(_path)
    def create_view() -> Response:
        return _idempotent(lambda: _record(_admin().create(kind, _caller(), _body(model)), 201))

    @admin_api.route(item, methods=["GET"], name=f"get_{kind.name}")
    @problems(_path)
    def get_view(object_id: str) -> Response:
        return _record(_admin().get(kind, _caller(), object_id))

    @admin_api.route(item, methods=["PUT"], content_types=JSON, name=f"replace_{kind.name}")
    @problems(_path)
    def replace_view(object_id: str) -> Response:
        version = _if_match()
        return _record(_admin().replace(kind, _caller(), object_id, _body(model), version))

    @admin_api.route(item, methods=["DELETE"], name=f"delete_{kind.name}")
    @problems(_path)
    def delete_view(object_id: str) -> Response:
        _admin().delete(kind, _caller(), object_id, _if_match())
        return Response(body="", status_code=204)


@admin_api.route("/keyword-queries/preview", methods=["POST"], content_types=JSON)
@problems(_path)
def preview_keyword_query() -> dict[str, Any]:
    from chalicelib.services.preview import preview_query

    return preview_query(container().mentions, _caller(), _body("KeywordQueryPreview"))


_crud(LEADERS, "Leader", "/leaders", "/leaders/{object_id}")
_crud(QUERIES, "KeywordQuery", "/keyword-queries", "/keyword-queries/{object_id}")
_crud(TEAMS, "Team", "/teams", "/teams/{object_id}")
_crud(CHAINS, "", "/escalation-chains", "/escalation-chains/{object_id}")


@admin_api.route("/teams/{team_id}/members", methods=["POST"], content_types=JSON)
@problems(_path)
def add_member(team_id: str) -> Response:
    def create() -> Response:
        member = _body("Member")
        return _record(_admin().put_member(_caller(), team_id, member, creating=True), 201)

    return _idempotent(create)


@admin_api.route("/teams/{team_id}/members/{member_id}", methods=["PUT"], content_types=JSON)
@problems(_path)
def replace_member(team_id: str, member_id: str) -> Response:
    version = _if_match()
    member = _body("Member")
    if member["id"] != member_id:
        raise InvalidInputError("the id cannot change", [FieldProblem("id", "must match the URL")])
    return _record(_admin().put_member(_caller(), team_id, member, False, version))


@admin_api.route("/teams/{team_id}/members/{member_id}", methods=["DELETE"])
@problems(_path)
def remove_member(team_id: str, member_id: str) -> Response:
    return _record(_admin().remove_member(_caller(), team_id, member_id, _if_match()))


@admin_api.route("/routes", methods=["GET"])
@problems(_path)
def get_routes() -> Response:
    record = _admin().get_routes(_caller())
    if record is None:
        empty: wire.Routes = {"config": None, "version": 0}
        return Response(body=empty, status_code=200)
    body: wire.Routes = {
        "config": record.data,
        "version": record.version,
        "updated_by": record.updated_by,
    }
    return Response(body=body, status_code=200, headers={"ETag": etag(record.version)})


@admin_api.route("/routes", methods=["PUT"], content_types=JSON)
@problems(_path)
def put_routes() -> Response:
    body = read_json_object(admin_api.current_request)
    record = _admin().put_routes(_caller(), body, _if_match())
    out: wire.Routes = {
        "config": record.data,
        "version": record.version,
        "updated_by": record.updated_by,
    }
    return Response(body=out, status_code=200, headers={"ETag": etag(record.version)})


@admin_api.route("/audit", methods=["GET"])
@problems(_path)
def audit_log() -> wire.AuditList:
    request = admin_api.current_request
    records, cursor = config_admin.read_audit(
        container().config_repo,
        _caller(),
        _state_param("scope", national=True),
        parse_limit(query_param(request, "limit")),
        query_param(request, "cursor") or None,
    )
    return {
        "items": [
            {
                "scope": r.scope,
                "at": r.at.replace("+00:00", "Z"),
                "actor": r.actor,
                "action": r.action,
                "entity": r.entity,
                "entity_id": r.entity_id,
                "before": r.before,
                "after": r.after,
            }
            for r in records
        ],
        "next_cursor": cursor,
    }


@admin_api.route("/stats", methods=["GET"])
@problems(_path)
def stats() -> wire.Stats:
    from chalicelib.services.stats_report import state_stats

    p = _caller()
    state = _state_param("state") or p.state
    if not state:
        raise InvalidInputError("say which state", [FieldProblem("state", "required")])
    c = container()
    return stats_json(state_stats(c.config_repo, c.tasks, p, state))


def _device_json(record: ConfigRecord) -> wire.DeviceOut:
    data = record.data
    return {
        "id": data["id"],
        "platform": data["platform"],
        "team_id": data["team_id"],
        "state": data["state"],
        "filter_policy": data["filter_policy"],
        "version": record.version,
    }


def _device(record: ConfigRecord, status: int) -> Response:
    return Response(body=_device_json(record), status_code=status)


@admin_api.route("/me/devices", methods=["POST"], content_types=JSON)
@problems(_path)
def register_device() -> Response:
    from chalicelib.services import devices

    def create() -> Response:
        body = _body("Device")
        c = container()
        record, new = devices.register_device(
            c.config_repo,
            c.devices,
            c.settings.state_topic_arn,
            _caller(),
            body["platform"],
            body["token"],
        )
        return _device(record, 201 if new else 200)

    return _idempotent(create)


@admin_api.route("/me/devices", methods=["GET"])
@problems(_path)
def list_devices() -> wire.DeviceList:
    from chalicelib.services import devices

    records = devices.my_devices(container().config_repo, _caller())
    return {"items": [_device_json(r) for r in records], "next_cursor": None}


@admin_api.route("/me/devices/{device_id}", methods=["DELETE"])
@problems(_path)
def remove_device(device_id: str) -> Response:
    from chalicelib.services import devices

    c = container()
    devices.remove_device(c.config_repo, c.devices, _caller(), device_id)
    return Response(body="", status_code=204)
