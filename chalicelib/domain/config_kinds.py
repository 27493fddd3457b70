"""The one table of configuration kinds: where each is stored, whose it is, how it is checked.

Every kind a cell head configures has one row here (:data:`KINDS`): its partition and id
layout in the config table, the scope it belongs to (for authorization and the audit log), the
one function that validates it, the roles that may write it (``domain.access.PERMISSIONS``)
and the pipeline stages that read it. The admin use cases (``services.config_admin``) write
through this table and the loaders of analyze, dispatch and escalate
(``services.config_cache``) read through it, so a kind written by the API is the kind the
pipeline reads: nothing else spells a partition key.

Validators are pure and raise ``InvalidInputError`` (422) with every problem and its place;
the API, the query preview, the ``tvarit match`` / ``tvarit route`` commands and the loaders
call the same ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.access import PERMISSIONS, Role, Scope, Verb
from chalicelib.domain.channels import TELEGRAM
from chalicelib.domain.escalation import EscalationChain, parse_chain
from chalicelib.domain.keywords import KeywordQuery, keyword_query_from_dict, parse_query
from chalicelib.domain.org import Leader, Team, leader_from_dict, team_from_dict
from chalicelib.domain.routing import RouteTree, parse_route_config
from chalicelib.domain.states import is_state
from chalicelib.domain.throttle import QuietHours
from chalicelib.errors import FieldProblem, InvalidInputError, QuerySyntaxError

# Stages that read configuration (``ConfigKind.readers``).
ANALYZE = "analyze"  # match, link to a leader, route, snapshot the chain (events.analyze_mentions)
DISPATCH = "dispatch"  # paging limits, quiet hours, digests (events.dispatch_tasks, flush_digests)
ESCALATE = "escalate"  # the level tokens of a task's team (events.escalate_tasks)
DEVICES = "devices"  # a member's filter policy, made when their device registers
BOT = "bot"  # the Telegram webhook: button taps, links (services.telegram_bot)

# ("TEAMIDX", team id) -> {"pk": "TEAMS#<state>"}: finds a team by its id alone; written in the
# same transaction as the team.
TEAM_INDEX = "TEAMIDX"
_TEAMS_PREFIX = "TEAMS#"
# Bumped by every change (in the write's transaction); the analyze stage's cache keys on it.
VERSION_KEY = ("META", "VERSION")


def teams_partition(state: str) -> str:
    """The partition holding a state's teams (what routing reads, one query per state)."""
    return f"{_TEAMS_PREFIX}{state}"


def state_of_teams_partition(pk: str) -> str | None:
    """The state a teams partition belongs to; None for any other partition."""
    return pk.removeprefix(_TEAMS_PREFIX) if pk.startswith(_TEAMS_PREFIX) else None


def _bad(detail: str, loc: str, msg: str) -> InvalidInputError:
    return InvalidInputError(detail, [FieldProblem(loc, msg)])


_LIST = (list, tuple)  # stored JSON has lists; seeding from dataclasses gives tuples
# A field typed (fields, required) is a list of such objects.
_ACCOUNT = ({"platform": str, "handle": str, "platform_id": str}, ("platform", "handle"))
_LEADER: dict[str, Any] = {
    "id": str,
    "name": str,
    "state": str,
    "party": str,
    "accounts": _ACCOUNT,
    "reach": int,
    "district": str,
}
_MEMBER: tuple[dict[str, Any], tuple[str, ...]] = (
    {
        "id": str,
        "name": str,
        "team_id": str,
        "role": str,
        "languages": str,
        "channels": str,
        "quiet_hours": str,
        "min_severity": int,
        "phone": str,
        "email": str,
        "contact_consent": bool,
        "contact_consent_at": str,
        "contact_consent_by": str,
        "whatsapp_opt_in": bool,
        "whatsapp_opt_in_source": str,
        "whatsapp_opt_in_at": str,
        "whatsapp_opt_in_by": str,
        "whatsapp_opt_out_at": str,
        "whatsapp_opt_out_by": str,
    },
    ("id", "name"),
)
_MEMBER_LISTS = frozenset({"languages", "channels"})
_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_TEAM: dict[str, Any] = {
    "id": str,
    "name": str,
    "state": str,
    "district": str,
    "lead_id": str,
    "members": _MEMBER,
    "quiet_hours": str,
    "rate_per_hour": float,
    "burst": int,
    "digest_minutes": int,
    "sms_audience": str,
}


