"""In-memory fakes of the ports; they pass the same contract tests as the real adapters."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.analysis import AnalyzedMention, WatchConfig
from chalicelib.domain.escalation import EscalationChain, parse_chain
from chalicelib.domain.incidents import IncidentDecision, IncidentIndex, IncidentProbe
from chalicelib.domain.keywords import KeywordQuery, compile_queries
from chalicelib.domain.notify import Publish
from chalicelib.domain.org import Leader, Team
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.domain.throttle import TeamThrottle
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

    def delete(self, key: str) -> list[str]:
        item = self.items.pop(key, None)
        return [] if item is None else list(item["task_ids"])

    def mark_routed(self, key: str, task_ids: Sequence[str]) -> None:
        self.items[key]["status"] = "routed"
        self.items[key]["task_ids"] = list(task_ids)


@dataclass
class InMemoryTaskRepository:
    tasks: dict[str, Task] = field(default_factory=dict)
    history: dict[str, list[TaskEvent]] = field(default_factory=dict)
    last_mention: dict[str, str] = field(default_factory=dict)

    def create(self, task: Task) -> bool:
        if task.task_id in self.tasks:
            return False
        self.tasks[task.task_id] = task
        self.last_mention[task.task_id] = task.mention_key
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

    def redact(self, task_id: str, mention_key: str) -> None:
        current = self.tasks.get(task_id)
        if current is not None and current.mention_key == mention_key:
            self.tasks[task_id] = dataclasses.replace(current, excerpt="(deleted on the platform)")

    def note_mention(self, task_id: str, mention_key: str) -> None:
        current = self.tasks[task_id]
        if self.last_mention.get(task_id) != mention_key:
            self.last_mention[task_id] = mention_key
            self.tasks[task_id] = dataclasses.replace(
                current, mention_count=current.mention_count + 1
            )

    def due_for_escalation(self, state: str, now: datetime) -> list[Task]:
        return [
            t
            for t in self.tasks.values()
            if t.state == state and t.is_open and t.escalate_at is not None and t.escalate_at <= now
        ]

    def record_escalation(self, task: Task, done: int, next_at: datetime | None) -> bool:
        current = self.tasks.get(task.task_id)
        if current is None or current.escalation_step != done or current.version != task.version:
            return False
        self.tasks[task.task_id] = dataclasses.replace(
            current, escalation_step=done + 1, escalate_at=next_at if current.is_open else None
        )
        return True


@dataclass
class InMemoryConfigRepository:
    leaders: dict[str, Leader] = field(default_factory=dict)
    queries: dict[str, KeywordQuery] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    chains: dict[str, EscalationChain] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    def load_watch_config(self) -> WatchConfig:
        queries = list(self.queries.values())
        return WatchConfig.build(
            str(self.version),
            list(self.leaders.values()),
            queries,
            compile_queries(queries),
            chains=list(self.chains.values()),
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

    def put_chain(self, chain: dict[str, Any], actor: str) -> None:
        parsed = parse_chain(chain)
        self.version += 1
        self.chains[parsed.id] = parsed
        self.audit.append({"entity": "escalation_chain", "entity_id": parsed.id, "actor": actor})

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


@dataclass
class InMemoryIncidentIndex:
    index: IncidentIndex = field(default_factory=IncidentIndex)

    def incident_of(self, mention_key: str) -> str | None:
        return self.index.by_mention.get(mention_key)

    def assign(self, probe: IncidentProbe) -> IncidentDecision:
        return self.index.assign(probe)


@dataclass
class InMemoryThrottleStore:
    items: dict[str, tuple[str, TeamThrottle, int]] = field(default_factory=dict)

    def load(self, team_id: str) -> tuple[TeamThrottle | None, int]:
        item = self.items.get(team_id)
        return (None, 0) if item is None else (item[1], item[2])

    def save(self, team_id: str, state_code: str, state: TeamThrottle, expected: int) -> bool:
        if self.load(team_id)[1] != expected:
            return False
        self.items[team_id] = (state_code, state, expected + 1)
        return True

    def due(self, now: datetime) -> list[tuple[str, str]]:
        return sorted(
            (team_id, code)
            for team_id, (code, state, _) in self.items.items()
            if state.digest and state.digest_due is not None and state.digest_due <= now
        )
