"""The live feed of a head's state: newest mentions of its leaders (matched first), and the
incidents they made with each team's task and its progress.

Built from the same use cases as ``GET /mentions`` and ``GET /incidents/{key}``: mentions are
scoped by the leader's state, tasks by their team (a district head sees only their district's
teams' tasks). One refresh reads two mention pages and at most ``MAX_TASKS`` tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.access import Principal, visible
from chalicelib.domain.tasks import Task
from chalicelib.services.monitoring import mentions_of_state
from chalicelib.services.ports import MentionRecord, MentionRepository, TaskRepository
from chalicelib.services.task_flow import task_scope

MAX_TASKS = 100


@dataclass(frozen=True)
class FeedIncident:
    incident_key: str
    mention: MentionRecord  # the newest matched mention that made its tasks
    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class Feed:
    state: str
    matched: list[MentionRecord]
    other: list[MentionRecord]
    incidents: list[FeedIncident]


def live_feed(
    mentions: MentionRepository,
    tasks: TaskRepository,
    p: Principal,
    state: str,
    matched_limit: int = 20,
    other_limit: int = 10,
) -> Feed:
    matched, _ = mentions_of_state(mentions, p, state, matched_limit, matched=True)
    other, _ = mentions_of_state(mentions, p, state, other_limit, matched=False)
    by_incident: dict[str, tuple[MentionRecord, list[Task]]] = {}
    seen: set[str] = set()
    for mention in matched:
        for task_id in mention.task_ids:
            if task_id in seen or len(seen) >= MAX_TASKS:
                continue
            seen.add(task_id)
            task = tasks.get(task_id)
            if task is None or not visible(p, task_scope(task)):
                continue
            by_incident.setdefault(task.incident_key, (mention, []))[1].append(task)
    incidents = [
        FeedIncident(key, mention, tuple(sorted(found, key=lambda t: t.team_id)))
        for key, (mention, found) in by_incident.items()
    ]
    return Feed(state, matched, other, incidents)
