"""Delivery channels: which channel carries which task, planned from the same task and version.

A task reaches its team on one or more channels. ``sns`` is the state topic (push, SMS and
e-mail as each member chose, one publish per state topic: ``domain.notify``); team-chat
channels (``telegram``, later ``whatsapp``) post one message per team chat. The planner is pure:
given the tasks of one dispatch, the channels the stage runs, which teams each channel can
reach and which (task id, version) each channel has already delivered, it says what goes where
and why anything was left out. Every channel dedupes on (task id, version); an ``update`` (the
task changed after delivery) edits a chat message and pages nobody on SNS.

The route that chose a team may restrict its channels (``channels`` in the route config,
snapshotted into the task as ``route["channels"]``); with none named every channel applies.
When nothing the route named can reach a team, the task falls back to SNS rather than reaching
nobody.

Adding a channel: a row in :data:`CHANNELS`, an adapter under ``chalicelib/adapters/channels/``
implementing ``services.ports.DeliveryChannel``, and its line in ``wiring.Container.channels``
(docs/ARCHITECTURE.md, "Adding a delivery channel").
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.tasks import Task, TaskStatus, notice_version

SNS = "sns"
TELEGRAM = "telegram"
WHATSAPP = "whatsapp"

# Audiences: who a channel's message reaches.
MEMBERS = "members"  # each member's own subscriptions (devices, phone, address)
TEAM_CHAT = "team_chat"  # one message in the team's group chat

# Kinds of delivery.
TASK = "task"  # a new task: post it
UPDATE = "update"  # the task changed after delivery: show it where the channel can (edit)


@dataclass(frozen=True)
class ChannelSpec:
    """What the planner and the fan-out arithmetic need to know about a channel."""

    name: str
    audience: str  # MEMBERS | TEAM_CHAT
    # Documented send limits: messages per second per sender (bot, phone number, account) and,
    # for chats, messages per minute into one chat (None: no per-chat limit).
    per_second: float
    per_chat_per_minute: float | None
    entries_per_call: int  # messages one API call carries
    edits: bool  # an update edits the message already posted
    summary: str


CHANNELS: dict[str, ChannelSpec] = {
    SNS: ChannelSpec(
        SNS,
        MEMBERS,
        # Publish/PublishBatch on standard topics outside the largest regions: 1,500 messages/s
        # (unverified for ap-south-1: docs/response.md section 7); 10 entries a call.
        per_second=1_500.0,
        per_chat_per_minute=None,
        entries_per_call=10,
        edits=False,
        summary="push, SMS and e-mail through the state topic (filter policy per member)",
    ),
    TELEGRAM: ChannelSpec(
        TELEGRAM,
        TEAM_CHAT,
        # Bot API FAQ: about 30 messages/s per bot overall, at most 20 per minute in one group.
        per_second=30.0,
        per_chat_per_minute=20.0,
        entries_per_call=1,
        edits=True,
        summary="the team's Telegram group, with Acknowledge / Done / Decline buttons",
    ),
    WHATSAPP: ChannelSpec(
        WHATSAPP,
        MEMBERS,
        # One message per opted-in member from the business number (End User Messaging
        # Social): 80 messages/s per number by default, up to 1,000; the messaging-limit tier
        # caps unique users a day (domain.whatsapp.TIERS, docs/response.md).
        per_second=80.0,
        per_chat_per_minute=None,
        entries_per_call=1,
        edits=False,
        summary="each opted-in member's WhatsApp, with Acknowledge / Done / Decline buttons",
    ),
}
DEFAULT_CHANNELS: tuple[str, ...] = tuple(CHANNELS)
FALLBACK = SNS  # reaches every team with members: used when nothing chosen can reach a team

DeliveryKey = tuple[str, int]  # (task id, notice version)
# A member channel (WhatsApp) delivers a task to each member: it dedupes per member.
MemberDeliveryKey = tuple[str, int, str]  # (task id, notice version, member id)
LedgerKey = DeliveryKey | MemberDeliveryKey  # what the delivery ledger records


def delivery_key(task: Task) -> DeliveryKey:
    """What every channel dedupes on: the task id and the version its notice carries."""
    return task.task_id, notice_version(task)


@dataclass(frozen=True)
class Delivery:
    """One planned delivery on one channel: SNS gets all its tasks at once, a chat one task."""

    channel: str
    kind: str  # TASK | UPDATE
    tasks: tuple[Task, ...]
    fallback: bool = False  # the task's chosen channels could not reach its team

    @property
    def keys(self) -> tuple[DeliveryKey, ...]:
        """(task id, version) of each task carried."""
        return tuple(delivery_key(t) for t in self.tasks)


@dataclass(frozen=True)
class Skip:
    """A (channel, task) the plan left out, and why."""

    channel: str
    task_id: str
    reason: str


# Skip reasons (stable strings: logged and counted).
NOT_CHOSEN = "the route did not choose this channel"
OFF = "the channel is not enabled on this stage"
UNREACHABLE = "the team has no linked chat on this channel"
DELIVERED = "already delivered at this version"
NO_EDITS = "the channel cannot edit what it sent"


@dataclass(frozen=True)
class ChannelPlan:
    deliveries: tuple[Delivery, ...]
    skipped: tuple[Skip, ...]

    def on(self, channel: str) -> tuple[Delivery, ...]:
        """The deliveries planned on ``channel``."""
        return tuple(d for d in self.deliveries if d.channel == channel)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels with something to deliver, in plan order."""
        return tuple(dict.fromkeys(d.channel for d in self.deliveries))


