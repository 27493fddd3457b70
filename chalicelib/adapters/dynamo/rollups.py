"""The daily rollup on DynamoDB: counters added in place, once per (task, kind).

Items (table ``rollups``, keys ``pk``/``sk``):

* ``seen#{task_id}`` / kind: the marker that makes a contribution count once (TTL);
* ``day#{state}`` and ``day#{state}/{district}`` / ``YYYY-MM-DD``: ``tasks``, ``acked``,
  ``completed``, ``declined`` and histogram buckets ``a{i}`` (acknowledge) and ``d{i}`` (complete);
* ``teams#{state}`` / ``YYYY-MM#{team_id}``: a team's month, ``district`` and per day of the
  month ``t{DD}`` (tasks), ``a{DD}`` (acknowledged), ``c{DD}`` (completed), ``x{DD}`` (declined).

The marker and the counters are written in one transaction, so a redelivered stream record
finds its marker and adds nothing. A month of 5,000 teams is 5,000 small items: the stats page
reads them with a few queries, never a task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.dynamo.models import RollupModel
from chalicelib.domain.rollup import Contribution, DayTotals, TeamTotals, bucket_of
from chalicelib.errors import UpstreamError
from chalicelib.services.rollup import area_of

_DAY_FIELD = {"task": "tasks", "ack": "acked", "done": "completed", "declined": "declined"}
_TEAM_LETTER = {"task": "t", "ack": "a", "done": "c", "declined": "d"}


class DynamoRollupStore:
    def __init__(self) -> None:
        self.queries = 0  # read requests made: what the page benchmark reports

    @property
    def _client(self) -> Any:
        connection: Any = RollupModel._get_connection()
        return connection.connection.client

    @property
    def _table(self) -> str:
        meta: Any = RollupModel.Meta
        return str(meta.table_name)

    def add(self, c: Contribution, marker_expires: datetime) -> bool:
        one = {":one": {"N": "1"}}
        day_add = f"{_DAY_FIELD[c.kind]} :one"
        if c.kind in ("ack", "done"):
            day_add += f", {'a' if c.kind == 'ack' else 'd'}{bucket_of(c.seconds or 0.0)} :one"
        areas = [area_of(c.state)] + ([area_of(c.state, c.district)] if c.district else [])
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": f"seen#{c.task_id}"},
                        "sk": {"S": c.kind},
                        "expires_at": {"N": str(int(marker_expires.timestamp()))},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        items += [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": f"day#{area}"}, "sk": {"S": c.day}},
                    "UpdateExpression": f"ADD {day_add}",
                    "ExpressionAttributeValues": one,
                }
            }
            for area in areas
        ]
        items.append(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {
                        "pk": {"S": f"teams#{c.state}"},
                        "sk": {"S": f"{c.day[:7]}#{c.team_id}"},
                    },
                    "UpdateExpression": (
                        f"SET district = :district ADD {_TEAM_LETTER[c.kind]}{c.day[8:10]} :one"
                    ),
                    "ExpressionAttributeValues": {**one, ":district": {"S": c.district}},
                }
            }
        )
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as err:
            reasons = err.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # counted before: a redelivered record
            raise UpstreamError("adding to the daily rollup failed") from err
        except BotoCoreError as err:
            raise UpstreamError("adding to the daily rollup failed") from err
        return True

    def _query(self, pk: str, low: str, high: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
                "ExpressionAttributeValues": {
                    ":pk": {"S": pk},
                    ":low": {"S": low},
                    ":high": {"S": high},
                },
            }
            if start:
                args["ExclusiveStartKey"] = start
            try:
                self.queries += 1
                page = self._client.query(**args)
            except (ClientError, BotoCoreError) as err:
                raise UpstreamError("reading the daily rollup failed") from err
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def days(self, area: str, first: str, last: str) -> list[DayTotals]:
        out = []
        for item in self._query(f"day#{area}", first, last):
            n = {k: int(v["N"]) for k, v in item.items() if "N" in v}
            out.append(
                DayTotals(
                    item["sk"]["S"],
                    n.get("tasks", 0),
                    n.get("acked", 0),
                    n.get("completed", 0),
                    n.get("declined", 0),
                    _hist(n, "a"),
                    _hist(n, "d"),
                )
            )
        return out

    def teams(self, state: str, first: str, last: str) -> list[TeamTotals]:
        totals: dict[str, TeamTotals] = {}
        for item in self._query(f"teams#{state}", f"{first[:7]}#", f"{last[:7]}#\uffff"):
            month, team_id = item["sk"]["S"].split("#", 1)
            counts = dict.fromkeys(_TEAM_LETTER.values(), 0)  # in TeamTotals' order
            for name, value in item.items():
                if (
                    "N" in value
                    and name[:1] in counts
                    and name[1:].isdigit()
                    and first <= f"{month}-{name[1:]}" <= last
                ):
                    counts[name[:1]] += int(value["N"])
            t = TeamTotals(team_id, item.get("district", {}).get("S", ""), *counts.values())
            if t.tasks or t.acked or t.completed or t.declined:
                totals[team_id] = totals[team_id].plus(t) if team_id in totals else t
        return list(totals.values())


def _hist(n: dict[str, int], letter: str) -> dict[int, int]:
    return {int(k[1:]): v for k, v in n.items() if k[:1] == letter and k[1:].isdigit()}
