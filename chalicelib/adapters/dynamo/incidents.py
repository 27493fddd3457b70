"""The incident index on DynamoDB: the lookups of ``domain.incidents.IncidentIndex``, stored.

Round trips per matched mention (issue 17 counts them; each is ~5-10 ms on Lambda):

1. one BatchGetItem of everything a mention can be found by: its own pointer (a redelivery),
   its 8 band lists, its leader + query lists and the pointers of the posts it references;
2. one BatchGetItem of the candidate records those name (none when nothing matched: skipped);
3. one TransactWriteItems: the record, the mention's pointer and every list, each on condition
   of the version it was read at.

Each band (and each leader + query) is one small item holding its newest ``BAND_READ_LIMIT``
entries, as the Query of the former layout returned them (``domain.incidents.IncidentIndex``
reads them the same way, so ``make bench-incidents`` measures this lookup). The lists are
rewritten whole, so the versions guard them: two analyzers writing one band or one record at
once cannot lose each other's entry; the loser reads again and decides again (a few times at
most, then the message is retried by SQS). Before, 8 Queries, a Query per query, a GetItem per
reference, a BatchGetItem, a GetItem and a BatchWriteItem: 12 or more calls.

Concurrent analyzers may still both open an incident for two near-duplicates that arrive in the
same instant (each decided before the other wrote); each mention still gets exactly one
incident and every later mention joins one of them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.models import IncidentItemModel
from chalicelib.domain.incidents import (
    BAND_READ_LIMIT,
    DEFAULT_WINDOW,
    IncidentDecision,
    IncidentProbe,
    IncidentRecord,
    band_entry,
    band_keys,
    decide_incident,
    record_with,
    signature_from_str,
    signature_to_str,
)
from chalicelib.errors import UpstreamError

META = "META"
LIST = "L"
POINTER = "INC"
MAX_MENTIONS_KEPT = 200  # a viral incident's record stays small; the mentions table has them all
ATTEMPTS = 3  # a list or record changed between read and write: read and decide again
PAUSE_SECONDS = 0.02  # the first retry's longest wait; each later one doubles it


def contention_pause(
    attempt: int,
    rand: Callable[[], float] = random.random,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait before retry ``attempt`` (1, 2, ...) of a write that lost a race, or of keys
    DynamoDB left unprocessed: up to ``PAUSE_SECONDS`` x 2^(attempt-1) at random ("full
    jitter", AWS's advice), so writers that collided on a hot item do not collide again in
    step. Attempt 0 does not wait."""
    if attempt > 0:
        sleep(rand() * PAUSE_SECONDS * 2 ** (attempt - 1))


REDELIVERY = "redelivery"

Key = tuple[str, str]


def _band_pk(band: str) -> str:
    return f"BANDS#{band}"


def _lq_pk(leader_id: str, query_id: str) -> str:
    return f"LQS#{leader_id}#{query_id}"


def _record_from(item: IncidentItemModel) -> IncidentRecord:
    d: dict[str, Any] = item.data or {}
    # Records written before the MinHash signatures ("simhashes") read as having no text yet:
    # they expire within a day of deployment and still group by reference and leader+query.
    sigs = (signature_from_str(str(s)) for s in d.get("signatures", ()))
    return IncidentRecord(
        incident_key=item.incident_key,
        leader_id=d.get("leader_id", ""),
        query_ids=tuple(d.get("query_ids", ())),
        signatures=tuple(s for s in sigs if s),
        first_seen=datetime.fromisoformat(d["first_seen"]),
        last_seen=datetime.fromisoformat(d["last_seen"]),
        mention_keys=tuple(d.get("mention_keys", ())),
    )


def _entries(item: IncidentItemModel | None) -> list[str]:
    return [str(e) for e in ((item.data or {}).get("entries", ()) if item else ())]


def _newest(entries: Iterable[str]) -> list[str]:
    """The entries a read returns: newest first, at most ``BAND_READ_LIMIT``."""
    return sorted(set(entries), reverse=True)[:BAND_READ_LIMIT]


@dataclass
class _Read:
    """What one BatchGetItem found, by (pk, sk); absent keys are missing."""

    items: dict[Key, IncidentItemModel]

    def get(self, key: Key) -> IncidentItemModel | None:
        return self.items.get(key)


