"""In-memory fakes of the ports; they pass the same contract tests as the real adapters."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.access import Scope
from chalicelib.domain.analysis import AnalyzedMention
from chalicelib.domain.channels import Delivery, DeliveryKey, LedgerKey
from chalicelib.domain.config_kinds import VERSION_KEY
from chalicelib.domain.contacts import redact_contacts
from chalicelib.domain.incidents import (
    IncidentDecision,
    IncidentIndex,
    IncidentProbe,
    IncidentRecord,
)
from chalicelib.domain.notify import Publish
from chalicelib.domain.pagination import decode_cursor, encode_cursor
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.domain.throttle import TeamThrottle
from chalicelib.errors import (
    ConflictError,
    FieldProblem,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    UpstreamError,
)
from chalicelib.services.ports import (
    AuditRecord,
    ConfigRecord,
    IdempotencyRecord,
    IndexItem,
    MentionRecord,
    StoredAnswer,
    StoredMention,
)
from tests.factories import T0


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

    def put_routed(
        self, analyzed: AnalyzedMention, correlation_id: str, task_ids: Sequence[str]
    ) -> bool:
        key = analyzed.mention.key
        if self.status_of(key) == "routed":
            return False
        self.items[key] = {
            "status": "routed",
            "analyzed": analyzed,
            "correlation_id": correlation_id,
            "task_ids": list(task_ids),
        }
        return True

    def sample(self, limit: int) -> list[StoredMention]:
        out = []
        for key, item in list(self.items.items())[:limit]:
            a = item["analyzed"]
            out.append(
                StoredMention(
                    key, a.mention.text, a.language.lang, a.leader.state if a.leader else ""
                )
            )
        return out

    def _record(self, key: str) -> MentionRecord:
        item = self.items[key]
        a: AnalyzedMention = item["analyzed"]
        m = a.mention
        return MentionRecord(
            key=key,
            platform=m.platform,
            author_handle=m.author.handle,
            leader_id=a.leader.id if a.leader else "",
            state=a.leader.state if a.leader else "",
            created_at=m.created_at,
            ingested_at=a.ingested_at,
            text=m.text,
            url=m.url,
            lang=a.language.lang,
            script=a.language.script,
            mixed=a.language.mixed,
            matches=a.matches,
            status=str(item["status"]),
            task_ids=tuple(item["task_ids"]),
        )

    def get(self, key: str) -> MentionRecord | None:
        return self._record(key) if key in self.items else None

    def get_many(self, keys: Sequence[str]) -> list[MentionRecord]:
        return [self._record(k) for k in dict.fromkeys(keys) if k in self.items]

    def list_by_state(
        self, state: str, limit: int, cursor: str | None = None, matched: bool | None = None
    ) -> tuple[list[MentionRecord], str | None]:
        # The index's order: newest ingested first; ties by key (any order DynamoDB keeps).
        def position(r: MentionRecord) -> tuple[str, str]:
            return (r.ingested_at.strftime("%Y-%m-%dT%H:%M:%S.%f%z"), r.key)

        ordered = sorted(
            (r for r in map(self._record, self.items) if r.state and r.state == state),
            key=position,
            reverse=True,
        )
        if cursor:
            pos = decode_cursor(cursor, ("i", "k"))
            ordered = [r for r in ordered if position(r) < (pos["i"], pos["k"])]
        wanted = [r for r in ordered if matched is None or bool(r.matches) == matched]
        page = wanted[:limit]
        if len(wanted) <= limit:
            return page, None
        i, k = position(page[-1])
        return page, encode_cursor({"i": i, "k": k})


@dataclass
class InMemoryTaskRepository:
    tasks: dict[str, Task] = field(default_factory=dict)
    history: dict[str, list[TaskEvent]] = field(default_factory=dict)
    last_mention: dict[str, str] = field(default_factory=dict)

    def create_all(self, tasks: Sequence[Task]) -> bool:
        if any(t.task_id in self.tasks for t in tasks):
            return False
        return all([self.create(t) for t in tasks])

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

    def note_mention(self, task_id: str, mention_key: str, priority: float = 0.0) -> bool:
        current = self.tasks.get(task_id)
        if current is None or self.last_mention.get(task_id) == mention_key:
            return False
        self.last_mention[task_id] = mention_key
        self.tasks[task_id] = dataclasses.replace(
            current,
            mention_count=current.mention_count + 1,
            priority=max(priority, current.priority),
        )
        return True

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

    def get_many(self, task_ids: Sequence[str]) -> dict[str, Task]:
        return {i: self.tasks[i] for i in task_ids if i in self.tasks}


@dataclass
class InMemoryConfigRepository:
    """The config table's layout in a dict: (pk, sk) -> record, with the same audit and version."""

    items: dict[tuple[str, str], ConfigRecord] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    version: int = 0
    clock: Any = None

    def get_item(self, pk: str, sk: str) -> ConfigRecord | None:
        found = self.items.get((pk, sk))
        return None if found is None else copy.deepcopy(found)

    def list_items(
        self, pk: str, limit: int | None = None, after: str | None = None
    ) -> list[ConfigRecord]:
        found = [
            copy.deepcopy(r)
            for (p, s), r in sorted(self.items.items())
            if p == pk and (after is None or s > after)
        ]
        return found if limit is None else found[:limit]

    def write_item(
        self,
        pk: str,
        sk: str,
        kind: str,
        data: dict[str, Any] | None,
        scope: str,
        actor: str,
        expected_version: int | None,
        index: Sequence[IndexItem] = (),
        objects: Sequence[Scope] = (),
    ) -> ConfigRecord | None:
        before = self.items.get((pk, sk))
        if expected_version is None and before is not None:
            raise ConflictError(f"{kind} {sk} exists already", [FieldProblem("id", "taken")])
        if expected_version is not None and before is None:
            raise NotFoundError(f"no such {kind}")
        if before is not None and before.version != expected_version:
            raise PreconditionFailedError(
                f"{kind} {sk} is at version {before.version}, not {expected_version}"
            )
        if before is None and any(
            idata is not None and (ipk, isk) in self.items for ipk, isk, idata in index
        ):  # a new item claims its pointers, as the real transaction does
            raise ConflictError(f"{kind} {sk} exists already", [FieldProblem("id", "taken")])
        now = self.clock() if self.clock else T0
        data = json.loads(json.dumps(data))  # stored as JSON, as DynamoDB would
        action = "create" if before is None else ("delete" if data is None else "update")
        self.audit.append(
            AuditRecord(
                scope,
                now.isoformat(),
                actor,
                action,
                kind,
                sk,
                redact_contacts(None if before is None else before.data),
                redact_contacts(data),
                tuple(objects) or None,
            )
        )
        self.version += 1
        # As the table: ("META", "VERSION") counts changes; the loaders read the version there.
        self.items[VERSION_KEY] = ConfigRecord("meta", VERSION_KEY[1], {}, self.version)
        for ipk, isk, idata in index:
            if idata is None:
                self.items.pop((ipk, isk), None)
            else:
                self.items[(ipk, isk)] = ConfigRecord("index", isk, dict(idata), 1)
        if data is None:
            del self.items[(pk, sk)]
            return None
        record = ConfigRecord(
            kind, sk, data, 1 if before is None else before.version + 1, now, actor
        )
        self.items[(pk, sk)] = record
        return copy.deepcopy(record)

    def audit_log(
        self, scope: str, limit: int, cursor: str | None = None
    ) -> tuple[list[AuditRecord], str | None]:
        mine = [(i, r) for i, r in enumerate(self.audit) if r.scope == scope][::-1]
        if cursor:
            pos = int(decode_cursor(cursor, ("a",))["a"])
            mine = [(i, r) for i, r in mine if i < pos]
        page = mine[:limit]
        more = len(mine) > limit
        return [r for _, r in page], encode_cursor({"a": str(page[-1][0])}) if more else None


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

    def get(self, incident_key: str) -> IncidentRecord | None:
        return self.index.records.get(incident_key)


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