def parse_channels(raw: Any, loc: str) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """A route's ``channels`` option: a non-empty list of known channel names, each once.

    Returns the channels and the problems found as (place, message) pairs.
    """
    problems: list[tuple[str, str]] = []
    known = ", ".join(CHANNELS)
    if not isinstance(raw, list) or not raw:
        return (), [(loc, f"a non-empty list of channels: {known}")]
    out: list[str] = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or name not in CHANNELS:
            problems.append((f"{loc}[{i}]", f"unknown channel {name!r} (known: {known})"))
        elif name in out:
            problems.append((f"{loc}[{i}]", f"{name} is listed twice"))
        else:
            out.append(name)
    return tuple(out), problems


def chosen_channels(task: Task) -> tuple[str, ...]:
    """The channels the route that chose this task's team named (all, when it named none).

    The snapshot was validated when the route was written; a name the code no longer knows
    (a channel since removed) is left out rather than guessed at.
    """
    raw = task.route.get("channels") if task.route else None
    if not isinstance(raw, list | tuple) or not raw:
        return DEFAULT_CHANNELS
    return tuple(c for c in raw if isinstance(c, str) and c in CHANNELS)


def plan_deliveries(
    tasks: Iterable[Task],
    enabled: Collection[str],
    reach: Mapping[str, Collection[str]],
    delivered: Mapping[str, Collection[DeliveryKey]] | None = None,
    kind: str = TASK,
) -> ChannelPlan:
    """Which channel carries which of ``tasks``.

    ``enabled``: the channels this stage runs. ``reach``: per team-chat channel, the team ids
    with a linked chat (member channels reach every team). ``delivered``: per channel, the
    (task id, version) pairs it has delivered already, left out here. ``kind`` UPDATE plans
    edits on the channels that can edit and nothing elsewhere (an update pages nobody).
    """
    delivered = delivered or {}
    chat: dict[str, list[tuple[Task, bool]]] = {}
    members: dict[str, list[tuple[Task, bool]]] = {}
    skipped: list[Skip] = []
    for task in sorted(tasks, key=lambda t: (t.team_id, t.task_id)):
        wanted = chosen_channels(task)
        usable: list[str] = []
        for name in CHANNELS:
            spec = CHANNELS[name]
            if name not in wanted:
                skipped.append(Skip(name, task.task_id, NOT_CHOSEN))
            elif name not in enabled:
                skipped.append(Skip(name, task.task_id, OFF))
            elif spec.audience == TEAM_CHAT and task.team_id not in reach.get(name, ()):
                skipped.append(Skip(name, task.task_id, UNREACHABLE))
            else:
                usable.append(name)
        fallback = not usable and FALLBACK in enabled
        if fallback:
            usable = [FALLBACK]
        for name in usable:
            spec = CHANNELS[name]
            if kind == UPDATE and not spec.edits:
                skipped.append(Skip(name, task.task_id, NO_EDITS))
                continue
            # An edit shows the task as it is now, so it is never a repeat: only posts dedupe.
            if kind != UPDATE and delivery_key(task) in delivered.get(name, ()):
                skipped.append(Skip(name, task.task_id, DELIVERED))
                continue
            target = chat if spec.audience == TEAM_CHAT else members
            target.setdefault(name, []).append((task, fallback))
    deliveries: list[Delivery] = []
    for name in CHANNELS:  # plan order follows the table: SNS first, then the chats
        if name in members:
            picked = members[name]
            deliveries.append(
                Delivery(name, kind, tuple(t for t, _ in picked), any(f for _, f in picked))
            )
        for task, fb in chat.get(name, ()):
            deliveries.append(Delivery(name, kind, (task,), fb))
    return ChannelPlan(tuple(deliveries), tuple(skipped))


