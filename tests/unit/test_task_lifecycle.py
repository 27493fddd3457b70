from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.tasks import Task, TaskAction, TaskStatus, task_id_for, transition
from chalicelib.errors import ConflictError, InvalidInputError

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def make_task(status: TaskStatus = TaskStatus.NEW) -> Task:
    return Task(
        task_id=task_id_for("DL-01", "x#1"),
        team_id="DL-01",
        state="DL",
        incident_key="x#1",
        mention_key="x#1",
        created_at=T0,
        status=status,
    )


def test_task_ids_are_deterministic_per_team_and_incident() -> None:
    assert task_id_for("DL-01", "x#1") == task_id_for("DL-01", "x#1")
    assert task_id_for("DL-01", "x#1") != task_id_for("DL-02", "x#1")
    assert task_id_for("DL-01", "x#1") != task_id_for("DL-01", "x#2")


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (TaskStatus.NEW, TaskAction.DISPATCH, TaskStatus.DISPATCHED),
        (TaskStatus.DISPATCHED, TaskAction.ACK, TaskStatus.ACKNOWLEDGED),
        (TaskStatus.NEW, TaskAction.ACK, TaskStatus.ACKNOWLEDGED),
        (TaskStatus.ACKNOWLEDGED, TaskAction.DECLINE, TaskStatus.DECLINED),
        (TaskStatus.DISPATCHED, TaskAction.EXPIRE, TaskStatus.EXPIRED),
    ],
)
def test_allowed_transitions_bump_the_version_and_record_an_event(
    start: TaskStatus, action: TaskAction, end: TaskStatus
) -> None:
    task, event = transition(make_task(start), action, "w1", T0)
    assert task.status is end
    assert task.version == 2
    assert event is not None
    assert (event.from_status, event.to_status, event.actor, event.seq) == (start, end, "w1", 2)


def test_repeating_a_transition_is_a_no_op() -> None:
    task, _ = transition(make_task(), TaskAction.ACK, "w1", T0)
    again, event = transition(task, TaskAction.ACK, "w1", T0)
    assert again == task
    assert event is None


@pytest.mark.parametrize(
    ("start", "action"),
    [
        (TaskStatus.COMPLETED, TaskAction.ACK),
        (TaskStatus.DECLINED, TaskAction.COMPLETE),
        (TaskStatus.ACKNOWLEDGED, TaskAction.DISPATCH),
        (TaskStatus.EXPIRED, TaskAction.DECLINE),
    ],
)
def test_forbidden_transitions_conflict(start: TaskStatus, action: TaskAction) -> None:
    with pytest.raises(ConflictError):
        transition(make_task(start), action, "w1", T0, response_url="https://x.com/r/1")


def test_completing_needs_a_response_link() -> None:
    with pytest.raises(InvalidInputError) as err:
        transition(make_task(TaskStatus.ACKNOWLEDGED), TaskAction.COMPLETE, "w1", T0)
    assert err.value.problems[0].loc == "response_url"
    done, event = transition(
        make_task(TaskStatus.ACKNOWLEDGED), TaskAction.COMPLETE, "w1", T0, "https://x.com/r/1"
    )
    assert done.response_url == "https://x.com/r/1"
    assert event is not None and event.detail == {"response_url": "https://x.com/r/1"}
