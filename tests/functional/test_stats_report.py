"""Stats of a state from tasks and their events, scoped to the teams the caller may see."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.access import Principal, Role
from chalicelib.domain.tasks import Task, TaskAction, transition
from chalicelib.services.stats_report import state_stats
from tests.factories import T0, make_team
from tests.fakes import InMemoryConfigRepository, InMemoryTaskRepository


def _work(repo: InMemoryTaskRepository, task: Task, steps: list[tuple[TaskAction, int]]) -> None:
    repo.create(task)
    for action, minutes in steps:
        current = repo.get(task.task_id)
        assert current is not None
        new, event = transition(
            current, action, "w", T0 + timedelta(minutes=minutes), "https://x.com/r"
        )
        assert event is not None
        repo.save_transition(new, event, current.version)


def test_state_stats_per_team_and_total() -> None:
    config = InMemoryConfigRepository()
    config.put_team(make_team("DL-C", "DL", district="CENTRAL"), "t")
    config.put_team(make_team("DL-E", "DL", district="EAST"), "t")
    tasks = InMemoryTaskRepository()
    for n, (team, steps) in enumerate(
        [
            ("DL-C", [(TaskAction.ACK, 2), (TaskAction.COMPLETE, 10)]),
            ("DL-C", [(TaskAction.ACK, 4), (TaskAction.DECLINE, 5)]),
            ("DL-C", []),
            ("DL-E", [(TaskAction.COMPLETE, 30)]),
        ]
    ):
        _work(tasks, Task(f"t{n}", team, "DL", f"i{n}", f"m{n}", T0), steps)
    head = Principal("s", Role.STATE_HEAD, state="DL")
    report = state_stats(config, tasks, head, "DL")
    total = report.total
    assert (total.tasks, total.open, total.completed) == (4, 1, 2)
    assert total.completion_rate == round(2 / 4, 4)  # 2 completed of 4 tasks
    assert (total.ack_p50_s, total.ack_p90_s) == (240.0, 1800.0)
    assert (total.complete_p50_s, total.complete_p90_s) == (600.0, 1800.0)
    central = Principal("d", Role.DISTRICT_HEAD, state="DL", district="CENTRAL")
    scoped = state_stats(config, tasks, central, "DL")
    assert [t.key for t in scoped.teams] == ["DL-C"]
    assert scoped.total.tasks == 3
