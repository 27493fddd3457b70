"""Ports: what the use cases need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.analysis import AnalyzedMention, WatchConfig
from chalicelib.domain.incidents import IncidentDecision, IncidentProbe
from chalicelib.domain.keywords import KeywordQuery
from chalicelib.domain.notify import Publish
from chalicelib.domain.org import Leader, Team
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.domain.throttle import TeamThrottle

Clock = Callable[[], datetime]


class MentionRepository(Protocol):
    def status_of(self, key: str) -> str | None: ...

    def put_new(self, analyzed: AnalyzedMention, correlation_id: str) -> bool:
        """Store the mention unless its key exists; False when it already did."""
        ...

    def mark_routed(self, key: str, task_ids: Sequence[str]) -> None: ...

    def delete(self, key: str) -> list[str]:
        """Remove our copy of a post deleted on its platform; the ids of tasks made from it."""
        ...


class TaskRepository(Protocol):
    def create(self, task: Task) -> bool:
        """Write a new task unless its id exists; False when it already did."""
        ...

    def get(self, task_id: str) -> Task | None: ...

    def save_transition(self, task: Task, event: TaskEvent, expected_version: int) -> None:
        """Persist a transition; ConflictError if the stored version is not ``expected_version``."""
        ...

    def events(self, task_id: str) -> list[TaskEvent]: ...

    def redact(self, task_id: str, mention_key: str) -> None:
        """The post behind a task was deleted on its platform: drop our copy of its text."""
        ...

    def note_mention(self, task_id: str, mention_key: str) -> None:
        """Another mention of the task's incident arrived: count it (once per mention)."""
        ...

    def due_for_escalation(self, state: str, now: datetime) -> list[Task]:
        """Open tasks of a state whose next escalation step is due (eventually consistent)."""
        ...

    def record_escalation(self, task: Task, done: int, next_at: datetime | None) -> bool:
        """Record step ``done`` as taken, conditionally; False if the task moved on meanwhile."""
        ...


class ThrottleStore(Protocol):
    def load(self, team_id: str) -> tuple[TeamThrottle | None, int]:
        """A team's paging state and its version (None, 0 for a team never paged)."""
        ...

    def save(self, team_id: str, state_code: str, state: TeamThrottle, expected: int) -> bool:
        """Store the state if its version is still ``expected``; False if someone else won."""
        ...

    def due(self, now: datetime) -> list[tuple[str, str]]:
        """(team id, state code) of the teams whose held digest is due."""
        ...


class IncidentIndex(Protocol):
    def incident_of(self, mention_key: str) -> str | None:
        """The incident a mention was already assigned to, if any."""
        ...

    def assign(self, probe: IncidentProbe) -> IncidentDecision:
        """Decide the incident of a new matched mention and record it there."""
        ...


class ConfigRepository(Protocol):
    def load_watch_config(self) -> WatchConfig: ...

    def teams_in_state(self, state: str) -> list[Team]: ...

    def put_leader(self, leader: Leader, actor: str) -> None: ...

    def put_query(self, query: KeywordQuery, actor: str) -> None: ...

    def put_team(self, team: Team, actor: str) -> None: ...

    def put_chain(self, chain: dict[str, Any], actor: str) -> None: ...


class MentionQueue(Protocol):
    def send(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Enqueue mention messages; raises UpstreamError unless every one was accepted."""
        ...


class TaskPublisher(Protocol):
    def send(self, call: Publish) -> list[str]:
        """Make one planned SNS call (Publish or PublishBatch); the message ids, in order.

        Raises UpstreamError unless every entry was accepted.
        """
        ...
