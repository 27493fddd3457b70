"""The Telegram bot, pure: the task message and its buttons, callback data, updates, link tokens.

A task is posted to its team's group as HTML (every value escaped) with three inline buttons;
``callback_data`` is ``<action>:<task id>`` (at most 64 bytes, as the Bot API allows). The
message is edited as the task changes, to show who acknowledged, completed or declined it.
Updates the webhook receives are classified here: a button tap, ``/start <token>`` (a group
being linked to a team, or a warrior linking their own account), a reply carrying a response
link for "Done", or anything else (a channel post: the ingest path).

Chat and user ids are personal data: they are kept only on the link a person made (consent is
the link act), never logged, and errors never quote them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.tasks import Task, TaskAction, TaskEvent, TaskStatus

CALLBACK_DATA_MAX = 64  # bytes (Bot API, InlineKeyboardButton.callback_data)
MESSAGE_MAX = 4096  # characters of a message's text after entity parsing
EXCERPT_MAX = 600
# Deep-link start parameters: up to 64 of A-Z a-z 0-9 _ - (Bot API, "Deep linking").
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
TASK_ID_RE = re.compile(r"\bt_[0-9a-f]{24}\b")
GROUP_TYPES = frozenset({"group", "supergroup"})

# Button actions as they travel in callback_data (short: 64 bytes hold them with the task id).
_ACTIONS: dict[str, TaskAction] = {
    "ack": TaskAction.ACK,
    "done": TaskAction.COMPLETE,
    "decline": TaskAction.DECLINE,
}
_LABELS = {"ack": "✅ Acknowledge", "done": "✔️ Done", "decline": "✖️ Decline"}
_STATUS_LINE = {
    TaskStatus.ACKNOWLEDGED: "✅ Acknowledged by {who}",
    TaskStatus.COMPLETED: "✔️ Done by {who}",
    TaskStatus.DECLINED: "✖️ Declined by {who}",
    TaskStatus.EXPIRED: "⌛ Expired",
}
DONE_PROMPT = "Reply to this message with the link to your response for task {task_id}"


def callback_data(action: str, task_id: str) -> str:
    """The data of one button; ValueError if it would not fit the Bot API's 64 bytes."""
    if action not in _ACTIONS:
        raise ValueError(f"unknown button action {action!r}")
    data = f"{action}:{task_id}"
    if len(data.encode()) > CALLBACK_DATA_MAX:
        raise ValueError("callback data over 64 bytes")
    return data


def parse_callback_data(data: str) -> tuple[TaskAction, str] | None:
    """(action, task id) of a button's data; None for data we did not make."""
    action, _, task_id = data.partition(":")
    if action not in _ACTIONS or not TASK_ID_RE.fullmatch(task_id):
        return None
    return _ACTIONS[action], task_id


def button_action(data: str) -> str:
    """The short action name of callback data ("ack", "done", "decline"), or ""."""
    action = data.partition(":")[0]
    return action if action in _ACTIONS else ""


