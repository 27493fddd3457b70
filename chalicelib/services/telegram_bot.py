"""The Telegram bot: link a team's group and a warrior's account, post tasks, act on taps.

* Links: a team lead asks for a one-time group link (``issue_team_link``), a warrior for their
  own (``issue_member_link``); the bot seeing ``/start <token>`` binds the group to the team,
  or the sender's account to the member, through ``ConfigAdmin`` as the person who asked for
  the link (audited like any configuration change). Tokens are single-use with a TTL.
* Taps (``TelegramBot.handle``): a button becomes the same transition as the API
  (``task_flow.act_on_task``), by the member linked to the sender; taps from unlinked users,
  other teams' members or unlinked chats are refused with an answer; every tap is answered.
  Update ids are accepted once (replays are refused).
* Sending (``TelegramSender``): the queue consumer posts a task once per (task id, version),
  edits it as the task changes, and keeps the bot's limits (30 messages/s, 20 a minute per
  group) and every ``retry_after`` Telegram sends with a 429.

Chat and user ids are personal data: kept on the link a person made, never logged.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.domain.access import Principal, Role, Scope, Verb, authorize
from chalicelib.domain.channels import TELEGRAM, send_delay
from chalicelib.domain.config_kinds import (
    CHAT_LINKS,
    MEMBER_CHATS,
    TEAM_CHATS,
    member_chat_id,
    team_chat_id,
    team_chats_partition,
)
from chalicelib.domain.notify import Outbound
from chalicelib.domain.org import team_from_dict
from chalicelib.domain.tasks import Task, TaskAction, TaskStatus
from chalicelib.domain.telegram_bot import (
    GROUP_TYPES,
    MEMBER_LINK,
    TEAM_LINK,
    Callback,
    DoneReply,
    LinkGrant,
    StartCommand,
    classify_update,
    done_prompt,
    group_link,
    keyboard,
    last_actor,
    message_chat,
    parse_callback_data,
    private_link,
    render_task,
)
from chalicelib.errors import (
    ConflictError,
    FieldProblem,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    UpstreamError,
)
from chalicelib.services import task_flow
from chalicelib.services.config_admin import ConfigAdmin
from chalicelib.services.config_cache import team_record
from chalicelib.services.ports import (
    Clock,
    ConfigStore,
    DeliveryLedger,
    LinkTokenStore,
    ReplayGuard,
    TaskRepository,
)

LINK_TTL = timedelta(hours=1)
UPDATE_TTL = timedelta(days=2)  # Telegram gives up re-sending an update within a day
DELIVERY_TTL = timedelta(days=30)  # edits reach messages this old; a task's life is shorter
MAX_INLINE_WAIT = 5.0  # seconds a sender sleeps for a limit; longer waits defer the message
# Telegram counts arrivals: a full window waits this much longer, so that requests arriving
# closer together than they were sent cannot make 31 in one second (measured: bench-channels).
PACING_MARGIN = 0.1


class BotApi(Protocol):
    """The Bot API methods the bot uses (``adapters.channels.telegram.TelegramBotApi``)."""

    def send_message(
        self, chat_id: str, text: str, reply_markup: Mapping[str, Any] | None = None
    ) -> int:
        """Post ``text`` (HTML); the new message's id. RateLimitedError on 429."""
        ...

    def edit_message_text(
        self,
        chat_id: str,
        message_id: int,
        text: str,
        reply_markup: Mapping[str, Any] | None = None,
    ) -> None:
        """Replace a message's text and keyboard (an unchanged text is not an error)."""
        ...

    def answer_callback_query(self, callback_id: str, text: str) -> None:
        """Answer a button tap (the client stops its spinner and shows ``text``)."""
        ...


class SendQueue(Protocol):
    """The queue of Telegram sends (SQS): ``{"op", "task_id", "version"}`` messages."""

    def send(self, messages: Sequence[Mapping[str, Any]], delay_seconds: int = 0) -> None: ...


def new_token() -> str:
    """A link token: 32 URL-safe characters (a deep link's start parameter allows 64)."""
    return secrets.token_urlsafe(24)


def _issuer(p: Principal) -> dict[str, str]:
    return {
        "sub": p.sub,
        "role": p.role.value,
        "state": p.state,
        "district": p.district,
        "team": p.team,
    }