class DynamoIncidentIndex:
    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window

    def incident_of(self, mention_key: str) -> str | None:
        try:
            return IncidentItemModel.get(f"M#{mention_key}", POINTER).incident_key
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError("reading the incident index failed") from err

    def get(self, incident_key: str) -> IncidentRecord | None:
        try:
            return _record_from(IncidentItemModel.get(f"INC#{incident_key}", META))
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError("reading the incident failed") from err

    def assign(self, probe: IncidentProbe) -> IncidentDecision:
        """Decide the incident of ``probe`` and record the mention in it.

        A mention assigned before (a redelivered message) gets its incident back with the
        reason ``redelivery`` and changes nothing.
        """
        try:
            for attempt in range(ATTEMPTS):
                contention_pause(attempt)
                decision = self._try_assign(probe)
                if decision is not None:
                    return decision
        except PynamoDBException as err:
            raise UpstreamError("updating the incident index failed") from err
        raise UpstreamError("the incident index kept changing under this mention; retried")

    def _try_assign(self, probe: IncidentProbe) -> IncidentDecision | None:
        keys = LookupKeys.of(probe)
        read = self._batch_get(keys.all())
        mine = read.get(keys.own)
        if mine is not None:
            return IncidentDecision(mine.incident_key, REDELIVERY)
        found = keys.candidates(read)
        records = self._batch_get([record_key(k) for k in sorted(found)]) if found else None
        candidates = [_record_from(i) for i in records.items.values()] if records else []
        decision = decide_incident(probe, candidates, self.window)
        old_item = records.get(record_key(decision.incident_key)) if records else None
        try:
            with TransactWrite(connection=_connection()) as tx:
                save_versioned(
                    tx, incident_writes(probe, decision, keys, read, old_item, self.window)
                )
        except TransactWriteError as err:
            if err.cause_response_code == "TransactionCanceledException":
                return None  # a list, the record or our own pointer changed: decide again
            raise
        return decision

    def _batch_get(self, keys: list[Key]) -> _Read:
        unique = list(dict.fromkeys(keys))
        found = IncidentItemModel.batch_get(unique)
        return _Read({(i.pk, i.sk): i for i in found})


def _connection() -> Any:
    """The model's own cached connection (a new one would build another botocore client)."""
    return IncidentItemModel._get_connection().connection


def record_key(incident_key: str) -> Key:
    return (f"INC#{incident_key}", META)


@dataclass(frozen=True)
class LookupKeys:
    """Everything a mention can be found by: its own pointer, bands, leader + query lists and
    the pointers of the posts it references."""

    own: Key
    bands: list[Key]
    lqs: list[Key]
    refs: list[Key]

    @classmethod
    def of(cls, probe: IncidentProbe) -> LookupKeys:
        return cls(
            (f"M#{probe.mention_key}", POINTER),
            [(_band_pk(b), LIST) for b in band_keys(probe.signature)],
            [(_lq_pk(probe.leader_id, q), LIST) for q in dict.fromkeys(probe.query_ids)],
            [(f"M#{r}", POINTER) for r in probe.references],
        )

    def all(self) -> list[Key]:
        return [self.own, *self.bands, *self.lqs, *self.refs]

    def candidates(self, read: _Read) -> set[str]:
        """The incident keys the lists and referenced pointers name."""
        keys: set[str] = set()
        for k in (*self.bands, *self.lqs):
            keys.update(e.rsplit("#", 1)[1] for e in _entries(read.get(k)))
        keys.update(item.incident_key for k in self.refs if (item := read.get(k)) is not None)
        return keys


Write = tuple[IncidentItemModel, IncidentItemModel | None]  # the new item, the one read


def incident_writes(
    probe: IncidentProbe,
    decision: IncidentDecision,
    keys: LookupKeys,
    read: _Read,
    old_item: IncidentItemModel | None,
    window: timedelta,
) -> list[Write]:
    """The record, the mention's pointer and every list after ``probe`` joined its incident."""
    key = decision.incident_key
    rec = record_with(_record_from(old_item) if old_item else None, probe, key, MAX_MENTIONS_KEPT)
    expires = rec.last_seen + window + timedelta(days=1)
    data = {
        "leader_id": rec.leader_id,
        "query_ids": list(rec.query_ids),
        "signatures": [signature_to_str(s) for s in rec.signatures],
        "first_seen": rec.first_seen.isoformat(),
        "last_seen": rec.last_seen.isoformat(),
        "mention_keys": list(rec.mention_keys),
    }
    entry = band_entry(probe.at, key)
    writes: list[Write] = [
        (IncidentItemModel(f"INC#{key}", META, incident_key=key, data=data), old_item),
        (IncidentItemModel(keys.own[0], keys.own[1], incident_key=key), None),
    ]
    for k in (*keys.bands, *keys.lqs):
        old = read.get(k)
        entries = _newest([*_entries(old), entry])
        item = IncidentItemModel(k[0], k[1], incident_key=key, data={"entries": entries})
        writes.append((item, old))
    for item, _ in writes:
        item.expires_at = expires
    return writes


def save_versioned(tx: TransactWrite, writes: list[Write]) -> None:
    """Each write on condition of the version it was read at (absent: it must still be)."""
    for item, old in writes:
        if old is None:
            item.version = 1
            tx.save(item, condition=IncidentItemModel.pk.does_not_exist())
        elif old.version is None:  # written before versions (issue 17)
            item.version = 1
            tx.save(item, condition=IncidentItemModel.version.does_not_exist())
        else:
            item.version = int(old.version) + 1
            tx.save(item, condition=IncidentItemModel.version == int(old.version))
