"""Cell heads' configuration: create, read, replace, delete and list, scope-checked and audited.

Every kind is a row of ``domain.config_kinds``: where it is stored, which scope it belongs to,
its validator. These use cases are the only writers of configuration: the API calls them, and
so do seeding (the demo, the local stack, tests) with a system principal, so what the pipeline
reads was always written and checked the same way. Optimistic concurrency: a change names the
version it was based on (If-Match); the store refuses it when that is no longer current.
Every update and delete must name one (``*``: whatever is current); only creating needs none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from chalicelib.domain.access import (
    Principal,
    Role,
    Scope,
    Verb,
    authorize,
    check_member_changes,
    may,
    may_read_audit,
    visible,
)
from chalicelib.domain.config_kinds import (
    CHAINS,
    LEADERS,
    MEMBERS,
    QUERIES,
    ROUTES,
    TEAM_INDEX,
    TEAMS,
    ConfigKind,
    validate_routes,
)
from chalicelib.domain.org import team_from_dict
from chalicelib.domain.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from chalicelib.domain.routing import Route
from chalicelib.errors import (
    ConflictError,
    FieldProblem,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from chalicelib.services.config_cache import team_record
from chalicelib.services.contacts import ContactSync
from chalicelib.services.devices import DeviceSync
from chalicelib.services.ports import AuditRecord, ConfigRecord, ConfigStore, IndexItem

# Kept under their old names for the views.
Kind = ConfigKind
__all__ = ["CHAINS", "LEADERS", "QUERIES", "TEAMS", "ConfigAdmin", "Kind", "system_principal"]

MAX_LIST_READS = 5  # store pages read per list request; a filtered page may come back short

# What a change is conditional on: a version the caller read, or "*" (whatever is current).
IfMatch = int | Literal["*"]


def expected_version(current: ConfigRecord, if_match: IfMatch | None) -> int:
    """The version an update or delete of ``current`` is conditional on; 428 without If-Match."""
    if if_match is None:
        raise PreconditionRequiredError(
            "send If-Match with the ETag you read", [FieldProblem("header:If-Match", "required")]
        )
    return current.version if if_match == "*" else if_match


def system_principal(name: str) -> Principal:
    """The caller that seeding acts as (demo, local stack, tests): a national admin whose
    ``sub`` names the seeder, so the audit log says who wrote what."""
    return Principal(sub=name, role=Role.NATIONAL_ADMIN)


class ConfigAdmin:
    """Use cases over a :class:`ConfigStore`; every method checks the caller's scope first.

    ``contacts``: members' SMS/e-mail channels, checked before a team write and subscribed
    after it (``services.contacts``); without it those channels are stored only. ``devices``:
    members' push subscriptions, whose filter policies follow every team write
    (``services.devices.DeviceSync``).
    """

    def __init__(
        self,
        store: ConfigStore,
        contacts: ContactSync | None = None,
        devices: DeviceSync | None = None,
    ) -> None:
        self.store = store
        self.contacts = contacts
        self.devices = devices

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
        if kind is TEAMS and self.devices is not None:
            self.devices.sync(p.sub, before, after)

    def _scope(self, kind: ConfigKind, data: dict[str, Any]) -> Scope:
        team_id = kind.team_of(data)
        if not team_id:
            return kind.scope(data)
        team = team_record(self.store, team_id)
        if team is None:  # its team was deleted: only national admins see it
            return Scope(state="-", team=team_id)
        return TEAMS.scope(team.data)

    def _check(self, kind: ConfigKind, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
        """The stored form of ``data``, once its kind's validator and the caller's role pass."""
        if not may(p, kind.name, Verb.WRITE):  # the role first: 403 before any 422
            raise ForbiddenError(f"a {p.role.value} may not write {kind.name} objects")
        kind.validate(data)
        team_id = kind.team_of(data)
        if team_id and team_record(self.store, team_id) is None:
            raise InvalidInputError(
                "the chain's team does not exist", [FieldProblem("owner", "no such team")]
            )
        return kind.prepare(data)

    @staticmethod
    def _check_roles(
        kind: ConfigKind, p: Principal, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        """Members are handed roles through their team: only roles below the caller's own."""
        if kind is TEAMS:
            check_member_changes(
                p,
                None if before is None else team_from_dict(before),
                None if after is None else team_from_dict(after),
            )

    def _locate(self, kind: ConfigKind, object_id: str) -> ConfigRecord | None:
        if kind.fixed_partition:
            return self.store.get_item(kind.fixed_partition, object_id)
        return team_record(self.store, object_id)

    def _index(
        self,
        kind: ConfigKind,
        data: dict[str, Any] | None,
        object_id: str,
        before: dict[str, Any] | None = None,
    ) -> list[IndexItem]:
        items: list[IndexItem] = []
        if kind.indexed_by_team_id:
            items.append(
                (TEAM_INDEX, object_id, None if data is None else {"pk": kind.partition(data)})
            )
        # The kind's lookup pointers follow the object: the old ones go, the new ones come.
        new = kind.pointers(data) if data is not None else []
        keys = {(pk, sk) for pk, sk, _ in new}
        old = kind.pointers(before) if before is not None else []
        items += [(pk, sk, None) for pk, sk, _ in old if (pk, sk) not in keys]
        items += [(pk, sk, dict(value)) for pk, sk, value in new]
        return items

    def get(self, kind: ConfigKind, p: Principal, object_id: str) -> ConfigRecord:
        record = self._locate(kind, object_id)
        if record is None:
            raise NotFoundError(f"no such {kind.name}")
        authorize(p, kind.name, Verb.READ, self._scope(kind, record.data))
        return record

    def list(
        self,
        kind: ConfigKind,
        p: Principal,
        state: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> tuple[list[ConfigRecord], str | None]:
        """One page of the objects the caller may see, in id order; the next page's cursor.

        The cursor holds only a position (an id); the partition always comes from the kind
        and the request, so a forged cursor cannot reach another state's teams.
        """
        if not may(p, kind.name, Verb.READ):
            raise ForbiddenError(f"a {p.role.value} may not read {kind.name} objects")
        if kind.fixed_partition:
            pk = kind.fixed_partition
        else:
            wanted = state or p.state
            if not wanted and p.team:
                return [self.get(kind, p, p.team)], None
            if not wanted:
                raise InvalidInputError(
                    "say which state's teams", [FieldProblem("state", "required")]
                )
            pk = kind.partition({"state": wanted})
        after = decode_cursor(cursor, ("s",))["s"] if cursor else None

        def wanted_record(r: ConfigRecord) -> bool:
            scope = self._scope(kind, r.data)
            return visible(p, scope) and (state is None or scope.state in ("", state))

        out: list[ConfigRecord] = []
        for _ in range(MAX_LIST_READS):
            batch = self.store.list_items(pk, limit=limit + 1, after=after)
            for i, record in enumerate(batch):
                if not wanted_record(record):
                    continue
                out.append(record)
                if len(out) == limit:
                    more = i + 1 < len(batch)
                    return out, encode_cursor({"s": record.id}) if more else None
            if len(batch) <= limit:
                return out, None
            after = batch[-1].id
        # Rarely visible objects in a long partition: answer with what was found so far.
        return out, encode_cursor({"s": after}) if after else None

    def create(self, kind: ConfigKind, p: Principal, data: dict[str, Any]) -> ConfigRecord:
        data = self._check(kind, p, data)
        scope = self._scope(kind, data)
        authorize(p, kind.name, Verb.WRITE, scope, creating=True)
        self._check_roles(kind, p, None, data)
        if kind.indexed_by_team_id and self.store.get_item(TEAM_INDEX, data["id"]) is not None:
            raise ConflictError(
                f"{kind.name} {data['id']} exists already", [FieldProblem("id", "taken")]
            )
        data = self._before_team_write(kind, p, data, None)
        record = self.store.write_item(
            *kind.key(data),
            kind.name,
            data,
            kind.audit_scope(scope),
            p.sub,
            None,
            self._index(kind, data, data["id"]),
            objects=[scope],
        )
        assert record is not None
        self._after_team_write(kind, p, None, record.data)
        return record

    def replace(
        self,
        kind: ConfigKind,
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
        data = self._check(kind, p, data)
        if kind.partition(data) != kind.partition(current.data):
            raise InvalidInputError(
                f"a {kind.name} cannot move to another state; create a new one",
                [FieldProblem("state", "cannot change")],
            )
        scope = self._scope(kind, data)
        authorize(p, kind.name, Verb.WRITE, scope, creating=True)
        self._check_roles(kind, p, current.data, data)
        data = self._before_team_write(kind, p, data, current.data)
        record = self.store.write_item(
            *kind.key(data),
            kind.name,
            data,
            kind.audit_scope(scope),
            p.sub,
            expected_version(current, if_match),
            [i for i in self._index(kind, data, object_id, current.data) if i[0] != TEAM_INDEX],
            objects=_distinct(self._scope(kind, current.data), scope),
        )
        assert record is not None
        self._after_team_write(kind, p, current.data, record.data)
        return record

    def delete(
        self, kind: ConfigKind, p: Principal, object_id: str, if_match: IfMatch | None
    ) -> None:
        current = self.get(kind, p, object_id)
        scope = self._scope(kind, current.data)
        authorize(p, kind.name, Verb.WRITE, scope)
        self._check_roles(kind, p, current.data, None)
        self.store.write_item(
            *kind.key(current.data),
            kind.name,
            None,
            kind.audit_scope(scope),
            p.sub,
            expected_version(current, if_match),
            self._index(kind, None, object_id, current.data),
            objects=[scope],
        )
        self._after_team_write(kind, p, current.data, None)

    def put(self, kind: ConfigKind, p: Principal, data: dict[str, Any]) -> ConfigRecord:
        """Create, or replace at its current version: what seeding does (demo, local stack,
        tests), through the same checks and audit as the API."""
        if kind is ROUTES:
            current = self.store.get_item(*ROUTES.key({}))
            return self.put_routes(p, data, None if current is None else "*")
        if self._locate(kind, str(data.get("id", ""))) is None:
            return self.create(kind, p, data)
        return self.replace(kind, p, str(data["id"]), data, "*")

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
        authorize(p, MEMBERS.name, Verb.WRITE, TEAMS.scope(team.data))
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
        authorize(p, MEMBERS.name, Verb.WRITE, TEAMS.scope(team.data))
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
        data = MEMBERS.prepare({**team.data, "members": members})
        MEMBERS.validate(data)
        self._check_roles(TEAMS, p, team.data, data)
        data = self._before_team_write(TEAMS, p, data, team.data, member_id)
        record = self.store.write_item(
            *TEAMS.key(data),
            TEAMS.name,
            data,
            TEAMS.audit_scope(TEAMS.scope(data)),
            p.sub,
            expected,
            objects=[TEAMS.scope(data)],
        )
        assert record is not None
        self._after_team_write(TEAMS, p, team.data, record.data)
        return record

    # The route tree: one national object.
    def get_routes(self, p: Principal) -> ConfigRecord | None:
        authorize(p, ROUTES.name, Verb.READ, Scope())
        return self.store.get_item(*ROUTES.key({}))

    def put_routes(
        self, p: Principal, config: dict[str, Any], if_match: IfMatch | None
    ) -> ConfigRecord:
        """Create the route tree (no If-Match: there is nothing to match yet) or replace it."""
        authorize(p, ROUTES.name, Verb.WRITE, Scope())
        tree = validate_routes(config)  # every problem, with its path, before anything is stored
        # A route's escalation names a chain: one that does not exist would never take effect.
        chains = {r.id for r in self.store.list_items(CHAINS.fixed_partition)}
        missing = [
            FieldProblem(f"{r.path}.escalation", f"no escalation chain {r.escalation!r}")
            for r in _routes(tree.root)
            if r.escalation
            and r.escalation not in chains
            and (r is tree.root or r.escalation != _parent_escalation(tree.root, r))
        ]
        if missing:
            raise InvalidInputError(
                "a route names an escalation chain that does not exist", missing
            )
        current = self.store.get_item(*ROUTES.key({}))
        if current is None and if_match is not None:
            # RFC 9110: If-Match (even "*") fails when there is no current representation.
            raise PreconditionFailedError("there is no route tree yet; create it without If-Match")
        expected = None if current is None else expected_version(current, if_match)
        record = self.store.write_item(
            *ROUTES.key(config),
            ROUTES.name,
            config,
            ROUTES.audit_scope(Scope()),
            p.sub,
            expected,
            objects=[Scope()],
        )
        assert record is not None
        return record


def _distinct(*scopes: Scope) -> list[Scope]:
    return list(dict.fromkeys(scopes))


def _routes(route: Route) -> list[Route]:
    return [route, *(r for child in route.routes for r in _routes(child))]


def _parent_escalation(root: Route, node: Route) -> str:
    """The escalation ``node`` would inherit (its parent's); "" for the root."""
    for r in _routes(root):
        if node in r.routes:
            return r.escalation
    return ""


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
