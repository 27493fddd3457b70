"""DynamoDB repositories. PynamoDB exceptions are caught here and nowhere else."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DoesNotExist,
    PutError,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
)
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.models import (
    AuditModel,
    ConfigItemModel,
    MentionModel,
    TaskEventModel,
    TaskModel,
)
from chalicelib.domain.access import Scope
from chalicelib.domain.analysis import AnalyzedMention
from chalicelib.domain.config_kinds import VERSION_KEY
from chalicelib.domain.contacts import redact_contacts
from chalicelib.domain.keywords import QueryMatch
from chalicelib.domain.mention import mention_to_dict
from chalicelib.domain.pagination import decode_cursor, encode_cursor
from chalicelib.domain.tasks import Task, TaskAction, TaskEvent, TaskStatus
from chalicelib.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    PreconditionFailedError,
    UpstreamError,
)
from chalicelib.services.ports import (
    AuditRecord,
    ConfigRecord,
    IndexItem,
    MentionRecord,
    StoredMention,
)

CONDITIONAL_FAILED = "ConditionalCheckFailedException"
REDACTED = "(deleted on the platform)"


def _conditional_failed(err: PynamoDBException) -> bool:
    return err.cause_response_code == CONDITIONAL_FAILED


def _resume_key(
    cursor: str | None, partition: tuple[str, str], fields: dict[str, str]
) -> dict[str, dict[str, Any]] | None:
    """The index key to resume a listing from (``fields``: cursor name -> attribute).

    The partition always comes from the caller, never from the cursor, so a forged cursor
    cannot reach another team's or state's items.
    """
    if not cursor:
        return None
    pos = decode_cursor(cursor, tuple(fields))
    key = {attribute: {"S": pos[name]} for name, attribute in fields.items()}
    key[partition[0]] = {"S": partition[1]}
    return key


def _conditional_write(write: Callable[[], object], failure: str) -> bool:
    """Run a conditional put or update: False when its condition failed, else True.

    Any other failure becomes an UpstreamError saying ``failure``.
    """
    try:
        write()
    except (PutError, UpdateError) as err:
        if _conditional_failed(err):
            return False
        raise UpstreamError(failure) from err
    return True


MAX_FILTERED_PAGES = 5


def _mention_cursor(item: dict[str, Any]) -> str:
    """The position of a by-state index item (raw DynamoDB JSON) as an opaque cursor."""
    return encode_cursor({"i": item["ingested_at"]["S"], "k": item["key"]["S"]})


class DynamoMentionRepository:
    def __init__(self, max_filtered_pages: int = MAX_FILTERED_PAGES) -> None:
        self.max_filtered_pages = max_filtered_pages

    def status_of(self, key: str) -> str | None:
        try:
            item = MentionModel.get(key, attributes_to_get=["status"])
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError(f"reading mention {key} failed: {err.cause_response_code}") from err
        return item.status

    def put_new(self, analyzed: AnalyzedMention, correlation_id: str) -> bool:
        item = _mention_model(analyzed, correlation_id)
        return _conditional_write(
            lambda: item.save(condition=MentionModel.key.does_not_exist()),
            f"storing mention {analyzed.mention.key} failed",
        )

    def delete(self, key: str) -> list[str]:
        try:
            old = MentionModel.get(key)
        except DoesNotExist:
            return []
        except PynamoDBException as err:
            raise UpstreamError(f"reading mention {key} failed") from err
        try:
            old.delete()
        except PynamoDBException as err:
            raise UpstreamError(f"deleting mention {key} failed") from err
        return [str(t) for t in old.task_ids or ()]

    def mark_routed(self, key: str, task_ids: Sequence[str]) -> None:
        try:
            MentionModel(key=key).update(
                actions=[
                    MentionModel.status.set("routed"),
                    MentionModel.task_ids.set(list(task_ids)),  # type: ignore[arg-type]  # stub: list of str,
                ],
                condition=MentionModel.key.exists(),
            )
        except UpdateError as err:
            raise UpstreamError(f"marking mention {key} routed failed") from err

    def put_routed(
        self, analyzed: AnalyzedMention, correlation_id: str, task_ids: Sequence[str]
    ) -> bool:
        item = _mention_model(analyzed, correlation_id)
        item.status = "routed"
        item.task_ids = list(task_ids)  # type: ignore[arg-type]  # stub: a list of str
        return _conditional_write(
            lambda: item.save(
                condition=MentionModel.key.does_not_exist() | (MentionModel.status != "routed")
            ),
            f"storing mention {analyzed.mention.key} failed",
        )

    def sample(self, limit: int) -> list[StoredMention]:
        try:
            return [
                StoredMention(m.key, m.text, m.lang, m.state or "")
                for m in MentionModel.scan(
                    limit=limit, attributes_to_get=["key", "text", "lang", "state"]
                )
            ]
        except PynamoDBException as err:
            raise UpstreamError("reading stored mentions failed") from err

    def get(self, key: str) -> MentionRecord | None:
        try:
            return _mention_from_model(MentionModel.get(key))
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError(f"reading mention {key} failed") from err

    def get_many(self, keys: Sequence[str]) -> list[MentionRecord]:
        try:  # BatchGetItem, 100 keys a call; PynamoDB retries unprocessed keys
            return [
                _mention_from_model(m) for m in MentionModel.batch_get(list(dict.fromkeys(keys)))
            ]
        except PynamoDBException as err:
            raise UpstreamError("reading stored mentions failed") from err

    def list_by_state(
        self, state: str, limit: int, cursor: str | None = None, matched: bool | None = None
    ) -> tuple[list[MentionRecord], str | None]:
        start = _resume_key(cursor, ("state", state), {"i": "ingested_at", "k": "key"})
        condition = None
        if matched is not None:
            has = MentionModel.matches
            condition = has.exists() if matched else has.does_not_exist()
        # A filter is applied after the read: a rare kind of post could make one request read
        # a whole month of a state. Read at most ``max_filtered_pages`` index pages, then hand
        # back a short page with a cursor where the reading stopped.
        page_size = limit if condition is None else min(limit * 4, 400)
        budget = 1 if condition is None else self.max_filtered_pages
        out: list[MentionRecord] = []
        try:
            pages = MentionModel.by_state.query(
                state,
                scan_index_forward=False,
                last_evaluated_key=start,
                filter_condition=condition,
                page_size=page_size,
            ).page_iter
            for _ in range(budget):
                page = next(pages, None)
                if page is None:
                    return out, None
                items = page.get("Items", [])
                for i, raw in enumerate(items):
                    out.append(_mention_from_model(MentionModel.from_raw_data(raw)))
                    if len(out) == limit:
                        more = i + 1 < len(items) or pages.last_evaluated_key is not None
                        return out, _mention_cursor(raw) if more else None
                if pages.last_evaluated_key is None:
                    return out, None
            last = pages.last_evaluated_key
        except PynamoDBException as err:
            raise UpstreamError(f"listing mentions of {state} failed") from err
        return out, _mention_cursor(last) if last else None


def _mention_model(analyzed: AnalyzedMention, correlation_id: str) -> MentionModel:
    """The stored form of an analyzed mention, status "analyzed"."""
    m = analyzed.mention
    lang = analyzed.language
    return MentionModel(
        key=m.key,
        platform=m.platform,
        native_id=m.native_id,
        author_handle=m.author.handle,
        leader_id=analyzed.leader.id if analyzed.leader else None,
        state=analyzed.leader.state if analyzed.leader else None,
        created_at=m.created_at,
        ingested_at=analyzed.ingested_at,
        text=m.text,
        lang=lang.lang,
        script=lang.script,
        mixed=lang.mixed,
        lang_confidence=round(lang.confidence, 4),
        matches=[q.as_dict() for q in analyzed.matches] or None,
        status="analyzed",
        payload=mention_to_dict(m),
        correlation_id=correlation_id,
        expires_at=analyzed.expires_at,
    )


def _mention_from_model(m: MentionModel) -> MentionRecord:
    return MentionRecord(
        key=m.key,
        platform=m.platform,
        author_handle=m.author_handle,
        leader_id=m.leader_id or "",
        state=m.state or "",
        created_at=m.created_at,
        ingested_at=m.ingested_at,
        text=m.text,
        url=str((m.payload or {}).get("url") or ""),
        lang=m.lang,
        script=m.script,
        mixed=bool(m.mixed),
        matches=tuple(
            QueryMatch(
                str(q["query_id"]),
                tuple(str(t) for t in q["terms"]),
                tuple((int(a), int(b)) for a, b in q["spans"]),
            )
            for q in m.matches or ()
        ),
        status=m.status,
        task_ids=tuple(str(t) for t in m.task_ids or ()),
    )


def open_bucket(state: str) -> str:
    """The open-by-due index partition of a state (36 partitions spread the load)."""
    return f"open#{state}"


def _task_to_model(task: Task) -> TaskModel:
    due = task.escalate_at if task.is_open else None
    return TaskModel(
        task_id=task.task_id,
        team_id=task.team_id,
        state=task.state,
        district=task.district,
        incident_key=task.incident_key,
        mention_key=task.mention_key,
        status=task.status.value,
        version=task.version,
        created_at=task.created_at,
        updated_at=task.updated_at,
        leader_id=task.leader_id,
        leader_name=task.leader_name,
        query_ids=list(task.query_ids),  # type: ignore[arg-type]  # stub: list of str
        terms=list(task.terms),  # type: ignore[arg-type]  # stub: list of str
        category=task.category,
        severity=task.severity,
        lang=task.lang,
        excerpt=task.excerpt,
        url=task.url,
        route=dict(task.route) or None,
        response_url=task.response_url,
        sns_message_id=task.sns_message_id,
        escalation_step=task.escalation_step,
        mention_count=task.mention_count,
        priority=task.priority,
        last_mention_key=task.mention_key,
        escalate_at=due,
        open_bucket=open_bucket(task.state) if due is not None else None,
    )


def task_from_model(item: TaskModel) -> Task:
    return Task(
        task_id=item.task_id,
        team_id=item.team_id,
        state=item.state,
        district=item.district or "",
        incident_key=item.incident_key,
        mention_key=item.mention_key,
        created_at=item.created_at,
        status=TaskStatus(item.status),
        version=int(item.version),
        leader_id=item.leader_id or "",
        leader_name=item.leader_name or "",
        query_ids=tuple(str(q) for q in item.query_ids or ()),
        terms=tuple(str(t) for t in item.terms or ()),
        category=item.category or "",
        severity=int(item.severity),
        lang=item.lang or "und",
        excerpt=item.excerpt or "",
        url=item.url or "",
        route=item.route or {},
        response_url=item.response_url or "",
        updated_at=item.updated_at,
        sns_message_id=item.sns_message_id or "",
        escalation_step=int(item.escalation_step or 0),
        mention_count=int(item.mention_count or 1),
        priority=float(item.priority or 0),
        escalate_at=item.escalate_at,
    )


def task_from_stream_image(image: dict[str, Any]) -> Task:
    """A task from a DynamoDB stream record's ``NewImage`` (DynamoDB JSON)."""
    return task_from_model(TaskModel.from_raw_data(image))