def _principal(issued_by: Mapping[str, str]) -> Principal:
    return Principal(
        sub=issued_by.get("sub", ""),
        role=Role(issued_by.get("role", "warrior")),
        state=issued_by.get("state", ""),
        district=issued_by.get("district", ""),
        team=issued_by.get("team", ""),
    )


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_at: datetime


@dataclass
class LinkIssuer:
    """Deep links for linking a team's group or a member's own account (the API's use cases)."""

    store: ConfigStore
    tokens: LinkTokenStore
    clock: Clock
    bot_username: str
    make_token: Callable[[], str] = new_token

    def _check_bot(self) -> None:
        if not self.bot_username:
            raise NotFoundError(
                "Telegram is not enabled on this stage", [FieldProblem("channel", "telegram off")]
            )

    def issue_team_link(self, p: Principal, team_id: str) -> IssuedLink:
        """A one-time ``startgroup`` link binding a group to ``team_id`` (leads and heads)."""
        self._check_bot()
        team = team_record(self.store, team_id)
        if team is None:
            raise NotFoundError("no such team")
        scope = Scope(
            state=team.data["state"], district=team.data.get("district", ""), team=team_id
        )
        authorize(p, TEAM_CHATS.name, Verb.WRITE, scope)
        return self._issue(LinkGrant(TEAM_LINK, team_id, "", _issuer(p)), group_link)

    def issue_member_link(self, p: Principal) -> IssuedLink:
        """A one-time private-chat link tying the caller's Telegram account to their member."""
        self._check_bot()
        if not p.team:
            raise ForbiddenError("only team members link a chat account; your token names no team")
        team = team_record(self.store, p.team)
        members = team.data.get("members", []) if team else []
        if team is None or not any(m.get("id") == p.sub for m in members):
            raise NotFoundError("you are not a member of your token's team")
        scope = Scope(
            state=team.data["state"],
            district=team.data.get("district", ""),
            team=p.team,
            member=p.sub,
        )
        authorize(p, MEMBER_CHATS.name, Verb.WRITE, scope)
        return self._issue(LinkGrant(MEMBER_LINK, p.team, p.sub, _issuer(p)), private_link)

    def _issue(self, grant: LinkGrant, link: Callable[[str, str], str]) -> IssuedLink:
        token = self.make_token()
        expires = self.clock() + LINK_TTL
        self.tokens.issue(token, grant.as_dict(), expires)
        return IssuedLink(link(self.bot_username, token), expires)


@dataclass
class TeamChats:
    """Which teams have a linked group, and which chat: read per state, cached briefly."""

    store: ConfigStore
    state_of_team: Callable[[str], str | None]
    monotonic: Callable[[], float]
    ttl: float = 30.0
    _by_state: dict[str, tuple[float, dict[str, str]]] = field(default_factory=dict)

    def _state(self, state: str) -> dict[str, str]:
        now = self.monotonic()
        cached = self._by_state.get(state)
        if cached is None or now - cached[0] > self.ttl:
            prefix = f"{TELEGRAM}#"
            chats = {
                r.id.removeprefix(prefix): str(r.data.get("chat_id", ""))
                for r in self.store.list_items(team_chats_partition(state))
                if r.id.startswith(prefix)
            }
            cached = (now, chats)
            self._by_state[state] = cached
        return cached[1]

    def chat_of(self, team_id: str) -> str | None:
        """The team's linked group chat id, if it has one."""
        state = self.state_of_team(team_id)
        return self._state(state).get(team_id) if state else None

    def reachable(self, team_ids: Sequence[str]) -> frozenset[str]:
        """Those of ``team_ids`` with a linked group."""
        return frozenset(t for t in team_ids if self.chat_of(t))


# ---- the webhook side: taps, /start, the Done reply -----------------------------------------


@dataclass(frozen=True)
class BotOutcome:
    """What the bot did with an update (for the log: no chat or user ids in it)."""

    handled: bool  # False: not a bot interaction (a channel post: the ingest path)
    result: str = ""  # "acted", "refused", "linked", "replay", ...
    task_id: str = ""


