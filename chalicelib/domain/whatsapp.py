"""WhatsApp delivery, pure: opt-in, the 24-hour window, message bodies, inbound replies, limits.

WhatsApp (through AWS End User Messaging Social) may message a member only after the member
opted in to WhatsApp messages from us (Meta's Business Messaging Policy), and says how:
``whatsapp_opt_in`` on the member, with the source of the opt-in; the use case stamps when and
by whom, and a withdrawal (``whatsapp_opt_in`` turned off) is stamped and kept. The phone
number is the member's (``Member.phone``, stored with ``contact_consent``) and is never logged:
lookups use :func:`phone_key`, a digest.

Meta lets a business send free-form messages (here: interactive reply buttons) only within 24
hours of the member's last message to us, the customer-service window; outside it only
approved templates (ours: utility templates with three quick-reply buttons, per language,
``whatsapp_templates.json``). A tap on a button comes back through the event destination as a
webhook entry carrying our payload ``<action>:<task id>``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import regex

from chalicelib.domain.org import Member, Team
from chalicelib.domain.tasks import Task, TaskAction
from chalicelib.errors import FieldProblem, InvalidInputError, MalformedInputError

# How a member opted in: what a cell head may record (Meta asks that we can show it).
OPT_IN_SOURCES = (
    "signup_form",  # the member ticked WhatsApp on the team's sign-up form
    "paper_form",  # a signed paper form held by the cell head
    "whatsapp_message",  # the member messaged our business number asking for tasks
    "verbal",  # said so to their team lead in person, recorded by them
)
SERVICE_WINDOW = timedelta(hours=24)
MessageKind = Literal["free_form", "template"]

# Button actions a member may tap, in the order the buttons appear.
BUTTON_ACTIONS: tuple[TaskAction, ...] = (TaskAction.ACK, TaskAction.COMPLETE, TaskAction.DECLINE)
_PAYLOAD = regex.compile(r"^(ack|complete|decline):(t_[0-9a-f]{24})$")
# Meta's limits: quick-reply and reply-button titles (20 for interactive reply buttons, the
# stricter of the two, since one text serves both), a template body and a parameter.
MAX_BUTTON_TEXT = 20
MAX_BODY = 1024
MAX_PARAMETER = 200  # our own cap: a summary line, not the post
MAX_PAYLOAD = 128
TEMPLATE_PARAMETERS = ("summary", "severity", "link", "team")
_TEMPLATE_NAME = regex.compile(r"^[a-z0-9_]{1,512}$")
_PLACEHOLDER = regex.compile(r"\{\{(\d+)\}\}")
# Meta refuses template parameters with newlines, tabs or more than four spaces in a row.
_PARAM_SPACE = regex.compile(r"[\t\r\n]+| {4,}")
REQUIRED_LANGUAGES = ("hi", "en")


# ---------------------------------------------------------------------------------------------
# Opt-in


def phone_key(phone: str) -> str:
    """A digest naming a phone number in lookups and logs; the number itself is never stored
    outside its member. WhatsApp's ``wa_id`` is the number's digits without ``+``."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "p_" + hashlib.sha256(f"+{digits}".encode()).hexdigest()[:32]


def may_message(member: Member) -> bool:
    """Whether WhatsApp messages may go to this member: opted in, with a number and consent."""
    return bool(member.whatsapp_opt_in and member.phone and member.contact_consent)


def check_whatsapp(team_data: Mapping[str, Any], enabled: bool) -> list[FieldProblem]:
    """Every problem with the members' WhatsApp opt-ins of one team (wire paths)."""
    problems: list[FieldProblem] = []
    for i, m in enumerate(team_data.get("members", ())):
        if not isinstance(m, Mapping) or not m.get("whatsapp_opt_in"):
            continue
        here = f"members[{i}]"
        if not enabled:
            problems.append(
                FieldProblem(f"{here}.whatsapp_opt_in", "WhatsApp is not offered on this stage")
            )
            continue
        if not m.get("phone"):
            problems.append(FieldProblem(f"{here}.phone", "required for WhatsApp"))
        if m.get("whatsapp_opt_in_source") not in OPT_IN_SOURCES:
            problems.append(
                FieldProblem(
                    f"{here}.whatsapp_opt_in_source",
                    f"how the member opted in: one of {', '.join(OPT_IN_SOURCES)}",
                )
            )
    return problems


