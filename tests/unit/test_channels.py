"""The delivery-channel planner as tables: which channels, which audience, dedup, limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.channels import (
    CHANNELS,
    DELIVERED,
    NO_EDITS,
    NOT_CHOSEN,
    OFF,
    SNS,
    TASK,
    TEAM_CHAT,
    TELEGRAM,
    UNREACHABLE,
    UPDATE,
    WHATSAPP,
    chosen_channels,
    delivery_key,
    fanout_seconds,
    plan_deliveries,
    send_delay,
)
from chalicelib.domain.routing import parse_route_config
from chalicelib.domain.tasks import Task, TaskAction, TaskStatus, task_id_for, transition
from chalicelib.errors import InvalidInputError

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
BOTH = frozenset({SNS, TELEGRAM})


def task(team: str, channels: list[str] | None = None, **kw: Any) -> Task:
    route: dict[str, Any] = {} if channels is None else {"channels": channels}
    return Task(
        task_id=task_id_for(team, "inc_1"),
        team_id=team,
        state="UP",
        incident_key="inc_1",
        mention_key="x#1",
        created_at=T0,
        route=route,
        **kw,
    )


def dispatched(t: Task) -> Task:
    return transition(t, TaskAction.DISPATCH, "system:dispatcher", T0)[0]


def summary(tasks: list[Task], **kw: Any) -> list[tuple[str, tuple[str, ...], bool]]:
    plan = plan_deliveries(tasks, **kw)
    return [(d.channel, tuple(t.team_id for t in d.tasks), d.fallback) for d in plan.deliveries]


# (case, tasks, enabled, telegram reach, expected (channel, teams, fallback) in plan order)
PLANS: list[tuple[str, list[Task], frozenset[str], set[str], list[Any]]] = [
    (
        "no route choice: SNS for all teams in one delivery, a chat message per linked team",
        [task("A"), task("B"), task("C")],
        BOTH,
        {"A", "C"},
        [(SNS, ("A", "B", "C"), False), (TELEGRAM, ("A",), False), (TELEGRAM, ("C",), False)],
    ),
    (
        "telegram off on the stage: SNS only",
        [task("A"), task("B")],
        frozenset({SNS}),
        {"A", "B"},
        [(SNS, ("A", "B"), False)],
    ),
    (
        "route chose telegram only: linked teams get the chat, unlinked ones fall back to SNS",
        [task("A", [TELEGRAM]), task("B", [TELEGRAM])],
        BOTH,
        {"A"},
        [(SNS, ("B",), True), (TELEGRAM, ("A",), False)],
    ),
    (
        "route chose SNS only: no chat message even for a linked team",
        [task("A", [SNS])],
        BOTH,
        {"A"},
        [(SNS, ("A",), False)],
    ),
    (
        "route chose telegram, stage runs SNS only: falls back to SNS",
        [task("A", [TELEGRAM])],
        frozenset({SNS}),
        {"A"},
        [(SNS, ("A",), True)],
    ),
    (
        "nothing enabled that can reach: nothing planned (no fallback without SNS)",
        [task("A", [TELEGRAM])],
        frozenset({TELEGRAM}),
        set(),
        [],
    ),
    (
        "a channel name no longer known in a snapshot is left out, the rest applies",
        [task("A", ["pigeon", TELEGRAM])],
        BOTH,
        {"A"},
        [(TELEGRAM, ("A",), False)],
    ),
    (
        "tasks in any order plan the same",
        [task("C"), task("A"), task("B")],
        BOTH,
        {"B"},
        [(SNS, ("A", "B", "C"), False), (TELEGRAM, ("B",), False)],
    ),
]


@pytest.mark.parametrize(
    ("case", "tasks", "enabled", "reach", "expected"), PLANS, ids=[p[0] for p in PLANS]
)
def test_which_channels_and_audience(
    case: str, tasks: list[Task], enabled: frozenset[str], reach: set[str], expected: list[Any]
) -> None:
    assert summary(tasks, enabled=enabled, reach={TELEGRAM: reach}) == expected


def test_skips_say_why() -> None:
    plan = plan_deliveries(
        [task("A", [SNS]), task("B", [TELEGRAM]), task("C")],
        enabled=frozenset({SNS}),
        reach={TELEGRAM: {"C"}},
    )
    by_task = {(s.channel, s.task_id, s.reason) for s in plan.skipped}
    # WhatsApp (off here) is left out of every task: A and B by their routes, C by the stage.
    assert {(c, r) for c, _, r in by_task if c == WHATSAPP} == {
        (WHATSAPP, NOT_CHOSEN),
        (WHATSAPP, OFF),
    }
    by_task = {s for s in by_task if s[0] != WHATSAPP}
    assert (TELEGRAM, task("A").task_id, NOT_CHOSEN) in by_task
    assert (SNS, task("B").task_id, NOT_CHOSEN) in by_task
    assert (TELEGRAM, task("B").task_id, OFF) in by_task
    assert (TELEGRAM, task("C").task_id, OFF) in by_task
    assert len(by_task) == len(plan.skipped) - 3 == 4  # every left-out pair, once
    # B chose only telegram, which is off: it falls back to SNS rather than reaching nobody.
    assert [d.fallback for d in plan.on(SNS)] == [True]
    unreachable = plan_deliveries([task("D")], enabled=BOTH, reach={TELEGRAM: set()})
    assert [s.reason for s in unreachable.skipped if s.channel != WHATSAPP] == [UNREACHABLE]


# (case, delivered on sns, delivered on telegram, expected channels per team)
DEDUP: list[tuple[str, set[Any], set[Any], list[Any]]] = [
    ("nothing delivered yet", set(), set(), [(SNS, ("A", "B"), False), (TELEGRAM, ("A",), False)]),
    (
        "telegram delivered A at v1: only SNS",
        set(),
        {(task("A").task_id, 1)},
        [(SNS, ("A", "B"), False)],
    ),
    (
        "telegram delivered A at another version: posted (a different notice)",
        set(),
        {(task("A").task_id, 7)},
        [(SNS, ("A", "B"), False), (TELEGRAM, ("A",), False)],
    ),
    (
        "SNS delivered A: B still goes, telegram still posts A (per channel)",
        {(task("A").task_id, 1)},
        set(),
        [(SNS, ("B",), False), (TELEGRAM, ("A",), False)],
    ),
    (
        "a key of another task does not count",
        set(),
        {(task("Z").task_id, 1)},
        [(SNS, ("A", "B"), False), (TELEGRAM, ("A",), False)],
    ),
]


@pytest.mark.parametrize(("case", "on_sns", "on_tg", "expected"), DEDUP, ids=[d[0] for d in DEDUP])
def test_dedup_per_channel_on_task_and_version(
    case: str, on_sns: set[Any], on_tg: set[Any], expected: list[Any]
) -> None:
    tasks = [dispatched(task("A")), dispatched(task("B"))]
    got = summary(
        tasks, enabled=BOTH, reach={TELEGRAM: {"A"}}, delivered={SNS: on_sns, TELEGRAM: on_tg}
    )
    assert got == expected


def test_the_key_is_the_version_the_warrior_sees() -> None:
    new = task("A")
    assert delivery_key(new) == (new.task_id, 1)
    # The dispatch transition is bookkeeping: its notice is still version 1 (notify's rule).
    assert delivery_key(dispatched(new)) == (new.task_id, 1)
    acked = transition(dispatched(new), TaskAction.ACK, "w-1", T0)[0]
    assert acked.status is TaskStatus.ACKNOWLEDGED
    assert delivery_key(acked) == (new.task_id, 2)


def test_an_update_edits_chats_and_pages_nobody() -> None:
    acked = transition(dispatched(task("A")), TaskAction.ACK, "w-1", T0)[0]
    plan = plan_deliveries(
        [acked],
        enabled=BOTH,
        reach={TELEGRAM: {"A"}},
        # An edit shows the task as it is now: a delivered key does not stop it.
        delivered={TELEGRAM: {delivery_key(acked)}},
        kind=UPDATE,
    )
    assert [(d.channel, d.kind) for d in plan.deliveries] == [(TELEGRAM, UPDATE)]
    assert [(s.channel, s.reason) for s in plan.skipped if s.channel != WHATSAPP] == [
        (SNS, NO_EDITS)
    ]


def test_chat_channels_get_one_delivery_per_task_and_sns_one_for_all() -> None:
    tasks = [task(f"T{i:02}") for i in range(25)]
    plan = plan_deliveries(tasks, enabled=BOTH, reach={TELEGRAM: {t.team_id for t in tasks}})
    assert len(plan.on(SNS)) == 1 and len(plan.on(SNS)[0].tasks) == 25
    assert len(plan.on(TELEGRAM)) == 25
    assert all(len(d.tasks) == 1 and d.kind == TASK for d in plan.on(TELEGRAM))
    assert CHANNELS[TELEGRAM].audience == TEAM_CHAT


def test_route_channels_are_validated_inherited_and_snapshotted() -> None:
    tree = parse_route_config(
        {
            "route": {
                "receivers": [{"teams_of": "state"}],
                "channels": ["sns", "telegram"],
                "routes": [
                    {"matchers": ["severity=5"], "channels": ["telegram"]},
                    {"matchers": ["severity=1"]},
                ],
            }
        }
    )
    assert tree.root.channels == (SNS, TELEGRAM)
    assert [r.channels for r in tree.root.routes] == [(TELEGRAM,), (SNS, TELEGRAM)]
    snap = tree.route_snapshot(tree.match({"severity": "5"}))
    assert snap["routes"][0]["channels"] == [TELEGRAM]
    assert chosen_channels(replace(task("A"), route={"channels": [TELEGRAM]})) == (TELEGRAM,)
    assert chosen_channels(task("A")) == tuple(CHANNELS)


@pytest.mark.parametrize(
    ("channels", "where"),
    [
        (["pigeon"], "route.channels[0]"),
        ([], "route.channels"),
        ("telegram", "route.channels"),
        (["sns", "sns"], "route.channels[1]"),
        ([3], "route.channels[0]"),
    ],
)
def test_route_channels_refused_with_their_place(channels: Any, where: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_route_config({"route": {"receivers": [{"teams_of": "state"}], "channels": channels}})
    assert where in [p.loc for p in err.value.problems]


# ---- limits -----------------------------------------------------------------------------------

# (channel, messages, per chat, expected seconds)
FANOUT = [
    (TELEGRAM, 50_000, 1, 50_000 / 30),  # one message per team chat: ~27.8 minutes
    (TELEGRAM, 30, 1, 1.0),
    (TELEGRAM, 0, 1, 0.0),
    (TELEGRAM, 21, 21, 60.0),  # 21 into one group: the 21st waits a minute
    (TELEGRAM, 41, 41, 120.0),
    (SNS, 36 * 3, 1, 11 / 1_500),  # 108 entries, ten to a PublishBatch: 11 calls
    (SNS, 1, 1, 1 / 1_500),
]


@pytest.mark.parametrize(("channel", "messages", "per_chat", "seconds"), FANOUT)
def test_fanout_at_documented_limits(
    channel: str, messages: int, per_chat: int, seconds: float
) -> None:
    assert fanout_seconds(channel, messages, per_chat) == pytest.approx(seconds)


def test_fifty_thousand_teams_on_telegram_take_about_28_minutes() -> None:
    assert 27 * 60 < fanout_seconds(TELEGRAM, 50_000) < 28 * 60


# (case, now, bot send times, chat send times, expected wait)
DELAYS = [
    ("idle", 100.0, [], [], 0.0),
    ("29 sends in the last second: room for one", 100.0, [99.5] * 29, [], 0.0),
    ("30 in the last second: wait until the oldest leaves", 100.0, [99.25] * 30, [], 0.25),
    ("30 but older than a second", 100.0, [98.9] * 30, [], 0.0),
    ("19 in the chat this minute", 100.0, [], [50.0] * 19, 0.0),
    ("20 in the chat this minute: wait", 100.0, [], [45.0] + [90.0] * 19, 5.0),
    ("both limits: the longer wait wins", 100.0, [99.5] * 30, [41.0] * 20, 1.0),
]


def test_a_margin_widens_a_full_window_only() -> None:
    assert send_delay(100.0, [99.25] * 30, [], TELEGRAM, margin=0.1) == pytest.approx(0.35)
    # 30 sends 1.05 s ago still count with a 0.1 s margin: the window is full.
    assert send_delay(100.0, [98.95] * 30, [], TELEGRAM, margin=0.1) == pytest.approx(0.05)
    assert send_delay(100.0, [99.5] * 29, [], TELEGRAM, margin=0.1) == 0.0


@pytest.mark.parametrize(("case", "now", "bot", "chat", "wait"), DELAYS, ids=[d[0] for d in DELAYS])
def test_send_delay_keeps_both_windows(
    case: str, now: float, bot: list[float], chat: list[float], wait: float
) -> None:
    assert send_delay(now, bot, chat, TELEGRAM) == pytest.approx(wait)


def test_a_delivered_post_is_skipped_with_its_reason() -> None:
    a = dispatched(task("A"))
    plan = plan_deliveries(
        [a], enabled=BOTH, reach={TELEGRAM: {"A"}}, delivered={TELEGRAM: {delivery_key(a)}}
    )
    assert [(s.channel, s.reason) for s in plan.skipped if s.channel != WHATSAPP] == [
        (TELEGRAM, DELIVERED)
    ]
