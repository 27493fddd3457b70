"""The Telegram adapter against the fake Bot API server; the bot's records under moto.

Send, edit, answer, a 429 with retry_after (obeyed), a bad token, taps by an unlinked user
and by a foreign chat, a replayed update, and a group linked through its one-time token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.channels.telegram import TelegramBotApi, TelegramChannel
from chalicelib.adapters.dynamo.channel_state import (
    DynamoDeliveryLedger,
    DynamoLinkTokenStore,
    DynamoReplayGuard,
)
from chalicelib.adapters.dynamo.repositories import DynamoConfigRepository, DynamoTaskRepository
from chalicelib.adapters.platforms.http import Urllib3Transport
from chalicelib.domain.access import Principal, Role
from chalicelib.domain.channels import TASK, TELEGRAM, Delivery
from chalicelib.domain.tasks import Task, TaskAction, TaskStatus, task_id_for, transition
from chalicelib.domain.telegram_bot import callback_data
from chalicelib.errors import RateLimitedError, UpstreamError
from chalicelib.services.config_admin import ConfigAdmin
from chalicelib.services.telegram_bot import (
    NOT_LINKED_CHAT,
    NOT_LINKED_USER,
    Deferred,
    LinkIssuer,
    TeamChats,
    TelegramBot,
    TelegramSender,
)
from chalicelib.settings import Settings
from local.fake_telegram import BOT_TOKEN, BOT_USERNAME, FakeTelegram
from tests.factories import make_team
from tests.seeding import seed

NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
GROUP = "-1001234567890"
LEAD = Principal("DL-CENTRAL-01-lead", Role.TEAM_LEAD, "DL", "", "DL-CENTRAL-01")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def api(fake: FakeTelegram, token: str = BOT_TOKEN, now: float = 1000.0) -> TelegramBotApi:
    return TelegramBotApi(token, Urllib3Transport(timeout=5.0), fake.url, lambda: now)


def test_send_edit_and_answer_at_the_real_paths(fake: FakeTelegram) -> None:
    bot = api(fake)
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "ack:t_" + "0" * 24}]]}
    mid = bot.send_message("-100777", "<b>S4</b> &lt;escaped&gt;", markup)
    assert [(m.message_id, m.text) for m in fake.chat("-100777")] == [
        (mid, "<b>S4</b> &lt;escaped&gt;")
    ]
    assert fake.calls[-1].params["parse_mode"] == "HTML"
    bot.edit_message_text("-100777", mid, "<b>S4</b> acknowledged", {"inline_keyboard": []})
    bot.edit_message_text("-100777", mid, "<b>S4</b> acknowledged", {"inline_keyboard": []})
    (message,) = fake.chat("-100777")
    assert message.text == "<b>S4</b> acknowledged" and message.edits == 1  # 2nd: not modified
    bot.answer_callback_query("cb-1", "Acknowledged")
    assert fake.answers["cb-1"] == "Acknowledged"
    assert fake.methods() == [
        "sendMessage",
        "editMessageText",
        "editMessageText",
        "answerCallbackQuery",
    ]


def test_a_429_carries_retry_after(fake: FakeTelegram) -> None:
    fake.throttle(7)
    with pytest.raises(RateLimitedError) as err:
        api(fake, now=1000.0).send_message("-100777", "hello")
    assert err.value.retry_at == 1007.0
    assert fake.calls[-1].status == 429


def test_a_bad_token_is_refused_and_never_quoted(fake: FakeTelegram) -> None:
    with pytest.raises(UpstreamError) as err:
        api(fake, token="999:wrong-token").send_message("-100777", "hello")
    assert "refused" in str(err.value) and "wrong-token" not in str(err.value)
    assert fake.calls[-1].status == 401


# ---- the bot and the sender on moto ------------------------------------------------------------


@dataclasses.dataclass
class World:
    config: DynamoConfigRepository
    tasks: DynamoTaskRepository
    bot: TelegramBot
    sender: TelegramSender
    channel: TelegramChannel
    issuer: LinkIssuer
    slept: list[float]


@pytest.fixture
def world(tables: Settings, fake: FakeTelegram) -> World:
    config = DynamoConfigRepository(lambda: NOW)
    team = make_team(
        "DL-CENTRAL-01",
        lead_id="DL-CENTRAL-01-lead",
        members=(
            make_team().members[0],
            dataclasses.replace(
                make_team().members[0], id="DL-CENTRAL-01-lead", name="Lead", role="lead"
            ),
        ),
    )
    seed(config, team, make_team("DL-EAST-01"))
    tasks = DynamoTaskRepository()
    wall = [1000.0]
    bot_api = TelegramBotApi(BOT_TOKEN, Urllib3Transport(timeout=5.0), fake.url, lambda: wall[0])
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        wall[0] += seconds

    chats = TeamChats(config, lambda team_id: "DL", lambda: 0.0, ttl=0.0)
    ledger = DynamoDeliveryLedger()
    tokens = DynamoLinkTokenStore()
    bot = TelegramBot(
        tasks,
        config,
        ConfigAdmin(config),
        bot_api,
        tokens,
        DynamoReplayGuard(),
        lambda: NOW,
        BOT_USERNAME,
    )
    sender = TelegramSender(
        tasks, config, chats, ledger, bot_api, lambda: NOW, lambda: wall[0], sleep
    )
    issuer = LinkIssuer(config, tokens, lambda: NOW, BOT_USERNAME)
    return World(
        config, tasks, bot, sender, TelegramChannel(chats, ledger, _Queue()), issuer, slept
    )


@dataclasses.dataclass
class _Queue:
    sent: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def send(self, messages: Any, delay_seconds: int = 0) -> None:
        self.sent.extend(dict(m) for m in messages)


def link_group(world: World, fake: FakeTelegram) -> None:
    url = world.issuer.issue_team_link(LEAD, "DL-CENTRAL-01").url
    assert url.startswith(f"https://t.me/{BOT_USERNAME}?startgroup=")
    token = url.split("=", 1)[1]
    outcome = world.bot.handle(fake.message_update(GROUP, f"/start {token}", 555))
    assert outcome.result == "linked"


def tasks_in(fake: FakeTelegram) -> list[Any]:
    """The bot's task posts in the group (not its replies to /start)."""
    return [m for m in fake.chat(GROUP) if m.reply_markup]


