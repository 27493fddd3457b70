"""Ports: what the use cases need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.analysis import AnalyzedMention, WatchConfig
from chalicelib.domain.keywords import KeywordQuery
from chalicelib.domain.notify import Publish
from chalicelib.domain.org import Leader, Team
from chalicelib.domain.tasks import Task, TaskEvent

Clock = Callable[[], datetime]


class MentionRepository(Protocol):
    def status_of(self, key: str) -> str | None: ...

    def put_new(self, analyzed: AnalyzedMention, correlation_id: str) -> bool:
        """Store the mention unless its key exists; False when it already did."""
        ...

    def mark_routed(self, key: str, task_ids: Sequence[str]) -> None: ...


class TaskRepository(Protocol):
    def create(self, task: Task) -> bool:
        """Write a new task unless its id exists; False when it already did."""
        ...

    def get(self, task_id: str) -> Task | None: ...

    def save_transition(self, task: Task, event: TaskEvent, expected_version: int) -> None:
        """Persist a transition; ConflictError if the stored version is not ``expected_version``."""
        ...

    def events(self, task_id: str) -> list[TaskEvent]: ...

    def list_by_team(
        self, team_id: str, limit: int, cursor: str | None = None, status: str | None = None
    ) -> tuple[list[Task], str | None]:
        """A team's tasks, newest first; the cursor of the next page (None at the end).

        ``cursor`` is opaque (``domain.pagination``); InvalidInputError if it is not one.
        """
        ...


class ConfigRepository(Protocol):
    def load_watch_config(self) -> WatchConfig: ...

    def teams_in_state(self, state: str) -> list[Team]: ...

    def put_leader(self, leader: Leader, actor: str) -> None: ...

    def put_query(self, query: KeywordQuery, actor: str) -> None: ...

    def put_team(self, team: Team, actor: str) -> None: ...


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


class TokenVerifier(Protocol):
    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid bearer token; AuthenticationError otherwise."""
        ...
