"""Who may do what to which object: roles, scopes and the one authorization decision.

Roles nest national -> state -> district -> team -> warrior. An object carries a :class:`Scope`
(its state, district, team and, for a member's own things, the member id). The decision is pure
and answers with the error the API returns, consistently:

* **403 Forbidden** when the caller's role may never do this to this kind of object, when the
  object is visible to them but not theirs to change (a state head reading a national keyword
  query), or when they try to create or move something into a scope that is not theirs;
* **404 Not Found** when the object exists but lies outside what the caller may see: the answer
  is the same as for an id that does not exist, so ids of other states' objects leak nothing.

Roles are also handed out: a member's role (and a team's ``lead_id``) decides which escalations
their phone receives. A caller changes only members ranked strictly below themselves, and never
their own role (:func:`check_member_changes`), so nobody can promote themselves or anyone else
to their own level or above.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chalicelib.domain.org import Member, Team
from chalicelib.domain.states import is_state
from chalicelib.errors import AuthenticationError, FieldProblem, ForbiddenError, NotFoundError


class Role(StrEnum):
    NATIONAL_ADMIN = "national_admin"
    STATE_HEAD = "state_head"
    DISTRICT_HEAD = "district_head"
    TEAM_LEAD = "team_lead"
    WARRIOR = "warrior"


class Verb(StrEnum):
    READ = "read"
    WRITE = "write"
    ACT = "act"  # work a task: ack, complete, decline


# Claim names as Cognito puts custom attributes into ID tokens.
CLAIM_ROLE = "custom:role"
CLAIM_STATE = "custom:state"
CLAIM_DISTRICT = "custom:district"
CLAIM_TEAM = "custom:team"

_R, _W, _A = Verb.READ, Verb.WRITE, Verb.ACT
_HEADS = (Role.NATIONAL_ADMIN, Role.STATE_HEAD, Role.DISTRICT_HEAD)

# kind -> role -> verbs that role may ever use on that kind (scope is checked separately).
PERMISSIONS: dict[str, dict[Role, frozenset[Verb]]] = {
    "leader": {r: frozenset({_R, _W}) for r in _HEADS},
    "keyword_query": {
        Role.NATIONAL_ADMIN: frozenset({_R, _W}),
        Role.STATE_HEAD: frozenset({_R, _W}),
        Role.DISTRICT_HEAD: frozenset({_R}),
    },
    "team": {
        **{r: frozenset({_R, _W}) for r in _HEADS},
        Role.TEAM_LEAD: frozenset({_R}),
    },
    "member": {
        **{r: frozenset({_R, _W}) for r in _HEADS},
        Role.TEAM_LEAD: frozenset({_R, _W}),
    },
    "device": {
        **{r: frozenset({_R, _W}) for r in _HEADS},
        Role.TEAM_LEAD: frozenset({_R, _W}),
        Role.WARRIOR: frozenset({_R, _W}),
    },
    "routes": {
        Role.NATIONAL_ADMIN: frozenset({_R, _W}),
        Role.STATE_HEAD: frozenset({_R}),
        Role.DISTRICT_HEAD: frozenset({_R}),
    },
    "escalation_chain": {
        **{r: frozenset({_R, _W}) for r in _HEADS},
        Role.TEAM_LEAD: frozenset({_R}),
    },
    # Chat links (issue 13): a lead links the team's group; a warrior links their own account.
    "team_chat": {
        **{r: frozenset({_R, _W}) for r in _HEADS},
        Role.TEAM_LEAD: frozenset({_R, _W}),
    },
    "member_chat": {
        **{r: frozenset({_R, _W}) for r in _HEADS},
        Role.TEAM_LEAD: frozenset({_R, _W}),
        Role.WARRIOR: frozenset({_R, _W}),
    },
    "audit": {r: frozenset({_R}) for r in _HEADS},
    "stats": {r: frozenset({_R}) for r in _HEADS},
    # Ingested posts and their grouping, per leader state: heads read, nobody writes.
    "mention": {r: frozenset({_R}) for r in _HEADS},
    "incident": {r: frozenset({_R}) for r in _HEADS},
    "task": {
        **{r: frozenset({_R}) for r in _HEADS},
        Role.TEAM_LEAD: frozenset({_R, _A}),
        Role.WARRIOR: frozenset({_R, _A}),
    },
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, from the token's claims."""

    sub: str
    role: Role
    state: str = ""
    district: str = ""
    team: str = ""


