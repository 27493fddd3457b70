"""The Telegram bot through the app: links via the API and /start, posts, taps, edits.

The chat-link kinds written through the bot's /start (as the person who asked for the link)
are the ones dispatch reads (which teams Telegram reaches) and the bot reads (who taps).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.tasks import Task, TaskStatus
from chalicelib.domain.telegram_bot import callback_data
from chalicelib.services.telegram_bot import NOT_LINKED_USER
from tests.fakes import (
    InMemoryDeliveryLedger,
    InMemoryLinkTokens,
    InMemoryReplayGuard,
    RecordingBotApi,
    RecordingSendQueue,
)
from tests.functional import test_pages
from tests.functional.conftest import SETTINGS, World, auth
from tests.functional.test_event_handlers import _task_to_model, sqs_event, stream_event
from tests.functional.test_pages import WARRIOR, form_post, get, install, settings, text, the_task
from tests.functional.test_throttle_dispatch import new_task

TG_SECRET = "tg-functional-secret"
GROUP = -1009876543210
WARRIOR_TG = 4242


@dataclasses.dataclass
class Bot:
    api: RecordingBotApi
    queue: RecordingSendQueue
    ledger: InMemoryDeliveryLedger
    update_id: int = 500

    def next_id(self) -> int:
        self.update_id += 1
        return self.update_id


@pytest.fixture
def bot(world: World) -> Bot:
    b = Bot(RecordingBotApi(), RecordingSendQueue(), InMemoryDeliveryLedger())
    c = wiring.container()
    c.__dict__["settings"] = dataclasses.replace(
        SETTINGS,
        telegram_bot_username="tvarit_test_bot",
        telegram_queue_url="https://sqs.example/tvarit-telegram",
        telegram_webhook_secret=TG_SECRET,
    )
    c.__dict__.update(
        telegram_api=b.api,
        telegram_queue=b.queue,
        delivery_ledger=b.ledger,
        link_tokens=InMemoryLinkTokens(),
        replays=InMemoryReplayGuard(),
    )
    for name in ("channels", "dispatcher", "team_chats"):
        c.__dict__.pop(name, None)
    return b


def webhook(client: Client, update: dict[str, Any]) -> Any:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    return client.http.post("/ingest/telegram", headers=headers, body=json.dumps(update))


def say(client: Client, bot: Bot, chat: int, text: str, user: int, kind: str) -> Any:
    return webhook(
        client,
        {
            "update_id": bot.next_id(),
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": chat, "type": kind},
                "from": {"id": user, "is_bot": False, "first_name": "U"},
                "text": text,
            },
        },
    )


def tap(client: Client, bot: Bot, data: str, user: int, update_id: int | None = None) -> str:
    uid = update_id or bot.next_id()
    response = webhook(
        client,
        {
            "update_id": uid,
            "callback_query": {
                "id": f"cb{uid}",
                "from": {"id": user, "is_bot": False, "first_name": "U"},
                "data": data,
                "chat_instance": "1",
                "message": {"message_id": 1, "date": 0, "chat": {"id": GROUP, "type": "group"}},
            },
        },
    )
    assert response.status_code == 200
    return bot.api.answers.get(f"cb{uid}", "")


def link(client: Client, bot: Bot) -> None:
    team_link = client.http.post(
        "/teams/DL-CENTRAL-01/telegram-link", headers=auth("team_lead"), body=b""
    )
    assert team_link.status_code == 201, team_link.body
    url = json.loads(team_link.body)["url"]
    assert url.startswith("https://t.me/tvarit_test_bot?startgroup=")
    assert (
        say(client, bot, GROUP, f"/start {url.split('=')[1]}", 1, "supergroup").status_code == 200
    )
    mine = client.http.post("/me/telegram-link", headers=auth("warrior"), body=b"")
    assert mine.status_code == 201
    token = json.loads(mine.body)["url"].split("start=")[1]
    say(client, bot, WARRIOR_TG, f"/start {token}", WARRIOR_TG, "private")


def send_queued(client: Client, bot: Bot) -> None:
    bodies = [json.dumps(m) for m, _ in bot.queue.messages]
    bot.queue.messages.clear()
    assert client.lambda_.invoke("telegram_send", sqs_event(client, bodies)).payload == {
        "batchItemFailures": []
    }


def test_a_task_is_posted_tapped_by_a_linked_warrior_and_edited(
    client: Client, world: World, bot: Bot
) -> None:
    link(client, bot)
    assert [text.startswith("Linked") for _, text, _ in bot.api.sent] == [True, True]
    audit = client.http.get("/audit?scope=DL", headers=auth("state_head"))
    entities = [r["entity"] for r in json.loads(audit.body)["items"]]
    assert {"team_chat", "member_chat"} <= set(entities)

    task = new_task("DL-CENTRAL-01", 7)
    world.tasks.create(task)
    client.lambda_.invoke("dispatch", stream_event([task, new_task("DL-EAST-01", 7)]))
    # Only the linked team's task goes to Telegram; SNS carries both, as before.
    assert [m["task_id"] for m, _ in bot.queue.messages] == [task.task_id]
    send_queued(client, bot)
    chat, text, markup = bot.api.sent[-1]
    assert chat == str(GROUP) and "Arvind Kejriwal" in text
    assert [b["callback_data"] for b in markup["inline_keyboard"][0]] == [
        callback_data(a, task.task_id) for a in ("ack", "done", "decline")
    ]

    assert tap(client, bot, callback_data("ack", task.task_id), user=999) == NOT_LINKED_USER
    assert tap(client, bot, callback_data("ack", task.task_id), WARRIOR_TG).startswith(
        "Acknowledged"
    )
    detail = json.loads(client.http.get(f"/tasks/{task.task_id}", headers=auth("warrior")).body)
    assert detail["status"] == "acknowledged"
    acks = [e for e in detail["events"] if e["action"] == "ack"]
    assert [e["actor"] for e in acks] == ["DL-CENTRAL-01-w1"]
    assert tap(client, bot, callback_data("ack", task.task_id), WARRIOR_TG).endswith("already.")

    # The change reaches the stream: the message is edited (not posted again), naming who.
    before = world.tasks.get(task.task_id)
    assert before is not None and before.status is TaskStatus.ACKNOWLEDGED
    dispatched = dataclasses.replace(before, status=TaskStatus.DISPATCHED, version=2)
    client.lambda_.invoke("dispatch", modify_event(dispatched, before))
    assert [m["op"] for m, _ in bot.queue.messages] == ["edit"]
    sent_before = len(bot.api.sent)
    send_queued(client, bot)
    assert len(bot.api.sent) == sent_before
    _, _, edited_text, edited_markup = bot.api.edited[-1]
    assert "Acknowledged by Warrior" in edited_text
    assert len(edited_markup["inline_keyboard"][0]) == 2  # Done, Decline remain


def test_done_asks_for_the_link_and_the_reply_completes(
    client: Client, world: World, bot: Bot
) -> None:
    link(client, bot)
    task = new_task("DL-CENTRAL-01", 8)
    world.tasks.create(task)
    client.lambda_.invoke("dispatch", stream_event([task]))
    answer = tap(client, bot, callback_data("done", task.task_id), WARRIOR_TG)
    assert "link" in answer
    _, question, markup = bot.api.sent[-1]
    assert markup == {"force_reply": True, "selective": True} and task.task_id in question
    reply = {
        "update_id": bot.next_id(),
        "message": {
            "message_id": 9,
            "date": 0,
            "chat": {"id": GROUP, "type": "supergroup"},
            "from": {"id": WARRIOR_TG, "is_bot": False, "first_name": "W"},
            "text": "https://x.com/w1/status/123",
            "reply_to_message": {
                "message_id": 8,
                "date": 0,
                "chat": {"id": GROUP, "type": "supergroup"},
                "from": {"id": 1, "is_bot": True, "username": "tvarit_test_bot"},
                "text": question,
            },
        },
    }
    assert webhook(client, reply).status_code == 200
    done = world.tasks.get(task.task_id)
    assert done is not None and done.status is TaskStatus.COMPLETED
    assert done.response_url == "https://x.com/w1/status/123"


def test_a_link_needs_a_lead_and_a_used_token_is_refused(
    client: Client, world: World, bot: Bot
) -> None:
    refused = client.http.post(
        "/teams/DL-CENTRAL-01/telegram-link", headers=auth("warrior"), body=b""
    )
    assert refused.status_code == 403
    other = client.http.post("/teams/UP-VARANASI-01/telegram-link", headers=auth("team_lead"))
    assert other.status_code == 404
    url = json.loads(
        client.http.post("/teams/DL-CENTRAL-01/telegram-link", headers=auth("team_lead")).body
    )["url"]
    token = url.split("=")[1]
    say(client, bot, GROUP, f"/start {token}", 1, "supergroup")
    say(client, bot, GROUP - 1, f"/start {token}", 1, "supergroup")
    assert bot.api.sent[-1][1].startswith("This link has expired or was used")


def test_a_replayed_update_changes_nothing(client: Client, world: World, bot: Bot) -> None:
    link(client, bot)
    task = new_task("DL-CENTRAL-01", 9)
    world.tasks.create(task)
    client.lambda_.invoke("dispatch", stream_event([task]))
    first = tap(client, bot, callback_data("decline", task.task_id), WARRIOR_TG, update_id=77)
    assert first.startswith("Declined")
    events_before = len(world.tasks.events(task.task_id))
    bot.api.answers.clear()
    tap(client, bot, callback_data("decline", task.task_id), WARRIOR_TG, update_id=77)
    assert bot.api.answers == {}  # a replay is not even answered: it was handled once
    assert len(world.tasks.events(task.task_id)) == events_before


def test_talk_in_a_linked_group_or_a_private_chat_is_never_ingested(
    client: Client, world: World, bot: Bot
) -> None:
    link(client, bot)
    group = say(client, bot, GROUP, "kal ka kaam kaun karega? notebandi par jawab do", 7, "group")
    private = say(client, bot, WARRIOR_TG, "hello bot", WARRIOR_TG, "private")
    assert json.loads(group.body) == json.loads(private.body) == {"accepted": 0, "keys": []}
    assert world.queue.messages == []
    # A group nobody linked (a public group the bot was added to) is still watched.
    elsewhere = say(client, bot, -100111, "notebandi par jawab do", 7, "supergroup")
    assert json.loads(elsewhere.body)["accepted"] == 1 and len(world.queue.messages) == 1


def modify_event(before: Task, after: Task) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": "m1",
                "eventName": "MODIFY",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "SequenceNumber": "900",
                    "OldImage": _task_to_model(before).serialize(),
                    "NewImage": _task_to_model(after).serialize(),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        ]
    }


pages = test_pages.pages  # the pages' world: a warrior with a task page


def test_the_task_page_links_a_warriors_telegram_account(client: Client, pages: World) -> None:
    install(pages, settings(), link_tokens=InMemoryLinkTokens())
    page = text(get(client, f"/t/{the_task(pages).task_id}", WARRIOR))
    assert 'action="/web/telegram-link"' in page and "टेलीग्राम जोड़ें" in page
    r = form_post(client, "/web/telegram-link", WARRIOR, {})
    assert r.status_code == 303
    assert r.headers["Location"].startswith("https://t.me/tvarit_test_bot?start=")
    assert form_post(client, "/web/telegram-link", WARRIOR, {}, with_csrf=False).status_code == 403
    install(pages, settings(telegram_bot_username=""))
    assert "/web/telegram-link" not in text(get(client, f"/t/{the_task(pages).task_id}", WARRIOR))


def test_the_console_shows_which_teams_have_a_linked_group(
    client: Client, world: World, bot: Bot
) -> None:
    from tests.functional.test_console_data_pages import get, text

    before = text(get(client, "/console/teams?state=DL"))
    assert "Telegram group" in before and "linked</td>" not in before
    link(client, bot)
    after = text(get(client, "/console/teams?state=DL"))
    row = after[after.index("DL-CENTRAL-01") :].split("</tr>")[0]
    assert row.endswith("<td>linked</td>")