# Answers (the user sees these as a toast under the buttons, or as a reply).
NOT_LINKED_CHAT = "This chat is not linked to a Tvarit team."
NOT_LINKED_USER = (
    "Link your Telegram account first: open any task page in Tvarit and tap 'Link Telegram'."
)
FOREIGN = "You are not a member of this chat's team."
NOT_THIS_TEAM = "This task is not this team's."
UNKNOWN_BUTTON = "This button is not one of ours."
DONE_ASK = "Reply to my message with the link to your response."
BAD_TOKEN = "This link has expired or was used already. Ask for a new one."  # noqa: S105
_DONE_WORDS = {
    TaskAction.ACK: "Acknowledged",
    TaskAction.DECLINE: "Declined",
    TaskAction.COMPLETE: "Done",
}


@dataclass
class TelegramBot:
    tasks: TaskRepository
    store: ConfigStore
    admin: ConfigAdmin
    api: BotApi
    tokens: LinkTokenStore
    replays: ReplayGuard
    clock: Clock
    bot_username: str = ""

    def handle(self, update: Mapping[str, Any]) -> BotOutcome:
        """Handle one webhook update if it is a bot interaction."""
        what = classify_update(update, self.bot_username)
        if what is None:
            # Talk in a private chat or a team's own group is the team's, not a post to watch:
            # it never reaches the ingest path (and the mentions table).
            if self._teams_own_chat(update):
                return BotOutcome(True, "ignored")
            return BotOutcome(False)
        now = self.clock()
        if not self.replays.first_time(TELEGRAM, str(what.update_id), now + UPDATE_TTL):
            return BotOutcome(True, "replay")
        if isinstance(what, Callback):
            return self._tap(what)
        if isinstance(what, StartCommand):
            return self._start(what)
        return self._done_reply(what)

    def _teams_own_chat(self, update: Mapping[str, Any]) -> bool:
        chat = message_chat(update)
        if chat is None:
            return False
        chat_id, chat_type = chat
        if chat_type == "private":
            return True
        return bool(chat_id) and (
            self.store.get_item(CHAT_LINKS, team_chat_id(TELEGRAM, chat_id)) is not None
        )

    # -- who is tapping ------------------------------------------------------------------------

    def _member(self, user_id: str, chat_id: str) -> tuple[Principal | None, str, str]:
        """The member behind a tap in a chat, with the chat's team; or None and the refusal."""
        chat = self.store.get_item(CHAT_LINKS, team_chat_id(TELEGRAM, chat_id)) if chat_id else None
        if chat is None:
            return None, NOT_LINKED_CHAT, ""
        team_id = str(chat.data["team_id"])
        link = (
            self.store.get_item(CHAT_LINKS, member_chat_id(TELEGRAM, user_id)) if user_id else None
        )
        if link is None:
            return None, NOT_LINKED_USER, team_id
        if link.data.get("team_id") != team_id:
            return None, FOREIGN, team_id
        team = team_record(self.store, team_id)
        member = None
        if team is not None:
            member = next(
                (m for m in team_from_dict(team.data).members if m.id == link.data["member_id"]),
                None,
            )
        if team is None or member is None:
            return None, FOREIGN, team_id  # left the team since linking
        role = (
            Role.TEAM_LEAD
            if member.role == "lead" or team.data.get("lead_id") == member.id
            else Role.WARRIOR
        )
        p = Principal(
            sub=member.id,
            role=role,
            state=str(team.data["state"]),
            district=str(team.data.get("district", "")),
            team=team_id,
        )
        return p, "", team_id

    def _tap(self, cb: Callback) -> BotOutcome:
        answer = UNKNOWN_BUTTON
        result = "refused"
        task_id = ""
        try:
            parsed = parse_callback_data(cb.data)
            if parsed is not None:
                action, task_id = parsed
                p, refusal, team_id = self._member(cb.user_id, cb.chat_id)
                if p is None:
                    answer = refusal
                else:
                    answer, result = self._act(p, team_id, action, task_id, cb.chat_id)
        finally:
            # Every tap is answered, refused or not: the client shows a spinner until then.
            self.api.answer_callback_query(cb.callback_id, answer)
        return BotOutcome(True, result, task_id)

    def _act(
        self, p: Principal, team_id: str, action: TaskAction, task_id: str, chat_id: str
    ) -> tuple[str, str]:
        task = self.tasks.get(task_id)
        if task is None or task.team_id != team_id:
            return NOT_THIS_TEAM, "refused"
        if action is TaskAction.COMPLETE:
            if task.status is TaskStatus.COMPLETED:
                return "Done already.", "unchanged"
            # Completing needs the response link: ask for it with a reply the bot can read.
            self.api.send_message(
                chat_id, done_prompt(task_id), {"force_reply": True, "selective": True}
            )
            return DONE_ASK, "asked"
        try:
            before = task.status
            after = task_flow.act_on_task(self.tasks, p, task_id, action, self.clock())
        except ConflictError as err:
            return _short(err.detail), "refused"
        except (NotFoundError, ForbiddenError):
            return NOT_THIS_TEAM, "refused"
        if after.status is before:
            return f"{_DONE_WORDS[action]} already.", "unchanged"
        return f"{_DONE_WORDS[action]}. Thank you!", "acted"

    def _done_reply(self, reply: DoneReply) -> BotOutcome:
        p, refusal, team_id = self._member(reply.user_id, reply.chat_id)
        if p is None:
            self.api.send_message(reply.chat_id, refusal)
            return BotOutcome(True, "refused", reply.task_id)
        task = self.tasks.get(reply.task_id)
        if task is None or task.team_id != team_id:
            self.api.send_message(reply.chat_id, NOT_THIS_TEAM)
            return BotOutcome(True, "refused", reply.task_id)
        try:
            task_flow.act_on_task(
                self.tasks, p, reply.task_id, TaskAction.COMPLETE, self.clock(), reply.text
            )
        except InvalidInputError as err:
            msg = err.problems[0].msg if err.problems else err.detail
            self.api.send_message(reply.chat_id, _short(f"{err.detail}: {msg}"))
            return BotOutcome(True, "refused", reply.task_id)
        except ConflictError as err:
            self.api.send_message(reply.chat_id, _short(err.detail))
            return BotOutcome(True, "refused", reply.task_id)
        return BotOutcome(True, "acted", reply.task_id)

    # -- linking -------------------------------------------------------------------------------

    def _start(self, cmd: StartCommand) -> BotOutcome:
        raw = self.tokens.consume(cmd.token, self.clock())
        try:
            grant = LinkGrant.from_dict(raw) if raw is not None else None
        except ValueError:
            grant = None
        in_group = cmd.chat_type in GROUP_TYPES
        if grant is None or grant.kind != (TEAM_LINK if in_group else MEMBER_LINK):
            self.api.send_message(cmd.chat_id, BAD_TOKEN)
            return BotOutcome(True, "refused")
        team = team_record(self.store, grant.team_id)
        if team is None:
            self.api.send_message(cmd.chat_id, BAD_TOKEN)
            return BotOutcome(True, "refused")
        issuer = _principal(grant.issued_by)
        where = {
            "channel": TELEGRAM,
            "team_id": grant.team_id,
            "state": str(team.data["state"]),
            "district": str(team.data.get("district", "")),
        }
        try:
            if in_group:
                self._link_group(issuer, cmd.chat_id, where)
                name = team.data.get("name", grant.team_id)
                text = f"Linked: Tvarit tasks for team {name} come here."
            else:
                self._link_member(issuer, cmd.user_id, grant.member_id, where)
                text = "Linked: your taps on Tvarit buttons in your team's group count as yours."
        except (ForbiddenError, NotFoundError, ConflictError, InvalidInputError):
            self.api.send_message(cmd.chat_id, BAD_TOKEN)
            return BotOutcome(True, "refused")
        self.api.send_message(cmd.chat_id, _escape(text))
        return BotOutcome(True, "linked")

    def _link_group(self, p: Principal, chat_id: str, where: dict[str, str]) -> None:
        team_id = where["team_id"]
        # One group per team: linking a new one unlinks the old (its taps stop counting).
        pointer = self.store.get_item(team_chats_partition(where["state"]), f"{TELEGRAM}#{team_id}")
        old_chat = str(pointer.data.get("chat_id", "")) if pointer else ""
        if old_chat and old_chat != chat_id:
            self.admin.delete(TEAM_CHATS, p, team_chat_id(TELEGRAM, old_chat), "*")
        data = {"id": team_chat_id(TELEGRAM, chat_id), "chat_id": chat_id, **where}
        self.admin.put(TEAM_CHATS, p, data)

    def _link_member(
        self, p: Principal, user_id: str, member_id: str, where: dict[str, str]
    ) -> None:
        data = {
            "id": member_chat_id(TELEGRAM, user_id),
            "user_id": user_id,
            "member_id": member_id,
            **where,
        }
        self.admin.put(MEMBER_CHATS, p, data)


