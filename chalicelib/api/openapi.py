"""The OpenAPI 3.1 document of the whole API, served at ``GET /openapi.json``.

Operations are listed here once, as data; a test checks that they are exactly the routes the
app registers, and schemathesis fuzzes the app from this document. Request bodies of the
configuration API come from its pydantic models (imported when the document is first built).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from chalice import Blueprint

from chalicelib.domain.platforms import push_endpoints
from chalicelib.domain.states import STATE_CODES

openapi_api = Blueprint(__name__)

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    op_id: str
    summary: str
    ok: int = 200
    response: str = "ConfigObject"  # a components/schemas name; "" for no body
    body: str = ""  # a components/schemas name of the request body
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    public: bool = False
    also_ok: tuple[int, ...] = ()  # other success statuses with the same body
    response_media: str = "application/json"
    body_media: str = "application/json"
    # Unknown query parameters are 422 (api.http.known_query) unless the caller is a third
    # party that may add its own (a WebSub hub may send hub.verify_token and others).
    strict_query: bool = True


_READ = (401, 403, 404, 422, 503)
_WRITE = (400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 503)
_PAGE = ("limit", "cursor")


def _push_ops() -> list[Op]:
    """One public operation per push endpoint of a platform, in path order."""
    return [
        Op(
            ep.method.lower(),
            ep.path,
            ep.op_id,
            ep.summary,
            ok=ep.ok,
            response=ep.response,
            body=ep.body,
            query=ep.query,
            headers=ep.headers,
            errors=ep.errors,
            public=True,
            response_media=ep.response_media,
            body_media=ep.body_media,
            strict_query=ep.strict_query,
        )
        for _, ep in sorted(push_endpoints(), key=lambda pe: pe[1].path)
    ]


OPERATIONS: tuple[Op, ...] = (
    Op("get", "/health", "health", "Liveness", response="Health", public=True),
    Op("get", "/openapi.json", "openapi", "This document", response="Object", public=True),
    Op(
        "post",
        "/ingest/webhook",
        "ingestWebhook",
        "Signed posts from a listening tool (HMAC, not a bearer token)",
        ok=202,
        response="Accepted",
        body="Object",
        headers=("X-Tvarit-Timestamp", "X-Tvarit-Signature"),
        errors=(400, 401, 413, 415, 422, 503),
        public=True,
    ),
    # Platform push routes come from the platform descriptors (domain/platforms.py).
    *_push_ops(),
    Op(
        "get",
        "/me/tasks",
        "myTasks",
        "My team's tasks, newest first",
        response="TaskList",
        query=(*_PAGE, "status"),
        errors=_READ,
    ),
    Op(
        "get",
        "/teams/{team_id}/tasks",
        "teamTasks",
        "A team's tasks, newest first (its heads and lead)",
        response="TaskList",
        query=(*_PAGE, "status"),
        errors=_READ,
    ),
    Op(
        "get",
        "/tasks/{task_id}",
        "getTask",
        "A task and its events",
        response="TaskDetail",
        errors=_READ,
    ),
    *(
        Op(
            "post",
            f"/tasks/{{task_id}}/{verb}",
            f"{verb}Task",
            f"{verb.capitalize()} a task",
            response="Task",
            body="TaskAction",
            errors=(400, 401, 403, 404, 409, 413, 415, 422, 503),
        )
        for verb in ("ack", "complete", "decline")
    ),
    *(
        op
        for name, collection, model in (
            ("Leader", "/leaders", "Leader"),
            ("KeywordQuery", "/keyword-queries", "KeywordQuery"),
            ("Team", "/teams", "Team"),
            ("EscalationChain", "/escalation-chains", "EscalationChain"),
        )
        for op in (
            Op(
                "get",
                collection,
                f"list{name}s",
                f"List {name} objects in scope",
                response="ObjectList",
                query=("state", *_PAGE, *(("q",) if name == "Team" else ())),
                errors=_READ,
            ),
            Op(
                "post",
                collection,
                f"create{name}",
                f"Create a {name}",
                ok=201,
                body=model,
                headers=("Idempotency-Key",),
                errors=_WRITE,
            ),
            Op("get", f"{collection}/{{object_id}}", f"get{name}", f"Read a {name}", errors=_READ),
            Op(
                "put",
                f"{collection}/{{object_id}}",
                f"replace{name}",
                f"Replace a {name}",
                body=model,
                headers=("If-Match",),
                errors=_WRITE,
            ),
            Op(
                "delete",
                f"{collection}/{{object_id}}",
                f"delete{name}",
                f"Delete a {name}",
                ok=204,
                response="",
                headers=("If-Match",),
                errors=_WRITE,
            ),
        )
    ),
    Op(
        "post",
        "/teams/{team_id}/members",
        "addMember",
        "Add a member to a team",
        ok=201,
        body="Member",
        headers=("Idempotency-Key",),
        errors=_WRITE,
    ),
    Op(
        "put",
        "/teams/{team_id}/members/{member_id}",
        "replaceMember",
        "Replace a member",
        body="Member",
        headers=("If-Match",),
        errors=_WRITE,
    ),
    Op(
        "delete",
        "/teams/{team_id}/members/{member_id}",
        "removeMember",
        "Remove a member",
        headers=("If-Match",),
        errors=_WRITE,
    ),
    Op("get", "/routes", "getRoutes", "The route tree in force", response="Routes", errors=_READ),
    Op(
        "put",
        "/routes",
        "putRoutes",
        "Replace the route tree",
        response="Routes",
        body="Object",
        headers=("If-Match",),
        errors=_WRITE,
    ),
    Op(
        "get",
        "/audit",
        "auditLog",
        "Configuration changes in a scope, newest first",
        response="AuditList",
        query=(*_PAGE, "scope"),
        errors=_READ,
    ),
    Op(
        "post",
        "/keyword-queries/preview",
        "previewKeywordQuery",
        "Run a draft keyword query against recent stored mentions",
        response="Preview",
        body="KeywordQueryPreview",
        errors=(400, 401, 403, 413, 415, 422, 503),
    ),
    Op(
        "post",
        "/me/devices",
        "registerDevice",
        "Register my phone's push token (subscribes it to my state's topic)",
        ok=201,
        response="DeviceOut",
        body="Device",
        also_ok=(200,),
        headers=("Idempotency-Key",),
        errors=_WRITE,
    ),
    Op(
        "post",
        "/me/telegram-link",
        "myTelegramLink",
        "A one-time link that ties my Telegram account to me (taps in my team's group count "
        "as mine)",
        ok=201,
        response="ChatLink",
        errors=_WRITE,
    ),
    Op(
        "post",
        "/teams/{team_id}/telegram-link",
        "teamTelegramLink",
        "A one-time link that adds the bot to a Telegram group and binds it to the team",
        ok=201,
        response="ChatLink",
        errors=_WRITE,
    ),
    Op(
        "get",
        "/me/devices",
        "myDevices",
        "My registered devices",
        response="DeviceList",
        errors=_READ,
    ),
    Op(
        "delete",
        "/me/devices/{device_id}",
        "removeDevice",
        "Unregister a device",
        ok=204,
        response="",
        errors=_WRITE,
    ),
    Op(
        "get",
        "/mentions",
        "listMentions",
        "Stored mentions of a state's watched leaders, newest ingested first (heads)",
        response="MentionList",
        query=(*_PAGE, "state", "matched"),
        errors=_READ,
    ),
    Op(
        "get",
        "/mentions/{key}",
        "getMention",
        "One stored mention; the key is platform#native_id with # sent as %23",
        response="Mention",
        errors=_READ,
    ),
    Op(
        "get",
        "/incidents/{incident_key}",
        "getIncident",
        "An incident: its leader, queries, span, mentions and the tasks made from them",
        response="Incident",
        errors=_READ,
    ),
    Op(
        "get",
        "/stats",
        "stats",
        "Response times and completion per team of a state",
        response="Stats",
        query=("state",),
        errors=_READ,
    ),
    # The cell heads' console uses these (chalicelib/api/console_api.py).
    Op(
        "get",
        "/watchlist",
        "watchlist",
        "Watched leaders with each account's poll health (last poll, error, quota used)",
        response="Watchlist",
        query=(*_PAGE, "state"),
        errors=_READ,
    ),
    Op(
        "post",
        "/keyword-queries/validate",
        "validateKeywordQuery",
        "Check a draft query's syntax (the column of an error) and list its terms' variants",
        response="QueryCheck",
        body="QueryCheckIn",
        errors=(400, 401, 403, 413, 415, 422, 503),
    ),
    Op(
        "post",
        "/routes/preview",
        "previewRoutes",
        "Which teams a stored mention or a set of labels reaches, by a draft or the route tree",
        response="RoutePreview",
        body="RoutePreviewIn",
        errors=(400, 401, 403, 404, 413, 415, 422, 503),
    ),
    # The console's data (chalicelib/api/console_data.py).
    Op(
        "get",
        "/stats/daily",
        "statsDaily",
        "Tasks, time to ack and to complete (p50/p90) per day, from the daily rollup",
        response="StatsDaily",
        query=("state", "days"),
        errors=_READ,
    ),
    Op(
        "get",
        "/stats/teams",
        "statsTeams",
        "Per team over the last days: tasks, acknowledged, completed; who never responds first",
        response="StatsTeams",
        query=("state", "days"),
        errors=_READ,
    ),
    Op(
        "post",
        "/imports/members",
        "importMembers",
        "Teams and members from CSV: a report per row; ?apply=true writes the good rows",
        response="MemberImport",
        body="Text",
        body_media="text/csv",
        query=("apply",),
        errors=(400, 401, 403, 413, 415, 422, 503),
    ),
    Op(
        "get",
        "/exports/members",
        "exportMembers",
        "Teams and members in scope as CSV (the import's columns)",
        response="Text",
        response_media="text/csv",
        query=("state",),
        errors=_READ,
    ),
)

# Links between operations (OpenAPI 3.1 "links"): how a client goes from one answer to the
# next call. schemathesis' stateful phase follows them: create a team, read, replace (with the
# ETag it got as If-Match) and delete it; list tasks, then read and act on one...
# operationId -> ((link name, target operationId, {parameter: runtime expression}), ...)
_ID = "$response.body#/id"
_ETAG = "$response.header.ETag"
_FIRST_TASK = "$response.body#/items/0/task_id"


def _links() -> dict[str, tuple[tuple[str, str, dict[str, str]], ...]]:
    links: dict[str, tuple[tuple[str, str, dict[str, str]], ...]] = {}
    for name in ("Leader", "KeywordQuery", "Team", "EscalationChain"):
        to_object = (
            ("read", f"get{name}", {"path.object_id": _ID}),
            ("replace", f"replace{name}", {"path.object_id": _ID, "header.If-Match": _ETAG}),
            ("delete", f"delete{name}", {"path.object_id": _ID, "header.If-Match": _ETAG}),
        )
        links[f"create{name}"] = to_object
        links[f"get{name}"] = to_object[1:]
        links[f"replace{name}"] = to_object
    team = (
        ("addMember", "addMember", {"path.team_id": _ID}),
        ("teamTasks", "teamTasks", {"path.team_id": _ID}),
    )
    links["createTeam"] += team
    links["getTeam"] += team
    member = {"path.team_id": "$request.path.team_id", "path.member_id": "$request.body#/id"}
    links["addMember"] = (
        ("replaceMember", "replaceMember", member),
        ("removeMember", "removeMember", member),
    )
    act = tuple(
        (verb, f"{verb}Task", {"path.task_id": "$response.body#/task_id"})
        for verb in ("ack", "complete", "decline")
    )
    for listing in ("myTasks", "teamTasks"):
        links[listing] = (("getTask", "getTask", {"path.task_id": _FIRST_TASK}),)
    links["getTask"] = (
        *act,
        ("incident", "getIncident", {"path.incident_key": "$response.body#/incident_key"}),
        ("mention", "getMention", {"path.key": "$response.body#/mention_key"}),
    )
    links["listMentions"] = (
        ("getMention", "getMention", {"path.key": "$response.body#/items/0/key"}),
    )
    links["registerDevice"] = (("remove", "removeDevice", {"path.device_id": _ID}),)
    links["getRoutes"] = (("replace", "putRoutes", {"header.If-Match": _ETAG}),)
    return links


LINKS = _links()

_PARAMS: dict[str, dict[str, Any]] = {
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    "cursor": {"schema": {"type": "string", "maxLength": 300}},
    "status": {
        "schema": {
            "type": "string",
            "enum": ["new", "dispatched", "acknowledged", "completed", "declined", "expired"],
        }
    },
    "state": {"schema": {"type": "string", "enum": list(STATE_CODES)}},
    "matched": {"schema": {"type": "string", "enum": ["true", "false"]}},
    "scope": {"schema": {"type": "string", "enum": ["national", *STATE_CODES]}},
    "If-Match": {
        "required": True,
        "schema": {"type": "string", "pattern": r'^(\*|(W/)?"?[0-9]{1,12}"?)$'},
    },
    "Idempotency-Key": {"schema": {"type": "string", "minLength": 1, "maxLength": 128}},
    "X-Tvarit-Timestamp": {"schema": {"type": "string"}},
    "X-Tvarit-Signature": {"schema": {"type": "string"}},
    "X-Telegram-Bot-Api-Secret-Token": {"schema": {"type": "string"}},
    "X-Hub-Signature": {"schema": {"type": "string"}},
    "hub.mode": {"schema": {"type": "string", "enum": ["subscribe", "unsubscribe"]}},
    "hub.topic": {"schema": {"type": "string", "maxLength": 300}},
    "hub.challenge": {"schema": {"type": "string", "maxLength": 300}},
    "hub.lease_seconds": {"schema": {"type": "string", "maxLength": 12}},
    "days": {"schema": {"type": "integer", "minimum": 1, "maximum": 90}},
    "apply": {"schema": {"type": "string", "enum": ["true", "false"]}},
    "q": {"schema": {"type": "string", "maxLength": 100}},
}

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NSTR = {"type": ["string", "null"]}
_OBJ = {"type": "object"}


def _list_of(ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
            "next_cursor": _NSTR,
        },
    }


# Path parameters that are not ids of ours: a mention key holds its platform's id as it is.
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "key": {"type": "string", "pattern": r"^[a-z]{1,16}(#|%23).{1,400}$", "maxLength": 500},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Object": _OBJ,
    "Text": _STR,
    "TaskAction": {
        "type": "object",
        "properties": {
            "response_url": {"type": "string", "format": "uri", "maxLength": 2048},
            "reason": {"type": "string", "maxLength": 500},
        },
    },
    "ConfigObject": {
        "type": "object",
        "required": ["id", "version"],
        "properties": {"id": _STR, "version": _INT, "updated_by": _STR},
    },
    "ObjectList": _list_of("ConfigObject"),
    "EscalationChain": {
        "type": "object",
        "required": ["id", "steps"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN},
            "scope": {"type": "string", "enum": ["team", "state", "default"]},
            "owner": {"type": "string", "maxLength": 64},
            "repeat": {"type": "integer", "minimum": 0, "maximum": 5},
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["wait"],
                            "additionalProperties": False,
                            "properties": {"wait": {"type": ["string", "integer"]}},
                        },
                        {
                            "type": "object",
                            "required": ["notify"],
                            "additionalProperties": False,
                            "properties": {
                                "notify": {
                                    "type": "string",
                                    "enum": ["team", "team_lead", "district_head", "state_head"],
                                }
                            },
                        },
                    ]
                },
            },
        },
    },
}

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Malformed request",
    401: "Missing or invalid bearer token",
    403: "Your role may not do this, or not in this scope",
    404: "No such object within your scope",
    405: "Method not allowed",
    409: "Conflicts with the current state",
    412: "If-Match names an outdated version",
    413: "Body too large",
    415: "Body must be application/json",
    422: "Invalid fields",
    428: "If-Match required",
    503: "A dependency is unavailable; retry",
}


_RETRY_AFTER = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 0},
}


def _operation(op: Op) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {
            "name": n.strip("{}"),
            "in": "path",
            "required": True,
            "schema": _PATH_SCHEMAS.get(n.strip("{}"), {"type": "string", "pattern": ID_PATTERN}),
        }
        for n in op.path.split("/")
        if n.startswith("{")
    ]
    params += [{"name": q, "in": "query", "required": False, **_PARAMS[q]} for q in op.query]
    params += [{"name": h, "in": "header", "required": False, **_PARAMS[h]} for h in op.headers]
    if op.op_id == "putRoutes":  # the first tree is created without one
        params = [{**p, "required": False} for p in params]
    ok: dict[str, Any] = {"description": _REASONS[op.ok]}
    if op.response:
        ok["content"] = {
            op.response_media: {"schema": {"$ref": f"#/components/schemas/{op.response}"}}
        }
    if op.op_id in LINKS:
        ok["links"] = {
            name: {"operationId": target, "parameters": dict(params)}
            for name, target, params in LINKS[op.op_id]
        }
    responses: dict[str, Any] = {str(op.ok): ok}
    for status in op.also_ok:
        responses[str(status)] = {**ok, "description": _REASONS[status]}
    for status in sorted(op.errors):
        responses[str(status)] = {
            "description": _REASONS[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status == 503:  # backpressure: when to try again (api/problems.py sets it)
            responses[str(status)]["headers"] = {"Retry-After": _RETRY_AFTER}
    out: dict[str, Any] = {
        "operationId": op.op_id,
        "summary": op.summary,
        "parameters": params,
        "responses": responses,
    }
    if op.body:
        out["requestBody"] = {
            "required": op.body != "TaskAction",
            "content": {op.body_media: {"schema": {"$ref": f"#/components/schemas/{op.body}"}}},
        }
    if not op.public:
        out["security"] = [{"bearer": []}]
    return out


def _closed(schema: Any) -> None:
    """``additionalProperties: false`` on every object that lists its properties."""
    if isinstance(schema, dict):
        if "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _closed(value)
    elif isinstance(schema, list):
        for value in schema:
            _closed(value)


def response_schemas() -> dict[str, dict[str, Any]]:
    """The response bodies' schemas, generated from the types the views build (api.wire)."""
    from pydantic import TypeAdapter

    from chalicelib.api import wire

    out: dict[str, dict[str, Any]] = {}
    for cls in wire.RESPONSES:
        schema = TypeAdapter(cls).json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[cls.__name__] = schema
    _closed(out)
    for (name, field), text in wire.FIELD_DOCS.items():
        out[name]["properties"][field]["description"] = text
    return out


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per container)."""
    from chalicelib.api import schemas

    components = dict(SCHEMAS)
    for name, model in schemas.MODELS.items():
        schema = schemas.json_schema(model)
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    components.update(response_schemas())
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tvarit API",
            "version": "1",
            "description": (
                "Cell heads configure watchlists, keyword queries, teams and routes; warriors "
                "work their tasks. Errors are RFC 9457 problem+json. Out of scope: 404 when the "
                "object exists outside what you may see, 403 when your role may not do this."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


@openapi_api.route("/openapi.json", methods=["GET"])
def openapi_json() -> dict[str, Any]:
    return document()
