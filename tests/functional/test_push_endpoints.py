"""Telegram and YouTube WebSub push endpoints through chalice's test client, fakes wired in."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.analysis import WatchConfig
from chalicelib.domain.keywords import compile_queries
from chalicelib.domain.mention import mention_from_dict
from chalicelib.domain.org import Account, Leader
from chalicelib.settings import Settings
from tests.eventdata import event_bytes

TG_SECRET = "tg-secret"
HUB_SECRET = "hub-secret"
SETTINGS = Settings(
    stage="test",
    region="ap-south-1",
    endpoint_url=None,
    table_prefix="test-",
    mentions_queue_url="https://sqs.example/test-mentions",
    state_topic_arn_prefix="arn:aws:sns:ap-south-1:123456789012:tvarit-state-",
    webhook_secret="s",
    telegram_webhook_secret=TG_SECRET,
    websub_secret=HUB_SECRET,
)
TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id="


class StaticConfig:
    def watch_config(self) -> WatchConfig:
        leader = Leader("l", "L", "DL", accounts=(Account("youtube", "Leader", "UCwatched"),))
        return WatchConfig.build("v1", [leader], [], compile_queries([]))


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def send(self, messages: Sequence[Mapping[str, Any]]) -> None:
        self.sent.extend(messages)


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingQueue]:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    q = RecordingQueue()
    wiring.use(wiring.Container(SETTINGS, config=StaticConfig(), mention_queue=q))
    yield q
    wiring.use(None)


@pytest.fixture
def client(queue: RecordingQueue) -> Client:
    from app import app

    return Client(app)


def _tg(client: Client, body: bytes, secret: str | None = TG_SECRET) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return client.http.post("/ingest/telegram", headers=headers, body=body)


def test_telegram_channel_post_is_enqueued(client: Client, queue: RecordingQueue) -> None:
    update = json.loads(event_bytes("telegram", "bot_getUpdates_channel_post_2023.json"))["result"][
        0
    ]
    response = _tg(client, json.dumps(update).encode())
    assert response.status_code == 200
    assert json.loads(response.body) == {"accepted": 1, "keys": ["telegram#1961815317:29"]}
    assert [mention_from_dict(m).text for m in queue.sent] == ["12"]


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_telegram_without_the_secret_is_refused_unread(
    client: Client, queue: RecordingQueue, secret: str | None
) -> None:
    response = _tg(client, b'{"update_id": 1}', secret)
    assert response.status_code == 401
    assert queue.sent == []


def test_telegram_update_we_cannot_parse_is_acknowledged_not_retried(
    client: Client, queue: RecordingQueue
) -> None:
    response = _tg(client, b'{"update_id": 5, "channel_post": {"message_id": 1}}')
    assert response.status_code == 200
    assert json.loads(response.body) == {"accepted": 0, "keys": []}
    assert queue.sent == []


def test_telegram_update_without_a_post_is_fine(client: Client, queue: RecordingQueue) -> None:
    response = _tg(client, b'{"update_id": 6, "my_chat_member": {}}')
    assert (response.status_code, queue.sent) == (200, [])


@pytest.mark.parametrize(
    ("mode", "channel", "status"),
    [
        ("subscribe", "UCwatched", 200),
        ("subscribe", "UCstranger", 401),  # nobody may subscribe us to channels we do not watch
        ("unsubscribe", "UCstranger", 200),
        ("unsubscribe", "UCwatched", 401),
    ],
)
def test_websub_verification(client: Client, mode: str, channel: str, status: int) -> None:
    from urllib.parse import urlencode

    query = urlencode({"hub.mode": mode, "hub.topic": TOPIC + channel, "hub.challenge": "c4ll"})
    response = client.http.get(f"/ingest/websub/youtube?{query}")
    assert response.status_code == status
    if status == 200:
        assert response.body == b"c4ll"


def _signed(body: bytes, secret: str = HUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"Content-Type": "application/atom+xml", "X-Hub-Signature": f"sha1={digest}"}


def test_websub_notification_is_enqueued(client: Client, queue: RecordingQueue) -> None:
    body = event_bytes("youtube", "websub_notification.xml")
    response = client.http.post("/ingest/websub/youtube", headers=_signed(body), body=body)
    assert response.status_code == 202
    assert json.loads(response.body)["keys"] == ["youtube#VIDEO_ID"]
    assert mention_from_dict(queue.sent[0]).author.id == "CHANNEL_ID"


def test_websub_with_a_bad_signature_is_refused(client: Client, queue: RecordingQueue) -> None:
    body = event_bytes("youtube", "websub_notification.xml")
    response = client.http.post("/ingest/websub/youtube", headers=_signed(body, "other"), body=body)
    assert response.status_code == 401
    assert queue.sent == []


def test_websub_body_that_is_not_a_notification_is_a_400(client: Client) -> None:
    body = b"<feed xmlns='http://www.w3.org/2005/Atom'></feed>"
    response = client.http.post("/ingest/websub/youtube", headers=_signed(body), body=body)
    assert response.status_code == 400
    assert json.loads(response.body)["type"] == "/problems/parse-error"


def test_a_deeply_nested_telegram_update_is_dropped_not_a_500(
    client: Client, queue: RecordingQueue
) -> None:
    # Unparseable updates are acknowledged and dropped (Telegram would re-send a refused one).
    response = _tg(client, b'{"update_id": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert response.status_code == 200
    assert json.loads(response.body) == {"accepted": 0, "keys": []}
    assert queue.sent == []
