"""Response stats of a state's teams (p50/p90 time to ack and complete, completion rate, open).

Reads each visible team's tasks through the by-team index and their events: fine for the
hundreds of tasks a state sees in a day, not for a year of history (then a stream-fed rollup
table is the next step). ``max_tasks_per_team`` bounds the work of one request.
"""

from __future__ import annotations

from chalicelib.domain.access import Principal, Scope, Verb, authorize, visible
from chalicelib.domain.stats import ResponseStats, StateStats, response_stats
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.services.ports import ConfigRepository, TaskRepository

PAGE = 100


def state_stats(
    config: ConfigRepository,
    tasks: TaskRepository,
    p: Principal,
    state: str,
    max_tasks_per_team: int = 500,
) -> StateStats:
    authorize(p, "stats", Verb.READ, Scope(state=state))
    teams = [
        t
        for t in config.teams_in_state(state)
        if visible(p, Scope(state=t.state, district=t.district, team=t.id))
    ]
    all_tasks: list[Task] = []
    all_events: list[TaskEvent] = []
    for team in teams:
        cursor: str | None = None
        seen = 0
        while seen < max_tasks_per_team:
            page, cursor = tasks.list_by_team(team.id, PAGE, cursor)
            for task in page:
                all_tasks.append(task)
                all_events.extend(tasks.events(task.task_id))
            seen += len(page)
            if cursor is None:
                break
    by_team = response_stats(all_tasks, all_events, by="team")
    by_state = response_stats(all_tasks, all_events, by="state")
    return StateStats(
        state=state,
        total=by_state.get(state) or ResponseStats.empty(state),
        teams=tuple(by_team[t.id] for t in teams if t.id in by_team),
    )