@dataclass(frozen=True)
class Scope:
    """Where an object lives. ``state == ""`` is national."""

    state: str = ""
    district: str = ""
    team: str = ""
    member: str = ""


def _claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The caller a verified token describes; AuthenticationError if the claims miss a part."""
    sub = _claim(claims, "sub")
    role_text = _claim(claims, CLAIM_ROLE)
    try:
        role = Role(role_text)
    except ValueError:
        raise AuthenticationError(
            "the token carries no known role", [FieldProblem(CLAIM_ROLE, "unknown role")]
        ) from None
    p = Principal(
        sub=sub,
        role=role,
        state=_claim(claims, CLAIM_STATE).upper(),
        district=_claim(claims, CLAIM_DISTRICT),
        team=_claim(claims, CLAIM_TEAM),
    )
    problems: list[FieldProblem] = []
    if not sub:
        problems.append(FieldProblem("sub", "required"))
    if role in (Role.STATE_HEAD, Role.DISTRICT_HEAD) and not is_state(p.state):
        problems.append(FieldProblem(CLAIM_STATE, "a state code is required for this role"))
    if role is Role.DISTRICT_HEAD and not p.district:
        problems.append(FieldProblem(CLAIM_DISTRICT, "required for this role"))
    if role in (Role.TEAM_LEAD, Role.WARRIOR) and not p.team:
        problems.append(FieldProblem(CLAIM_TEAM, "required for this role"))
    if problems:
        raise AuthenticationError("the token's claims do not fit its role", problems)
    return p


def _district(x: Principal | Scope) -> str:
    # District names are free text in team and leader records ("jaipur", "Jaipur", "JAIPUR").
    return x.district.casefold()


def visible(p: Principal, obj: Scope) -> bool:
    """Whether the object lies within what the caller may see."""
    if p.role is Role.NATIONAL_ADMIN:
        return True
    if p.role is Role.STATE_HEAD:
        return obj.state in ("", p.state)
    if p.role is Role.DISTRICT_HEAD:
        return obj.state == "" or (obj.state == p.state and _district(obj) in ("", _district(p)))
    if p.role is Role.TEAM_LEAD:
        return obj.team == p.team
    return obj.team == p.team if not obj.member else obj.member == p.sub


def owns(p: Principal, obj: Scope) -> bool:
    """Whether the object lies within what the caller may change."""
    if p.role is Role.NATIONAL_ADMIN:
        return True
    if p.role is Role.STATE_HEAD:
        return obj.state == p.state
    if p.role is Role.DISTRICT_HEAD:
        return obj.state == p.state and _district(obj) == _district(p)
    if p.role is Role.TEAM_LEAD:
        return obj.team == p.team
    return obj.team == p.team if not obj.member else obj.member == p.sub


def may(p: Principal, kind: str, verb: Verb) -> bool:
    """Whether the caller's role may ever ``verb`` objects of ``kind``."""
    return verb in PERMISSIONS.get(kind, {}).get(p.role, frozenset())


def authorize(p: Principal, kind: str, verb: Verb, obj: Scope, *, creating: bool = False) -> None:
    """Raise ForbiddenError (403) or NotFoundError (404) unless the caller may do this."""
    if not may(p, kind, verb):
        raise ForbiddenError(f"a {p.role.value} may not {verb.value} {kind} objects")
    if creating:
        if not owns(p, obj):
            raise ForbiddenError(f"you may not create a {kind} outside your scope")
        return
    if not visible(p, obj):
        raise NotFoundError(f"no such {kind}")
    if verb is not Verb.READ and not owns(p, obj):
        raise ForbiddenError(f"this {kind} is outside the scope you may change")