_OPT_IN_STAMPS = ("whatsapp_opt_in_at", "whatsapp_opt_in_by")
_OPT_OUT_STAMPS = ("whatsapp_opt_out_at", "whatsapp_opt_out_by")


def stamp_whatsapp(
    members: Sequence[Mapping[str, Any]],
    before: Sequence[Mapping[str, Any]],
    actor: str,
    now_iso: str,
) -> list[dict[str, Any]]:
    """Stamp opt-ins and withdrawals: when and by whom, kept while nothing changes.

    An opt-in is for one number: a new number is a new opt-in. Turning it off records the
    withdrawal and keeps the opt-in it ends (and its source), so the record shows both.
    """
    earlier = {str(m.get("id")): m for m in before}
    out: list[dict[str, Any]] = []
    for m in members:
        m = dict(m)
        old = earlier.get(str(m.get("id")), {})
        was_in = bool(old.get("whatsapp_opt_in")) and bool(old.get("whatsapp_opt_in_at"))
        if m.get("whatsapp_opt_in"):
            if was_in and old.get("phone", "") == m.get("phone", ""):
                for key in (*_OPT_IN_STAMPS, "whatsapp_opt_in_source"):
                    m[key] = old.get(key, m.get(key, ""))
            else:
                m["whatsapp_opt_in_at"], m["whatsapp_opt_in_by"] = now_iso, actor
            for key in _OPT_OUT_STAMPS:
                m.pop(key, None)
        else:
            m["whatsapp_opt_in"] = False
            if was_in:  # withdrawn now: keep what it withdraws
                m["whatsapp_opt_out_at"], m["whatsapp_opt_out_by"] = now_iso, actor
                for key in (*_OPT_IN_STAMPS, "whatsapp_opt_in_source"):
                    m[key] = old.get(key, "")
            else:  # never in, or withdrawn earlier: carry the earlier record unchanged
                for key in (*_OPT_IN_STAMPS, *_OPT_OUT_STAMPS, "whatsapp_opt_in_source"):
                    if old.get(key):
                        m[key] = old[key]
                    else:
                        m.pop(key, None)
            if not m.get("whatsapp_opt_in_source"):
                m.pop("whatsapp_opt_in_source", None)
        out.append(m)
    return out


def phone_pointers(team: Team | None) -> dict[str, dict[str, str]]:
    """phone key -> where its opted-in member is, for every member WhatsApp may message."""
    if team is None:
        return {}
    return {
        phone_key(m.phone): {"member_id": m.id, "team_id": team.id, "state": team.state}
        for m in team.members
        if may_message(m)
    }


# ---------------------------------------------------------------------------------------------
# The 24-hour customer-service window


def in_service_window(last_inbound: datetime | None, now: datetime) -> bool:
    """Whether a free-form message may go now: within 24 h of the member's last message.

    A last message stamped after ``now`` (clocks a little apart) counts as just now.
    """
    if last_inbound is None:
        return False
    return now - last_inbound < SERVICE_WINDOW


def message_kind(last_inbound: datetime | None, now: datetime) -> MessageKind:
    return "free_form" if in_service_window(last_inbound, now) else "template"


# ---------------------------------------------------------------------------------------------
# Templates, managed as data (chalicelib/domain/whatsapp_templates.json)


@dataclass(frozen=True)
class Button:
    action: TaskAction
    text: str


@dataclass(frozen=True)
class Template:
    """One approved utility template in one language (its name and language as Meta has it)."""

    name: str
    language: str
    body: str  # with {{1}}, {{2}}... in the order of ``parameters``
    parameters: tuple[str, ...]
    buttons: tuple[Button, ...]
    # Free-form text (inside the window: the member just tapped Done) asking for the link to
    # their response on the task page, whose URL is its {{1}}.
    done_prompt: str = ""


