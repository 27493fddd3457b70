"""In-memory fakes of the ports; they pass the same contract tests as the real adapters."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.analysis import AnalyzedMention, WatchConfig
from chalicelib.domain.keywords import KeywordQuery, compile_queries
from chalicelib.domain.notify import Publish
from chalicelib.domain.org import Leader, Team
from chalicelib.domain.pagination import decode_cursor, encode_cursor
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.errors import ConflictError, UpstreamError


@dataclass
class InMemoryMentionRepository:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def status_of(self, key: str) -> str | None:
        item = self.items.get(key)
        return None if item is None else str(item["status"])

    def put_new(self, analyzed: AnalyzedMention, correlation_id: str) -> bool:
        key = analyzed.mention.key
        if key in self.items:
            return False
        self.items[key] = {
            "status": "analyzed",
            "analyzed": analyzed,
            "correlation_id": correlation_id,
            "task_ids": [],
        }
        return True

    def mark_routed(self, key: str, task_ids: Sequence[str]) -> None:
        self.items[key]["status"] = "routed"
        self.items[key]["task_ids"] = list(task_ids)


@dataclass
class InMemoryTaskRepository:
    tasks: dict[str, Task] = field(default_factory=dict)
    history: dict[str, list[TaskEvent]] = field(default_factory=dict)

    def create(self, task: Task) -> bool:
        if task.task_id in self.tasks:
            return False
        self.tasks[task.task_id] = task
        return True

    def get(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def save_transition(self, task: Task, event: TaskEvent, expected_version: int) -> None:
        current = self.tasks.get(task.task_id)
        if current is None or current.version != expected_version:
            raise ConflictError(f"task {task.task_id} changed since version {expected_version}")
        self.tasks[task.task_id] = task
        self.history.setdefault(task.task_id, []).append(event)

    def events(self, task_id: str) -> list[TaskEvent]:
        return list(self.history.get(task_id, []))

    def list_by_team(
        self, team_id: str, limit: int, cursor: str | None = None, status: str | None = None
    ) -> tuple[list[Task], str | None]:
        ordered = sorted(
            (t for t in self.tasks.values() if t.team_id == team_id),
            key=lambda t: (t.created_at.isoformat(), t.task_id),
            reverse=True,
        )
        if cursor:
            pos = decode_cursor(cursor, ("c", "t"))
            ordered = [
                t for t in ordered if (t.created_at.isoformat(), t.task_id) < (pos["c"], pos["t"])
            ]
        page: list[Task] = []
        for i, task in enumerate(ordered):
            if status is None or task.status.value == status:
                page.append(task)
            if len(page) == limit:
                more = i + 1 < len(ordered)
                nxt = {"c": task.created_at.isoformat(), "t": task.task_id}
                return page, encode_cursor(nxt) if more else None
        return page, None


@dataclass
class InMemoryConfigRepository:
    leaders: dict[str, Leader] = field(default_factory=dict)
    queries: dict[str, KeywordQuery] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    def load_watch_config(self) -> WatchConfig:
        queries = list(self.queries.values())
        return WatchConfig.build(
            str(self.version), list(self.leaders.values()), queries, compile_queries(queries)
        )

    def teams_in_state(self, state: str) -> list[Team]:
        return [t for t in self.teams.values() if t.state == state]

    def _record(self, kind: str, key: str, before: Any, after: Any, actor: str) -> None:
        self.version += 1
        self.audit.append(
            {
                "entity": kind,
                "entity_id": key,
                "actor": actor,
                "before": None if before is None else dataclasses.asdict(before),
                "after": dataclasses.asdict(after),
            }
        )

    def put_leader(self, leader: Leader, actor: str) -> None:
        self._record("leader", leader.id, self.leaders.get(leader.id), leader, actor)
        self.leaders[leader.id] = leader

    def put_query(self, query: KeywordQuery, actor: str) -> None:
        self._record("keyword_query", query.id, self.queries.get(query.id), query, actor)
        self.queries[query.id] = query

    def put_team(self, team: Team, actor: str) -> None:
        self._record("team", team.id, self.teams.get(team.id), team, actor)
        self.teams[team.id] = team


@dataclass
class FakeMentionQueue:
    messages: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def send(self, messages: Sequence[Mapping[str, Any]]) -> None:
        if self.fail:
            raise UpstreamError("queue unavailable")
        # Round-trip through JSON, as SQS would.
        self.messages.extend(json.loads(json.dumps(m)) for m in messages)


@dataclass
class RecordingPublisher:
    calls: list[Publish] = field(default_factory=list)
    failures_left: int = 0

    def send(self, call: Publish) -> list[str]:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise UpstreamError("Throttling: rate exceeded")
        self.calls.append(call)
        return [f"msg-{len(self.calls)}-{i}" for i in range(len(call.entries))]