def dispatched_task(world: World, team: str = "DL-CENTRAL-01") -> Task:
    task = Task(
        task_id=task_id_for(team, "inc_tg"),
        team_id=team,
        state="DL",
        incident_key="inc_tg",
        mention_key="x#1",
        created_at=NOW,
        leader_name="A <Leader> & co",
        excerpt="said <b>this</b>",
        severity=4,
    )
    world.tasks.create(task)
    after, event = transition(task, TaskAction.DISPATCH, "system:dispatcher", NOW)
    assert event is not None
    world.tasks.save_transition(after, event, 1)
    return after


def test_a_group_links_once_and_its_token_is_single_use(world: World, fake: FakeTelegram) -> None:
    link_group(world, fake)
    assert world.channel.reachable(["DL-CENTRAL-01", "DL-EAST-01"]) == {"DL-CENTRAL-01"}
    audit, _ = world.config.audit_log("DL", 10)
    assert ("team_chat", LEAD.sub) in [(r.entity, r.actor) for r in audit]
    # The same token again (another group): refused, the first link stands.
    url = world.issuer.issue_team_link(LEAD, "DL-CENTRAL-01").url
    token = url.split("=", 1)[1]
    assert world.bot.handle(fake.message_update("-100999", f"/start {token}", 9)).result == "linked"
    assert world.bot.handle(fake.message_update("-100998", f"/start {token}", 9)).result == (
        "refused"
    )


def test_send_then_edit_through_the_sender_and_a_429_is_obeyed(
    world: World, fake: FakeTelegram
) -> None:
    link_group(world, fake)
    task = dispatched_task(world)
    world.channel.deliver(Delivery(TELEGRAM, TASK, (task,)))
    (queued,) = world.channel.queue.sent  # type: ignore[attr-defined]
    fake.throttle(2)
    assert world.sender.handle(queued) == "sent"
    assert world.slept == [2.0]  # retry_after obeyed, then sent
    (message,) = tasks_in(fake)
    assert "A &lt;Leader&gt; &amp; co" in message.text and "<b>" in message.text
    buttons = [b["callback_data"] for b in message.reply_markup["inline_keyboard"][0]]  # type: ignore[index]
    assert buttons == [callback_data(a, task.task_id) for a in ("ack", "done", "decline")]
    assert all(len(b.encode()) <= 64 for b in buttons)
    # A redelivered queue message: deduped on (task id, version), no second post.
    assert world.channel.delivered([(task.task_id, 1)]) == {(task.task_id, 1)}
    assert world.sender.handle(queued) == "edited"  # not posted again; an edit is harmless
    assert len(tasks_in(fake)) == 1
    # A long retry_after defers the message instead of sleeping through it.
    fake.throttle(40)
    with pytest.raises(Deferred) as wait:
        world.sender.handle({"op": "edit", "task_id": task.task_id, "version": 2})
    assert wait.value.seconds == pytest.approx(40.0)


def test_taps_by_an_unlinked_user_or_in_a_foreign_chat_are_refused_and_answered(
    world: World, fake: FakeTelegram
) -> None:
    link_group(world, fake)
    task = dispatched_task(world)
    data = callback_data("ack", task.task_id)
    tap = fake.callback_update(GROUP, 1, data, user_id=777)
    assert world.bot.handle(tap).result == "refused"
    assert fake.answers[tap["callback_query"]["id"]] == NOT_LINKED_USER
    elsewhere = fake.callback_update("-100555", 1, data, user_id=777)
    assert world.bot.handle(elsewhere).result == "refused"
    assert fake.answers[elsewhere["callback_query"]["id"]] == NOT_LINKED_CHAT
    stored = world.tasks.get(task.task_id)
    assert stored is not None and stored.status is TaskStatus.DISPATCHED