@dataclass(frozen=True)
class TemplateSet:
    templates: Mapping[str, Template] = field(default_factory=dict)  # language -> template

    def for_member(self, member: Member) -> Template:
        """The template in the member's first language we have; English otherwise."""
        for lang in member.languages:
            base = lang.split("-")[0].lower()
            if base in self.templates:
                return self.templates[base]
        return self.templates["en"]


def _bad_template(where: str, msg: str) -> FieldProblem:
    return FieldProblem(where, msg)


def validate_templates(data: Any) -> TemplateSet:
    """The template file, checked against Meta's rules and ours; InvalidInputError listing all."""
    problems: list[FieldProblem] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("templates"), list):
        raise InvalidInputError(
            "a template file is an object with a list of templates",
            [FieldProblem("templates", "a list")],
        )
    out: dict[str, Template] = {}
    for i, t in enumerate(data["templates"]):
        at = f"templates[{i}]"
        if not isinstance(t, Mapping):
            problems.append(_bad_template(at, "an object"))
            continue
        fields = {"name", "language", "category", "body", "parameters", "buttons", "done_prompt"}
        unknown = sorted(set(t) - fields)
        problems += [_bad_template(f"{at}.{k}", "unknown field") for k in unknown]
        name, lang, body = t.get("name"), t.get("language"), t.get("body")
        if not isinstance(name, str) or not _TEMPLATE_NAME.match(name):
            problems.append(_bad_template(f"{at}.name", "lower-case letters, digits and _"))
        if not isinstance(lang, str) or not regex.match(r"^[a-z]{2}$", lang):
            problems.append(_bad_template(f"{at}.language", "a two-letter language code"))
        elif lang in out:
            problems.append(_bad_template(f"{at}.language", f"{lang} is given twice"))
        if t.get("category") != "UTILITY":
            problems.append(_bad_template(f"{at}.category", "UTILITY: tasks are utility messages"))
        params = t.get("parameters")
        if not isinstance(params, list) or not all(p in TEMPLATE_PARAMETERS for p in params):
            problems.append(
                _bad_template(f"{at}.parameters", f"a list of {', '.join(TEMPLATE_PARAMETERS)}")
            )
            params = []
        elif "link" not in params:
            problems.append(_bad_template(f"{at}.parameters", "must carry the task page link"))
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
            problems.append(_bad_template(f"{at}.body", f"text of 1 to {MAX_BODY} characters"))
            body = ""
        else:
            numbers = [int(n) for n in _PLACEHOLDER.findall(body)]
            if numbers != list(range(1, len(params) + 1)):
                problems.append(
                    _bad_template(
                        f"{at}.body",
                        f"placeholders {{{{1}}}}..{{{{{len(params)}}}}} once each, in order",
                    )
                )
        buttons: list[Button] = []
        raw_buttons = t.get("buttons")
        if not isinstance(raw_buttons, list):
            raw_buttons = []
        for j, b in enumerate(raw_buttons):
            where = f"{at}.buttons[{j}]"
            text = b.get("text") if isinstance(b, Mapping) else None
            action = b.get("action") if isinstance(b, Mapping) else None
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_BUTTON_TEXT:
                problems.append(
                    _bad_template(f"{where}.text", f"1 to {MAX_BUTTON_TEXT} characters")
                )
                continue
            if action not in {a.value for a in BUTTON_ACTIONS}:
                problems.append(_bad_template(f"{where}.action", "ack, complete or decline"))
                continue
            buttons.append(Button(TaskAction(str(action)), text))
        if [b.action for b in buttons] != list(BUTTON_ACTIONS) and len(buttons) == len(raw_buttons):
            problems.append(
                _bad_template(f"{at}.buttons", "three quick replies: ack, complete, decline")
            )
        if isinstance(lang, str) and isinstance(name, str):
            prompt = t.get("done_prompt")
            if (
                not isinstance(prompt, str)
                or len(prompt) > MAX_BODY
                or [int(n) for n in _PLACEHOLDER.findall(prompt)] != [1]
            ):
                problems.append(
                    _bad_template(f"{at}.done_prompt", "text with the task page link as {{1}}")
                )
                prompt = ""
            out[lang] = Template(name, lang, str(body), tuple(params), tuple(buttons), prompt)
    for lang in REQUIRED_LANGUAGES:
        if lang not in out:
            problems.append(FieldProblem("templates", f"a template in {lang} is required"))
    if problems:
        raise InvalidInputError(f"{len(problems)} problem(s) in the WhatsApp templates", problems)
    return TemplateSet(out)


