"""The incident index on DynamoDB: the lookups of ``domain.incidents.IncidentIndex``, stored.

Reads per mention (the latency issue counts AWS calls): one Query per band (8, each at most
``BAND_READ_LIMIT`` items, newest first, so a band shared by many posts costs one page), one
Query per matched keyword query (leader + query), one GetItem per referenced post, one
BatchGetItem for the candidate records and one GetItem for the chosen record; then one
BatchWriteItem. The same count as with the SimHash bands before, now bounded in size.

Concurrent analyzers may both open an incident for two near-duplicates that arrive in the same
instant; each mention still gets exactly one incident and every later mention joins one of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

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
MAX_MENTIONS_KEPT = 200  # a viral incident's record stays small; the mentions table has them all


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


class DynamoIncidentIndex:
    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window

    def incident_of(self, mention_key: str) -> str | None:
        try:
            return IncidentItemModel.get(f"M#{mention_key}", "INC").incident_key
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

    def _candidates(self, probe: IncidentProbe) -> list[IncidentRecord]:
        keys: set[str] = set()
        for b in band_keys(probe.signature):
            newest = IncidentItemModel.query(
                f"BAND#{b}", scan_index_forward=False, limit=BAND_READ_LIMIT
            )
            keys.update(i.incident_key for i in newest)
        for q in probe.query_ids:
            same = IncidentItemModel.query(f"LQ#{probe.leader_id}#{q}")
            keys.update(i.incident_key for i in same)
        for ref in probe.references:
            found = self.incident_of(ref)
            if found:
                keys.add(found)
        records = IncidentItemModel.batch_get([(f"INC#{k}", META) for k in sorted(keys)])
        return [_record_from(r) for r in records]

    def assign(self, probe: IncidentProbe) -> IncidentDecision:
        """Decide the incident of ``probe`` and record the mention in it."""
        try:
            decision = decide_incident(probe, self._candidates(probe), self.window)
            self._record(probe, decision.incident_key)
        except PynamoDBException as err:
            raise UpstreamError("updating the incident index failed") from err
        return decision

    def _record(self, probe: IncidentProbe, key: str) -> None:
        try:
            old: IncidentRecord | None = _record_from(IncidentItemModel.get(f"INC#{key}", META))
        except DoesNotExist:
            old = None
        rec = record_with(old, probe, key, MAX_MENTIONS_KEPT)
        expires = rec.last_seen + self.window + timedelta(days=1)
        data = {
            "leader_id": rec.leader_id,
            "query_ids": list(rec.query_ids),
            "signatures": [signature_to_str(s) for s in rec.signatures],
            "first_seen": rec.first_seen.isoformat(),
            "last_seen": rec.last_seen.isoformat(),
            "mention_keys": list(rec.mention_keys),
        }
        items = [IncidentItemModel(f"INC#{key}", META, incident_key=key, data=data)]
        items.append(IncidentItemModel(f"M#{probe.mention_key}", "INC", incident_key=key))
        items += [
            IncidentItemModel(f"BAND#{b}", band_entry(probe.at, key), incident_key=key)
            for b in band_keys(probe.signature)
        ]
        items += [
            IncidentItemModel(f"LQ#{probe.leader_id}#{q}", key, incident_key=key)
            for q in probe.query_ids
        ]
        with IncidentItemModel.batch_write() as batch:
            for item in items:
                item.expires_at = expires
                batch.save(item)