@dataclass
class RecordingDeviceRegistry:
    """Keeps endpoints and subscriptions as SNS would; ``refuse`` makes every token invalid."""

    endpoints: dict[str, str] = field(default_factory=dict)  # token -> endpoint arn
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse: bool = False

    def register(
        self,
        platform: str,
        token: str,
        topic_arn: str,
        filter_policy: Mapping[str, Any],
        user_data: str,
    ) -> tuple[str, str]:
        if self.refuse:
            raise InvalidInputError(
                "SNS refused the device token", [FieldProblem("token", "refused by SNS")]
            )
        endpoint = self.endpoints.setdefault(
            token, f"arn:aws:sns:endpoint/{platform}/{len(self.endpoints)}"
        )
        sub = f"{topic_arn}:{len(self.subscriptions)}"
        self.subscriptions[sub] = {
            "endpoint": endpoint,
            "policy": dict(filter_policy),
            "user": user_data,
        }
        return endpoint, sub

    def unregister(self, endpoint_arn: str, subscription_arn: str) -> None:
        self.subscriptions.pop(subscription_arn, None)
        self.endpoints = {t: e for t, e in self.endpoints.items() if e != endpoint_arn}

    def set_filter_policy(self, subscription_arn: str, filter_policy: Mapping[str, Any]) -> None:
        if subscription_arn in self.subscriptions:
            self.subscriptions[subscription_arn]["policy"] = dict(filter_policy)