# ---------------------------------------------------------------------------------------------
# Outbound messages (the WhatsApp Cloud API message object, sent as bytes through
# socialmessaging SendWhatsAppMessage)


def button_payload(action: TaskAction, task_id: str) -> str:
    payload = f"{action.value}:{task_id}"
    assert len(payload) <= MAX_PAYLOAD
    return payload


def parameter_text(value: str) -> str:
    """A template parameter Meta accepts: no newlines or tabs, no long runs of spaces, capped."""
    text = _PARAM_SPACE.sub(" ", value).strip()
    if len(text) > MAX_PARAMETER:
        text = text[: MAX_PARAMETER - 1] + "…"
    return text or "-"


def task_parameters(task: Task, link: str, team_name: str) -> dict[str, str]:
    summary = task.leader_name or task.category or "new task"
    if task.terms:
        summary = f"{summary}: {', '.join(task.terms[:3])}"
    return {
        "summary": summary,
        "severity": str(task.severity),
        "link": link,
        "team": team_name,
    }


def to_number(phone: str) -> str:
    """Cloud API ``to``: the number's digits (``wa_id`` form)."""
    return "".join(ch for ch in phone if ch.isdigit())


def template_message(
    phone: str, template: Template, values: Mapping[str, str], task_id: str
) -> dict[str, Any]:
    """A template message: body parameters, and each quick reply's payload naming the task."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to_number(phone),
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"code": template.language},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": parameter_text(values[p])}
                        for p in template.parameters
                    ],
                },
                *(
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": str(i),
                        "parameters": [
                            {"type": "payload", "payload": button_payload(b.action, task_id)}
                        ],
                    }
                    for i, b in enumerate(template.buttons)
                ),
            ],
        },
    }


def render_body(template: Template, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(
        lambda m: parameter_text(values[template.parameters[int(m.group(1)) - 1]]), template.body
    )


def interactive_message(
    phone: str, template: Template, values: Mapping[str, str], task_id: str
) -> dict[str, Any]:
    """A free-form message (inside the window): the same text with reply buttons."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to_number(phone),
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": render_body(template, values)},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": button_payload(b.action, task_id), "title": b.text},
                    }
                    for b in template.buttons
                ]
            },
        },
    }


def task_message(
    member: Member,
    templates: TemplateSet,
    values: Mapping[str, str],
    task_id: str,
    last_inbound: datetime | None,
    now: datetime,
) -> tuple[MessageKind, dict[str, Any]]:
    """The message for one member: free-form inside the 24-hour window, a template outside."""
    template = templates.for_member(member)
    kind = message_kind(last_inbound, now)
    build = interactive_message if kind == "free_form" else template_message
    return kind, build(member.phone, template, values, task_id)


