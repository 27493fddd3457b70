"""The kinds table and its validators: any JSON either validates or is a located 422."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.access import Role
from chalicelib.domain.config_kinds import (
    CHAINS,
    KINDS,
    LEADERS,
    QUERIES,
    ROUTES,
    TEAMS,
    state_of_teams_partition,
    teams_partition,
)
from chalicelib.errors import InvalidInputError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "DL", "x", "UP-1", "22:00-07:00", "25:00-x", "a*", "(", "5m"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "name", "x", "handle", "platform"]), inner)
    ),
    max_leaves=12,
)

FIELDS = [
    "id",
    "name",
    "state",
    "district",
    "party",
    "accounts",
    "reach",
    "query",
    "severity",
    "scope",
    "members",
    "quiet_hours",
    "owner",
    "steps",
    "repeat",
    "route",
    "enabled",
]


MEMBER = {"id": "m1", "name": "Meena", "languages": ["hi"], "channels": ["push"]}
VALID: list[tuple[Any, dict[str, Any]]] = [
    (
        LEADERS,
        {"id": "l1", "name": "L", "state": "DL", "accounts": [{"platform": "x", "handle": "h"}]},
    ),
    (QUERIES, {"id": "q1", "query": "paper leak", "severity": 3, "scope": "DL"}),
    (TEAMS, {"id": "DL-1", "name": "T", "state": "DL", "quiet_hours": "", "members": [MEMBER]}),
    (CHAINS, {"id": "c1", "scope": "state", "owner": "DL", "steps": [{"notify": "team"}]}),
    (ROUTES, {"route": {"receivers": [{"teams_of": "state"}]}}),
]
NESTED = {"accounts": 0, "members": 0, "steps": 0, "route": None}


@pytest.mark.parametrize(("kind", "data"), VALID)
def test_a_valid_object_of_each_kind_passes(kind: Any, data: dict[str, Any]) -> None:
    kind.validate(data)


def _check(kind: Any, data: Any) -> None:
    try:
        kind.validate(data)
    except InvalidInputError as err:
        assert err.problems and all(p.loc for p in err.problems)


@settings(max_examples=400)
@given(st.sampled_from(KINDS), st.dictionaries(st.sampled_from(FIELDS), json_values))
def test_a_validator_accepts_or_refuses_with_located_problems(kind: Any, data: Any) -> None:
    _check(kind, data)


@settings(max_examples=600)
@given(st.data())
def test_one_field_of_a_valid_object_changed_to_any_json(data: st.DataObject) -> None:
    """The near-misses: a valid object with one field, or one field of a member/account/step,
    replaced by arbitrary JSON (a number of quiet hours, a list for a state...)."""
    kind, valid = data.draw(st.sampled_from(VALID))
    obj = json.loads(json.dumps(valid))
    target = obj
    nested = [k for k in NESTED if k in obj and isinstance(obj[k], list)]
    if nested and data.draw(st.booleans()):
        target = obj[data.draw(st.sampled_from(nested))][0]
    target[data.draw(st.sampled_from([*target, *FIELDS]))] = data.draw(json_values)
    _check(kind, obj)


@pytest.mark.parametrize(
    ("kind", "data", "key"),
    [
        (LEADERS, {"id": "l1", "state": "DL"}, ("LEADER", "l1")),
        (QUERIES, {"id": "q1"}, ("QUERY", "q1")),
        (TEAMS, {"id": "DL-1", "state": "DL"}, ("TEAMS#DL", "DL-1")),
        (CHAINS, {"id": "c1"}, ("CHAIN", "c1")),
        (ROUTES, {"route": {}}, ("ROUTES", "TREE")),
    ],
)
def test_where_each_kind_lives(kind: Any, data: dict[str, Any], key: tuple[str, str]) -> None:
    assert kind.key(data) == key


def test_teams_partitions_name_their_state() -> None:
    assert state_of_teams_partition(teams_partition("UP")) == "UP"
    assert state_of_teams_partition("LEADER") is None


def test_writers_come_from_the_permissions_table() -> None:
    assert ROUTES.writers == (Role.NATIONAL_ADMIN,)
    assert Role.TEAM_LEAD not in TEAMS.writers and Role.WARRIOR not in CHAINS.writers
    assert set(QUERIES.writers) == {Role.NATIONAL_ADMIN, Role.STATE_HEAD}