def _shape(
    data: Any,
    fields: Mapping[str, Any],
    where: str,
    required: tuple[str, ...],
    lists: frozenset[str] = frozenset(),
) -> list[FieldProblem]:
    """Problems with a plain JSON object's fields: unknown, missing or of the wrong type.

    A field typed ``(fields, required)`` is a list of such objects; one named in ``lists`` is
    a list of the given scalar type.
    """
    at = f"{where}." if where else ""
    if not isinstance(data, Mapping):
        return [FieldProblem(where or "body", "must be an object")]
    out = [FieldProblem(f"{at}{k}", "unknown field") for k in sorted(set(data) - set(fields))]
    out += [FieldProblem(f"{at}{k}", "required") for k in required if k not in data]
    for name, kind in fields.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(kind, tuple):
            if not isinstance(value, _LIST):
                out.append(FieldProblem(f"{at}{name}", "must be a list"))
                continue
            sub = _MEMBER_LISTS if kind is _MEMBER else frozenset()
            for i, item in enumerate(value):
                out += _shape(item, kind[0], f"{at}{name}[{i}]", kind[1], sub)
            continue
        items = value if name in lists and isinstance(value, _LIST) else [value]
        if name in lists and not isinstance(value, _LIST):
            out.append(FieldProblem(f"{at}{name}", "must be a list"))
            continue
        for item in items:
            ok = isinstance(item, kind) and (kind is bool or not isinstance(item, bool))
            if kind is float:
                ok = isinstance(item, int | float) and not isinstance(item, bool)
            if not ok:
                out.append(FieldProblem(f"{at}{name}", f"must be a {_TYPE_NAMES[kind]}"))
                break
    return out


def validate_leader(data: Mapping[str, Any]) -> Leader:
    """A watched leader from its stored/wire form."""
    problems = _shape(data, _LEADER, "", ("id", "name", "state"))
    if problems:
        raise InvalidInputError(f"invalid leader at {problems[0].loc}", problems)
    leader = leader_from_dict(dict(data))
    if not is_state(leader.state):
        raise _bad("a leader belongs to a state", "state", "not a state or UT code")
    return leader


def validate_query(data: Mapping[str, Any]) -> KeywordQuery:
    """A keyword query, parsed: a query that cannot run is refused with its column."""
    query = keyword_query_from_dict(dict(data))
    try:
        parse_query(query)
    except QuerySyntaxError as err:
        reason = err.detail.removeprefix(f"query {query.id}: ")
        # Column 0 means the whole query is at fault: point at its start.
        where = f"column {err.column or 1}"
        raise InvalidInputError(
            f"the query cannot be parsed at {where}: {reason}",
            [FieldProblem("query", f"{where}: {reason}")],
        ) from None
    return query


def _with_member_team(data: Mapping[str, Any]) -> dict[str, Any]:
    # Members carry their team's id (domain.org.Member); the wire form leaves it implicit.
    members = data.get("members", [])
    if not isinstance(members, list | tuple) or not all(isinstance(m, dict) for m in members):
        raise _bad("members is a list of objects", "members", "a list of members")
    return {**data, "members": [{**m, "team_id": data.get("id")} for m in members]}


def validate_team(data: Mapping[str, Any]) -> Team:
    """A team with its members; quiet hours must parse (dispatch reads them)."""
    problems = _shape(data, _TEAM, "", ("id", "name", "state"))
    if problems:
        raise InvalidInputError(f"invalid team at {problems[0].loc}", problems)
    team = team_from_dict(_with_member_team(data))
    if not is_state(team.state):
        raise _bad("a team belongs to a state", "state", "not a state or UT code")
    QuietHours.parse(team.quiet_hours)
    ids = [m.id for m in team.members]
    for i, member in enumerate(team.members):
        if ids.index(member.id) != i:
            raise _bad("member ids are unique in a team", f"members[{i}].id", "taken")
        try:
            QuietHours.parse(member.quiet_hours)
        except InvalidInputError as err:
            raise _bad(err.detail, f"members[{i}].quiet_hours", "like 22:00-07:00") from None
    return team


def validate_routes(config: Any) -> RouteTree:
    """A route tree; every problem with its path (``domain.routing.parse_route_config``)."""
    return parse_route_config(config)


def validate_chain(data: Mapping[str, Any]) -> EscalationChain:
    """An escalation chain; its owner must be a state code for state chains."""
    chain = parse_chain(dict(data))
    if chain.scope == "state" and not is_state(chain.owner):
        raise _bad("a state chain is owned by a state", "chain.owner", "a state or UT code")
    if chain.scope == "default" and chain.owner:
        raise _bad("the default chain has no owner", "chain.owner", "must be empty")
    return chain


