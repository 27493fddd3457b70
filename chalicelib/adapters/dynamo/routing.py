"""A matched mention routed in three DynamoDB calls at most (issue 17: <= 4 on the common path).

1. one BatchGetItem across three tables: the mention's incident lookups (its own pointer, band
   and leader + query lists, referenced pointers), the mention itself (was it routed?) and the
   tasks it would open in a new incident of its own;
2. one BatchGetItem of the candidate incidents those lookups name and of the tasks the mention
   would count in each (skipped when nothing is named);
3. one TransactWriteItems of all of it: the incident record, pointer and lists (each on the
   version read), every task opened (on its absence) or counted (once per mention, on the
   task's existence; its priority only rises), and the mention, stored routed.

All or nothing, so a crash leaves nothing half-done, and a redelivery finds its own pointer and
is a duplicate. A condition that fails (a concurrent writer changed a list, a task, the
mention) cancels the transaction; the router reads and decides again, a few times at most,
then SQS retries the message. Before, the incident's transaction, the task writes and the
mention's PutItem were separate calls: 5 or 6 on the bench's common path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.incidents import (
    ATTEMPTS,
    REDELIVERY,
    Key,
    LookupKeys,
    _connection,
    _Read,
    _record_from,
    contention_pause,
    incident_writes,
    record_key,
    save_versioned,
)
from chalicelib.adapters.dynamo.models import IncidentItemModel, MentionModel, TaskModel
from chalicelib.adapters.dynamo.repositories import _mention_model, _task_to_model
from chalicelib.domain.analysis import AnalyzedMention
from chalicelib.domain.incidents import (
    DEFAULT_WINDOW,
    IncidentDecision,
    IncidentProbe,
    decide_incident,
    incident_key_for,
)
from chalicelib.domain.tasks import Task
from chalicelib.errors import UpstreamError
from chalicelib.services.ports import RoutedMention

ROUTED = "routed"
CANCELLED = "TransactionCanceledException"
BATCH_GET_LIMIT = 100  # keys in one BatchGetItem (DynamoDB's limit)
UNPROCESSED_ROUNDS = 5  # asking again for keys DynamoDB left unprocessed, then SQS retries


class _Reads:
    """One cross-table BatchGetItem's items, by model and key."""

    def __init__(self) -> None:
        self.incidents: dict[Key, IncidentItemModel] = {}
        self.mentions: dict[str, MentionModel] = {}
        self.tasks: dict[str, TaskModel] = {}

    def incident_read(self) -> _Read:
        return _Read(self.incidents)

    def add(self, item: Model) -> None:
        if isinstance(item, IncidentItemModel):
            self.incidents[(item.pk, item.sk)] = item
        elif isinstance(item, MentionModel):
            self.mentions[item.key] = item
        elif isinstance(item, TaskModel):
            self.tasks[item.task_id] = item


def _batch_get(incident_keys: list[Key], mention_keys: list[str], task_ids: list[str]) -> _Reads:
    """Read items of three tables in one BatchGetItem: more only past its 100 keys, or for
    keys DynamoDB left unprocessed (throttling, 16 MB)."""
    wanted: list[tuple[type[Model], dict[str, Any], bool]] = [
        *(
            (IncidentItemModel, {"pk": {"S": pk}, "sk": {"S": sk}}, False)
            for pk, sk in dict.fromkeys(incident_keys)
        ),
        # The mention and its tasks are read consistently: they decide what gets written.
        *((MentionModel, {"key": {"S": k}}, True) for k in dict.fromkeys(mention_keys)),
        *((TaskModel, {"task_id": {"S": t}}, True) for t in dict.fromkeys(task_ids)),
    ]
    tables = {model.Meta.table_name: model for model, _, _ in wanted}
    reads = _Reads()
    connection = _connection()
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request: dict[str, Any] = {}
        for model, key, consistent in wanted[start : start + BATCH_GET_LIMIT]:
            table = request.setdefault(
                model.Meta.table_name, {"Keys": [], "ConsistentRead": consistent}
            )
            table["Keys"].append(key)
        for round_ in range(UNPROCESSED_ROUNDS):
            if not request:
                break
            contention_pause(round_)
            try:
                response = connection.dispatch("BatchGetItem", {"RequestItems": request})
            except (BotoCoreError, ClientError) as err:
                raise UpstreamError("reading the incident index, mention and tasks failed") from err
            for name, items in response.get("Responses", {}).items():
                for raw in items:
                    reads.add(tables[name].from_raw_data(raw))
            request = response.get("UnprocessedKeys") or {}
        if request:
            raise UpstreamError("DynamoDB left keys unread; the message is retried")
    return reads


