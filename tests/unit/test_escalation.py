from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.escalation import (
    DEFAULT_CHAIN,
    MAX_REPEAT,
    Level,
    chain_for,
    escalation_notices,
    level_token,
    next_step,
    parse_chain,
)
from chalicelib.domain.notify import message_attributes, plan_notices
from chalicelib.domain.org import Member, Team
from chalicelib.domain.subscriptions import filter_policy, policy_matches
from chalicelib.domain.tasks import Task, TaskAction, TaskStatus, task_id_for, transition
from chalicelib.errors import InvalidInputError

T0 = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
TEAM = Team("UP-1", "", "UP", "LKO", lead_id="lead1")

CHAIN_DATA: dict[str, Any] = {
    "id": "up",
    "scope": "state",
    "owner": "UP",
    "repeat": 1,
    "steps": [
        {"wait": "10m"},
        {"notify": "team_lead"},
        {"wait": "5m"},
        {"notify": "district_head"},
        {"wait": "15m"},
        {"notify": "state_head"},
    ],
}
CHAIN = parse_chain(CHAIN_DATA)


def task(status: TaskStatus = TaskStatus.DISPATCHED) -> Task:
    return Task(
        task_id_for("UP-1", "inc"), "UP-1", "UP", "inc", "x#1", T0, status=status, severity=3
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("status", "minutes", "done", "action", "level", "due_min", "reason"),
    [
        (TaskStatus.NEW, 0, 0, "wait", Level.TEAM_LEAD, 10, ""),
        (TaskStatus.DISPATCHED, 9.9, 0, "wait", Level.TEAM_LEAD, 10, ""),
        (TaskStatus.DISPATCHED, 10, 0, "notify", Level.TEAM_LEAD, 10, ""),
        (TaskStatus.DISPATCHED, 12, 1, "wait", Level.DISTRICT_HEAD, 15, ""),
        (TaskStatus.DISPATCHED, 15, 1, "notify", Level.DISTRICT_HEAD, 15, ""),
        (TaskStatus.DISPATCHED, 30, 2, "notify", Level.STATE_HEAD, 30, ""),
        # the repeat starts again from the top, its waits counted after the first pass
        (TaskStatus.DISPATCHED, 35, 3, "wait", Level.TEAM_LEAD, 40, ""),
        (TaskStatus.DISPATCHED, 40, 3, "notify", Level.TEAM_LEAD, 40, ""),
        (TaskStatus.DISPATCHED, 60, 5, "notify", Level.STATE_HEAD, 60, ""),
        # a late scheduler catches up one step per call, in order
        (TaskStatus.DISPATCHED, 500, 1, "notify", Level.DISTRICT_HEAD, 15, ""),
        (TaskStatus.DISPATCHED, 500, 6, "stop", None, None, "exhausted"),
        # acknowledgement (or any end) stops the chain at once
        (TaskStatus.ACKNOWLEDGED, 10, 0, "stop", None, None, "acknowledged"),
        (TaskStatus.COMPLETED, 30, 2, "stop", None, None, "completed"),
        (TaskStatus.DECLINED, 30, 2, "stop", None, None, "declined"),
        (TaskStatus.EXPIRED, 30, 2, "stop", None, None, "expired"),
    ],
)
def test_next_step_table(
    status: TaskStatus,
    minutes: float,
    done: int,
    action: str,
    level: Level | None,
    due_min: int | None,
    reason: str,
) -> None:
    step = next_step(task(status), CHAIN, at(minutes), done)
    assert (step.action, step.level, step.reason) == (action, level, reason)
    assert step.due == (None if due_min is None else at(due_min))


def test_acknowledging_mid_chain_stops_it() -> None:
    t = task()
    assert next_step(t, CHAIN, at(10), 0).action == "notify"
    acked, _ = transition(t, TaskAction.ACK, "w1", at(12))
    assert next_step(acked, CHAIN, at(15), 1).reason == "acknowledged"


def test_repeats_are_capped_at_five() -> None:
    data = {**CHAIN_DATA, "repeat": MAX_REPEAT}
    chain = parse_chain(data)
    assert len(chain.schedule()) == 3 * (MAX_REPEAT + 1)
    assert next_step(task(), chain, at(10_000), 3 * (MAX_REPEAT + 1)).reason == "exhausted"


