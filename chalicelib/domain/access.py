"""Who may do what to which object: roles, scopes and the one authorization decision.

Roles nest national -> state -> district -> team -> warrior. An object carries a :class:`Scope`
(its state, district, team and, for a member's own things, the member id). The decision is pure
and answers with the error the API returns, consistently:

* **403 Forbidden** when the caller's role may never do this to this kind of object, when the
  object is visible to them but not theirs to change (a state head reading a national keyword
  query), or when they try to create or move something into a scope that is not theirs;
* **404 Not Found** when the object exists but lies outside what the caller may see: the answer
  is the same as for an id that does not exist, so ids of other states' objects leak nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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