class DynamoTaskRepository:
    def create(self, task: Task) -> bool:
        return _conditional_write(
            lambda: _task_to_model(task).save(condition=TaskModel.task_id.does_not_exist()),
            f"creating task {task.task_id} failed",
        )

    def create_all(self, tasks: Sequence[Task]) -> bool:
        # One call, and the tasks of one mention reach the stream together: dispatch sees them
        # in one batch and sends one notice per state and language (docs/response.md §6).
        try:
            with TransactWrite(connection=_connection_for(TaskModel)) as tx:
                for task in tasks:
                    tx.save(_task_to_model(task), condition=TaskModel.task_id.does_not_exist())
        except TransactWriteError as err:
            if err.cause_response_code == "TransactionCanceledException":
                return False
            raise UpstreamError("creating tasks failed") from err
        return True

    def get(self, task_id: str) -> Task | None:
        try:
            return task_from_model(TaskModel.get(task_id, consistent_read=True))
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError(f"reading task {task_id} failed") from err

    def save_transition(self, task: Task, event: TaskEvent, expected_version: int) -> None:
        event_item = TaskEventModel(
            task_id=event.task_id,
            seq=event.seq,
            action=event.action.value,
            actor=event.actor,
            at=event.at,
            from_status=event.from_status.value,
            to_status=event.to_status.value,
            detail=dict(event.detail) or None,
        )
        try:
            with TransactWrite(connection=_connection_for(TaskModel)) as tx:
                tx.save(_task_to_model(task), condition=TaskModel.version == expected_version)
                tx.save(event_item, condition=TaskEventModel.seq.does_not_exist())
        except TransactWriteError as err:
            if err.cause_response_code == "TransactionCanceledException":
                raise ConflictError(
                    f"task {task.task_id} changed since version {expected_version}"
                ) from err
            raise UpstreamError(f"saving task {task.task_id} failed") from err

    def redact(self, task_id: str, mention_key: str) -> None:
        # A task opened by another mention of the incident keeps its text (condition fails).
        _conditional_write(
            lambda: TaskModel(task_id=task_id).update(
                actions=[TaskModel.excerpt.set(REDACTED)],
                condition=TaskModel.task_id.exists() & (TaskModel.mention_key == mention_key),
            ),
            f"redacting task {task_id} failed",
        )

    def note_mention(self, task_id: str, mention_key: str, priority: float = 0.0) -> bool:
        # Once per mention: a redelivered mention does not count twice (condition fails). The
        # update returns the task as it is now, so the priority is written only if it rises.
        counted = TaskModel(task_id=task_id)
        if not _conditional_write(
            lambda: counted.update(
                actions=[
                    TaskModel.mention_count.add(1),
                    TaskModel.last_mention_key.set(mention_key),
                ],
                condition=TaskModel.task_id.exists() & (TaskModel.last_mention_key != mention_key),
            ),
            f"updating task {task_id} failed",
        ):
            return False
        if counted.priority is None or counted.priority < priority:
            # Priority only rises: a repost wave with more engagement makes the task more urgent.
            _conditional_write(
                lambda: TaskModel(task_id=task_id).update(
                    actions=[TaskModel.priority.set(priority)],
                    condition=TaskModel.task_id.exists() & (TaskModel.priority < priority),
                ),
                f"raising the priority of task {task_id} failed",
            )
        return True

    def due_for_escalation(self, state: str, now: datetime) -> list[Task]:
        try:
            return [
                task_from_model(item)
                for item in TaskModel.open_by_due.query(
                    open_bucket(state), TaskModel.escalate_at <= now
                )
            ]
        except PynamoDBException as err:
            raise UpstreamError(f"reading tasks due for escalation in {state} failed") from err

    def record_escalation(self, task: Task, done: int, next_at: datetime | None) -> bool:
        """Record that step ``done`` was taken; False if another run or a transition came first."""
        actions: list[Any] = [TaskModel.escalation_step.set(done + 1)]
        if next_at is None or not task.is_open:
            actions += [TaskModel.escalate_at.remove(), TaskModel.open_bucket.remove()]
        else:
            actions += [
                TaskModel.escalate_at.set(next_at),
                TaskModel.open_bucket.set(open_bucket(task.state)),
            ]
        return _conditional_write(
            lambda: TaskModel(task_id=task.task_id).update(
                actions=actions,
                condition=(TaskModel.escalation_step == done) & (TaskModel.version == task.version),
            ),
            f"recording escalation of {task.task_id} failed",
        )

    def events(self, task_id: str) -> list[TaskEvent]:
        try:
            return [
                TaskEvent(
                    task_id=e.task_id,
                    seq=int(e.seq),
                    action=TaskAction(e.action),
                    actor=e.actor,
                    at=e.at,
                    from_status=TaskStatus(e.from_status),
                    to_status=TaskStatus(e.to_status),
                    detail=e.detail or {},
                )
                for e in TaskEventModel.query(task_id, consistent_read=True)
            ]
        except PynamoDBException as err:
            raise UpstreamError(f"reading events of task {task_id} failed") from err

    def list_by_team(
        self, team_id: str, limit: int, cursor: str | None = None, status: str | None = None
    ) -> tuple[list[Task], str | None]:
        start = _resume_key(cursor, ("team_id", team_id), {"c": "created_at", "t": "task_id"})
        try:
            result = TaskModel.by_team.query(
                team_id,
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=start,
                filter_condition=(TaskModel.status == status) if status else None,
            )
            tasks = [task_from_model(item) for item in result]
            last = result.last_evaluated_key
        except PynamoDBException as err:
            raise UpstreamError(f"listing tasks of team {team_id} failed") from err
        if not last:
            return tasks, None
        return tasks, encode_cursor({"c": last["created_at"]["S"], "t": last["task_id"]["S"]})

    def get_many(self, task_ids: Sequence[str]) -> dict[str, Task]:
        try:  # BatchGetItem, 100 keys a call; PynamoDB retries unprocessed keys
            items = TaskModel.batch_get(list(dict.fromkeys(task_ids)), consistent_read=True)
            return {item.task_id: task_from_model(item) for item in items}
        except PynamoDBException as err:
            raise UpstreamError(f"reading {len(task_ids)} tasks failed") from err