@given(st.floats(0, 10_000), st.integers(0, 20))
def test_next_step_never_notifies_before_its_due_time(minutes: float, done: int) -> None:
    step = next_step(task(), CHAIN, at(minutes), done)
    if step.action == "notify":
        assert step.due is not None and step.due <= at(minutes)
    if step.action == "wait":
        assert step.due is not None and step.due > at(minutes)
    assert (step.action == "stop") is (done >= len(CHAIN.schedule()))


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda c: c.pop("id"), "chain.id"),
        (lambda c: c.update(repeat=6), "chain.repeat"),
        (lambda c: c.update(repeat=-1), "chain.repeat"),
        (lambda c: c.update(repeat=True), "chain.repeat"),
        (lambda c: c.update(scope="district"), "chain.scope"),
        (lambda c: c.update(owner=""), "chain.owner"),
        (lambda c: c.update(steps=[]), "chain.steps"),
        (lambda c: c["steps"].__setitem__(0, {"wait": "soon"}), "chain.steps[0].wait"),
        (lambda c: c["steps"].__setitem__(0, {"wait": 0}), "chain.steps[0].wait"),
        (lambda c: c["steps"].__setitem__(1, {"notify": "pm"}), "chain.steps[1].notify"),
        (lambda c: c["steps"].__setitem__(1, {"notify": "team", "wait": "1m"}), "chain.steps[1]"),
        (lambda c: c.update(steps=[{"wait": "5m"}]), "chain.steps"),
        (lambda c: c.update(steps=[{"notify": "team_lead"}]), "chain.repeat"),
        (lambda c: c.update(colour="red"), "chain.colour"),
    ],
)
def test_invalid_chains_name_the_path(mutate: Any, loc: str) -> None:
    data = copy.deepcopy(CHAIN_DATA)
    mutate(data)
    with pytest.raises(InvalidInputError) as err:
        parse_chain(data)
    assert loc in [p.loc for p in err.value.problems]


def test_chain_round_trips_through_its_snapshot() -> None:
    assert parse_chain(CHAIN.as_dict()) == CHAIN
    assert parse_chain(DEFAULT_CHAIN.as_dict()) == DEFAULT_CHAIN


@pytest.mark.parametrize(
    ("team", "chain_id"),
    [
        (Team("UP-1", "", "UP", "LKO"), "team-up-1"),
        (Team("UP-2", "", "UP", "LKO"), "up"),
        (Team("DL-1", "", "DL", ""), "default"),
    ],
)
def test_chain_for_prefers_team_then_state_then_default(team: Team, chain_id: str) -> None:
    own = parse_chain({**CHAIN_DATA, "id": "team-up-1", "scope": "team", "owner": "UP-1"})
    assert chain_for(team, [CHAIN, own]).id == chain_id


@pytest.mark.parametrize(
    ("level", "team", "token"),
    [
        (Level.TEAM, TEAM, "UP-1"),
        (Level.TEAM_LEAD, TEAM, "@lead:UP-1"),
        (Level.DISTRICT_HEAD, TEAM, "@dhead:UP/LKO"),
        (Level.DISTRICT_HEAD, Team("DL-9", "", "DL", ""), "@shead:DL"),  # no district
        (Level.STATE_HEAD, TEAM, "@shead:UP"),
    ],
)
def test_level_tokens(level: Level, team: Team, token: str) -> None:
    assert level_token(level, team) == token


@pytest.mark.parametrize(
    ("member", "gets"),
    [
        (Member("lead1", "", "UP-1", languages=("hi",)), [Level.TEAM_LEAD]),
        (Member("w1", "", "UP-1", languages=("hi",)), []),
        (Member("dh", "", "UP-1", role="district_head", languages=("hi",)), [Level.DISTRICT_HEAD]),
        (Member("sh", "", "UP-1", role="state_head", languages=("hi",)), [Level.STATE_HEAD]),
    ],
)
def test_each_level_reaches_exactly_its_people(member: Member, gets: list[Level]) -> None:
    notices = []
    for done in range(3):
        step = next_step(task(), CHAIN, at(60), done)
        notices.extend(escalation_notices(task(), step, TEAM))
    calls = plan_notices(notices)
    policy = filter_policy(member, TEAM, min_severity=4)
    got = [
        Level(e.notice.extra["level"])
        for c in calls
        for e in c.entries
        if policy_matches(policy, e.attributes)
    ]
    assert got == gets
    assert len(calls) == 1  # 3 levels x 3 UP languages = 9 entries, one PublishBatch
    assert message_attributes(notices[0])["kind"]["StringValue"] == "escalation"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10)
    | st.sampled_from(["", "UP", "5m", "team_lead", "state", "x"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "scope", "owner", "repeat", "steps", "wait", "notify", "x"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_either_parses_or_fails_with_located_problems(data: Any) -> None:
    try:
        chain = parse_chain(data)
    except InvalidInputError as err:
        assert err.problems and all(p.loc.startswith("chain") for p in err.problems)
    else:
        assert chain.schedule()
