"""Cell heads' configuration: create, read, replace, delete and list, scope-checked and audited.

Each kind of object says where it is stored, which scope it belongs to and which audit
partition records its changes (:class:`Kind`). Optimistic concurrency: a change names the
version it was based on (If-Match); the store refuses it when that is no longer current.
Every update and delete must name one (``*``: whatever is current); only creating needs none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.domain.access import (
    Principal,
    Scope,
    Verb,
    authorize,
    check_member_changes,
    may,
    may_read_audit,
    visible,
)
from chalicelib.domain.escalation import parse_chain
from chalicelib.domain.keywords import keyword_query_from_dict
from chalicelib.domain.org import team_from_dict
from chalicelib.domain.routing import parse_route_config
from chalicelib.errors import (
    ConflictError,
    FieldProblem,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from chalicelib.services.config_cache import TEAM_INDEX
from chalicelib.services.contacts import ContactSync
from chalicelib.services.ports import AuditRecord, ConfigRecord, ConfigStore, IndexItem

ROUTES_KEY = ("ROUTES", "TREE")

# What a change is conditional on: a version the caller read, or "*" (whatever is current).
IfMatch = int | Literal["*"]


def expected_version(current: ConfigRecord, if_match: IfMatch | None) -> int:
    """The version an update or delete of ``current`` is conditional on; 428 without If-Match."""
    if if_match is None:
        raise PreconditionRequiredError(
            "send If-Match with the ETag you read", [FieldProblem("header:If-Match", "required")]
        )
    return current.version if if_match == "*" else if_match


def _state_scope(data: dict[str, Any]) -> Scope:
    return Scope(state=data["state"], district=data.get("district", ""))


def _query_scope(data: dict[str, Any]) -> Scope:
    return Scope(state="" if data["scope"] == "national" else data["scope"])


def _team_scope(data: dict[str, Any]) -> Scope:
    return Scope(state=data["state"], district=data.get("district", ""), team=data["id"])


def _check_team(data: dict[str, Any]) -> None:
    # Members carry their team's id (domain.org.Member); the wire form leaves it implicit.
    data["members"] = [{**m, "team_id": data["id"]} for m in data.get("members", [])]
    team_from_dict(data)


def _check_query(data: dict[str, Any]) -> None:
    keyword_query_from_dict(data)


def _no_check(data: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class Kind:
    name: str  # the permissions kind and the audit entity
    partition: Callable[[dict[str, Any]], str]
    scope: Callable[[dict[str, Any]], Scope]
    audit_scope: Callable[[dict[str, Any]], str]
    check: Callable[[dict[str, Any]], None] = _no_check
    fixed_partition: str = ""  # every object in one partition (leaders, queries)


LEADERS = Kind(
    "leader", lambda d: "LEADER", _state_scope, lambda d: d["state"], fixed_partition="LEADER"
)
QUERIES = Kind(
    "keyword_query",
    lambda d: "QUERY",
    _query_scope,
    lambda d: d["scope"],
    check=_check_query,
    fixed_partition="QUERY",
)


def _chain_scope(data: dict[str, Any]) -> Scope:
    if data.get("scope") == "state":
        return Scope(state=str(data.get("owner", "")))
    return Scope()  # default chain: national; team chains are resolved through their team


def _check_chain(data: dict[str, Any]) -> None:
    parse_chain(data)


CHAINS = Kind(
    "escalation_chain",
    lambda d: "ESCALATION",
    _chain_scope,
    lambda d: str(d.get("owner") or "national") if d.get("scope") == "state" else "national",
    check=_check_chain,
    fixed_partition="ESCALATION",
)
TEAMS = Kind(
    "team", lambda d: f"TEAMS#{d['state']}", _team_scope, lambda d: d["state"], check=_check_team
)


class ConfigAdmin:
    """Use cases over a :class:`ConfigStore`; every method checks the caller's scope first.

    ``contacts``: members' SMS/e-mail channels, checked before a team write and subscribed
    after it (``services.contacts``); without it those channels are stored only.
    """

    def __init__(self, store: ConfigStore, contacts: ContactSync | None = None) -> None:
        self.store = store
        self.contacts = contacts

    def _before_team_write(
        self,
        kind: Kind,
        p: Principal,
        data: dict[str, Any],
        before: dict[str, Any] | None,
        member_id: str = "",
    ) -> dict[str, Any]:
        if kind is not TEAMS or self.contacts is None:
            return data
        return self.contacts.prepare(p.sub, data, before, member_id)

    def _after_team_write(
        self, kind: Kind, p: Principal, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        if kind is TEAMS and self.contacts is not None:
            self.contacts.sync(p.sub, before, after)

    def _team_of_chain(self, data: dict[str, Any]) -> dict[str, Any] | None:
        if data.get("scope") != "team":
            return None
        pointer = self.store.get_item(TEAM_INDEX, str(data.get("owner", "")))
        team = self.store.get_item(str(pointer.data["pk"]), pointer.id) if pointer else None
        return team.data if team else None

    def _scope(self, kind: Kind, data: dict[str, Any]) -> Scope:
        if kind is CHAINS and data.get("scope") == "team":
            team = self._team_of_chain(data)
            if team is None:  # its team was deleted: only national admins see it
                return Scope(state="-", team=str(data.get("owner", "")))
            return _team_scope(team)
        return kind.scope(data)

    def _check(self, kind: Kind, data: dict[str, Any]) -> None:
        kind.check(data)
        if kind is CHAINS and data.get("scope") == "team" and not self._team_of_chain(data):
            raise InvalidInputError(
                "the chain's team does not exist", [FieldProblem("owner", "no such team")]
            )

    @staticmethod
    def _check_roles(
        kind: Kind, p: Principal, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        """Members are handed roles through their team: only roles below the caller's own."""
        if kind is TEAMS:
            check_member_changes(
                p,
                None if before is None else team_from_dict(before),
                None if after is None else team_from_dict(after),
            )

    def _audit_scope(self, kind: Kind, data: dict[str, Any]) -> str:
        if kind is CHAINS and data.get("scope") == "team":
            return self._scope(kind, data).state
        return kind.audit_scope(data)

    def _locate(self, kind: Kind, object_id: str) -> ConfigRecord | None:
        if kind.fixed_partition:
            return self.store.get_item(kind.fixed_partition, object_id)
        pointer = self.store.get_item(TEAM_INDEX, object_id)
        if pointer is None:
            return None
        return self.store.get_item(str(pointer.data["pk"]), object_id)

    def _index(self, kind: Kind, data: dict[str, Any] | None, object_id: str) -> list[IndexItem]:
        if kind.fixed_partition:
            return []
        return [(TEAM_INDEX, object_id, None if data is None else {"pk": kind.partition(data)})]

    def get(self, kind: Kind, p: Principal, object_id: str) -> ConfigRecord:
        record = self._locate(kind, object_id)
        if record is None:
            raise NotFoundError(f"no such {kind.name}")
        authorize(p, kind.name, Verb.READ, self._scope(kind, record.data))
        return record

    def list(self, kind: Kind, p: Principal, state: str | None = None) -> list[ConfigRecord]:
        if not may(p, kind.name, Verb.READ):
            raise ForbiddenError(f"a {p.role.value} may not read {kind.name} objects")
        if kind.fixed_partition:
            records = self.store.list_items(kind.fixed_partition)
        else:
            wanted = state or p.state
            if not wanted and p.team:
                return [self.get(kind, p, p.team)]
            if not wanted:
                raise InvalidInputError(
                    "say which state's teams", [FieldProblem("state", "required")]
                )
            records = self.store.list_items(kind.partition({"state": wanted}))
        return [
            r
            for r in records
            if visible(p, self._scope(kind, r.data))
            and (state is None or self._scope(kind, r.data).state in ("", state))
        ]

    def create(self, kind: Kind, p: Principal, data: dict[str, Any]) -> ConfigRecord:
        authorize(p, kind.name, Verb.WRITE, self._scope(kind, data), creating=True)
        self._check(kind, data)
        self._check_roles(kind, p, None, data)
        if not kind.fixed_partition and self.store.get_item(TEAM_INDEX, data["id"]) is not None:
            raise ConflictError(
                f"{kind.name} {data['id']} exists already", [FieldProblem("id", "taken")]
            )
        data = self._before_team_write(kind, p, data, None)
        record = self.store.write_item(
            kind.partition(data),
            data["id"],
            kind.name,
            data,
            self._audit_scope(kind, data),
            p.sub,
            None,
            self._index(kind, data, data["id"]),
            objects=[self._scope(kind, data)],
        )
        assert record is not None
        self._after_team_write(kind, p, None, record.data)
        return record

    def replace(
        self,
        kind: Kind,
        p: Principal,
        object_id: str,
        data: dict[str, Any],
        if_match: IfMatch | None,
    ) -> ConfigRecord:
        current = self.get(kind, p, object_id)
        authorize(p, kind.name, Verb.WRITE, self._scope(kind, current.data))
        if data.get("id") != object_id:
            raise InvalidInputError(
                "the id cannot change", [FieldProblem("id", "must match the URL")]
            )
        if kind.partition(data) != kind.partition(current.data):
            raise InvalidInputError(
                f"a {kind.name} cannot move to another state; create a new one",
                [FieldProblem("state", "cannot change")],
            )
        authorize(p, kind.name, Verb.WRITE, self._scope(kind, data), creating=True)
        self._check(kind, data)
        self._check_roles(kind, p, current.data, data)
        data = self._before_team_write(kind, p, data, current.data)
        record = self.store.write_item(
            kind.partition(data),
            object_id,
            kind.name,
            data,
            self._audit_scope(kind, data),
            p.sub,
            expected_version(current, if_match),
            objects=_distinct(self._scope(kind, current.data), self._scope(kind, data)),
        )
        assert record is not None
        self._after_team_write(kind, p, current.data, record.data)
        return record

    def delete(self, kind: Kind, p: Principal, object_id: str, if_match: IfMatch | None) -> None:
        current = self.get(kind, p, object_id)
        authorize(p, kind.name, Verb.WRITE, self._scope(kind, current.data))
        self._check_roles(kind, p, current.data, None)
        self.store.write_item(
            kind.partition(current.data),
            object_id,
            kind.name,
            None,
            self._audit_scope(kind, current.data),
            p.sub,
            expected_version(current, if_match),
            self._index(kind, None, object_id),
            objects=[self._scope(kind, current.data)],
        )
        self._after_team_write(kind, p, current.data, None)

    # Members live inside their team: a member change is a change of the team, and If-Match
    # names the team's version (the ETag every member answer carries). Adding a member is a
    # create: it needs none.
    def put_member(
        self,
        p: Principal,
        team_id: str,
        member: dict[str, Any],
        creating: bool,
        if_match: IfMatch | None = None,
    ) -> ConfigRecord:
        team = self.get(TEAMS, p, team_id)
        authorize(p, "member", Verb.WRITE, TEAMS.scope(team.data))
        members: list[dict[str, Any]] = list(team.data.get("members", []))
        exists = any(m["id"] == member["id"] for m in members)
        if creating and exists:
            raise ConflictError(
                f"member {member['id']} exists already", [FieldProblem("id", "taken")]
            )
        if not creating and not exists:
            raise NotFoundError("no such member")
        expected = team.version if creating else expected_version(team, if_match)
        members = [m for m in members if m["id"] != member["id"]] + [{**member, "team_id": team_id}]
        return self._save_members(p, team, members, expected, str(member["id"]))

    def remove_member(
        self, p: Principal, team_id: str, member_id: str, if_match: IfMatch | None
    ) -> ConfigRecord:
        team = self.get(TEAMS, p, team_id)
        authorize(p, "member", Verb.WRITE, TEAMS.scope(team.data))
        members = [m for m in team.data.get("members", []) if m["id"] != member_id]
        if len(members) == len(team.data.get("members", [])):
            raise NotFoundError("no such member")
        return self._save_members(p, team, members, expected_version(team, if_match))

    def _save_members(
        self,
        p: Principal,
        team: ConfigRecord,
        members: Sequence[dict[str, Any]],
        expected: int,
        member_id: str = "",
    ) -> ConfigRecord:
        """Write a team whose members changed, conditional on ``expected``."""
        data = {**team.data, "members": members}
        self._check_roles(TEAMS, p, team.data, data)
        data = self._before_team_write(TEAMS, p, data, team.data, member_id)
        record = self.store.write_item(
            TEAMS.partition(data),
            team.id,
            "team",
            data,
            TEAMS.audit_scope(data),
            p.sub,
            expected,
            objects=[TEAMS.scope(data)],
        )
        assert record is not None
        self._after_team_write(TEAMS, p, team.data, record.data)
        return record

    # The route tree: one national object.
    def get_routes(self, p: Principal) -> ConfigRecord | None:
        authorize(p, "routes", Verb.READ, Scope())
        return self.store.get_item(*ROUTES_KEY)

    def put_routes(
        self, p: Principal, config: dict[str, Any], if_match: IfMatch | None
    ) -> ConfigRecord:
        """Create the route tree (no If-Match: there is nothing to match yet) or replace it."""
        authorize(p, "routes", Verb.WRITE, Scope())
        parse_route_config(config)  # every problem, with its path, before anything is stored
        current = self.store.get_item(*ROUTES_KEY)
        if current is None and if_match is not None:
            # RFC 9110: If-Match (even "*") fails when there is no current representation.
            raise PreconditionFailedError("there is no route tree yet; create it without If-Match")
        expected = None if current is None else expected_version(current, if_match)
        record = self.store.write_item(
            *ROUTES_KEY, "routes", config, "national", p.sub, expected, objects=[Scope()]
        )
        assert record is not None
        return record


def _distinct(*scopes: Scope) -> list[Scope]:
    return list(dict.fromkeys(scopes))


def audit_scope_of(p: Principal, scope: str | None) -> str:
    """The audit partition a caller asks for (default: their own), checked against their scope."""
    wanted = scope or p.state or "national"
    authorize(p, "audit", Verb.READ, Scope(state="" if wanted == "national" else wanted))
    return wanted


AUDIT_PAGES = 5  # partition pages one request reads at most while leaving out unreadable records


def read_audit(
    store: ConfigStore, p: Principal, scope: str | None, limit: int, cursor: str | None
) -> tuple[list[AuditRecord], str | None]:
    """The records of a scope that the caller may read, newest first, and where to go on.

    A district head's page may hold fewer than ``limit`` records (even none) with a cursor:
    a busy state cannot make one request read its whole history.
    """
    wanted = audit_scope_of(p, scope)
    kept: list[AuditRecord] = []
    for _ in range(AUDIT_PAGES):
        page, cursor = store.audit_log(wanted, limit - len(kept), cursor)
        kept += [r for r in page if may_read_audit(p, wanted, r.objects)]
        if cursor is None or len(kept) >= limit:
            break
    return kept, cursor
