"""The soak's reconciliation checks (local/soak.py), on hand-made publishes: pure tables."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.domain.tasks import task_id_for
from local.soak import covers, escalated_after_ack

TASK = SimpleNamespace(task_id="t-1", team_id="DL-CENTRAL-01", state="DL", district="Central")


def _publish(team_ids: list[str] | None = None, **data: Any) -> dict[str, Any]:
    return {"data": {"type": "task", **data}, "team_ids": team_ids or [], "sent_ms": 0}


@pytest.mark.parametrize(
    ("publish", "expected"),
    [
        (_publish(task_id="t-1"), True),
        (_publish(["DL-CENTRAL-01"], task_id="t-2"), False),  # its own id says another task
        (_publish(["DL-CENTRAL-01", "DL-EAST-01"]), True),
        (_publish(["DL-EAST-01"]), False),
        (_publish(["@state:DL"]), True),
        (_publish(["@state:UP"]), False),
        (_publish(["@district:DL/Central"]), True),
        (_publish(["@district:DL/East"]), False),
        (_publish(tasks={"DL-CENTRAL-01": "t-1"}), True),
        (_publish(tasks={"DL-EAST-01": "t-9"}), False),
    ],
)
def test_a_notice_covers_the_tasks_of_its_audience(publish: dict[str, Any], expected: bool) -> None:
    assert covers(publish, TASK) is expected


def _escalation(sent_ms: int, task_id: str = "", teams: tuple[str, ...] = ()) -> dict[str, Any]:
    data = {"type": "escalation", "incident": "inc-1", **({"task_id": task_id} if task_id else {})}
    return {"data": data, "team_ids": list(teams), "sent_ms": sent_ms}


def test_an_escalation_published_after_the_ack_answered_is_reported() -> None:
    derived = task_id_for("DL-CENTRAL-01", "inc-1")
    escalations = [
        _escalation(1_000, "t-1"),  # before its ack: the chain ran first, fine
        _escalation(5_000, "t-2"),  # after its ack: reported
        _escalation(9_000, "t-3"),  # never acknowledged: fine
        _escalation(7_000, teams=("@state:DL", "DL-CENTRAL-01")),  # no id: derived from its team
    ]
    acks = {"t-1": 2_000.0, "t-2": 4_000.0, derived: 6_000.0}
    assert escalated_after_ack(escalations, acks) == sorted(["t-2", derived])
    assert escalated_after_ack(escalations[:1] + escalations[2:3], acks) == []