def visible_change(before: Task, after: Task) -> bool:
    """Whether a stored change of a task is one its team should see (an ``update``).

    Acting on it (acknowledge, complete, decline, expire) and another mention of its incident
    are; the dispatch transition itself (new -> dispatched) and escalation bookkeeping are not.
    """
    if after.status is TaskStatus.NEW:
        return False
    if before.status is not after.status:
        return not (before.status is TaskStatus.NEW and after.status is TaskStatus.DISPATCHED)
    return before.mention_count != after.mention_count


# ---- limits ----------------------------------------------------------------------------------


def fanout_seconds(channel: str, messages: int, per_chat: int = 1) -> float:
    """Seconds to send ``messages`` on ``channel`` at its documented limits.

    ``per_chat``: how many of them go into one chat (a chat's own limit can dominate). SNS
    counts API calls (``entries_per_call`` messages each) against its per-second quota.
    """
    spec = CHANNELS[channel]
    if messages <= 0:
        return 0.0
    calls = math.ceil(messages / spec.entries_per_call)
    overall = calls / spec.per_second
    if spec.per_chat_per_minute is None or per_chat <= 1:
        return overall
    # The first message of a chat goes at once; each further one waits its share of a minute.
    chat = (per_chat - 1) * 60.0 / spec.per_chat_per_minute
    return max(overall, chat)


def send_delay(
    now: float,
    sender_sends: Sequence[float],
    chat_sends: Sequence[float],
    channel: str,
    margin: float = 0.0,
) -> float:
    """Seconds to wait before the next message, given recent send times (sliding windows).

    ``sender_sends``: times of this sender's (bot's) sends, ``chat_sends``: of those into the
    target chat. ``margin``: seconds added to a window that is full, because the provider counts
    arrivals and requests do not all take equally long to arrive. 0.0: send now.
    """
    spec = CHANNELS[channel]
    wait = 0.0
    per_second = max(1, int(spec.per_second))
    recent = [t for t in sender_sends if t > now - 1.0 - margin]
    if len(recent) >= per_second:
        wait = max(wait, sorted(recent)[-per_second] + 1.0 + margin - now)
    if spec.per_chat_per_minute is not None:
        per_minute = max(1, int(spec.per_chat_per_minute))
        minute = [t for t in chat_sends if t > now - 60.0 - margin]
        if len(minute) >= per_minute:
            wait = max(wait, sorted(minute)[-per_minute] + 60.0 + margin - now)
    return max(0.0, wait)
