"""Ports: what the use cases need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.access import Scope
from chalicelib.domain.analysis import AnalyzedMention
from chalicelib.domain.channels import Delivery, DeliveryKey, LedgerKey
from chalicelib.domain.incidents import IncidentDecision, IncidentProbe, IncidentRecord
from chalicelib.domain.keywords import QueryMatch
from chalicelib.domain.notify import Publish
from chalicelib.domain.tasks import Task, TaskEvent
from chalicelib.domain.throttle import TeamThrottle

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class StoredMention:
    key: str
    text: str
    lang: str
    state: str  # the leader's state; "" when no watched leader wrote it


@dataclass(frozen=True)
class MentionRecord:
    """A stored mention as heads read it through the API."""

    key: str
    platform: str
    author_handle: str
    leader_id: str  # "" when no watched leader wrote it
    state: str  # the leader's state at ingest; "" when no watched leader wrote it
    created_at: datetime
    ingested_at: datetime
    text: str
    url: str
    lang: str
    script: str
    mixed: bool
    matches: tuple[QueryMatch, ...]
    status: str
    task_ids: tuple[str, ...]


class MentionRepository(Protocol):
    def status_of(self, key: str) -> str | None: ...

    def put_new(self, analyzed: AnalyzedMention, correlation_id: str) -> bool:
        """Store the mention unless its key exists; False when it already did."""
        ...

    def mark_routed(self, key: str, task_ids: Sequence[str]) -> None: ...

    def put_routed(
        self, analyzed: AnalyzedMention, correlation_id: str, task_ids: Sequence[str]
    ) -> bool:
        """Store the mention as routed to ``task_ids`` in one write, unless it is routed
        already (False then); a mention left "analyzed" by an older run is overwritten."""
        ...

    def delete(self, key: str) -> list[str]:
        """Remove our copy of a post deleted on its platform; the ids of tasks made from it."""
        ...

    def sample(self, limit: int) -> list[StoredMention]:
        """Up to ``limit`` stored mentions (the table keeps only recent ones: TTL)."""
        ...

    def get(self, key: str) -> MentionRecord | None: ...

    def get_many(self, keys: Sequence[str]) -> list[MentionRecord]:
        """The stored mentions among ``keys`` (missing ones are left out), in no set order."""
        ...

    def list_by_state(
        self, state: str, limit: int, cursor: str | None = None, matched: bool | None = None
    ) -> tuple[list[MentionRecord], str | None]:
        """Mentions of a state's watched leaders, newest ingested first; the next page's cursor.

        ``matched`` keeps only mentions with (True) or without (False) keyword matches.
        ``cursor`` is opaque (``domain.pagination``); InvalidInputError if it is not one.
        """
        ...


class TaskRepository(Protocol):
    def create(self, task: Task) -> bool:
        """Write a new task unless its id exists; False when it already did."""
        ...

    def create_all(self, tasks: Sequence[Task]) -> bool:
        """Write new tasks together (one transaction), or none of them if any id exists."""
        ...

    def get(self, task_id: str) -> Task | None: ...

    def save_transition(self, task: Task, event: TaskEvent, expected_version: int) -> None:
        """Persist a transition; ConflictError if the stored version is not ``expected_version``."""
        ...

    def events(self, task_id: str) -> list[TaskEvent]: ...

    def redact(self, task_id: str, mention_key: str) -> None:
        """The post behind a task was deleted on its platform: drop our copy of its text."""
        ...

    def note_mention(self, task_id: str, mention_key: str, priority: float = 0.0) -> bool:
        """Another mention of the task's incident arrived: count it (once per mention) and
        raise the task's priority to ``priority`` if that is higher. True when it counted the
        mention now; False when there is no such task or the mention was counted already."""
        ...

    def due_for_escalation(self, state: str, now: datetime) -> list[Task]:
        """Open tasks of a state whose next escalation step is due (eventually consistent)."""
        ...

    def record_escalation(self, task: Task, done: int, next_at: datetime | None) -> bool:
        """Record step ``done`` as taken, conditionally; False if the task moved on meanwhile."""
        ...

    def list_by_team(
        self, team_id: str, limit: int, cursor: str | None = None, status: str | None = None
    ) -> tuple[list[Task], str | None]:
        """A team's tasks, newest first; the cursor of the next page (None at the end).

        ``cursor`` is opaque (``domain.pagination``); InvalidInputError if it is not one.
        """
        ...

    def get_many(self, task_ids: Sequence[str]) -> dict[str, Task]:
        """The tasks that exist among ``task_ids``, by id, read consistently in one round trip
        per 100 (dispatch re-reads a whole stream batch before it pages anyone)."""
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
        """Decide the incident of a matched mention and record it there; a mention assigned
        before (a redelivery) gets its incident back with reason ``redelivery``."""
        ...

    def get(self, incident_key: str) -> IncidentRecord | None:
        """The incident's record; None if unknown or expired (TTL: the grouping window)."""
        ...