class DynamoMentionRouter:
    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window

    def route(
        self,
        analyzed: AnalyzedMention,
        probe: IncidentProbe,
        plan: Callable[[str], list[Task]],
        correlation_id: str,
    ) -> RoutedMention:
        planned: dict[str, list[Task]] = {}

        def plan_for(incident_key: str) -> list[Task]:
            if incident_key not in planned:
                planned[incident_key] = plan(incident_key)
            return planned[incident_key]

        try:
            for attempt in range(ATTEMPTS):
                contention_pause(attempt)
                done = self._try_route(analyzed, probe, plan_for, correlation_id)
                if done is not None:
                    return done
        except PynamoDBException as err:
            raise UpstreamError("routing a mention failed") from err
        raise UpstreamError("the incident or its tasks kept changing under this mention; retried")

    def _try_route(
        self,
        analyzed: AnalyzedMention,
        probe: IncidentProbe,
        plan_for: Callable[[str], list[Task]],
        correlation_id: str,
    ) -> RoutedMention | None:
        keys = LookupKeys.of(probe)
        own_key = incident_key_for(probe.mention_key)
        first = _batch_get(keys.all(), [probe.mention_key], [t.task_id for t in plan_for(own_key)])
        read = first.incident_read()
        mine = read.get(keys.own)
        mention = first.mentions.get(probe.mention_key)
        if mention is not None and mention.status == ROUTED:
            # Routed in the same write as its pointer: read consistently, this is the mark of
            # a redelivery even when the pointer's (eventually consistent) read lags.
            key = mine.incident_key if mine is not None else ""
            return RoutedMention(IncidentDecision(key, REDELIVERY), (), (), True)
        if mine is not None:
            decision = IncidentDecision(mine.incident_key, REDELIVERY)
            # Its incident was written without the mention (before issue 17 the two were
            # separate writes): finish the routing, the incident already counts it.
            tasks = first.tasks
            if decision.incident_key != own_key:
                ids = [t.task_id for t in plan_for(decision.incident_key)]
                tasks = _batch_get([], [], ids).tasks
            return self._write(analyzed, decision, [], tasks, plan_for, correlation_id)
        found = keys.candidates(read)
        second = (
            _batch_get(
                [record_key(k) for k in sorted(found)],
                [],
                [t.task_id for k in sorted(found) for t in plan_for(k)],
            )
            if found
            else _Reads()
        )
        records = second.incident_read()
        decision = decide_incident(
            probe, [_record_from(i) for i in records.items.values()], self.window
        )
        old_item = records.get(record_key(decision.incident_key))
        writes = incident_writes(probe, decision, keys, read, old_item, self.window)
        tasks = {**first.tasks, **second.tasks}
        return self._write(analyzed, decision, writes, tasks, plan_for, correlation_id)

    def _write(
        self,
        analyzed: AnalyzedMention,
        decision: IncidentDecision,
        incident: list[tuple[IncidentItemModel, IncidentItemModel | None]],
        existing: Mapping[str, TaskModel],
        plan_for: Callable[[str], list[Task]],
        correlation_id: str,
    ) -> RoutedMention | None:
        mention_key = analyzed.mention.key
        tasks = plan_for(decision.incident_key)
        created: list[str] = []
        stored = _mention_model(analyzed, correlation_id)
        stored.status = ROUTED
        stored.task_ids = [t.task_id for t in tasks]  # type: ignore[misc]  # stub: list of str
        try:
            with TransactWrite(connection=_connection()) as tx:
                save_versioned(tx, incident)
                for task in tasks:
                    old = existing.get(task.task_id)
                    if old is None:
                        # One open task per (team, incident): opened once, on its absence.
                        tx.save(_task_to_model(task), condition=TaskModel.task_id.does_not_exist())
                        created.append(task.task_id)
                    elif old.last_mention_key != mention_key:
                        _count(tx, old, mention_key, task.priority)
                    # else: this mention was counted on the task already (a redelivery)
                tx.save(
                    stored,
                    condition=MentionModel.key.does_not_exist() | (MentionModel.status != ROUTED),
                )
        except TransactWriteError as err:
            if err.cause_response_code == CANCELLED:
                return None  # something read changed meanwhile: read and decide again
            raise
        return RoutedMention(decision, tuple(tasks), tuple(created))


def _count(tx: TransactWrite, old: TaskModel, mention_key: str, priority: float) -> None:
    """Count one more mention on a task; raise its priority when this one's is higher."""
    condition = TaskModel.task_id.exists() & (TaskModel.last_mention_key != mention_key)
    actions: list[Any] = [
        TaskModel.mention_count.add(1),
        TaskModel.last_mention_key.set(mention_key),
    ]
    if old.priority is None or old.priority < priority:
        # Priority only rises: written on condition it is still lower than ours.
        actions.append(TaskModel.priority.set(priority))
        lower = TaskModel.priority < priority
        condition = condition & (
            (TaskModel.priority.does_not_exist() | lower) if old.priority is None else lower
        )
    tx.update(TaskModel(task_id=old.task_id), actions=actions, condition=condition)
