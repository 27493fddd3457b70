"""Nobody below national admin can raise anyone, themselves included, to their own level or above.

Whatever a caller tries through the member and team use cases, the escalation addresses each
member's phone answers to (``domain.subscriptions.role_tokens``, what the SNS filter policy
receives) never reach the caller's own level unless the member had them already, and the
caller's own addresses never change. The ranks are read off the tokens, not off the rule under
test, so a wrong rank table in ``domain.access`` cannot hide here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.domain.access import Principal, Role
from chalicelib.domain.org import Member, Team, team_from_dict
from chalicelib.domain.subscriptions import role_tokens
from chalicelib.errors import ForbiddenError, TvaritError
from chalicelib.services.config_admin import TEAMS, ConfigAdmin
from tests.fakes import InMemoryConfigRepository

TEAM_ID = "DL-CENTRAL-01"
MEMBER_ROLES = ("warrior", "lead", "district_head", "state_head")
IDS = ("m1", "m2", "m3", "me")  # "me" is the caller's sub in some examples
CALLER_LEVEL = {Role.WARRIOR: 0, Role.TEAM_LEAD: 1, Role.DISTRICT_HEAD: 2, Role.STATE_HEAD: 3}
TOKEN_LEVEL = {"@lead:": 1, "@dhead:": 2, "@shead:": 3}


def level(member: Member, team: Team) -> int:
    """The highest escalation level a member's phone answers to (0: tasks only)."""
    tokens = role_tokens(member, team)
    return max((n for t in tokens for p, n in TOKEN_LEVEL.items() if t.startswith(p)), default=0)


def levels(store: InMemoryConfigRepository) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for (pk, _), record in store.items.items():
        if pk.startswith("TEAMS#"):
            team = team_from_dict(record.data)
            out.update({(team.id, m.id): level(m, team) for m in team.members})
    return out


def member(member_id: str, role: str, name: str = "M") -> dict[str, Any]:
    return {
        "id": member_id,
        "name": name,
        "role": role,
        "languages": ["hi"],
        "channels": ["push"],
        "quiet_hours": "",
        "min_severity": 1,
    }


def team(team_id: str, members: list[dict[str, Any]], lead_id: str = "") -> dict[str, Any]:
    return {
        "id": team_id,
        "name": team_id,
        "state": "DL",
        "district": "CENTRAL",
        "lead_id": lead_id,
        "quiet_hours": "",
        "members": members,
    }


principals = st.builds(
    lambda role, sub: (
        Principal(
            sub,
            role,
            state="DL",
            district="CENTRAL" if role is Role.DISTRICT_HEAD else "",
            team=TEAM_ID,
        )
        if role in (Role.STATE_HEAD, Role.DISTRICT_HEAD)
        else Principal(sub, role, team=TEAM_ID)
    ),
    st.sampled_from(list(CALLER_LEVEL)),
    st.sampled_from(("me", "someone-else")),
)
members = st.builds(
    member, st.sampled_from(IDS), st.sampled_from(MEMBER_ROLES), st.text("ab", max_size=2)
)
rosters = st.lists(members, max_size=4, unique_by=lambda m: m["id"])
lead_ids = st.sampled_from(("", *IDS))

Attempt = Callable[[ConfigAdmin, Principal], object]
attempts: st.SearchStrategy[Attempt] = st.one_of(
    st.builds(
        lambda m: lambda a, p: a.put_member(p, TEAM_ID, m, creating=True),
        members,
    ),
    st.builds(
        lambda m: lambda a, p: a.put_member(p, TEAM_ID, m, creating=False, if_match="*"),
        members,
    ),
    st.builds(
        lambda i: lambda a, p: a.remove_member(p, TEAM_ID, i, "*"),
        st.sampled_from(IDS),
    ),
    st.builds(
        lambda ms, lead: lambda a, p: a.replace(TEAMS, p, TEAM_ID, team(TEAM_ID, ms, lead), "*"),
        rosters,
        lead_ids,
    ),
    st.builds(
        lambda ms, lead: lambda a, p: a.create(TEAMS, p, team("DL-CENTRAL-02", ms, lead)),
        rosters,
        lead_ids,
    ),
    st.builds(lambda: lambda a, p: a.delete(TEAMS, p, TEAM_ID, "*")),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(principals, rosters, lead_ids, st.lists(attempts, min_size=1, max_size=3))
def test_nobody_below_national_admin_raises_a_role_to_their_own_or_above(
    p: Principal, roster: list[dict[str, Any]], lead_id: str, tries: list[Attempt]
) -> None:
    store = InMemoryConfigRepository()
    store.put_team(
        team_from_dict(team(TEAM_ID, [{**m, "team_id": TEAM_ID} for m in roster], lead_id)), "seed"
    )
    start = levels(store)
    admin = ConfigAdmin(store)
    for attempt in tries:
        try:
            attempt(admin, p)
            event("a change went through")
        except ForbiddenError:
            event("refused: 403")
        except TvaritError:
            event("refused otherwise")  # 404, 409, 422: the store is unchanged
    mine = CALLER_LEVEL[p.role]
    end = levels(store)
    for key, lvl in end.items():
        assert lvl < mine or start.get(key) == lvl, (key, lvl, p)
    # The caller's own membership (the teams they are in, and at which level) never changes.
    assert {k: v for k, v in end.items() if k[1] == p.sub} == {
        k: v for k, v in start.items() if k[1] == p.sub
    }


HEAD = Principal("head", Role.STATE_HEAD, state="DL")
DHEAD = Principal("dhead", Role.DISTRICT_HEAD, state="DL", district="CENTRAL")
LEAD = Principal("lead", Role.TEAM_LEAD, team=TEAM_ID)
ADMIN = Principal("admin", Role.NATIONAL_ADMIN)


@pytest.mark.parametrize(
    ("who", "role", "allowed"),
    [
        (ADMIN, "state_head", True),
        (HEAD, "district_head", True),
        (HEAD, "state_head", False),
        (DHEAD, "lead", True),
        (DHEAD, "district_head", False),
        (DHEAD, "state_head", False),
        (LEAD, "warrior", True),
        (LEAD, "lead", False),
        (LEAD, "district_head", False),
        (LEAD, "state_head", False),
    ],
)
def test_roles_strictly_below_the_callers_own_can_be_given(
    who: Principal, role: str, allowed: bool
) -> None:
    store = InMemoryConfigRepository()
    store.put_team(team_from_dict(team(TEAM_ID, [])), "seed")
    admin = ConfigAdmin(store)
    if allowed:
        admin.put_member(who, TEAM_ID, member("m1", role), creating=True)
        assert levels(store)[(TEAM_ID, "m1")] == MEMBER_ROLES.index(role)
    else:
        with pytest.raises(ForbiddenError):
            admin.put_member(who, TEAM_ID, member("m1", role), creating=True)
        assert levels(store) == {}