def done_prompt_message(phone: str, template: Template, link: str) -> dict[str, Any]:
    """Free-form text asking for the response link (Done needs it, as on the task page)."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to_number(phone),
        "type": "text",
        "text": {"preview_url": True, "body": template.done_prompt.replace("{{1}}", link)},
    }


def message_bytes(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------
# Inbound: the event destination's SNS message


@dataclass(frozen=True)
class Inbound:
    """One message a WhatsApp user sent us, as much as we use of it."""

    message_id: str  # wamid: the same for a redelivery
    sender: str  # wa_id (digits); personal data: never log it
    at: datetime
    phone_number_id: str  # our number (Meta's id) it was sent to
    action: TaskAction | None = None  # a button tap on one of ours
    task_id: str = ""


def _button_reply(message: Mapping[str, Any]) -> str:
    if message.get("type") == "button":  # a template's quick reply
        return str((message.get("button") or {}).get("payload", ""))
    if message.get("type") == "interactive":  # an interactive message's reply button
        interactive = message.get("interactive") or {}
        if interactive.get("type") == "button_reply":
            return str((interactive.get("button_reply") or {}).get("id", ""))
    return ""


def parse_event(sns_message: str) -> list[Inbound]:
    """The inbound messages of one event-destination notification (statuses are left out).

    The SNS message is AWS's header with ``whatsAppWebhookEntry``: the WhatsApp webhook's
    ``entry`` object as a JSON string. MalformedInputError if it is not that shape.
    """
    try:
        header = json.loads(sns_message)
        entry = json.loads(header["whatsAppWebhookEntry"])
        changes = entry.get("changes", [])
        if not isinstance(changes, list):
            raise TypeError("changes")
        out: list[Inbound] = []
        for change in changes:
            value = change.get("value") or {}
            number_id = str((value.get("metadata") or {}).get("phone_number_id", ""))
            for message in value.get("messages") or []:
                at = datetime.fromtimestamp(int(message["timestamp"]), UTC)
                payload = _button_reply(message)
                matched = _PAYLOAD.match(payload)
                out.append(
                    Inbound(
                        str(message["id"]),
                        str(message["from"]),
                        at,
                        number_id,
                        TaskAction(matched.group(1)) if matched else None,
                        matched.group(2) if matched else "",
                    )
                )
        return out
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise MalformedInputError(
            "not an End User Messaging Social event",
            [FieldProblem("Message", type(err).__name__)],
        ) from None


# ---------------------------------------------------------------------------------------------
# Limits: per-number throughput and the messaging-limit tier


# Unique users a business number may start conversations with in a rolling 24 h, by tier
# (Meta's messaging limits); None: unlimited.
TIERS: dict[str, int | None] = {
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}
DEFAULT_MPS = 80  # Cloud API throughput per business number, by default
MAX_MPS = 1_000  # after Meta upgrades the number (it asks for an unlimited tier first)


@dataclass(frozen=True)
class SendLimits:
    per_second: int = DEFAULT_MPS
    tier: str = "TIER_250"

    def __post_init__(self) -> None:
        if not 1 <= self.per_second <= MAX_MPS:
            raise ValueError(f"messages per second: 1 to {MAX_MPS}")
        if self.tier not in TIERS:
            raise ValueError(f"messaging tier: one of {', '.join(TIERS)}")
        if self.per_second > DEFAULT_MPS and TIERS[self.tier] is not None:
            raise ValueError("above 80 messages per second needs the unlimited tier")


@dataclass(frozen=True)
class Admission:
    ok: bool
    wait: float = 0.0  # seconds to wait before trying again (throughput)
    over_tier: bool = False  # a new user beyond the tier: not today


class SendLimiter:
    """A token bucket of ``per_second`` messages and the tier's unique users per rolling 24 h.

    No clock inside: the sender passes ``now``. State lives per sender (one per business
    number); see docs/response.md for why the dispatch of one number runs in one place.
    """

    def __init__(self, limits: SendLimits) -> None:
        self.limits = limits
        self._tokens = float(limits.per_second)
        self._at: datetime | None = None
        self._users: dict[str, datetime] = {}  # phone key -> first message in its 24 h

    def unique_users(self, now: datetime) -> int:
        self._forget(now)
        return len(self._users)

    def _forget(self, now: datetime) -> None:
        stale = [k for k, first in self._users.items() if now - first >= SERVICE_WINDOW]
        for k in stale:
            del self._users[k]

    def admit(self, recipient: str, now: datetime) -> Admission:
        """Take one send for ``recipient`` (a phone key) now, or say why not."""
        cap = TIERS[self.limits.tier]
        self._forget(now)
        if cap is not None and recipient not in self._users and len(self._users) >= cap:
            return Admission(False, over_tier=True)
        if self._at is not None:
            elapsed = max((now - self._at).total_seconds(), 0.0)
            self._tokens = min(
                float(self.limits.per_second), self._tokens + elapsed * self.limits.per_second
            )
        self._at = now
        if self._tokens < 1.0:
            return Admission(False, wait=(1.0 - self._tokens) / self.limits.per_second)
        self._tokens -= 1.0
        self._users.setdefault(recipient, now)
        return Admission(True)
