"""Roles and scope as a table: who may do what to objects where."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.access import (
    PERMISSIONS,
    Principal,
    Role,
    Scope,
    Verb,
    authorize,
    check_member_changes,
    may_read_audit,
    principal_from_claims,
)
from chalicelib.domain.org import Member, Team
from chalicelib.errors import AuthenticationError, ForbiddenError, NotFoundError

NA = Principal("a", Role.NATIONAL_ADMIN)
RJ = Principal("s", Role.STATE_HEAD, state="RJ")
RJ_JP = Principal("d", Role.DISTRICT_HEAD, state="RJ", district="JAIPUR")
LEAD = Principal("l", Role.TEAM_LEAD, team="RJ-JP-1")
WARRIOR = Principal("w", Role.WARRIOR, team="RJ-JP-1")

RJ_LEADER = Scope(state="RJ")
UP_LEADER = Scope(state="UP")
RJ_JP_TEAM = Scope(state="RJ", district="JAIPUR", team="RJ-JP-1")
RJ_KOTA_TEAM = Scope(state="RJ", district="KOTA", team="RJ-KOTA-1")
NATIONAL = Scope()

OK, E403, E404 = None, ForbiddenError, NotFoundError


@pytest.mark.parametrize(
    ("who", "kind", "verb", "obj", "expected"),
    [
        (NA, "leader", Verb.WRITE, UP_LEADER, OK),
        (RJ, "leader", Verb.READ, RJ_LEADER, OK),
        (RJ, "leader", Verb.WRITE, RJ_LEADER, OK),
        (RJ, "leader", Verb.READ, UP_LEADER, E404),  # a Rajasthan head cannot see UP's watchlist
        (RJ, "leader", Verb.WRITE, UP_LEADER, E404),
        (RJ, "keyword_query", Verb.READ, NATIONAL, OK),  # national queries are visible...
        (RJ, "keyword_query", Verb.WRITE, NATIONAL, E403),  # ...but not theirs to change
        (RJ_JP, "leader", Verb.READ, RJ_LEADER, OK),  # a state-level leader of their state
        (RJ_JP, "team", Verb.WRITE, RJ_JP_TEAM, OK),
        (RJ_JP, "team", Verb.READ, RJ_KOTA_TEAM, E404),
        (RJ_JP, "team", Verb.WRITE, Scope("RJ", "jaipur", "RJ-JP-2"), OK),  # case of the name
        (RJ_JP, "keyword_query", Verb.WRITE, RJ_LEADER, E403),
        (LEAD, "team", Verb.READ, RJ_JP_TEAM, OK),
        (LEAD, "team", Verb.WRITE, RJ_JP_TEAM, E403),
        (LEAD, "member", Verb.WRITE, RJ_JP_TEAM, OK),
        (LEAD, "member", Verb.WRITE, RJ_KOTA_TEAM, E404),
        (LEAD, "leader", Verb.READ, RJ_LEADER, E403),
        (WARRIOR, "task", Verb.ACT, RJ_JP_TEAM, OK),
        (WARRIOR, "task", Verb.READ, RJ_KOTA_TEAM, E404),  # only their own team's tasks
        (WARRIOR, "leader", Verb.READ, RJ_LEADER, E403),
        (WARRIOR, "device", Verb.WRITE, Scope("RJ", "JAIPUR", "RJ-JP-1", member="w"), OK),
        (WARRIOR, "device", Verb.WRITE, Scope("RJ", "JAIPUR", "RJ-JP-1", member="x"), E404),
        (RJ, "task", Verb.ACT, RJ_JP_TEAM, E403),  # heads read tasks; warriors work them
        (RJ, "task", Verb.READ, RJ_JP_TEAM, OK),
        (NA, "nonexistent-kind", Verb.READ, NATIONAL, E403),
    ],
)
def test_authorize(
    who: Principal, kind: str, verb: Verb, obj: Scope, expected: type[Exception] | None
) -> None:
    if expected is None:
        authorize(who, kind, verb, obj)
    else:
        with pytest.raises(expected):
            authorize(who, kind, verb, obj)


@pytest.mark.parametrize(
    ("who", "obj", "expected"),
    [
        (RJ, RJ_LEADER, OK),
        (RJ, UP_LEADER, E403),  # creating into another state: forbidden, not "not found"
        (RJ_JP, RJ_LEADER, E403),  # a district head creates within their district only
        (RJ_JP, Scope("RJ", "JAIPUR"), OK),
        (NA, UP_LEADER, OK),
    ],
)
def test_creating_checks_the_new_objects_scope(
    who: Principal, obj: Scope, expected: type[Exception] | None
) -> None:
    if expected is None:
        authorize(who, "leader", Verb.WRITE, obj, creating=True)
    else:
        with pytest.raises(expected):
            authorize(who, "leader", Verb.WRITE, obj, creating=True)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"sub": "u", "custom:role": "national_admin"}, Principal("u", Role.NATIONAL_ADMIN)),
        (
            {"sub": "u", "custom:role": "state_head", "custom:state": "rj"},
            Principal("u", Role.STATE_HEAD, state="RJ"),
        ),
        (
            {"sub": "u", "custom:role": "warrior", "custom:team": "T1", "custom:state": "RJ"},
            Principal("u", Role.WARRIOR, state="RJ", team="T1"),
        ),
    ],
)
def test_principal_from_claims(claims: dict[str, Any], expected: Principal) -> None:
    assert principal_from_claims(claims) == expected


@pytest.mark.parametrize(
    ("claims", "loc"),
    [
        ({"sub": "u"}, "custom:role"),
        ({"sub": "u", "custom:role": "emperor"}, "custom:role"),
        ({"sub": "u", "custom:role": 7}, "custom:role"),
        ({"custom:role": "national_admin"}, "sub"),
        ({"sub": "u", "custom:role": "state_head"}, "custom:state"),
        ({"sub": "u", "custom:role": "state_head", "custom:state": "XX"}, "custom:state"),
        ({"sub": "u", "custom:role": "district_head", "custom:state": "RJ"}, "custom:district"),
        ({"sub": "u", "custom:role": "team_lead"}, "custom:team"),
        ({"sub": "u", "custom:role": "warrior"}, "custom:team"),
    ],
)
def test_claims_that_do_not_fit_their_role_are_refused(claims: dict[str, Any], loc: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        principal_from_claims(claims)
    assert loc in [p.loc for p in info.value.problems]


STATES = st.sampled_from(["", "RJ", "UP", "DL"])
DISTRICTS = st.sampled_from(["", "JAIPUR", "jaipur", "KOTA"])
TEAMS = st.sampled_from(["", "T1", "T2"])
PRINCIPALS = st.builds(
    Principal,
    sub=st.sampled_from(["u1", "u2"]),
    role=st.sampled_from(list(Role)),
    state=STATES,
    district=DISTRICTS,
    team=TEAMS,
)
SCOPES = st.builds(
    Scope, state=STATES, district=DISTRICTS, team=TEAMS, member=st.sampled_from(["", "u1"])
)
KINDS = st.sampled_from(sorted(PERMISSIONS))


@given(PRINCIPALS, KINDS, st.sampled_from(list(Verb)), SCOPES, st.booleans())
def test_nobody_changes_anything_outside_their_scope(
    p: Principal, kind: str, verb: Verb, obj: Scope, creating: bool
) -> None:
    try:
        authorize(p, kind, verb, obj, creating=creating)
    except (ForbiddenError, NotFoundError):
        return
    if p.role is Role.NATIONAL_ADMIN:
        return
    if verb is Verb.READ and not creating:
        assert obj.state in ("", p.state) or obj.team == p.team or obj.member == p.sub
        return
    if p.role is Role.STATE_HEAD:
        assert obj.state == p.state
    elif p.role is Role.DISTRICT_HEAD:
        assert obj.state == p.state and obj.district.casefold() == p.district.casefold()
    elif p.role is Role.TEAM_LEAD:
        assert obj.team == p.team
    else:
        assert (obj.member == p.sub) if obj.member else (obj.team == p.team)


def _team(*members: tuple[str, str], lead_id: str = "") -> Team:
    return Team(
        "RJ-JP-1",
        "Jaipur 1",
        "RJ",
        "JAIPUR",
        lead_id=lead_id,
        members=tuple(Member(i, i, "RJ-JP-1", role=r) for i, r in members),
    )


LEAD_L = Principal("l", Role.TEAM_LEAD, team="RJ-JP-1")


@pytest.mark.parametrize(
    ("who", "before", "after", "expected"),
    [
        (LEAD, None, _team(("x", "warrior")), OK),  # a new team with a warrior
        (LEAD, _team(), _team(("x", "lead")), E403),  # a second lead: their own level
        (RJ_JP, _team(), _team(("x", "lead")), OK),
        (RJ_JP, _team(), _team(("x", "district_head")), E403),
        (RJ, _team(), _team(("x", "district_head")), OK),
        (RJ, _team(), _team(("x", "state_head")), E403),
        (NA, _team(), _team(("x", "state_head")), OK),
        (LEAD, _team(("x", "warrior")), _team(("x", "warrior"), lead_id="x"), E403),  # lead_id
        (RJ_JP, _team(("x", "warrior")), _team(("x", "warrior"), lead_id="x"), OK),
        (RJ_JP, _team(("x", "warrior"), lead_id="x"), _team(("x", "warrior")), OK),
        (LEAD, _team(("x", "state_head")), _team(), E403),  # removing someone above you
        (LEAD, _team(("x", "state_head")), _team(("x", "warrior")), E403),  # demoting them
        (LEAD, _team(("x", "state_head"), ("b", "warrior")), _team(("x", "state_head")), OK),
        (RJ_JP, _team(("x", "state_head")), _team(("x", "state_head")), OK),  # untouched
        (RJ_JP, _team(("x", "state_head")), None, E403),  # deleting their team
        (LEAD_L, _team(), _team(("l", "warrior")), E403),  # adding themselves
        (LEAD_L, _team(("l", "warrior")), _team(("l", "lead")), E403),  # their own role
        (LEAD_L, _team(("l", "lead")), _team(("l", "warrior")), E403),  # even downwards
        (LEAD_L, _team(("l", "lead")), _team(), E403),  # leaving
        (WARRIOR, _team(("w", "warrior")), _team(("w", "warrior"), lead_id="w"), E403),
        (NA, _team(("x", "admin-ish")), _team(("x", "warrior")), OK),  # unknown role: admins
        (RJ, _team(("x", "admin-ish")), _team(("x", "warrior")), E403),
    ],
)
def test_roles_are_given_only_below_the_callers_own(
    who: Principal, before: Team | None, after: Team | None, expected: type[Exception] | None
) -> None:
    if expected is None:
        check_member_changes(who, before, after)
    else:
        with pytest.raises(expected):
            check_member_changes(who, before, after)


def test_a_caller_edits_their_own_record_but_not_its_rank() -> None:
    me = Member("l", "Me", "RJ-JP-1", role="lead")
    before = dataclasses.replace(_team(), members=(me,))
    after = dataclasses.replace(before, members=(dataclasses.replace(me, languages=("en",)),))
    check_member_changes(LEAD_L, before, after)


JP_TEAM = Scope("RJ", "JAIPUR", "RJ-JP-1")
KOTA_TEAM = Scope("RJ", "KOTA", "RJ-KOTA-1")


@pytest.mark.parametrize(
    ("who", "partition", "objects", "expected"),
    [
        (RJ_JP, "RJ", (JP_TEAM,), True),
        (RJ_JP, "RJ", (Scope("RJ", "jaipur", "RJ-JP-2"),), True),  # district names fold case
        (RJ_JP, "RJ", (KOTA_TEAM,), False),  # the neighbouring district's team
        (RJ_JP, "RJ", (RJ_LEADER,), True),  # a state-level leader: readable
        (RJ_JP, "RJ", (KOTA_TEAM, JP_TEAM), False),  # moved between districts: both must be
        (RJ_JP, "RJ", None, False),  # an older record that does not say where: whole state only
        (RJ_JP, "national", None, True),  # the national partition holds only national objects
        (RJ_JP, "national", (NATIONAL,), True),
        (RJ_JP, "UP", (UP_LEADER,), False),
        (RJ, "RJ", None, True),
        (RJ, "RJ", (KOTA_TEAM, JP_TEAM), True),
        (RJ, "UP", None, False),
        (NA, "UP", None, True),
        (NA, "RJ", (KOTA_TEAM,), True),
    ],
)
def test_audit_records_show_where_their_object_is_readable(
    who: Principal, partition: str, objects: tuple[Scope, ...] | None, expected: bool
) -> None:
    assert may_read_audit(who, partition, objects) is expected
