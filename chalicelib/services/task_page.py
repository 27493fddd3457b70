"""What the task page and the inbox show: reads built on the task flow's own use cases.

Every read goes through :mod:`chalicelib.services.task_flow` first, so the page sees exactly
what the API lets the caller see (a warrior of another team gets the same 404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.domain.access import Principal
from chalicelib.domain.keywords import keyword_query_from_dict
from chalicelib.domain.org import Member, Team, team_from_dict
from chalicelib.domain.tasks import TERMINAL, Task, TaskEvent
from chalicelib.errors import InvalidInputError
from chalicelib.services import task_flow
from chalicelib.services.config_cache import TEAM_INDEX
from chalicelib.services.ports import ConfigStore, MentionRecord, MentionRepository, TaskRepository

INBOX_PAGE = 100
INBOX_PAGES = 3  # the inbox reads a team's newest 300 tasks at most; older ones are stale


@dataclass(frozen=True)
class TaskPage:
    task: Task
    events: list[TaskEvent]
    mention: MentionRecord | None  # None: the post was deleted (or has expired)
    briefs: dict[str, list[str]] = field(default_factory=dict)  # language -> texts
    team: Team | None = None


def team_of(config: ConfigStore, team_id: str) -> Team | None:
    pointer = config.get_item(TEAM_INDEX, team_id)
    record = config.get_item(str(pointer.data["pk"]), team_id) if pointer else None
    return team_from_dict(record.data) if record else None


def member_of(team: Team | None, member_id: str) -> Member | None:
    return next((m for m in team.members if m.id == member_id), None) if team else None


def task_page(
    tasks: TaskRepository,
    mentions: MentionRepository,
    config: ConfigStore,
    p: Principal,
    task_id: str,
) -> TaskPage:
    """The task with its events, post, briefs and team: 404 outside the caller's scope."""
    task, events = task_flow.read_task(tasks, p, task_id)
    mention = mentions.get(task.mention_key) if task.mention_key else None
    briefs: dict[str, list[str]] = {}
    for query_id in task.query_ids:
        record = config.get_item("QUERY", query_id)
        if record is None:
            continue  # deleted since the task was made: no brief to show
        try:
            query = keyword_query_from_dict(record.data)
        except InvalidInputError:
            continue
        for lang, text in query.brief.items():
            briefs.setdefault(lang, []).append(text)
    return TaskPage(task, events, mention, briefs, team_of(config, task.team_id))


def _rank(task: Task) -> tuple[float, int, float]:
    created = task.created_at or datetime.min.replace(tzinfo=UTC)
    return (-task.priority, -task.severity, -created.timestamp())


def inbox(tasks: TaskRepository, p: Principal) -> list[Task]:
    """The caller's team's unfinished tasks, highest priority first."""
    found: list[Task] = []
    cursor: str | None = None
    for _ in range(INBOX_PAGES):
        page, cursor = task_flow.my_tasks(tasks, p, INBOX_PAGE, cursor)
        found += [t for t in page if t.status not in TERMINAL]
        if cursor is None:
            break
    return sorted(found, key=_rank)
