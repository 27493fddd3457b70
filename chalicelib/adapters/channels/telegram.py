"""The Telegram channel: the Bot API client, the send queue (SQS) and the DeliveryChannel.

Dispatch hands the channel a delivery; the channel puts one message per task on the Telegram
queue, whose consumer (``services.telegram_bot.TelegramSender``) keeps the bot's limits. The
bot token sits in every Bot API path (``/bot<token>/<method>``): no URL of ours is ever put in
an error or a log line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.platforms.http import HttpTransport
from chalicelib.domain.channels import TASK, TELEGRAM, Delivery, DeliveryKey
from chalicelib.errors import RateLimitedError, UpstreamError
from chalicelib.services.ports import DeliveryLedger
from chalicelib.services.telegram_bot import EDIT, SEND, SendQueue, TeamChats

API_BASE = "https://api.telegram.org"
NOT_MODIFIED = "message is not modified"  # 400 for an edit that changes nothing: not an error


class TelegramBotApi:
    """``sendMessage``, ``editMessageText``, ``answerCallbackQuery`` over an HTTP transport."""

    def __init__(
        self,
        token: str,
        transport: HttpTransport,
        base_url: str = API_BASE,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self._transport = transport
        self._base = base_url.rstrip("/")
        self._wall = wall

    def call(self, method: str, params: Mapping[str, Any]) -> Any:
        """One Bot API method; its ``result``. RateLimitedError on 429, UpstreamError else."""
        if not self._token:
            raise UpstreamError("the Telegram bot token is not configured")
        try:
            resp = self._transport.send(
                "POST",
                f"{self._base}/bot{self._token}/{method}",
                {"Content-Type": "application/json"},
                json.dumps(params, ensure_ascii=False).encode(),
            )
        except UpstreamError as err:
            # The transport's message names the URL, and the URL holds the token.
            reason = type(err.__cause__).__name__ if err.__cause__ else "error"
            raise UpstreamError(
                f"Telegram {method}: the Bot API was not reached ({reason})"
            ) from None
        try:
            doc = json.loads(resp.body or b"{}")
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        if resp.status == 200 and doc.get("ok") is True:
            return doc.get("result")
        description = str(doc.get("description", ""))
        if resp.status == 429:
            params_ = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else {}
            retry_after = params_.get("retry_after") if params_ else None
            wait = float(retry_after) if isinstance(retry_after, int | float) else 1.0
            raise RateLimitedError(
                f"Telegram {method}: too many requests", retry_at=self._wall() + wait
            )
        if resp.status == 400 and NOT_MODIFIED in description:
            return None
        if resp.status in (401, 404):
            # A wrong token: Telegram answers 401 Unauthorized (404 for a malformed one).
            raise UpstreamError(f"Telegram {method}: the bot token was refused ({resp.status})")
        raise UpstreamError(f"Telegram {method} failed: {resp.status} {description[:120]}")

    def send_message(
        self, chat_id: str, text: str, reply_markup: Mapping[str, Any] | None = None
    ) -> int:
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if reply_markup is not None:
            params["reply_markup"] = dict(reply_markup)
        result = self.call("sendMessage", params)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(message_id, int):
            raise UpstreamError("Telegram sendMessage answered without a message id")
        return message_id

    def edit_message_text(
        self,
        chat_id: str,
        message_id: int,
        text: str,
        reply_markup: Mapping[str, Any] | None = None,
    ) -> None:
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if reply_markup is not None:
            params["reply_markup"] = dict(reply_markup)
        self.call("editMessageText", params)

    def answer_callback_query(self, callback_id: str, text: str) -> None:
        self.call("answerCallbackQuery", {"callback_query_id": callback_id, "text": text[:200]})


class SqsSendQueue:
    """The Telegram queue on SQS (SendMessageBatch, ten at a time; DelaySeconds to defer)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, messages: Sequence[Mapping[str, Any]], delay_seconds: int = 0) -> None:
        bodies = [json.dumps(m, separators=(",", ":")) for m in messages]
        for i in range(0, len(bodies), 10):
            entries = [
                {"Id": str(n), "MessageBody": b, "DelaySeconds": max(0, min(900, delay_seconds))}
                for n, b in enumerate(bodies[i : i + 10])
            ]
            try:
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as err:
                raise UpstreamError("the Telegram queue refused the batch") from err
            if response.get("Failed"):
                codes = sorted({f.get("Code", "?") for f in response["Failed"]})
                raise UpstreamError(f"the Telegram queue refused messages: {', '.join(codes)}")


@dataclass
class TelegramChannel:
    """The DeliveryChannel: teams with a linked group, deduped on the delivery ledger."""

    chats: TeamChats
    ledger: DeliveryLedger
    queue: SendQueue

    @property
    def name(self) -> str:
        return TELEGRAM

    def reachable(self, team_ids: Sequence[str]) -> frozenset[str]:
        return self.chats.reachable(team_ids)

    def delivered(self, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        return self.ledger.delivered(TELEGRAM, keys)

    def deliver(self, delivery: Delivery) -> list[str]:
        op = SEND if delivery.kind == TASK else EDIT
        messages = [
            {"op": op, "task_id": task_id, "version": version} for task_id, version in delivery.keys
        ]
        self.queue.send(messages)
        return [f"queued:{task_id}" for task_id, _ in delivery.keys]