def test_a_linked_warrior_acknowledges_once_and_a_replay_is_refused(
    world: World, fake: FakeTelegram
) -> None:
    link_group(world, fake)
    task = dispatched_task(world)
    warrior = Principal("DL-CENTRAL-01-w1", Role.WARRIOR, "DL", "", "DL-CENTRAL-01")
    url = world.issuer.issue_member_link(warrior).url
    assert url.startswith(f"https://t.me/{BOT_USERNAME}?start=")
    token = url.split("=", 1)[1]
    linked = world.bot.handle(fake.message_update("777", f"/start {token}", 777, "private"))
    assert linked.result == "linked"
    tap = fake.callback_update(GROUP, 1, callback_data("ack", task.task_id), user_id=777)
    assert world.bot.handle(tap).result == "acted"
    assert world.bot.handle(tap).result == "replay"  # the same update id again
    again = fake.callback_update(GROUP, 1, callback_data("ack", task.task_id), user_id=777)
    assert world.bot.handle(again).result == "unchanged"
    events = world.tasks.events(task.task_id)
    assert [(e.action, e.actor) for e in events if e.action is TaskAction.ACK] == [
        (TaskAction.ACK, "DL-CENTRAL-01-w1")
    ]
    assert events[-1].at == NOW


def test_an_unreachable_bot_api_names_no_token() -> None:
    """The bot token sits in every Bot API path: a failed connection must not carry the URL."""
    from tests.unreachable import refused_url

    bot_api = TelegramBotApi(BOT_TOKEN, Urllib3Transport(timeout=1.0), refused_url())
    with pytest.raises(UpstreamError) as err:
        bot_api.call("sendMessage", {"chat_id": 1, "text": "x"})
    assert BOT_TOKEN not in str(err.value)
    assert "sendMessage" in str(err.value)


def test_telegram_and_whatsapp_deliver_one_task_once_each_through_one_ledger(
    world: World, fake: FakeTelegram
) -> None:
    """Both senders on the one DynamoDB delivery ledger: WhatsApp's per-member records of the
    task do not make Telegram think it posted (or edit a message it never sent), and
    Telegram's post does not make WhatsApp skip a member."""
    from chalicelib.adapters.dynamo.channel_state import DynamoInboundTimes
    from chalicelib.domain.channels import WHATSAPP, delivery_key
    from chalicelib.domain.org import Member
    from chalicelib.domain.whatsapp import SendLimiter, SendLimits
    from chalicelib.services.whatsapp import WhatsAppSender, load_templates
    from tests.whatsapp_fakes import FakeWhatsAppClient

    link_group(world, fake)
    task = dispatched_task(world)
    opted_in: dict[str, Any] = {
        "team_id": "DL-CENTRAL-01",
        "contact_consent": True,
        "whatsapp_opt_in": True,
        "languages": ("hi",),
    }
    team = make_team(
        members=tuple(
            Member(id=f"w{n}", name=f"W{n}", phone=f"+91987650000{n}", **opted_in) for n in (1, 2)
        )
    )
    port = FakeWhatsAppClient()
    whatsapp = WhatsAppSender(
        port,
        world.sender.ledger,  # the one ledger Telegram's sender uses
        DynamoReplayGuard(),
        DynamoInboundTimes(),
        load_templates(),
        SendLimiter(SendLimits()),
        "phone-number-id-0123456789",
        "v20.0",
        lambda: NOW,
        lambda _s: None,
        lambda t: f"https://tvarit.test/t/{t.task_id}",
    )
    assert [s.member_id for s in whatsapp.send_task(task, team).sent] == ["w1", "w2"]
    # WhatsApp went first: Telegram still posts the task to the group, once.
    assert world.channel.delivered([delivery_key(task)]) == frozenset()
    world.channel.deliver(Delivery(TELEGRAM, TASK, (task,)))
    (queued,) = world.channel.queue.sent  # type: ignore[attr-defined]
    assert world.sender.handle(queued) == "sent"
    (posted,) = tasks_in(fake)
    # Both again (a redelivered plan): nothing new on either channel.
    assert world.sender.handle(queued) == "edited"  # the same message, edited in place
    assert [m.message_id for m in tasks_in(fake)] == [posted.message_id]
    again = whatsapp.send_task(task, team)
    assert again.sent == [] and set(again.skipped) == {"w1", "w2"}
    assert len(port.sent) == 2
    assert world.sender.ledger.first(TELEGRAM, task.task_id) == (str(posted.message_id), GROUP)
    assert world.sender.ledger.delivered(WHATSAPP, [delivery_key(task)]) == frozenset()