# The config single table (pk, sk): where each kind lives is domain.config_kinds's to say.


class DynamoConfigRepository:
    def __init__(self, clock: Callable[[], datetime], new_id: Callable[[], str] | None = None):
        self._clock = clock
        self._new_id = new_id or (lambda: uuid.uuid4().hex)

    def get_item(self, pk: str, sk: str) -> ConfigRecord | None:
        try:
            item = ConfigItemModel.get(pk, sk, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError(f"reading {pk}/{sk} failed") from err
        return _record(item)

    def list_items(
        self, pk: str, limit: int | None = None, after: str | None = None
    ) -> list[ConfigRecord]:
        condition = ConfigItemModel.sk > after if after is not None else None
        try:
            return [
                _record(i)
                for i in ConfigItemModel.query(
                    pk, condition, consistent_read=True, limit=limit, page_size=limit
                )
            ]
        except PynamoDBException as err:
            raise UpstreamError(f"listing {pk} failed") from err

    def write_item(
        self,
        pk: str,
        sk: str,
        kind: str,
        data: dict[str, Any] | None,
        scope: str,
        actor: str,
        expected_version: int | None,
        index: Sequence[IndexItem] = (),
        objects: Sequence[Scope] = (),
    ) -> ConfigRecord | None:
        before = self.get_item(pk, sk)
        if expected_version is None and before is not None:
            raise ConflictError(f"{kind} {sk} exists already", [FieldProblem("id", "taken")])
        if expected_version is not None and before is None:
            raise NotFoundError(f"no such {kind}")
        if before is not None and before.version != expected_version:
            raise PreconditionFailedError(
                f"{kind} {sk} is at version {before.version}, not {expected_version}"
            )
        now = self._clock()
        version = 1 if before is None else before.version + 1
        action = "create" if before is None else ("delete" if data is None else "update")
        audit = AuditModel(
            scope=scope,
            at_id=f"{now.isoformat()}#{self._new_id()}",
            actor=actor,
            action=action,
            entity=kind,
            entity_id=sk,
            # Members' phone numbers and addresses are masked in the audit trail (domain.contacts).
            before=redact_contacts(None if before is None else before.data),
            after=redact_contacts(data),
            objects=[dataclasses.asdict(o) for o in objects] if objects else None,
        )
        condition = (
            ConfigItemModel.pk.does_not_exist()
            if before is None
            else ConfigItemModel.version == before.version
        )
        item = ConfigItemModel(
            pk=pk,
            sk=sk,
            kind=kind,
            data=data or {},
            version=version,
            updated_at=now,
            updated_by=actor,
        )
        try:
            with TransactWrite(connection=_connection_for(ConfigItemModel)) as tx:
                if data is None:
                    tx.delete(item, condition=condition)
                else:
                    tx.save(item, condition=condition)
                # Append-only: an audit record is never overwritten.
                tx.save(audit, condition=AuditModel.at_id.does_not_exist())
                tx.update(
                    ConfigItemModel(pk=VERSION_KEY[0], sk=VERSION_KEY[1], kind="meta", data={}),
                    actions=[
                        ConfigItemModel.version.add(1),
                        ConfigItemModel.kind.set("meta"),
                        ConfigItemModel.data.set({}),
                    ],
                )
                for ipk, isk, idata in index:
                    pointer = ConfigItemModel(pk=ipk, sk=isk, kind="index", data=idata or {})
                    if idata is None:
                        tx.delete(pointer)
                    elif before is None:
                        # A new item claims its pointer (a team id is unique across states):
                        # of two creates racing for one id, only one transaction commits.
                        tx.save(pointer, condition=ConfigItemModel.pk.does_not_exist())
                    else:
                        tx.save(pointer)
        except TransactWriteError as err:
            if err.cause_response_code == "TransactionCanceledException":
                if before is None:
                    raise ConflictError(
                        f"{kind} {sk} exists already", [FieldProblem("id", "taken")]
                    ) from err
                raise PreconditionFailedError(f"{kind} {sk} changed concurrently") from err
            raise UpstreamError(f"saving {kind} {sk} failed") from err
        if data is None:
            return None
        return ConfigRecord(kind, sk, data, version, now, actor)

    def audit_log(
        self, scope: str, limit: int, cursor: str | None = None
    ) -> tuple[list[AuditRecord], str | None]:
        start = None
        if cursor:
            pos = decode_cursor(cursor, ("a",))
            start = {"scope": {"S": scope}, "at_id": {"S": pos["a"]}}
        try:
            result = AuditModel.query(
                scope, scan_index_forward=False, limit=limit, last_evaluated_key=start
            )
            records = [
                AuditRecord(
                    scope=r.scope,
                    at=r.at_id.split("#", 1)[0],
                    actor=r.actor,
                    action=r.action,
                    entity=r.entity,
                    entity_id=r.entity_id,
                    before=r.before,
                    after=r.after,
                    objects=None if r.objects is None else tuple(Scope(**o) for o in r.objects),
                )
                for r in result
            ]
            last = result.last_evaluated_key
        except PynamoDBException as err:
            raise UpstreamError(f"reading the audit log of {scope} failed") from err
        return records, encode_cursor({"a": last["at_id"]["S"]}) if last else None


def _record(item: ConfigItemModel) -> ConfigRecord:
    return ConfigRecord(
        kind=item.kind,
        id=item.sk,
        data=item.data or {},
        version=int(item.version),
        updated_at=item.updated_at,
        updated_by=item.updated_by or "",
    )


def _connection_for(model: type[Any]) -> Connection:
    """The model's own cached connection: a new one would build a new botocore client (~0.1 s)."""
    connection: Connection = model._get_connection().connection
    return connection
