"""Warriors working their tasks: list, read, acknowledge, complete, decline (scope-checked)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.access import Principal, Scope, Verb, authorize
from chalicelib.domain.tasks import Task, TaskAction, TaskEvent, transition
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError
from chalicelib.services.config_cache import team_record
from chalicelib.services.ports import ConfigStore, TaskRepository

ATTEMPTS = 3  # a concurrent change makes us re-read and decide again, a few times at most


def task_scope(task: Task) -> Scope:
    return Scope(state=task.state, district=task.district, team=task.team_id)


def my_tasks(
    repo: TaskRepository,
    p: Principal,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
) -> tuple[list[Task], str | None]:
    """The tasks of the caller's own team, newest first."""
    if not p.team:
        raise ForbiddenError("only team members have tasks of their own; your token names no team")
    return repo.list_by_team(p.team, limit, cursor, status)


def team_tasks(
    repo: TaskRepository,
    teams: ConfigStore,
    p: Principal,
    team_id: str,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
) -> tuple[list[Task], str | None]:
    """A team's tasks, for its heads and its lead: 404 for a team outside their scope."""
    team = team_record(teams, team_id)
    if team is None:
        raise NotFoundError("no such team")
    scope = Scope(state=team.data["state"], district=team.data.get("district", ""), team=team_id)
    authorize(p, "team", Verb.READ, scope)
    return repo.list_by_team(team_id, limit, cursor, status)


def read_task(repo: TaskRepository, p: Principal, task_id: str) -> tuple[Task, list[TaskEvent]]:
    task = repo.get(task_id)
    if task is None:
        raise NotFoundError("no such task")
    authorize(p, "task", Verb.READ, task_scope(task))
    return task, repo.events(task_id)


def act_on_task(
    repo: TaskRepository,
    p: Principal,
    task_id: str,
    action: TaskAction,
    at: datetime,
    response_url: str = "",
    reason: str = "",
) -> Task:
    """Apply a warrior's action; repeating it changes nothing, a conflicting one is 409."""
    for _ in range(ATTEMPTS):
        task = repo.get(task_id)
        if task is None:
            raise NotFoundError("no such task")
        authorize(p, "task", Verb.ACT, task_scope(task))
        new, event = transition(task, action, p.sub, at, response_url, reason)
        if event is None:
            return new
        try:
            repo.save_transition(new, event, task.version)
        except ConflictError:
            continue  # changed under us (dispatch, a teammate): re-read and decide again
        return new
    raise ConflictError("the task keeps changing; read it again and retry")