@dataclass(frozen=True)
class ConfigRecord:
    """One stored configuration object with its optimistic-locking version."""

    kind: str
    id: str
    data: dict[str, Any]
    version: int
    updated_at: datetime | None = None
    updated_by: str = ""


@dataclass(frozen=True)
class AuditRecord:
    """One configuration change: who, when, what, before and after (append-only)."""

    scope: str
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    # Where the changed object lived before and after (its state, district, team): who may read
    # the record. None for records written before this was kept; only whole-state readers see them.
    objects: tuple[Scope, ...] | None = None


# An item written alongside a change, unaudited (say, a lookup pointer); data None deletes it.
IndexItem = tuple[str, str, dict[str, Any] | None]


class ConfigStore(Protocol):
    """Generic, versioned, audited configuration items (``pk``/``sk`` as the config table)."""

    def get_item(self, pk: str, sk: str) -> ConfigRecord | None: ...

    def list_items(
        self, pk: str, limit: int | None = None, after: str | None = None
    ) -> list[ConfigRecord]:
        """A partition's items in ``sk`` order, those after ``after`` only; at most ``limit``."""
        ...

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
        """Create (``expected_version`` None), update or delete (``data`` None) one item.

        One transaction: the item, its audit record, the config version bump and ``index``.
        ``objects``: the scopes of the object before and after, kept on the audit record so
        reading the log can be scoped (none given: only whole-state readers see the record).
        ConflictError if creating an existing item, NotFoundError if changing a missing one,
        PreconditionFailedError if the stored version is not ``expected_version``.
        """
        ...

    def audit_log(
        self, scope: str, limit: int, cursor: str | None = None
    ) -> tuple[list[AuditRecord], str | None]:
        """Audit records of one scope (a state code or ``national``), newest first."""
        ...


@dataclass(frozen=True)
class StoredAnswer:
    """An HTTP answer kept for replay: status, JSON body, the headers worth repeating."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    answer: StoredAnswer | None  # None: claimed, its request still running


class IdempotencyStore(Protocol):
    """Claims and answers of Idempotency-Key requests (``services.idempotency``)."""

    def claim(
        self,
        key: str,
        fingerprint: str,
        token: str,
        now: datetime,
        expires_at: datetime,
        stale_before: datetime,
    ) -> bool:
        """Claim ``key`` for a request about to run: True unless a live record holds it.

        A record is free when absent, expired (``expires_at`` passed: TTL deletes lazily) or
        claimed before ``stale_before`` and never answered. Atomic: of concurrent claims of
        one key, one succeeds.
        """
        ...

    def get(self, key: str, now: datetime) -> IdempotencyRecord | None:
        """The live record of ``key`` (None if absent or expired), strongly consistent."""
        ...

    def complete(self, key: str, token: str, answer: StoredAnswer, expires_at: datetime) -> None:
        """Store the answer of the claim ``token`` (a no-op if the claim was taken over)."""
        ...

    def release(self, key: str, token: str) -> None:
        """Drop the claim ``token`` (its request failed; the key may be used again)."""
        ...


class ConfigRepository(ConfigStore, Protocol):
    """The config table as wired. Kinds are read and written through ``domain.config_kinds``
    (``services.config_admin`` writes, ``services.config_cache`` loads); there is no other door."""


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


class LoginCodeExchange(Protocol):
    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Tokens (``id_token``, ...) for an OAuth authorization code and its PKCE verifier."""
        ...


class DeviceRegistry(Protocol):
    def register(
        self,
        platform: str,
        token: str,
        topic_arn: str,
        filter_policy: Mapping[str, Any],
        user_data: str,
    ) -> tuple[str, str]:
        """Create (or reuse) the push endpoint and its filtered subscription; their ARNs."""
        ...

    def unregister(self, endpoint_arn: str, subscription_arn: str) -> None: ...

    def set_filter_policy(self, subscription_arn: str, filter_policy: Mapping[str, Any]) -> None:
        """Replace a device subscription's filter policy (its member's role or team changed)."""
        ...


class ContactSubscriber(Protocol):
    """SMS and e-mail subscriptions of members on their state's topic."""

    def subscribe(
        self, topic_arn: str, protocol: str, endpoint: str, filter_policy: Mapping[str, Any]
    ) -> str:
        """Subscribe ``endpoint`` (a phone number or address) with the policy; its ARN."""
        ...

    def unsubscribe(self, subscription_arn: str) -> None: ...


