"""Push ingestion from the platforms: Telegram bot updates and YouTube WebSub notifications.

Authenticate first (a body that is not ours is never parsed), then parse with the platform's
pure parser and put the mentions on the mentions queue in their wire form.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.platforms.telegram import (
    SECRET_HEADER as TELEGRAM_SECRET_HEADER,
)
from chalicelib.adapters.platforms.telegram import (
    parse_telegram,
    verify_webhook_secret,
)
from chalicelib.adapters.platforms.youtube import (
    parse_websub_notification,
    verify_websub_signature,
    websub_challenge,
)
from chalicelib.domain.mention import mention_to_dict
from chalicelib.errors import ParseError, PayloadTooLargeError
from chalicelib.services.ports import MentionQueue

MAX_BODY_BYTES = 256 * 1024
WEBSUB_SIGNATURE_HEADER = "x-hub-signature"
YOUTUBE_TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id="


@dataclass(frozen=True)
class PushResult:
    """The mention keys put on the queue, and why a body was dropped (if it was)."""

    keys: tuple[str, ...]
    ignored: str = ""


def accept_telegram_update(
    body: bytes, headers: Mapping[str, str], secret: str, queue: MentionQueue
) -> PushResult:
    """One bot Update: check the secret token, enqueue its post (if it carries one).

    An update we cannot parse is dropped with the reason, not refused: Telegram re-sends a
    refused update until it is accepted, holding back every update behind it.
    """
    _check_size(body)
    lower = {k.lower(): v for k, v in headers.items()}
    verify_webhook_secret(secret, lower.get(TELEGRAM_SECRET_HEADER))
    try:
        mentions = parse_telegram(body)
    except ParseError as err:
        return PushResult((), ignored=err.detail)
    if mentions:
        queue.send([mention_to_dict(m) for m in mentions])
    return PushResult(tuple(m.key for m in mentions))


def accept_websub_notification(
    body: bytes, headers: Mapping[str, str], secret: str, queue: MentionQueue
) -> PushResult:
    """A YouTube WebSub notification: check the HMAC, enqueue new videos and deletions."""
    _check_size(body)
    lower = {k.lower(): v for k, v in headers.items()}
    verify_websub_signature(secret, lower.get(WEBSUB_SIGNATURE_HEADER), body)
    mentions = parse_websub_notification(body)
    queue.send([mention_to_dict(m) for m in mentions])
    return PushResult(tuple(m.key for m in mentions))


def answer_websub_verification(params: Mapping[str, str], watched_channels: Iterable[str]) -> str:
    """The challenge to echo: subscribe for watched channels, unsubscribe for the others."""
    expected = {f"{YOUTUBE_TOPIC}{c}": "subscribe" for c in watched_channels}
    topic = params.get("hub.topic", "")
    if topic.startswith(YOUTUBE_TOPIC) and topic not in expected:
        expected[topic] = "unsubscribe"
    return websub_challenge(params, expected)


def _check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"body is larger than {MAX_BODY_BYTES} bytes")


def read_bot_update(body: bytes, headers: Mapping[str, str], secret: str) -> dict[str, Any] | None:
    """A webhook update for the bot (after its secret token is checked); None if not JSON.

    The caller asks the bot whether it is an interaction (a tap, ``/start``); anything else
    goes on to :func:`accept_telegram_update`.
    """
    _check_size(body)
    lower = {k.lower(): v for k, v in headers.items()}
    verify_webhook_secret(secret, lower.get(TELEGRAM_SECRET_HEADER))
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
