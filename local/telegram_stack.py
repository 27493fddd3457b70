"""The Telegram bot on the local stack (issue 13): the fake Bot API, its queue, the demo links.

The fake server (``local.fake_telegram``) stands in for api.telegram.org; its webhook is the
app's ``POST /ingest/telegram`` with the stack's secret token, as ``setWebhook`` would set it.
Demo links take the users' path: a lead asks the API for the group link and the fake group
sends ``/start <token>``; a warrior asks for their own link and starts the bot privately.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib import settings as cfg
from local.fake_telegram import BOT_TOKEN, BOT_USERNAME, FakeTelegram

TELEGRAM_DLQ = f"{cfg.TELEGRAM_QUEUE_NAME}-dlq"


def create_queue(sqs: Any, visibility_timeout: int, max_receive_count: int) -> tuple[str, str]:
    """The Telegram queue with its dead-letter queue; (url, arn)."""
    dlq = sqs.create_queue(QueueName=TELEGRAM_DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    url = sqs.create_queue(
        QueueName=cfg.TELEGRAM_QUEUE_NAME,
        Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return str(url), str(arn)


def start_fake(api_url: str, queue_url: str) -> tuple[FakeTelegram, dict[str, str]]:
    """Start the fake Bot API and say where the app finds it; the environment to set."""
    fake = FakeTelegram().start()
    secret = secrets.token_hex(16)
    fake.set_webhook(f"{api_url}/ingest/telegram", secret)
    return fake, {
        cfg.ENV_TELEGRAM_BOT_USERNAME: BOT_USERNAME,
        cfg.ENV_TELEGRAM_QUEUE_URL: queue_url,
        cfg.ENV_TELEGRAM_API_URL: fake.url,
        cfg.ENV_TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        cfg.ENV_TELEGRAM_WEBHOOK_SECRET: secret,
    }


@dataclass(frozen=True)
class DemoChat:
    """A demo team's group and one warrior's Telegram account, linked through the API."""

    team_id: str
    group_id: str
    warrior_id: str
    warrior_user_id: int


def _post(api_url: str, path: str, bearer: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (the local API)
        f"{api_url}{path}",
        data=b"",
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
        doc: dict[str, Any] = json.loads(resp.read())
        return doc


def link_demo_chat(
    api_url: str,
    issuer: Any,
    fake: FakeTelegram,
    team: Any,
    group_id: str = "-1001000000001",
    warrior_user_id: int = 5550001,
) -> DemoChat:
    """Link ``team``'s group (as its lead) and its first warrior's account (as themselves)."""
    now = datetime.now(UTC)
    lead = {"sub": team.lead_id, "custom:role": "team_lead", "custom:team": team.id}
    link = _post(api_url, f"/teams/{team.id}/telegram-link", issuer.mint(lead, now))
    fake.say(group_id, f"/start {link['url'].split('startgroup=')[1]}", 5550000, "supergroup")
    # Its first warrior (a team of one lead: the lead links their own account).
    warrior = next((m for m in team.members if m.role == "warrior"), team.members[0])
    role = "warrior" if warrior.role == "warrior" else "team_lead"
    claims = {"sub": warrior.id, "custom:role": role, "custom:team": team.id}
    mine = _post(api_url, "/me/telegram-link", issuer.mint(claims, now))
    token = mine["url"].split("start=")[1]
    fake.say(str(warrior_user_id), f"/start {token}", warrior_user_id, "private")
    return DemoChat(team.id, group_id, warrior.id, warrior_user_id)


def first_task_message(fake: FakeTelegram, chat: DemoChat, timeout: float = 30.0) -> Any:
    """The first task the bot posted in the demo group (waits for it)."""
    deadline = time.monotonic() + timeout
    while True:
        posted = [m for m in fake.chat(chat.group_id) if m.reply_markup]
        if posted:
            return posted[0]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


def show_demo(fake: FakeTelegram, chats: list[DemoChat], timeout: float = 30.0) -> list[str]:
    """``make run``'s Telegram lines: the first task in a demo group, a warrior's tap on
    Acknowledge, its answer, and the message as the edit left it."""
    deadline = time.monotonic() + timeout
    found: list[tuple[Any, DemoChat]] = []
    while not found:
        found = [(m, c) for c in chats if (m := first_task_message(fake, c, 0.0)) is not None]
        if found or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if not found:
        return [f"Telegram: no task reached the linked groups (bot calls: {fake.methods()})"]
    message, chat = found[0]
    lines = [
        f"Telegram: task posted in the group of {chat.team_id} (fake Bot API {fake.url}):",
        *("    " + line for line in message.text.splitlines()[:4]),
        "    [" + "] [".join(b["text"] for b in message.reply_markup["inline_keyboard"][0]) + "]",
    ]
    ack = message.reply_markup["inline_keyboard"][0][0]["callback_data"]
    _, _, stranger = fake.tap(chat.group_id, message.message_id, ack, user_id=999)
    lines.append(f"  an unlinked user taps Acknowledge → answered: {fake.answers.get(stranger)!r}")
    _, _, tapped = fake.tap(chat.group_id, message.message_id, ack, chat.warrior_user_id)
    lines.append(
        f"  warrior {chat.warrior_id} (linked) taps Acknowledge → answered: "
        f"{fake.answers.get(tapped)!r}"
    )

    def edited(f: FakeTelegram) -> bool:
        return any(
            m.message_id == message.message_id and "Acknowledged by" in m.text
            for m in f.chat(chat.group_id)
        )

    if fake.wait_for(edited, timeout):
        now = next(m for m in fake.chat(chat.group_id) if m.message_id == message.message_id)
        status = next(line for line in now.text.splitlines() if "Acknowledged by" in line)
        lines.append(f"  the message is edited in place: {status!r}")
    else:
        lines.append("  (the edit did not arrive in time)")
    return lines