class DeliveryChannel(Protocol):
    """One way a task reaches its team (``domain.channels``): SNS, Telegram, WhatsApp.

    The dispatch asks each channel whom it can reach and what it delivered already, plans with
    ``domain.channels.plan_deliveries`` and hands each channel its deliveries.
    """

    @property
    def name(self) -> str:
        """The channel's name, a key of ``domain.channels.CHANNELS``."""
        ...

    def reachable(self, team_ids: Sequence[str]) -> frozenset[str]:
        """Those of ``team_ids`` this channel can reach (a member channel: all of them)."""
        ...

    def delivered(self, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        """Those (task id, version) of ``keys`` this channel has delivered already."""
        ...

    def deliver(self, delivery: Delivery) -> list[str]:
        """Send (or queue for sending) one planned delivery; its references (message ids).

        Raises UpstreamError unless all of it was accepted: the caller retries the whole
        delivery, and the channel's dedup on (task id, version) drops what went out already.
        """
        ...


class DeliveryLedger(Protocol):
    """Delivery records per (channel, task id, version): what a chat channel dedupes on."""

    def delivered(self, channel: str, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        """Those of ``keys`` with a delivery record on ``channel``."""
        ...

    def record(
        self, channel: str, key: LedgerKey, ref: str, chat: str, expires_at: datetime
    ) -> bool:
        """Record a delivery unless one exists (conditional put); False if it already did.

        ``ref``: the channel's id of what was sent (a message id), ``chat``: where it went.
        A member channel's key names the member too, so it records once per member, beside
        (not instead of) a team-chat channel's one record per (task id, version).
        """
        ...

    def forget(self, channel: str, key: LedgerKey) -> None:
        """Drop a record whose send then failed, so a retry may send it."""
        ...

    def first(self, channel: str, task_id: str) -> tuple[str, str] | None:
        """(ref, chat) of the first delivery of a task on ``channel`` (what an edit changes)."""
        ...


class LinkTokenStore(Protocol):
    """Single-use tokens of chat deep links (``domain.telegram_bot.LinkGrant``), with TTL."""

    def issue(self, token: str, grant: Mapping[str, Any], expires_at: datetime) -> None:
        """Store a new token's grant until ``expires_at``."""
        ...

    def consume(self, token: str, now: datetime) -> Mapping[str, Any] | None:
        """The grant of a live, unused token, marking it used (atomically); None otherwise."""
        ...


class ReplayGuard(Protocol):
    """Updates a channel delivered to us, each accepted once (update ids are the channel's)."""

    def first_time(
        self, channel: str, update_id: str, expires_at: datetime, now: datetime | None = None
    ) -> bool:
        """True the first time ``update_id`` is seen on ``channel`` (a conditional put).

        With ``now``, a record that expired by then counts as absent (TTL deletes lazily).
        """
        ...

    def forget(self, channel: str, update_id: str) -> None:
        """Drop an update whose handling failed, so the channel's retry is accepted."""
        ...


class InboundTimes(Protocol):
    """When a contact last wrote to us on a channel (WhatsApp's 24-hour service window).

    ``contact``: a digest naming the contact (``domain.whatsapp.phone_key``), never a number.
    """

    def note_inbound(self, channel: str, contact: str, at: datetime, expires_at: datetime) -> None:
        """``contact`` wrote at ``at``: kept if later than what is known, until ``expires_at``."""
        ...

    def last_inbound(self, channel: str, contact: str) -> datetime | None: ...


class WhatsAppClient(Protocol):
    """AWS End User Messaging Social's SendWhatsAppMessage (boto3 ``socialmessaging``)."""

    def send_message(
        self, origination_phone_number_id: str, message: bytes, meta_api_version: str
    ) -> str:
        """Send one WhatsApp Cloud API message object (JSON bytes); its message id.

        RateLimitedError when throttled, InvalidInputError when refused as invalid,
        UpstreamError otherwise.
        """
        ...


@dataclass(frozen=True)
class RoutedMention:
    """What routing one matched mention did: its incident, its tasks, the ones it opened."""

    decision: IncidentDecision
    planned: tuple[Task, ...]
    created: tuple[str, ...]
    duplicate: bool = False  # routed before (a redelivery): nothing was written


class MentionRouter(Protocol):
    def route(
        self,
        analyzed: AnalyzedMention,
        probe: IncidentProbe,
        plan: Callable[[str], list[Task]],
        correlation_id: str,
    ) -> RoutedMention:
        """Place a matched mention in its incident, open or count its teams' tasks and store
        it routed, all or nothing (issue 17: one write for all of it).

        ``plan(incident_key)`` gives the tasks the mention wants in that incident; a task that
        exists is counted once per mention (its priority only rises), a missing one is opened.
        A mention routed before is a duplicate and changes nothing."""
        ...
