"""Delivery records, link tokens, seen updates and last inbound times of the delivery
channels (one small table, ``models.ChannelStateModel`` names its item kinds).

A link token is stored by its SHA-256 only: the table never holds a usable token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.adapters.dynamo.models import ChannelStateModel
from chalicelib.domain.channels import DeliveryKey, LedgerKey
from chalicelib.errors import UpstreamError

_ONE = "-"


def _conditional(write: Callable[[], object], failure: str) -> bool:
    try:
        write()
    except PynamoDBException as err:
        if err.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise UpstreamError(failure) from err
    return True


def _delivery_pk(channel: str, task_id: str) -> str:
    return f"{channel}#{task_id}"


def _version_sk(key: LedgerKey) -> str:
    # Zero-padded: the first delivery sorts first; a member's record after it (``#member``).
    return "#".join((f"v{key[1]:08d}", *key[2:]))


def _delete(pk: str, sk: str, failure: str) -> None:
    try:
        ChannelStateModel(pk=pk, sk=sk).delete()
    except PynamoDBException as err:
        raise UpstreamError(failure) from err


class DynamoDeliveryLedger:
    def delivered(self, channel: str, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        wanted = list(dict.fromkeys(keys))
        found: set[DeliveryKey] = set()
        try:
            for i in range(0, len(wanted), 100):  # BatchGetItem reads 100 keys a call
                chunk = wanted[i : i + 100]
                items = ChannelStateModel.batch_get(
                    [(_delivery_pk(channel, k[0]), _version_sk(k)) for k in chunk]
                )
                found.update((item.pk.split("#", 1)[1], int(item.sk[1:])) for item in items)
        except PynamoDBException as err:
            raise UpstreamError(f"reading {channel} delivery records failed") from err
        return frozenset(found)

    def record(
        self, channel: str, key: LedgerKey, ref: str, chat: str, expires_at: datetime
    ) -> bool:
        m = ChannelStateModel
        item = m(
            pk=_delivery_pk(channel, key[0]),
            sk=_version_sk(key),
            ref=ref,
            chat=chat,
            expires_at=expires_at,
        )
        return _conditional(
            lambda: item.save(condition=m.pk.does_not_exist()),
            f"recording a {channel} delivery failed",
        )

    def forget(self, channel: str, key: LedgerKey) -> None:
        failure = f"dropping a {channel} delivery record failed"
        _delete(_delivery_pk(channel, key[0]), _version_sk(key), failure)

    def first(self, channel: str, task_id: str) -> tuple[str, str] | None:
        try:
            for item in ChannelStateModel.query(
                _delivery_pk(channel, task_id), limit=1, consistent_read=True
            ):
                return item.ref or "", item.chat or ""
        except PynamoDBException as err:
            raise UpstreamError(f"reading a {channel} delivery failed") from err
        return None


def _token_pk(token: str) -> str:
    return "link#" + hashlib.sha256(token.encode()).hexdigest()


class DynamoLinkTokenStore:
    def issue(self, token: str, grant: Mapping[str, Any], expires_at: datetime) -> None:
        m = ChannelStateModel
        item = m(pk=_token_pk(token), sk=_ONE, data=dict(grant), expires_at=expires_at)
        if not _conditional(
            lambda: item.save(condition=m.pk.does_not_exist()), "storing a link token failed"
        ):
            raise UpstreamError("a link token collided; ask for another")

    def consume(self, token: str, now: datetime) -> Mapping[str, Any] | None:
        m = ChannelStateModel
        try:
            item = m.get(_token_pk(token), _ONE, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError("reading a link token failed") from err
        if item.used_at is not None or item.expires_at is None or item.expires_at <= now:
            return None  # used, or expired (TTL deletes lazily)
        used = _conditional(
            lambda: item.update(actions=[m.used_at.set(now)], condition=m.used_at.does_not_exist()),
            "using a link token failed",
        )
        return dict(item.data or {}) if used else None


def _update_pk(channel: str, update_id: str) -> str:
    return f"update#{channel}#{update_id}"


class DynamoReplayGuard:
    def first_time(
        self, channel: str, update_id: str, expires_at: datetime, now: datetime | None = None
    ) -> bool:
        m = ChannelStateModel
        item = m(pk=_update_pk(channel, update_id), sk=_ONE, expires_at=expires_at)
        free = m.pk.does_not_exist()
        if now is not None:
            free = free | (m.expires_at < now)  # TTL deletes lazily: expired counts as absent
        return _conditional(lambda: item.save(condition=free), f"recording a {channel} update")

    def forget(self, channel: str, update_id: str) -> None:
        _delete(_update_pk(channel, update_id), _ONE, f"dropping a {channel} update failed")


def _inbound_pk(channel: str, contact: str) -> str:
    return f"inbound#{channel}#{contact}"


class DynamoInboundTimes:
    def note_inbound(self, channel: str, contact: str, at: datetime, expires_at: datetime) -> None:
        m = ChannelStateModel
        item = m(pk=_inbound_pk(channel, contact), sk=_ONE, at=at, expires_at=expires_at)
        # A message delivered late must not move the time back: only a later one replaces it.
        _conditional(
            lambda: item.save(condition=m.pk.does_not_exist() | (m.at < at)),
            f"recording a {channel} inbound time failed",
        )

    def last_inbound(self, channel: str, contact: str) -> datetime | None:
        try:
            item = ChannelStateModel.get(_inbound_pk(channel, contact), _ONE, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError(f"reading a {channel} inbound time failed") from err
        return item.at
