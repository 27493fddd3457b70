"""WhatsApp delivery: sending a task to a team's opted-in members, and their button replies.

Sending (:class:`WhatsAppSender`): each member WhatsApp may message (``domain.whatsapp.
may_message``) gets one message per (task id, version): a free-form message with reply buttons
inside their 24-hour window, the approved template outside it, within the business number's
throughput and messaging-limit tier (``SendLimiter``).

Receiving (:class:`WhatsAppInbound`): the event destination's SNS notifications (SNS ->
Lambda). A tap becomes the same task transition as the API, by that member; a number we do not
know, a member who has not opted in (or withdrew) and a message id seen before are refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from chalicelib.domain.access import Principal, Role
from chalicelib.domain.channels import WHATSAPP, delivery_key
from chalicelib.domain.org import Member, Team, team_from_dict
from chalicelib.domain.tasks import Task
from chalicelib.domain.whatsapp import (
    SERVICE_WINDOW,
    MessageKind,
    SendLimiter,
    TemplateSet,
    done_prompt_message,
    in_service_window,
    may_message,
    message_bytes,
    parse_event,
    phone_key,
    task_message,
    task_parameters,
    validate_templates,
)
from chalicelib.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UpstreamError,
)
from chalicelib.services.config_cache import team_record
from chalicelib.services.ports import (
    Clock,
    ConfigStore,
    DeliveryLedger,
    InboundTimes,
    ReplayGuard,
    TaskRepository,
    WhatsAppClient,
)
from chalicelib.services.task_flow import act_on_task
from chalicelib.services.whatsapp_optin import PHONES

# How long message ids are remembered: SNS retries and WhatsApp's own redeliveries fall well
# within it; an older message is refused as stale rather than looked up.
SEEN_KEPT = timedelta(days=7)
# The last inbound time outlives the window a little, so a read at its edge still finds it.
INBOUND_KEPT = SERVICE_WINDOW + timedelta(hours=1)
# A Done prompt is asked once per tap: recorded as a replay-guarded id beside the inbound ids
# (which are WhatsApp's ``wamid.``, so the prefix keeps the two apart).
ASK = "ask#"
OVER_TIER = "messaging limit tier reached for today"


def load_templates(text: str | None = None) -> TemplateSet:
    """The templates shipped with the code (``domain/whatsapp_templates.json``), validated."""
    if text is None:
        text = (
            resources.files("chalicelib.domain")
            .joinpath("whatsapp_templates.json")
            .read_text(encoding="utf-8")
        )
    return validate_templates(json.loads(text))


@dataclass(frozen=True)
class Sent:
    member_id: str
    kind: MessageKind
    message_id: str


@dataclass
class SendReport:
    sent: list[Sent] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # member id -> why
    failed: dict[str, str] = field(default_factory=dict)  # member id -> why (may retry)
    over_tier: list[str] = field(default_factory=list)  # beyond today's messaging limit
    refused: list[str] = field(default_factory=list)  # refused as invalid: a retry cannot help


@dataclass
class WhatsAppSender:
    """Sends through the channel seam's stores: the delivery ledger (once per task, version
    and member), the replay guard (a Done prompt once per tap) and the inbound times."""

    client: WhatsAppClient
    deliveries: DeliveryLedger
    replays: ReplayGuard
    inbound: InboundTimes
    templates: TemplateSet
    limiter: SendLimiter
    phone_number_id: str
    meta_api_version: str
    clock: Clock
    sleep: Callable[[float], None]
    link_for: Callable[[Task], str]

    def send_task(self, task: Task, team: Team) -> SendReport:
        """Send ``task`` to each opted-in member of ``team``, once per (task, version)."""
        report = SendReport()
        for member in team.members:
            self.send_to_member(task, member, team.name, report)
        return report

    def send_to_member(
        self,
        task: Task,
        member: Member,
        team_name: str,
        report: SendReport,
        version: int | None = None,
    ) -> None:
        """One member's message about ``task``; the outcome goes into ``report``.

        Dedupes on (task id, notice version, member) in the delivery ledger; a failed send
        forgets its record so a retry may send it. ``report.failed`` says why (throttled,
        refused, over the tier).
        """
        if not may_message(member):
            report.skipped[member.id] = "no WhatsApp opt-in"
            return
        now = self.clock()
        task_id, current = delivery_key(task)
        version = current if version is None else version  # the version the plan enqueued
        key = (task_id, version, member.id)
        # Recorded before sending (and forgotten if the send fails): a crash between the two
        # loses a message rather than sending it twice.
        if not self.deliveries.record(WHATSAPP, key, "", "", now + SEEN_KEPT):
            report.skipped[member.id] = "sent already"
            return
        values = task_parameters(task, self.link_for(task), team_name)

        def compose(at: datetime) -> tuple[MessageKind, dict[str, Any]]:
            last = self._last_inbound(member)
            return task_message(member, self.templates, values, task_id, last, at)

        self._send(member, now, compose, lambda: self.deliveries.forget(WHATSAPP, key), report)

    def send_done_prompt(
        self, task: Task, member: Member, reply_to: str, report: SendReport
    ) -> None:
        """Ask a member who tapped Done for their response link: free-form, so only inside
        their window (their tap opened it); once per tap (``reply_to``, its message id)."""
        now = self.clock()
        if not may_message(member) or not in_service_window(self._last_inbound(member), now):
            report.skipped[member.id] = "outside the 24-hour window"
            return
        if not self.replays.first_time(WHATSAPP, ASK + reply_to, now + SEEN_KEPT, now):
            report.skipped[member.id] = "asked already"
            return
        template = self.templates.for_member(member)
        link = self.link_for(task)

        def compose(_at: datetime) -> tuple[MessageKind, dict[str, Any]]:
            return "free_form", done_prompt_message(member.phone, template, link)

        def forget() -> None:
            self.replays.forget(WHATSAPP, ASK + reply_to)

        self._send(member, now, compose, forget, report)

    def _last_inbound(self, member: Member) -> datetime | None:
        return self.inbound.last_inbound(WHATSAPP, phone_key(member.phone))

    def _send(
        self,
        member: Member,
        now: datetime,
        compose: Callable[[datetime], tuple[MessageKind, dict[str, Any]]],
        forget: Callable[[], None],
        report: SendReport,
    ) -> None:
        """Within the number's limits, send what ``compose`` makes when admitted; on a failure
        ``forget`` the record that claimed the send, so a retry may send it."""
        key = phone_key(member.phone)
        admission = self.limiter.admit(key, now)
        while not admission.ok and not admission.over_tier:
            self.sleep(admission.wait)
            now = self.clock()
            admission = self.limiter.admit(key, now)
        if admission.over_tier:  # a Done prompt cannot be: its member wrote to us today
            forget()
            report.over_tier.append(member.id)
            report.failed[member.id] = OVER_TIER
            return
        kind, message = compose(now)
        try:
            message_id = self.client.send_message(
                self.phone_number_id, message_bytes(message), self.meta_api_version
            )
        except (UpstreamError, InvalidInputError) as err:
            forget()
            report.failed[member.id] = err.detail
            if isinstance(err, InvalidInputError):
                report.refused.append(member.id)
            return
        report.sent.append(Sent(member.id, kind, message_id))


@dataclass
class InboundReport:
    acted: list[tuple[str, str, str]] = field(default_factory=list)  # (member, action, task)
    noted: int = 0  # messages from members that were not button taps
    refused: list[str] = field(default_factory=list)  # why, per refused message
    # Done tapped without a response link: (member, team, task, message id) to ask for it.
    asks: list[tuple[str, str, str, str]] = field(default_factory=list)


def member_principal(member: Member, team: Team) -> Principal:
    """The member as the API would know them: their id is their token's ``sub``."""
    lead = member.role == "lead" or team.lead_id == member.id
    return Principal(
        sub=member.id,
        role=Role.TEAM_LEAD if lead else Role.WARRIOR,
        state=team.state,
        district=team.district,
        team=team.id,
    )