def _state_scope(data: Mapping[str, Any]) -> Scope:
    return Scope(state=str(data["state"]), district=str(data.get("district", "")))


def _query_scope(data: Mapping[str, Any]) -> Scope:
    scope = str(data.get("scope", "national"))
    return Scope(state="" if scope == "national" else scope)


def _team_scope(data: Mapping[str, Any]) -> Scope:
    return Scope(
        state=str(data["state"]), district=str(data.get("district", "")), team=str(data["id"])
    )


def _chain_scope(data: Mapping[str, Any]) -> Scope:
    if data.get("scope", "state") == "state":
        return Scope(state=str(data.get("owner", "")))
    return Scope()  # the default chain is national; team chains are scoped through their team


def _chain_team(data: Mapping[str, Any]) -> str:
    return str(data.get("owner", "")) if data.get("scope") == "team" else ""


def _no_team(data: Mapping[str, Any]) -> str:
    return ""


def _same(data: Mapping[str, Any]) -> dict[str, Any]:
    return dict(data)


def _no_pointers(data: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return []


@dataclass(frozen=True)
class ConfigKind:
    """One kind of configuration object."""

    name: str  # the permissions kind (domain.access) and the audit log's entity
    # Where an object lives: its partition, from its data; ``fixed_partition`` when every
    # object of the kind shares one (then it is listed and found by id in it).
    partition: Callable[[Mapping[str, Any]], str]
    scope: Callable[[Mapping[str, Any]], Scope]
    validate: Callable[[Mapping[str, Any]], object]
    readers: tuple[str, ...]
    fixed_partition: str = ""
    singleton_id: str = ""  # the one object of a kind that has only one (the route tree)
    # The team whose scope an object takes (a team's escalation chain); "" when its own.
    team_of: Callable[[Mapping[str, Any]], str] = _no_team
    # The stored form of valid wire data (a team's members get their team id).
    prepare: Callable[[Mapping[str, Any]], dict[str, Any]] = _same
    indexed_by_team_id: bool = False  # found by id through a ("TEAMIDX", id) pointer
    # Lookup items written (and deleted) in the object's own transaction: (pk, sk, data).
    pointers: Callable[[Mapping[str, Any]], list[tuple[str, str, dict[str, Any]]]] = _no_pointers

    def key(self, data: Mapping[str, Any]) -> tuple[str, str]:
        """The (pk, sk) an object is stored under."""
        return self.partition(data), self.singleton_id or str(data["id"])

    def audit_scope(self, scope: Scope) -> str:
        """The audit log partition of an object in ``scope``: its state, or ``national``."""
        return scope.state or "national"

    @property
    def writers(self) -> tuple[Role, ...]:
        """The roles that may write objects of this kind (scope is checked separately)."""
        return tuple(
            r for r, verbs in PERMISSIONS.get(self.name, {}).items() if Verb.WRITE in verbs
        )


LEADERS = ConfigKind(
    "leader",
    lambda d: "LEADER",
    _state_scope,
    validate_leader,
    readers=(ANALYZE,),
    fixed_partition="LEADER",
)
QUERIES = ConfigKind(
    "keyword_query",
    lambda d: "QUERY",
    _query_scope,
    validate_query,
    readers=(ANALYZE,),
    fixed_partition="QUERY",
)
TEAMS = ConfigKind(
    "team",
    lambda d: teams_partition(str(d["state"])),
    _team_scope,
    validate_team,
    readers=(ANALYZE, DISPATCH, ESCALATE, DEVICES),
    prepare=_with_member_team,
    indexed_by_team_id=True,
)
# Members are stored inside their team (a member change is a change of the team item); the
# row says who may write them and who reads them.
MEMBERS = ConfigKind(
    "member",
    TEAMS.partition,
    _team_scope,
    validate_team,
    readers=(DEVICES, ESCALATE),
    prepare=_with_member_team,
    indexed_by_team_id=True,
)
ROUTES = ConfigKind(
    "routes",
    lambda d: "ROUTES",
    lambda d: Scope(),
    validate_routes,
    readers=(ANALYZE,),
    fixed_partition="ROUTES",
    singleton_id="TREE",
)
CHAINS = ConfigKind(
    "escalation_chain",
    lambda d: "CHAIN",
    _chain_scope,
    validate_chain,
    # Analyze snapshots the chain in force into each task; escalate runs the snapshot.
    readers=(ANALYZE, ESCALATE),
    fixed_partition="CHAIN",
    team_of=_chain_team,
)


# ---- chat links (issue 13): a team's group chat, a member's own chat account -----------------

CHAT_LINKS = "CHATLINK"  # one partition; sk "<channel>:<chat id>" / "<channel>:user:<user id>"
_TEAM_CHATS_PREFIX = "TEAMCHATS#"  # ("TEAMCHATS#<state>", "<channel>#<team>") -> {"chat_id"}
CHAT_CHANNELS = (TELEGRAM,)  # channels whose team chats are linked this way
_TEAM_CHAT: dict[str, Any] = {
    "id": str,
    "channel": str,
    "chat_id": str,
    "team_id": str,
    "state": str,
    "district": str,
}
_MEMBER_CHAT: dict[str, Any] = {
    "id": str,
    "channel": str,
    "user_id": str,
    "team_id": str,
    "member_id": str,
    "state": str,
    "district": str,
}


def team_chat_id(channel: str, chat_id: str) -> str:
    """The id of a team chat link: the chat finds its team by it."""
    return f"{channel}:{chat_id}"


def member_chat_id(channel: str, user_id: str) -> str:
    """The id of a member's chat account link: a tap's sender finds their member by it."""
    return f"{channel}:user:{user_id}"


def team_chats_partition(state: str) -> str:
    """Where a state's team-chat pointers live (one query tells which teams are reachable)."""
    return f"{_TEAM_CHATS_PREFIX}{state}"


def _chat_link(data: Mapping[str, Any], fields: dict[str, Any], who: str, kind: str) -> None:
    problems = _shape(data, fields, "", tuple(fields))
    if problems:
        raise InvalidInputError(f"invalid {kind} at {problems[0].loc}", problems)
    if data["channel"] not in CHAT_CHANNELS:
        raise _bad("not a chat channel", "channel", f"one of {', '.join(CHAT_CHANNELS)}")
    if not is_state(str(data["state"])):
        raise _bad(f"a {kind} belongs to a state", "state", "not a state or UT code")
    if not str(data[who]).lstrip("-").isdigit():
        raise _bad(f"a {kind} names a numeric Telegram id", who, "digits, maybe after a -")
    if not data["team_id"]:
        raise _bad(f"a {kind} belongs to a team", "team_id", "required")


def validate_team_chat(data: Mapping[str, Any]) -> dict[str, Any]:
    """A team's group chat on a chat channel; its id is ``<channel>:<chat id>``."""
    _chat_link(data, _TEAM_CHAT, "chat_id", "team chat")
    if data["id"] != team_chat_id(str(data["channel"]), str(data["chat_id"])):
        raise _bad("a team chat's id is <channel>:<chat id>", "id", "does not match")
    return dict(data)


def validate_member_chat(data: Mapping[str, Any]) -> dict[str, Any]:
    """A member's own account on a chat channel; its id is ``<channel>:user:<user id>``."""
    _chat_link(data, _MEMBER_CHAT, "user_id", "member chat")
    if data["id"] != member_chat_id(str(data["channel"]), str(data["user_id"])):
        raise _bad("a member chat's id is <channel>:user:<user id>", "id", "does not match")
    if not data["member_id"]:
        raise _bad("a member chat names its member", "member_id", "required")
    return dict(data)


def _team_chat_pointer(data: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (
            team_chats_partition(str(data["state"])),
            f"{data['channel']}#{data['team_id']}",
            {"chat_id": str(data["chat_id"])},
        )
    ]


TEAM_CHATS = ConfigKind(
    "team_chat",
    lambda d: CHAT_LINKS,
    lambda d: Scope(
        state=str(d["state"]), district=str(d.get("district", "")), team=str(d["team_id"])
    ),
    validate_team_chat,
    readers=(DISPATCH, BOT),
    fixed_partition=CHAT_LINKS,
    pointers=_team_chat_pointer,
)
MEMBER_CHATS = ConfigKind(
    "member_chat",
    lambda d: CHAT_LINKS,
    lambda d: Scope(
        state=str(d["state"]),
        district=str(d.get("district", "")),
        team=str(d["team_id"]),
        member=str(d["member_id"]),
    ),
    validate_member_chat,
    readers=(BOT,),
    fixed_partition=CHAT_LINKS,
)

KINDS: tuple[ConfigKind, ...] = (
    LEADERS,
    QUERIES,
    TEAMS,
    MEMBERS,
    ROUTES,
    CHAINS,
    TEAM_CHATS,
    MEMBER_CHATS,
)
