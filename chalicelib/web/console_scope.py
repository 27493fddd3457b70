"""Who may use the cell heads' console, and over which states: the same roles as the API.

Pure: a page asks these before it reads anything, and the use cases it then calls check every
object again (``domain.access.authorize``), so the console can never show more than the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.access import (
    CLAIM_DISTRICT,
    CLAIM_ROLE,
    CLAIM_STATE,
    Principal,
    Role,
    Scope,
    visible,
)
from chalicelib.domain.states import STATE_CODES
from chalicelib.errors import ForbiddenError

HEAD_ROLES = frozenset({Role.NATIONAL_ADMIN, Role.STATE_HEAD, Role.DISTRICT_HEAD})


def is_head(p: Principal) -> bool:
    """Whether the caller is a cell head of some level (national, state, district)."""
    return p.role in HEAD_ROLES


def require_head(p: Principal) -> Principal:
    """The caller, or ForbiddenError for team leads and warriors (their pages are ``/t``)."""
    if not is_head(p):
        raise ForbiddenError("the console is for cell heads")
    return p


def states_of(p: Principal) -> tuple[str, ...]:
    """The states whose objects the caller may see, in code order."""
    return tuple(s for s in STATE_CODES if visible(p, Scope(state=s, district=p.district)))


def default_state(p: Principal, asked: str = "") -> str:
    """The state a page shows: the one asked for if the caller sees it, else their own."""
    states = states_of(p)
    if asked in states:
        return asked
    return p.state or (states[0] if states else "")


@dataclass(frozen=True)
class DevHead:
    """A demo cell head for the local dev login (not stored: heads are not team members)."""

    id: str
    name: str
    role: Role
    state: str = ""
    district: str = ""

    def claims(self) -> dict[str, Any]:
        """The ID token claims Cognito would carry for this head."""
        out: dict[str, Any] = {"sub": self.id, "name": self.name, CLAIM_ROLE: self.role.value}
        if self.state:
            out[CLAIM_STATE] = self.state
        if self.district:
            out[CLAIM_DISTRICT] = self.district
        return out


# Rajasthan, as in the README's walkthrough for a head's first day.
DEV_HEADS = (
    DevHead("head-national", "Meera Iyer", Role.NATIONAL_ADMIN),
    DevHead("head-rj", "Gayatri Rathore", Role.STATE_HEAD, "RJ"),
    DevHead("head-rj-jaipur", "Imran Qureshi", Role.DISTRICT_HEAD, "RJ", "jaipur"),
)


def dev_head(head_id: str) -> DevHead | None:
    return next((h for h in DEV_HEADS if h.id == head_id), None)