@dataclass
class WhatsAppInbound:
    store: ConfigStore
    tasks: TaskRepository
    replays: ReplayGuard  # message ids, each acted on once
    inbound: InboundTimes  # the member's last message: their 24-hour window
    clock: Clock

    def _member(self, sender: str) -> tuple[Member, Team] | None:
        key = phone_key(sender)
        pointer = self.store.get_item(PHONES, key)
        if pointer is None:
            return None
        record = team_record(self.store, str(pointer.data.get("team_id", "")))
        if record is None:
            return None
        team = team_from_dict(dict(record.data))
        member = next((m for m in team.members if m.id == pointer.data.get("member_id")), None)
        if member is None or not may_message(member) or phone_key(member.phone) != key:
            return None  # withdrawn, moved, or a stale pointer: not ours to act for
        return member, team

    def handle(self, sns_message: str) -> InboundReport:
        """Act on the button taps in one event-destination notification."""
        report = InboundReport()
        now = self.clock()
        for message in parse_event(sns_message):
            if now - message.at > SEEN_KEPT:
                report.refused.append("stale")
                continue
            found = self._member(message.sender)
            if found is None:
                report.refused.append("unknown number")
                continue
            member, team = found
            if not self.replays.first_time(WHATSAPP, message.message_id, now + SEEN_KEPT, now):
                report.refused.append("replay")
                continue
            try:
                self.inbound.note_inbound(
                    WHATSAPP, phone_key(member.phone), message.at, message.at + INBOUND_KEPT
                )
                if message.action is None:
                    report.noted += 1
                    continue
                act_on_task(
                    self.tasks,
                    member_principal(member, team),
                    message.task_id,
                    message.action,
                    now,
                )
            except (NotFoundError, ForbiddenError):
                report.refused.append("not this member's task")
                continue
            except ConflictError:
                report.refused.append("the task has moved on")
                continue
            except InvalidInputError:
                # Done needs the link to the response: the member is asked for it.
                report.refused.append("needs the response link")
                report.asks.append((member.id, team.id, message.task_id, message.message_id))
                continue
            except Exception:
                self.replays.forget(WHATSAPP, message.message_id)  # let SNS's retry do it
                raise
            report.acted.append((member.id, message.action.value, message.task_id))
        return report