@dataclass
class InMemoryIdempotencyStore:
    """key -> (fingerprint, token, claimed_at, answer, expires_at), as the table holds it."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def claim(
        self,
        key: str,
        fingerprint: str,
        token: str,
        now: datetime,
        expires_at: datetime,
        stale_before: datetime,
    ) -> bool:
        held = self.items.get(key)
        if held is not None and not (
            held["expires_at"] < now
            or (held["answer"] is None and held["claimed_at"] < stale_before)
        ):
            return False
        self.items[key] = {
            "fingerprint": fingerprint,
            "token": token,
            "claimed_at": now,
            "answer": None,
            "expires_at": expires_at,
        }
        return True

    def get(self, key: str, now: datetime) -> IdempotencyRecord | None:
        held = self.items.get(key)
        if held is None or held["expires_at"] <= now:
            return None
        answer = held["answer"]
        return IdempotencyRecord(
            held["fingerprint"],
            None if answer is None else StoredAnswer(**json.loads(json.dumps(answer))),
        )

    def complete(self, key: str, token: str, answer: StoredAnswer, expires_at: datetime) -> None:
        held = self.items.get(key)
        if held is not None and held["token"] == token:
            held["answer"] = dataclasses.asdict(answer)
            held["expires_at"] = expires_at

    def release(self, key: str, token: str) -> None:
        if key in self.items and self.items[key]["token"] == token:
            del self.items[key]


@dataclass
class RecordingContactSubscriber:
    """SMS/e-mail subscriptions as SNS keeps them: arn -> topic, protocol, endpoint, policy."""

    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: int = 0

    def subscribe(
        self, topic_arn: str, protocol: str, endpoint: str, filter_policy: Mapping[str, Any]
    ) -> str:
        self.created += 1
        arn = f"{topic_arn}:contact-{self.created}"
        self.subscriptions[arn] = {
            "topic": topic_arn,
            "protocol": protocol,
            "endpoint": endpoint,
            "policy": dict(filter_policy),
        }
        return arn

    def unsubscribe(self, subscription_arn: str) -> None:
        self.subscriptions.pop(subscription_arn, None)

    def of(self, protocol: str) -> list[dict[str, Any]]:
        return [s for s in self.subscriptions.values() if s["protocol"] == protocol]


@dataclass
class RecordingChannel:
    """A delivery channel (``services.ports.DeliveryChannel``) that records what it is given.

    ``reach``: the team ids it can reach (a chat channel); ``failures_left`` fails that many
    deliveries with UpstreamError. Records what it delivered, so it dedupes like a real one.
    """

    channel: str = "telegram"
    reach: set[str] = field(default_factory=set)
    deliveries: list[Delivery] = field(default_factory=list)
    sent: set[DeliveryKey] = field(default_factory=set)
    failures_left: int = 0

    @property
    def name(self) -> str:
        return self.channel

    def reachable(self, team_ids: Sequence[str]) -> frozenset[str]:
        return frozenset(t for t in team_ids if t in self.reach)

    def delivered(self, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        return frozenset(k for k in keys if k in self.sent)

    def deliver(self, delivery: Delivery) -> list[str]:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise UpstreamError(f"{self.channel} unavailable")
        self.deliveries.append(delivery)
        if delivery.kind == "task":
            self.sent.update(delivery.keys)
        return [f"{self.channel}-{len(self.deliveries)}-{i}" for i in range(len(delivery.tasks))]


@dataclass
class InMemoryDeliveryLedger:
    """``services.ports.DeliveryLedger`` in memory."""

    records: dict[tuple[str, LedgerKey], tuple[str, str]] = field(default_factory=dict)

    def delivered(self, channel: str, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        return frozenset(k for k in keys if (channel, k) in self.records)

    def record(
        self, channel: str, key: LedgerKey, ref: str, chat: str, expires_at: datetime
    ) -> bool:
        if (channel, key) in self.records:
            return False
        self.records[(channel, key)] = (ref, chat)
        return True

    def forget(self, channel: str, key: LedgerKey) -> None:
        self.records.pop((channel, key), None)

    def first(self, channel: str, task_id: str) -> tuple[str, str] | None:
        mine = sorted(
            ((k[1], k[2:]), r)
            for (c, k), r in self.records.items()
            if (c, k[0]) == (channel, task_id)
        )
        return mine[0][1] if mine else None


@dataclass
class InMemoryLinkTokens:
    """``services.ports.LinkTokenStore`` in memory (single use, expiry)."""

    tokens: dict[str, tuple[dict[str, Any], datetime, bool]] = field(default_factory=dict)

    def issue(self, token: str, grant: Mapping[str, Any], expires_at: datetime) -> None:
        self.tokens[token] = (dict(grant), expires_at, False)

    def consume(self, token: str, now: datetime) -> Mapping[str, Any] | None:
        found = self.tokens.get(token)
        if found is None or found[2] or found[1] <= now:
            return None
        self.tokens[token] = (found[0], found[1], True)
        return found[0]


@dataclass
class InMemoryReplayGuard:
    seen: dict[tuple[str, str], datetime] = field(default_factory=dict)  # -> expires at

    def first_time(
        self, channel: str, update_id: str, expires_at: datetime, now: datetime | None = None
    ) -> bool:
        held = self.seen.get((channel, update_id))
        if held is not None and (now is None or held >= now):
            return False
        self.seen[(channel, update_id)] = expires_at
        return True

    def forget(self, channel: str, update_id: str) -> None:
        self.seen.pop((channel, update_id), None)


@dataclass
class InMemoryInboundTimes:
    """``services.ports.InboundTimes`` in memory: (channel, contact) -> last inbound time."""

    times: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def note_inbound(self, channel: str, contact: str, at: datetime, expires_at: datetime) -> None:
        known = self.times.get((channel, contact))
        if known is None or known < at:
            self.times[(channel, contact)] = at

    def last_inbound(self, channel: str, contact: str) -> datetime | None:
        return self.times.get((channel, contact))


@dataclass
class RecordingBotApi:
    """The Bot API methods the bot uses, recorded (``services.telegram_bot.BotApi``)."""

    sent: list[tuple[str, str, Any]] = field(default_factory=list)
    edited: list[tuple[str, int, str, Any]] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)

    def send_message(
        self, chat_id: str, text: str, reply_markup: Mapping[str, Any] | None = None
    ) -> int:
        self.sent.append((chat_id, text, reply_markup))
        return len(self.sent)

    def edit_message_text(
        self,
        chat_id: str,
        message_id: int,
        text: str,
        reply_markup: Mapping[str, Any] | None = None,
    ) -> None:
        self.edited.append((chat_id, message_id, text, reply_markup))

    def answer_callback_query(self, callback_id: str, text: str) -> None:
        self.answers[callback_id] = text


@dataclass
class RecordingSendQueue:
    messages: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def send(self, messages: Sequence[Mapping[str, Any]], delay_seconds: int = 0) -> None:
        self.messages.extend((dict(m), delay_seconds) for m in messages)
