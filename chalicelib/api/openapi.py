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


_READ = (401, 403, 404, 422, 503)
_WRITE = (400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 503)
_PAGE = ("limit", "cursor")

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
    Op(
        "post",
        "/ingest/telegram",
        "ingestTelegram",
        "Telegram bot updates of channels the bot administers (secret token header)",
        response="Accepted",
        body="Object",
        headers=("X-Telegram-Bot-Api-Secret-Token",),
        errors=(400, 401, 413, 415, 503),
        public=True,
    ),
    Op(
        "get",
        "/ingest/websub/youtube",
        "verifyYoutubeWebsub",
        "WebSub subscription verification: echoes hub.challenge for watched channels only",
        response="Text",
        query=("hub.mode", "hub.topic", "hub.challenge", "hub.lease_seconds"),
        errors=(400, 401, 503),
        public=True,
        response_media="text/plain",
    ),
    Op(
        "post",
        "/ingest/websub/youtube",
        "notifyYoutubeWebsub",
        "YouTube upload notification (Atom), HMAC-signed with the subscription's secret",
        ok=202,
        response="Accepted",
        body="Text",
        headers=("X-Hub-Signature",),
        errors=(400, 401, 413, 415, 503),
        public=True,
        body_media="application/atom+xml",
    ),
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
                query=("state", *_PAGE),
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
)

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


_TASK = {
    "type": "object",
    "required": ["task_id", "team_id", "state", "status", "version", "created_at"],
    "properties": {
        "task_id": _STR,
        "team_id": _STR,
        "state": _STR,
        "district": _STR,
        "status": _STR,
        "version": _INT,
        "created_at": _STR,
        "updated_at": _NSTR,
        "severity": _INT,
        "query_ids": {"type": "array", "items": _STR},
        "response_url": _STR,
        "priority": {"type": "number"},
    },
}

# Path parameters that are not ids of ours: a mention key holds its platform's id as it is.
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "key": {"type": "string", "pattern": r"^[a-z]{1,16}(#|%23).{1,400}$", "maxLength": 500},
}

_MENTION = {
    "type": "object",
    "required": [
        "key",
        "platform",
        "author_handle",
        "leader_id",
        "state",
        "created_at",
        "ingested_at",
        "text",
        "url",
        "lang",
        "script",
        "mixed",
        "matches",
        "status",
        "task_ids",
    ],
    "properties": {
        "key": _STR,
        "platform": _STR,
        "author_handle": _STR,
        "leader_id": _NSTR,
        "state": _NSTR,
        "created_at": _STR,
        "ingested_at": _STR,
        "text": _STR,
        "url": _STR,
        "lang": _STR,
        "script": _STR,
        "mixed": {"type": "boolean"},
        "matches": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["query_id", "terms", "spans"],
                "properties": {
                    "query_id": _STR,
                    "terms": {"type": "array", "items": _STR},
                    "spans": {
                        "type": "array",
                        "items": {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2},
                    },
                },
            },
        },
        "status": {"type": "string", "enum": ["analyzed", "routed"]},
        "task_ids": {"type": "array", "items": _STR},
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Object": _OBJ,
    "Text": _STR,
    "Health": {"type": "object", "required": ["status"], "properties": {"status": _STR}},
    "Accepted": {
        "type": "object",
        "required": ["accepted", "keys"],
        "properties": {"accepted": _INT, "keys": {"type": "array", "items": _STR}},
    },
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail", "instance"],
        "properties": {
            "type": _STR,
            "title": _STR,
            "status": _INT,
            "detail": _STR,
            "instance": _STR,
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["loc", "msg"],
                    "properties": {"loc": _STR, "msg": _STR},
                },
            },
        },
    },
    "Task": _TASK,
    "Mention": _MENTION,
    "MentionList": _list_of("Mention"),
    "Incident": {
        "type": "object",
        "required": [
            "incident_key",
            "leader_id",
            "state",
            "query_ids",
            "first_seen",
            "last_seen",
            "mention_keys",
            "tasks",
        ],
        "properties": {
            "incident_key": _STR,
            "leader_id": _STR,
            "state": _NSTR,
            "query_ids": {"type": "array", "items": _STR},
            "first_seen": _STR,
            "last_seen": _STR,
            "mention_keys": {"type": "array", "items": _STR},
            "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
        },
    },
    "TaskList": _list_of("Task"),
    "TaskDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Task"},
            {
                "type": "object",
                "required": ["events"],
                "properties": {
                    "events": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["seq", "action", "actor", "at"],
                            "properties": {"seq": _INT, "action": _STR, "actor": _STR, "at": _STR},
                        },
                    }
                },
            },
        ]
    },
    "TaskAction": {
        "type": "object",
        "properties": {"response_url": {"type": "string", "format": "uri", "maxLength": 2048}},
    },
    "ConfigObject": {
        "type": "object",
        "required": ["id", "version"],
        "properties": {"id": _STR, "version": _INT, "updated_by": _STR},
    },
    "ObjectList": _list_of("ConfigObject"),
    "Routes": {
        "type": "object",
        "required": ["config", "version"],
        "properties": {"config": {"type": ["object", "null"]}, "version": _INT},
    },
    "AuditList": _list_of("AuditRecord"),
    "DeviceOut": {
        "type": "object",
        "required": ["id", "platform", "team_id", "state", "filter_policy", "version"],
        "properties": {"id": _STR, "platform": _STR, "filter_policy": _OBJ, "version": _INT},
    },
    "DeviceList": _list_of("DeviceOut"),
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
    "Preview": {
        "type": "object",
        "required": ["scanned", "matched", "items"],
        "properties": {
            "scanned": _INT,
            "matched": _INT,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "text", "terms", "spans"],
                    "properties": {"key": _STR, "text": _STR, "terms": {"type": "array"}},
                },
            },
        },
    },
    "ResponseStats": {
        "type": "object",
        "required": ["key", "tasks", "open"],
        "properties": {
            "key": _STR,
            "tasks": _INT,
            "open": _INT,
            "completion_rate": {"type": ["number", "null"]},
            "ack_p50_s": {"type": ["number", "null"]},
            "ack_p90_s": {"type": ["number", "null"]},
            "complete_p50_s": {"type": ["number", "null"]},
            "complete_p90_s": {"type": ["number", "null"]},
        },
    },
    "Stats": {
        "type": "object",
        "required": ["state", "total", "teams"],
        "properties": {
            "state": _STR,
            "total": {"$ref": "#/components/schemas/ResponseStats"},
            "teams": {"type": "array", "items": {"$ref": "#/components/schemas/ResponseStats"}},
        },
    },
    "AuditRecord": {
        "type": "object",
        "required": ["scope", "at", "actor", "action", "entity", "entity_id"],
        "properties": {
            "scope": _STR,
            "at": _STR,
            "actor": _STR,
            "action": {"type": "string", "enum": ["create", "update", "delete"]},
            "entity": _STR,
            "entity_id": _STR,
            "before": {"type": ["object", "null"]},
            "after": {"type": ["object", "null"]},
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
    responses: dict[str, Any] = {str(op.ok): ok}
    for status in op.also_ok:
        responses[str(status)] = {**ok, "description": _REASONS[status]}
    for status in sorted(op.errors):
        responses[str(status)] = {
            "description": _REASONS[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
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


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per container)."""
    from chalicelib.api import schemas

    components = dict(SCHEMAS)
    for name, model in schemas.MODELS.items():
        schema = schemas.json_schema(model)
        components.update(schema.pop("$defs", {}))
        components[name] = schema
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