def may_read_audit(p: Principal, partition: str, objects: Sequence[Scope] | None) -> bool:
    """Whether the caller may read an audit record of ``partition`` (a state or ``national``).

    The record shows only if every place its object lived (before and after the change) is
    visible to the caller: a district head reads their district's teams' history, not their
    neighbours'. A record that does not say where its object lived (written before this was
    kept) shows only to those who see the whole partition.
    """
    state = "" if partition == "national" else partition
    if not visible(p, Scope(state=state)):
        return False
    if objects is None:
        return state == "" or p.role in (Role.NATIONAL_ADMIN, Role.STATE_HEAD)
    return all(visible(p, o) for o in objects)


# Who outranks whom. Members' roles (org.Member.role) name the escalation level they answer to
# (domain.subscriptions.role_tokens), on the same ladder as the callers' roles.
ROLE_RANK: dict[Role, int] = {
    Role.WARRIOR: 0,
    Role.TEAM_LEAD: 1,
    Role.DISTRICT_HEAD: 2,
    Role.STATE_HEAD: 3,
    Role.NATIONAL_ADMIN: 4,
}
MEMBER_ROLE_RANK: dict[str, int] = {"warrior": 0, "lead": 1, "district_head": 2, "state_head": 3}
_UNKNOWN_RANK = MEMBER_ROLE_RANK["state_head"]  # a stored role we do not know: only admins touch it


def member_rank(member: Member, team: Team) -> int:
    """The level a member answers escalations at: their role, or lead if the team names them."""
    rank = MEMBER_ROLE_RANK.get(member.role, _UNKNOWN_RANK)
    if team.lead_id and member.id == team.lead_id:
        rank = max(rank, MEMBER_ROLE_RANK["lead"])
    return rank


def may_assign(p: Principal, role: str) -> bool:
    """Whether the caller may give a member ``role``: only roles strictly below their own."""
    return MEMBER_ROLE_RANK.get(role, _UNKNOWN_RANK) < ROLE_RANK[p.role]


def check_member_changes(p: Principal, before: Team | None, after: Team | None) -> None:
    """ForbiddenError unless the caller may make this change to a team's members.

    ``before``/``after`` are the team as stored and as it would be (None: absent). Every member
    added, changed or removed (a new ``lead_id`` changes two) must rank strictly below the
    caller, before and after; a national admin outranks every member role. The caller's own
    member record may change, but never its rank: nobody changes their own role.
    """
    old = {m.id: m for m in before.members} if before else {}
    new = {m.id: m for m in after.members} if after else {}
    mine = ROLE_RANK[p.role]
    for member_id in sorted(old.keys() | new.keys()):
        was, now = old.get(member_id), new.get(member_id)
        rank_was = None if was is None or before is None else member_rank(was, before)
        rank_now = None if now is None or after is None else member_rank(now, after)
        unchanged = rank_was == rank_now and _same(was, now)
        if unchanged:
            continue
        if member_id == p.sub:
            if rank_was != rank_now:
                raise ForbiddenError(
                    "you may not change your own role",
                    [FieldProblem("role", f"member {member_id} is you")],
                )
            continue  # your own languages, channels, quiet hours: yours to set
        if any(r is not None and r >= mine for r in (rank_was, rank_now)):
            raise ForbiddenError(
                f"a {p.role.value} may only add, change or remove members ranked below them",
                [FieldProblem("role", f"member {member_id}: a role below {p.role.value}")],
            )


def _same(a: Member | None, b: Member | None) -> bool:
    if a is None or b is None:
        return a is b
    return dataclasses.replace(a, team_id="") == dataclasses.replace(b, team_id="")
