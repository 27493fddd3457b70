"""The incident index on DynamoDB: the lookups of ``domain.incidents.IncidentIndex``, stored.

Concurrent analyzers may both open an incident for two near-duplicates that arrive in the same
instant; each mention still gets exactly one incident and every later mention joins one of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.adapters.dynamo.models import IncidentItemModel
from chalicelib.domain.incidents import (
    DEFAULT_WINDOW,
    IncidentDecision,
    IncidentProbe,
    IncidentRecord,
    band_keys,
    decide_incident,
)
from chalicelib.errors import UpstreamError

META = "META"
MAX_MENTIONS_KEPT = 200  # a viral incident's record stays small; the mentions table has them all


def _record_from(item: IncidentItemModel) -> IncidentRecord:
    d: dict[str, Any] = item.data or {}
    return IncidentRecord(
        incident_key=item.incident_key,
        leader_id=d.get("leader_id", ""),
        query_ids=tuple(d.get("query_ids", ())),
        simhashes=tuple(int(h) for h in d.get("simhashes", ())),
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
        lookups = [f"BAND#{b}" for b in band_keys(probe.simhash)] if probe.simhash else []
        lookups += [f"LQ#{probe.leader_id}#{q}" for q in probe.query_ids]
        keys: set[str] = set()
        for pk in lookups:
            keys.update(i.incident_key for i in IncidentItemModel.query(pk))
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
        first = old.first_seen if old else probe.at
        last = max(old.last_seen, probe.at) if old else probe.at
        hashes = list(old.simhashes) if old else []
        if probe.simhash and probe.simhash not in hashes:
            hashes.append(probe.simhash)
        mentions = list(old.mention_keys) if old else []
        if probe.mention_key not in mentions:
            mentions = [*mentions, probe.mention_key][-MAX_MENTIONS_KEPT:]
        expires = last + self.window + timedelta(days=1)
        data = {
            "leader_id": old.leader_id if old else probe.leader_id,
            "query_ids": list(dict.fromkeys((old.query_ids if old else ()) + probe.query_ids)),
            "simhashes": [str(h) for h in hashes],
            "first_seen": first.isoformat(),
            "last_seen": last.isoformat(),
            "mention_keys": mentions,
        }
        items = [IncidentItemModel(f"INC#{key}", META, incident_key=key, data=data)]
        items.append(IncidentItemModel(f"M#{probe.mention_key}", "INC", incident_key=key))
        if probe.simhash:
            items += [
                IncidentItemModel(f"BAND#{b}", key, incident_key=key)
                for b in band_keys(probe.simhash)
            ]
        items += [
            IncidentItemModel(f"LQ#{probe.leader_id}#{q}", key, incident_key=key)
            for q in probe.query_ids
        ]
        with IncidentItemModel.batch_write() as batch:
            for item in items:
                item.expires_at = expires
                batch.save(item)
