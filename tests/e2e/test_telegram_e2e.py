"""Telegram on the local stack: a task reaches the team's group, a linked warrior's tap acks it.

The stack runs the fake Bot API (``local.fake_telegram``); the group and the warrior's account
are linked through the API and ``/start``, as users do (``local.telegram_stack``).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain.telegram_bot import callback_data, parse_callback_data
from local.demo import load_demo_config, seed
from local.fake_telegram import FakeTelegram
from local.stack import LocalStack
from local.telegram_stack import DemoChat, first_task_message, link_demo_chat
from tests.e2e.test_local_stack import make_post, send


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = LocalStack(visibility_timeout=1, max_receive_count=2).start()
    try:
        seed(wiring.container().config_repo, load_demo_config())
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def chat(stack: LocalStack) -> DemoChat:
    team = next(t for t in load_demo_config().teams if t.id == "DL-CENTRAL-01")
    return link_demo_chat(stack.api_url, stack.issuer, stack.fake_telegram, team)


def get_task(stack: LocalStack, task_id: str, chat: DemoChat) -> dict[str, Any]:
    claims = {"sub": chat.warrior_id, "custom:role": "warrior", "custom:team": chat.team_id}
    request = urllib.request.Request(  # noqa: S310 (the local API)
        f"{stack.api_url}/tasks/{task_id}",
        headers={"Authorization": f"Bearer {stack.issuer.mint(claims, datetime.now(UTC))}"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        doc: dict[str, Any] = json.loads(resp.read())
        return doc


def test_a_task_reaches_the_group_and_a_linked_warriors_tap_acknowledges_it(
    stack: LocalStack, chat: DemoChat
) -> None:
    fake: FakeTelegram = stack.fake_telegram
    status, _ = send(stack, make_post(41, "नोटबंदी का काला धन कहाँ गया? जवाब दो", day=21))
    assert status == 202
    message = first_task_message(fake, chat)
    assert message is not None, f"no task in the group; bot calls: {fake.methods()}"
    assert "<b>Tvarit S" in message.text
    ack = message.reply_markup["inline_keyboard"][0][0]["callback_data"]
    parsed = parse_callback_data(ack)
    assert parsed is not None
    task_id = parsed[1]
    assert ack == callback_data("ack", task_id)

    # Someone who never linked their account: refused, with an answer.
    _, _, stranger = fake.tap(chat.group_id, message.message_id, ack, user_id=999)
    assert "Link your Telegram account" in fake.answers[stranger]
    assert get_task(stack, task_id, chat)["status"] == "dispatched"

    status, _, tapped = fake.tap(chat.group_id, message.message_id, ack, chat.warrior_user_id)
    assert status == 200 and fake.answers[tapped].startswith("Acknowledged")
    detail = get_task(stack, task_id, chat)
    assert detail["status"] == "acknowledged"
    acks = [e for e in detail["events"] if e["action"] == "ack"]
    assert [e["actor"] for e in acks] == [chat.warrior_id]

    # A second tap changes nothing.
    _, _, again = fake.tap(chat.group_id, message.message_id, ack, chat.warrior_user_id)
    assert fake.answers[again].endswith("already.")
    assert get_task(stack, task_id, chat)["events"] == detail["events"]

    # The stream's change edits the message in place: who acknowledged, two buttons left.
    def edited() -> bool:
        now = next(m for m in fake.chat(chat.group_id) if m.message_id == message.message_id)
        return "Acknowledged by" in now.text

    assert fake.wait_for(lambda _: edited(), timeout=30.0), fake.methods()
    now = next(m for m in fake.chat(chat.group_id) if m.message_id == message.message_id)
    assert len(now.reply_markup["inline_keyboard"][0]) == 2  # type: ignore[index]
    assert len([m for m in fake.chat(chat.group_id) if m.reply_markup]) == 1  # no repost
    time.sleep(0.5)
    assert fake.methods().count("answerCallbackQuery") >= 3  # every tap answered
