"""Push ingestion from the platforms, generic over the platform descriptors.

A descriptor's push endpoints name a handler in its adapter (Telegram bot updates, YouTube
WebSub). The handler authenticates first (a body that is not ours is never parsed), parses with
the platform's pure parser and puts the mentions on the mentions queue in their wire form;
this module holds what every handler shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.domain.mention import Mention, mention_to_dict
from chalicelib.errors import PayloadTooLargeError
from chalicelib.services.ports import MentionQueue

MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class PushRequest:
    """The parts of an HTTP request a push handler reads (header names lower-cased)."""

    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def of(body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> PushRequest:
        """A request with its header names lower-cased."""
        return PushRequest(body, {k.lower(): v for k, v in headers.items()}, dict(query))


class PushContext(Protocol):
    """What a push handler may use: secrets, the mentions queue, the watched accounts."""

    def secret(self, name: str) -> str: ...

    @property
    def mention_queue(self) -> MentionQueue: ...

    def watched_ids(self, platform: str) -> list[str]: ...

    def bot_interaction(self, update: Mapping[str, object]) -> bool:
        """True when the update was the bot's own business (a tap, a /start link, a team's
        chat) and was handled: it is then not a post to ingest."""
        ...


@dataclass(frozen=True)
class PushResult:
    """The mention keys put on the queue, why a body was dropped (if it was), or a text answer."""

    keys: tuple[str, ...] = ()
    ignored: str = ""
    text: str | None = None  # a plain-text answer (a WebSub challenge) instead of Accepted


def check_size(body: bytes) -> None:
    """Refuse a body larger than any platform sends."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"body is larger than {MAX_BODY_BYTES} bytes")


def enqueue(mentions: Sequence[Mention], queue: MentionQueue) -> PushResult:
    """Put the mentions on the queue; their keys are the result."""
    if mentions:
        queue.send([mention_to_dict(m) for m in mentions])
    return PushResult(tuple(m.key for m in mentions))
