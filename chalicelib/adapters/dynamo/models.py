"""PynamoDB models. Table names, region and endpoint are bound at run time by :func:`bind`.

The same schemas are declared for deployment in ``infra/`` (a test keeps the two in step).
Task versions are plain numbers owned by the domain state machine; repositories write them with
an explicit condition on the previous version (optimistic locking without VersionAttribute, whose
auto-increment would fight the domain's own numbering).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.adapters.aws_budget import AwsBudget


class MentionsByStateIndex(GlobalSecondaryIndex["MentionModel"]):
    """Sparse: only mentions of watched leaders carry ``state`` (``GET /mentions?state=``)."""

    class Meta:
        index_name = "by-state"
        projection = AllProjection()

    state = UnicodeAttribute(hash_key=True)
    ingested_at = UTCDateTimeAttribute(range_key=True)


class MentionModel(Model):
    """One stored post; ``expires_at`` is the TTL (longer for matched posts, kept as evidence)."""

    class Meta:
        table_name = "tvarit-mentions"
        region = "ap-south-1"

    key = UnicodeAttribute(hash_key=True)
    platform = UnicodeAttribute()
    native_id = UnicodeAttribute()
    author_handle = UnicodeAttribute()
    leader_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    ingested_at = UTCDateTimeAttribute()
    text = UnicodeAttribute()
    lang = UnicodeAttribute()
    script = UnicodeAttribute()
    mixed = BooleanAttribute(default=False)
    lang_confidence = NumberAttribute(default=0)
    matches = JSONAttribute(null=True)
    task_ids = ListAttribute(of=UnicodeAttribute, null=True)
    status = UnicodeAttribute()
    payload = JSONAttribute()
    correlation_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()
    by_state = MentionsByStateIndex()


class TasksByTeamIndex(GlobalSecondaryIndex["TaskModel"]):
    class Meta:
        index_name = "by-team"
        projection = AllProjection()

    team_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OpenTasksByDueIndex(GlobalSecondaryIndex["TaskModel"]):
    """Sparse: only open tasks with an escalation step due carry ``open_bucket``."""

    class Meta:
        index_name = "open-by-due"
        projection = AllProjection()

    open_bucket = UnicodeAttribute(hash_key=True)
    escalate_at = UTCDateTimeAttribute(range_key=True)


class TaskModel(Model):
    """The tasks table is also the outbox: its stream drives dispatch."""

    class Meta:
        table_name = "tvarit-tasks"
        region = "ap-south-1"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    task_id = UnicodeAttribute(hash_key=True)
    team_id = UnicodeAttribute()
    state = UnicodeAttribute()
    district = UnicodeAttribute(default="")
    incident_key = UnicodeAttribute()
    mention_key = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    leader_id = UnicodeAttribute(default="")
    leader_name = UnicodeAttribute(default="")
    query_ids = ListAttribute(of=UnicodeAttribute, default=list)
    terms = ListAttribute(of=UnicodeAttribute, default=list)
    category = UnicodeAttribute(default="")
    severity = NumberAttribute(default=3)
    lang = UnicodeAttribute(default="und")
    excerpt = UnicodeAttribute(default="")
    url = UnicodeAttribute(default="")
    route = JSONAttribute(null=True)
    response_url = UnicodeAttribute(default="")
    sns_message_id = UnicodeAttribute(default="")
    escalation_step = NumberAttribute(default=0)
    mention_count = NumberAttribute(default=1)
    priority = NumberAttribute(default=0)
    last_mention_key = UnicodeAttribute(null=True)
    escalate_at = UTCDateTimeAttribute(null=True)
    open_bucket = UnicodeAttribute(null=True)
    by_team = TasksByTeamIndex()
    open_by_due = OpenTasksByDueIndex()


class TaskEventModel(Model):
    """Append-only history of every task: one item per change."""

    class Meta:
        table_name = "tvarit-task-events"
        region = "ap-south-1"

    task_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    from_status = UnicodeAttribute()
    to_status = UnicodeAttribute()
    detail = JSONAttribute(null=True)


class DigestsByDueIndex(GlobalSecondaryIndex["ThrottleModel"]):
    """Sparse: only teams holding a digest carry ``due_bucket``."""

    class Meta:
        index_name = "digest-by-due"
        projection = AllProjection()

    due_bucket = UnicodeAttribute(hash_key=True)
    digest_due = UTCDateTimeAttribute(range_key=True)


class ThrottleModel(Model):
    """Per-team paging state: the token bucket and the digest being held back."""

    class Meta:
        table_name = "tvarit-throttle"
        region = "ap-south-1"

    team_id = UnicodeAttribute(hash_key=True)
    state_code = UnicodeAttribute()
    data = JSONAttribute()
    version = NumberAttribute()
    digest_due = UTCDateTimeAttribute(null=True)
    due_bucket = UnicodeAttribute(null=True)
    by_due = DigestsByDueIndex()


class IncidentItemModel(Model):
    """Incidents and their lookups, single-table, all expiring with the grouping window.

    ("INC#<key>", "META") the record; ("BANDS#<band>", "L") and ("LQS#<leader>#<query>", "L")
    hold the newest ``BAND_READ_LIMIT`` "<time>#<key>" entries of a MinHash band and of a
    leader + query, and ("M#<mention key>", "INC") a mention's incident: a new mention finds
    its candidates with one BatchGetItem (issue 17; before, one Query per band: "BAND#", "LQ#").
    """

    class Meta:
        table_name = "tvarit-incidents"
        region = "ap-south-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    incident_key = UnicodeAttribute()
    data = JSONAttribute(null=True)
    expires_at = TTLAttribute()
    # Optimistic lock of the lists and records rewritten whole (issue 17): the version read.
    version = NumberAttribute(null=True)


class ConfigItemModel(Model):
    """Configuration, single-table: ``pk``/``sk`` pairs per entity, the entity as JSON ``data``."""

    class Meta:
        table_name = "tvarit-config"
        region = "ap-south-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    data = JSONAttribute()
    version = NumberAttribute(default=1)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(default="")


class AuditModel(Model):
    """Append-only audit log of configuration changes, partitioned by scope (state or national)."""

    class Meta:
        table_name = "tvarit-audit"
        region = "ap-south-1"

    scope = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    entity = UnicodeAttribute()
    entity_id = UnicodeAttribute()
    before = JSONAttribute(null=True)
    after = JSONAttribute(null=True)
    # [{"state", "district", "team", "member"}]: where the object lived (who may read this).
    objects = JSONAttribute(null=True)


class IdempotencyModel(Model):
    """Idempotency-Key records (``services.idempotency``): a claim, then the first answer.

    ``key`` digests the caller, method, full path and the client's key; records expire (TTL).
    """

    class Meta:
        table_name = "tvarit-idempotency"
        region = "ap-south-1"

    key = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    token = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    answer = JSONAttribute(null=True)
    expires_at = TTLAttribute()


class ChannelStateModel(Model):
    """Delivery channels' small records (issue 13), all with TTL.

    ``<channel>#<task id>`` / ``v<version>``: a delivery (what a chat channel dedupes on, and
    the message an edit changes); ``<channel>#<task id>`` / ``v<version>#<member id>``: a
    member channel's delivery to one member (WhatsApp); ``link#<token digest>`` / ``-``: a
    single-use link token; ``update#<channel>#<update id>`` / ``-``: an update seen (replays
    are refused); ``inbound#<channel>#<contact digest>`` / ``-``: when that contact last wrote
    to us (``at``; WhatsApp's 24-hour window), expiring a little after the window.
    """

    class Meta:
        table_name = "tvarit-channel-state"
        region = "ap-south-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ref = UnicodeAttribute(null=True)
    chat = UnicodeAttribute(null=True)
    data = JSONAttribute(null=True)
    used_at = UTCDateTimeAttribute(null=True)
    at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


class RollupModel(Model):
    """The daily rollup of tasks (``adapters/dynamo/rollups.py`` writes it with counters)."""

    class Meta:
        table_name = "tvarit-rollups"
        region = "ap-south-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


ALL_MODELS: tuple[type[Model], ...] = (
    MentionModel,
    TaskModel,
    TaskEventModel,
    ConfigItemModel,
    AuditModel,
    IncidentItemModel,
    ThrottleModel,
    IdempotencyModel,
    ChannelStateModel,
    RollupModel,
)

_TABLE_SUFFIX: dict[type[Model], str] = {
    MentionModel: "mentions",
    TaskModel: "tasks",
    TaskEventModel: "task-events",
    ConfigItemModel: "config",
    AuditModel: "audit",
    IncidentItemModel: "incidents",
    ThrottleModel: "throttle",
    IdempotencyModel: "idempotency",
    ChannelStateModel: "channel-state",
    RollupModel: "rollups",
}


def bind(settings: Settings, budget: AwsBudget | None = None) -> None:
    """Point every model at the configured tables, region and endpoint (moto locally)."""
    from chalicelib.adapters.aws_budget import AwsBudget
    from chalicelib.adapters.botocore_sessions import share_with_pynamodb

    share_with_pynamodb()
    budget = budget or AwsBudget()
    for model in ALL_MODELS:
        meta: Any = model.Meta
        budget.apply_to_pynamodb(meta)
        meta.table_name = f"{settings.table_prefix}{_TABLE_SUFFIX[model]}"
        meta.region = settings.region
        meta.host = settings.endpoint_url
        model._connection = None
    # One DynamoDB client for every table: PynamoDB would create one per model, about 20 ms
    # each on a cold start. Its Connection holds no per-table state but a metadata cache keyed
    # by table name, and botocore clients are thread-safe.
    shared: Any = None
    for model in ALL_MODELS:
        table_connection: Any = model._get_connection()
        if shared is None:
            shared = table_connection.connection
        else:
            shared.add_meta_table(table_connection.get_meta_table())
            table_connection.connection = shared


def create_tables(settings: Settings) -> None:
    """Create every table on demand billing (the local stack and tests; infra/ does it in AWS)."""
    bind(settings)
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