def keyboard(task: Task) -> dict[str, Any]:
    """The inline keyboard under a task: the actions still open to it (none once closed)."""
    if task.status in (TaskStatus.COMPLETED, TaskStatus.DECLINED, TaskStatus.EXPIRED):
        return {"inline_keyboard": []}
    actions = ["done", "decline"]
    if task.status is not TaskStatus.ACKNOWLEDGED:
        actions.insert(0, "ack")
    return {
        "inline_keyboard": [
            [{"text": _LABELS[a], "callback_data": callback_data(a, task.task_id)} for a in actions]
        ]
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_task(
    task: Task, page_url: str = "", who: Mapping[str, str] | None = None, last: str = ""
) -> str:
    """The message text (HTML parse mode, every value escaped) for the task as it is now.

    ``who``: display names by member id (a tap or the API records the member's ``sub``);
    ``last``: the member id of the latest status change, shown by name.
    """
    e = html.escape
    lines = [f"<b>Tvarit S{task.severity}</b> · {e(task.leader_name or 'a watched leader')}"]
    if task.category:
        lines[0] += f" · {e(task.category)}"
    if task.terms:
        lines.append(f"<i>{e(', '.join(task.terms[:5]))}</i>")
    if task.excerpt:
        lines.append(e(_clip(" ".join(task.excerpt.split()), EXCERPT_MAX)))
    if task.url:
        lines.append(f'<a href="{e(task.url, quote=True)}">Post</a>')
    if page_url:
        lines.append(f'<a href="{e(page_url, quote=True)}">Task page</a>')
    if task.mention_count > 1:
        lines.append(f"{task.mention_count} posts about this so far")
    status = _STATUS_LINE.get(task.status)
    if status:
        name = (who or {}).get(last, "") if last else ""
        lines.append(status.format(who=e(name or "a team member")))
    if task.status is TaskStatus.COMPLETED and task.response_url:
        lines.append(f'<a href="{e(task.response_url, quote=True)}">Response</a>')
    return _clip("\n".join(lines), MESSAGE_MAX)


def last_actor(events: list[TaskEvent]) -> str:
    """Who made the task's latest status change a warrior can see (not the dispatcher)."""
    for event in reversed(events):
        if event.action is not TaskAction.DISPATCH:
            return event.actor
    return ""


def done_prompt(task_id: str) -> str:
    """The force-reply question "Done" asks: the reply's text is the response link."""
    return DONE_PROMPT.format(task_id=task_id)


# ---- updates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """A button tap."""

    update_id: int
    callback_id: str
    user_id: str
    chat_id: str
    message_id: int
    data: str


@dataclass(frozen=True)
class StartCommand:
    """``/start <token>``: in a group, link the group; in a private chat, link the user."""

    update_id: int
    user_id: str
    chat_id: str
    chat_type: str
    token: str


@dataclass(frozen=True)
class DoneReply:
    """A reply to the "Done" question: its text should be the response link."""

    update_id: int
    user_id: str
    chat_id: str
    task_id: str
    text: str


BotUpdate = Callback | StartCommand | DoneReply


def _s(value: Any) -> str:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def classify_update(update: Mapping[str, Any], bot_username: str = "") -> BotUpdate | None:
    """The bot interaction an update carries; None when it is none (a post for ingest)."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    cq = _obj(update, "callback_query")
    if cq:
        msg = _obj(cq, "message")
        mid = msg.get("message_id")
        return Callback(
            update_id,
            _s(cq.get("id")),
            _s(_obj(cq, "from").get("id")),
            _s(_obj(msg, "chat").get("id")),
            mid if isinstance(mid, int) and not isinstance(mid, bool) else 0,
            _text(cq, "data"),
        )
    msg = _obj(update, "message")
    if not msg:
        return None
    chat = _obj(msg, "chat")
    user_id = _s(_obj(msg, "from").get("id"))
    text = _text(msg, "text")
    start = _start_token(text, bot_username)
    if start is not None:
        return StartCommand(update_id, user_id, _s(chat.get("id")), _text(chat, "type"), start)
    replied = _obj(msg, "reply_to_message")
    asked = _text(replied, "text")
    if asked.startswith(DONE_PROMPT.split("{", 1)[0]):
        author = _obj(replied, "from")
        found = TASK_ID_RE.search(asked)
        ours = author.get("is_bot") is True and (
            not bot_username or author.get("username") == bot_username
        )
        if found and ours:
            return DoneReply(update_id, user_id, _s(chat.get("id")), found.group(0), text.strip())
    return None


def message_chat(update: Mapping[str, Any]) -> tuple[str, str] | None:
    """(chat id, chat type) of a ``message`` / ``edited_message`` update; None otherwise."""
    for key in ("message", "edited_message"):
        msg = _obj(update, key)
        if msg:
            chat = _obj(msg, "chat")
            return _s(chat.get("id")), _text(chat, "type")
    return None


def _start_token(text: str, bot_username: str) -> str | None:
    """The token of ``/start <token>`` (also ``/start@bot <token>`` in groups); else None."""
    parts = text.strip().split()
    if len(parts) != 2:
        return None
    command, _, addressed = parts[0].partition("@")
    if command != "/start" or (addressed and bot_username and addressed != bot_username):
        return None
    return parts[1] if TOKEN_RE.fullmatch(parts[1]) else None


def group_link(bot_username: str, token: str) -> str:
    """The deep link that adds the bot to a group and sends ``/start <token>`` there."""
    return f"https://t.me/{bot_username}?startgroup={token}"


def private_link(bot_username: str, token: str) -> str:
    """The deep link that opens a private chat with the bot and sends ``/start <token>``."""
    return f"https://t.me/{bot_username}?start={token}"


# Kinds of link token.
TEAM_LINK = "team"
MEMBER_LINK = "member"


@dataclass(frozen=True)
class LinkGrant:
    """What a link token was issued for, and by whom (their claims act again when it is used)."""

    kind: str  # TEAM_LINK | MEMBER_LINK
    team_id: str
    member_id: str  # MEMBER_LINK: the member linking themselves; TEAM_LINK: ""
    issued_by: Mapping[str, str]  # the issuer's principal: sub, role, state, district, team

    def as_dict(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "kind": self.kind,
            "team_id": self.team_id,
            "member_id": self.member_id,
            "issued_by": dict(self.issued_by),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinkGrant:
        """The grant a stored token holds (ValueError if it is not one)."""
        kind = data.get("kind")
        issued = data.get("issued_by")
        if kind not in (TEAM_LINK, MEMBER_LINK) or not isinstance(issued, dict):
            raise ValueError("not a link grant")
        return cls(
            str(kind),
            str(data.get("team_id", "")),
            str(data.get("member_id", "")),
            {k: str(v) for k, v in issued.items()},
        )