def _short(text: str) -> str:
    return text if len(text) <= 190 else text[:189] + "…"  # answerCallbackQuery: 200 chars


def _escape(text: str) -> str:
    import html

    return html.escape(text)


# ---- the queue side: post and edit ------------------------------------------------------------


class Deferred(Exception):
    """The message must wait ``seconds`` (a limit or a 429's retry_after): queue it again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"deferred {seconds:.1f}s")
        self.seconds = seconds


SEND = "send"
EDIT = "edit"


@dataclass
class TelegramSender:
    """Consumes the Telegram queue: posts each task once, edits it as it changes.

    The limits are kept in this process (the function runs with reserved concurrency 1, so
    this is the bot's only sender): at most 30 messages in any second and 20 a minute into
    one group; a 429 waits its ``retry_after`` (slept when short, else the message is
    deferred on the queue).
    """

    tasks: TaskRepository
    store: ConfigStore
    chats: TeamChats
    ledger: DeliveryLedger
    api: BotApi
    clock: Clock
    wall: Callable[[], float]
    sleep: Callable[[float], None]
    outbound: Outbound = field(default_factory=Outbound)
    _bot: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    _chat: dict[str, deque[float]] = field(default_factory=dict)

    def handle(self, message: Mapping[str, Any]) -> str:
        """Post or edit for one queue message; what happened ("sent", "edited", "skipped")."""
        op = message.get("op")
        task_id = message.get("task_id")
        if op not in (SEND, EDIT) or not isinstance(task_id, str):
            raise InvalidInputError(
                "not a Telegram queue message", [FieldProblem("body.op", "send or edit")]
            )
        task = self.tasks.get(task_id)
        if task is None:
            return "skipped"
        chat = self.chats.chat_of(task.team_id)
        if not chat:
            return "skipped"  # unlinked since it was queued
        first = self.ledger.first(TELEGRAM, task_id)
        if op == SEND and first is None:
            version = int(message.get("version", 1))
            message_id = self._call(chat, lambda: self.api.send_message(chat, *self._render(task)))
            self.ledger.record(
                TELEGRAM, (task_id, version), str(message_id), chat, self.clock() + DELIVERY_TTL
            )
            return "sent"
        if first is None:
            return "skipped"  # an edit of a message never posted (the task went elsewhere)
        ref, posted_in = first
        if posted_in != chat:
            return "skipped"  # the team linked another group since: the old message stays
        self._call(chat, lambda: self.api.edit_message_text(chat, int(ref), *self._render(task)))
        return "edited"

    def _render(self, task: Task) -> tuple[str, dict[str, Any]]:
        team = team_record(self.store, task.team_id)
        names = {}
        if team is not None:
            names = {m.id: m.name for m in team_from_dict(team.data).members}
        events = self.tasks.events(task.task_id) if task.status is not TaskStatus.DISPATCHED else []
        page = self.outbound.task_url(task.task_id)
        return render_task(task, page, names, last_actor(events)), keyboard(task)

    def _call(self, chat: str, call: Callable[[], Any]) -> Any:
        for attempt in range(2):
            now = self.wall()
            sent_to = self._chat.setdefault(chat, deque(maxlen=32))
            wait = send_delay(now, self._bot, sent_to, TELEGRAM, PACING_MARGIN)
            if wait > MAX_INLINE_WAIT:
                raise Deferred(wait)
            if wait > 0:
                self.sleep(wait)
            stamp = self.wall()
            self._bot.append(stamp)
            sent_to.append(stamp)
            try:
                return call()
            except RateLimitedError as err:
                retry_in = max(0.0, (err.retry_at or self.wall() + 1.0) - self.wall())
                if attempt == 1 or retry_in > MAX_INLINE_WAIT:
                    raise Deferred(retry_in) from err
                self.sleep(retry_in)  # obey retry_after, then try once more
        raise UpstreamError("unreachable")  # pragma: no cover
