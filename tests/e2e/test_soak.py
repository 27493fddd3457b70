"""A short soak with chaos (``make soak``'s harness, local/soak.py) on the multi-process stack.

Posts flow through the signed webhook while moto is frozen, DynamoDB and SNS are throttled, an
API and a pump worker are SIGKILLed and restarted, a poison message and a duplicate burst go
in. Judged here: nothing accepted is lost, every fault really happened, no phone shows a task
twice, no escalation follows an acknowledgement, memory stays bounded. Latency is measured by
the run and printed, never asserted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.soak import SoakPlan, run

PLAN = SoakPlan(
    seconds=40.0,
    rate=1.5,
    cycle_seconds=120.0,  # one cycle of every fault
    freeze_seconds=2.0,
    throttle_seconds=5.0,
    visibility_timeout=6,
    drain_seconds=300.0,
)
FAULTS = {
    "poison",
    "throttle dynamodb",
    "freeze moto",
    "throttle sns",
    "kill api",
    "kill pump",
    "duplicate burst",
}


@pytest.fixture(scope="module")
def summary() -> Iterator[dict[str, Any]]:
    result = run(PLAN)
    print(json.dumps(result))  # the figures, for whoever reads the log (-s)
    yield result


def test_every_fault_was_injected(summary: dict[str, Any]) -> None:
    assert set(summary["faults"]) == FAULTS


def test_the_reconciliation_passes(summary: dict[str, Any]) -> None:
    assert summary["problems"] == []


def test_nothing_accepted_is_lost(summary: dict[str, Any]) -> None:
    assert summary["posts_accepted"] > PLAN.seconds * PLAN.rate * 0.5
    stored_or_dead = summary["stored"] + summary["accepted_dead_lettered"]
    assert stored_or_dead >= summary["posts_accepted"]
    assert summary["dead_lettered"] >= summary["poison"] == 1


def test_tasks_reach_phones_once_and_acks_stop_escalations(summary: dict[str, Any]) -> None:
    assert summary["tasks_dispatched"] > 0 and summary["phone_deliveries"] > 0
    assert summary["tasks_shown_twice"] == 0
    assert summary["acks"] > 0
    assert summary["escalations_after_ack"] == 0
    assert summary["duplicate_burst"]["posts"] > 0


def test_memory_of_every_process_stays_bounded(summary: dict[str, Any]) -> None:
    names = set(summary["max_rss_mb"])
    assert {"aws", "harness", "api-0", "api-1", "pump-0", "pump-1"} <= names
    assert max(summary["max_rss_mb"].values()) <= summary["rss_bound_mb"]
