"""What Tvarit deploys besides Chalice's functions, declared once in tables and rendered here.

``chalice package`` generates the functions, the REST API and the SQS trigger; this module
renders the merge template that adds everything else (tables, queues, topics, alarms, the
dashboard) and patches what Chalice gets wrong (``ReportBatchItemFailures``, the queue
dependency, the stream trigger), and the least-privilege IAM policy of every function
(``.chalice/policy-<function>.json``).

To add a function: a row in :data:`FUNCTIONS` (its grants name the resources it touches) and
``iam_policy_file`` in ``.chalice/config.json``. To add a queue: a row in :data:`QUEUES`; an SQS
trigger on a queue that is not declared here fails the build. Tables come from the PynamoDB
models themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import settings as cfg
from chalicelib.adapters.dynamo.models import _TABLE_SUFFIX, ALL_MODELS
from chalicelib.domain.states import STATE_CODES
from chalicelib.observability import NAMESPACE, SERVICE

Json = dict[str, Any]

APP = "tvarit"
TABLE_PREFIX = "tvarit-"
TOPIC_PREFIX = "tvarit-state-"
SECRETS_PATH = "/tvarit/"  # SSM parameters: /tvarit/webhook-secret, /tvarit/x-bearer-token...
ALARM_TOPIC = "tvarit-ops-alarms"
DASHBOARD = "tvarit"
PROD_STAGES = frozenset({"prod"})
API_RATE_LIMIT = 100  # requests/s per method; a listening tool's webhook bursts, it is not a DoS


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def arn(service: str, resource: str) -> Json:
    """An ARN in this stack's partition, region and account."""
    return sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def get_att(logical_id: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [logical_id, attribute]}


def ref(logical_id: str) -> Json:
    return {"Ref": logical_id}


def cfn_name(name: str) -> str:
    """``mentions-dlq`` -> ``MentionsDlq`` (CloudFormation logical ids are alphanumeric)."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-"))


# --------------------------------------------------------------------------------------------
# Tables: rendered from the PynamoDB models, so the schema is declared once.

_ATTRIBUTE_TYPES = {"S": "S", "N": "N", "B": "B"}


def table_logical_id(model: type[Model]) -> str:
    return cfn_name(_TABLE_SUFFIX[model]) + "Table"


def table_name(model: type[Model]) -> str:
    return f"{TABLE_PREFIX}{_TABLE_SUFFIX[model]}"


def _key_schema(attributes: Iterable[Attribute[Any]]) -> tuple[list[Json], list[Attribute[Any]]]:
    hash_keys = [a for a in attributes if a.is_hash_key]
    range_keys = [a for a in attributes if a.is_range_key]
    schema = [{"AttributeName": a.attr_name, "KeyType": "HASH"} for a in hash_keys]
    schema += [{"AttributeName": a.attr_name, "KeyType": "RANGE"} for a in range_keys]
    return schema, hash_keys + range_keys


def table_resource(model: type[Model], stage: str) -> Json:
    """On-demand table with PITR; TTL and stream as the model declares; protected in prod."""
    prod = stage in PROD_STAGES
    schema, keys = _key_schema(model.get_attributes().values())
    key_attrs: dict[str, str] = {a.attr_name: _ATTRIBUTE_TYPES[a.attr_type] for a in keys}
    indexes: list[Json] = []
    for name, value in vars(model).items():
        if isinstance(value, GlobalSecondaryIndex):
            index_schema, index_keys = _key_schema(value.Meta.attributes.values())
            key_attrs.update({a.attr_name: _ATTRIBUTE_TYPES[a.attr_type] for a in index_keys})
            projection = value.Meta.projection.projection_type
            indexes.append(
                {
                    "IndexName": value.Meta.index_name or name,
                    "KeySchema": index_schema,
                    "Projection": {"ProjectionType": projection},
                }
            )
    props: Json = {
        "TableName": table_name(model),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in sorted(key_attrs.items())
        ],
        "KeySchema": schema,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": prod,
    }
    if indexes:
        props["GlobalSecondaryIndexes"] = indexes
    stream_view = getattr(model.Meta, "stream_view_type", None)
    if stream_view:
        props["StreamSpecification"] = {"StreamViewType": stream_view}
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl[0], "Enabled": True}
    policy = "Retain" if prod else "Delete"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": props,
    }


def table_arn(model: type[Model]) -> Json:
    return get_att(table_logical_id(model), "Arn")


def table_by_suffix(suffix: str) -> type[Model]:
    return next(m for m in ALL_MODELS if _TABLE_SUFFIX[m] == suffix)


# --------------------------------------------------------------------------------------------
# Queues: every queue has a dead-letter queue; SQS triggers report batch item failures.


@dataclass(frozen=True)
class Queue:
    name: str  # the SQS queue name (the code knows it: chalicelib.settings)
    visibility_timeout: int  # at least 6x the consumer's timeout, as Lambda's docs advise
    max_receive_count: int = 3
    retention_seconds: int = 4 * 24 * 3600
    max_concurrency: int | None = None  # SQS trigger's ScalingConfig
    oldest_message_alarm_seconds: int = 300
    condition: str = ""  # a template condition the queue (and its DLQ, alarms) exists under

    @property
    def logical_id(self) -> str:
        return cfn_name(self.name.removeprefix("tvarit-")) + "Queue"

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"

    @property
    def dlq_logical_id(self) -> str:
        return cfn_name(self.name.removeprefix("tvarit-")) + "Dlq"


@dataclass(frozen=True)
class FailureQueue:
    """Where a stream trigger's records go after their last retry (an on-failure destination)."""

    name: str

    @property
    def logical_id(self) -> str:
        return cfn_name(self.name.removeprefix("tvarit-")) + "Queue"


MENTIONS = Queue(cfg.MENTIONS_QUEUE_NAME, visibility_timeout=180, max_concurrency=10)
# Pollers: few at a time, so the platforms' quotas hold (the account budget is per container).
POLLS = Queue(cfg.POLLS_QUEUE_NAME, visibility_timeout=360, max_concurrency=2)
DISPATCH_FAILURES = FailureQueue("tvarit-dispatch-failures")
# Telegram sends (issue 13): one consumer keeps the bot's limits; deferred sends come back
# with a delay, so a message may be received several times before it goes out.
TELEGRAM = Queue(
    cfg.TELEGRAM_QUEUE_NAME, visibility_timeout=360, max_receive_count=8, max_concurrency=2
)
# WhatsApp sends, one per (task, member): one consumer at a time (reserved concurrency 1) keeps
# the business number's throughput and tier; Lambda's throttling of the SQS pollers returns
# messages to the queue, so they get many receives before the DLQ.
WHATSAPP_SENDS = Queue(
    cfg.WHATSAPP_SENDS_QUEUE_NAME,
    visibility_timeout=360,
    max_receive_count=10,
    max_concurrency=2,  # Lambda's least; the function's reserved concurrency keeps it to one
    condition="WhatsAppEnabled",
)
QUEUES: tuple[Queue, ...] = (MENTIONS, POLLS, TELEGRAM, WHATSAPP_SENDS)
ROLLUP_FAILURES = FailureQueue("tvarit-rollup-failures")
FAILURE_QUEUES: tuple[FailureQueue, ...] = (DISPATCH_FAILURES, ROLLUP_FAILURES)
DLQ_RETENTION = 14 * 24 * 3600  # the maximum: time to read, fix and redrive


def queue_resources(queue: Queue) -> dict[str, Json]:
    out = _queue_resources(queue)
    if queue.condition:
        for resource in out.values():
            resource["Condition"] = queue.condition
    return out


def _queue_resources(queue: Queue) -> dict[str, Json]:
    return {
        queue.dlq_logical_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": queue.dlq_name,
                "MessageRetentionPeriod": DLQ_RETENTION,
                "SqsManagedSseEnabled": True,
                # Only its own source may dead-letter into it.
                "RedriveAllowPolicy": {
                    "redrivePermission": "byQueue",
                    "sourceQueueArn": [arn("sqs", queue.name)],
                },
            },
        },
        queue.logical_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": queue.name,
                "VisibilityTimeout": queue.visibility_timeout,
                "MessageRetentionPeriod": queue.retention_seconds,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": get_att(queue.dlq_logical_id, "Arn"),
                    "maxReceiveCount": queue.max_receive_count,
                },
            },
        },
    }


def failure_queue_resource(queue: FailureQueue) -> Json:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": queue.name,
            "MessageRetentionPeriod": DLQ_RETENTION,
            "SqsManagedSseEnabled": True,
        },
    }


# --------------------------------------------------------------------------------------------
# Functions and their least-privilege grants.


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: tuple[Any, ...]
    sid: str = ""

    def statement(self) -> Json:
        out: Json = {"Effect": "Allow", "Action": list(self.actions)}
        out["Resource"] = list(self.resources)
        if self.sid:
            out["Sid"] = self.sid
        return out


def table_grant(suffix: str, *actions: str, indexes: tuple[str, ...] = ()) -> Grant:
    model = table_by_suffix(suffix)
    resources: list[Any] = [table_arn(model)]
    resources += [sub(f"${{{table_logical_id(model)}.Arn}}/index/{i}") for i in indexes]
    return Grant(tuple(f"dynamodb:{a}" for a in actions), tuple(resources), cfn_name(suffix))


def stream_read_grant(suffix: str) -> Grant:
    """What Lambda's DynamoDB event source mapping needs, on this table's stream only."""
    model = table_by_suffix(suffix)
    actions = ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")
    return Grant(
        tuple(f"dynamodb:{a}" for a in actions),
        (get_att(table_logical_id(model), "StreamArn"),),
        cfn_name(suffix) + "Stream",
    )


def consume_grant(queue: Queue) -> Grant:
    """What Lambda's SQS event source mapping needs."""
    return Grant(
        ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
        (get_att(queue.logical_id, "Arn"),),
        "Consume" + cfn_name(queue.name.removeprefix("tvarit-")),
    )


def send_grant(logical_id: str, sid: str) -> Grant:
    return Grant(("sqs:SendMessage",), (get_att(logical_id, "Arn"),), sid)


def state_topic_logical_id(code: str) -> str:
    return f"StateTopic{code}"


STATE_TOPICS_PUBLISH = Grant(
    ("sns:Publish",),
    tuple(ref(state_topic_logical_id(c)) for c in STATE_CODES),
    "PublishToStateTopics",
)


def secrets_grant(*fields: str) -> Grant:
    """Read the named secret settings from SSM (the AWS managed key decrypts for the account)."""
    assert set(fields) <= set(cfg.SECRET_FIELDS), fields
    return Grant(
        ("ssm:GetParameter",),
        tuple(arn("ssm", "parameter" + cfg.secret_parameter_name(SECRETS_PATH, f)) for f in fields),
        "ReadSecrets",
    )


PUSH_SECRETS = secrets_grant("webhook_secret", "telegram_webhook_secret", "websub_secret")
PLATFORM_TOKENS = secrets_grant(
    "x_bearer_token", "youtube_api_key", "telegram_bot_token", "facebook_access_token"
)
# Platform endpoints and subscriptions have no resource-level permissions in SNS (only topics
# do): a device's endpoint and subscription ARNs are made at registration and cannot be named.
PUSH_EVENTS_TOPIC = "tvarit-push-events"
PUSH_EVENTS_TOPIC_ID = "PushEventsTopic"

DEVICE_ENDPOINTS = Grant(
    (
        "sns:CreatePlatformEndpoint",
        "sns:DeleteEndpoint",
        "sns:Unsubscribe",
        # a member's role or team changed: their device subscriptions get the new filter policy
        "sns:SetSubscriptionAttributes",
    ),
    ("*",),
    "DeviceEndpoints",
)

# Template parameters that become the API's environment (identity and push setup of the
# account, made outside the stack: docs/deploy.md).
API_ENV: dict[str, tuple[str, str]] = {
    cfg.ENV_JWT_ISSUER: ("JwtIssuer", "Cognito user pool issuer URL"),
    cfg.ENV_JWT_AUDIENCE: ("JwtAudience", "Cognito app client id"),
    cfg.ENV_JWKS: ("Jwks", "The user pool's JWKS JSON (public keys)"),
    cfg.ENV_FCM_APP_ARN: ("FcmPlatformApplicationArn", "SNS platform application for FCM"),
    cfg.ENV_APNS_APP_ARN: ("ApnsPlatformApplicationArn", "SNS platform application for APNs"),
}

# What every function that notifies needs (issue 11): where the task pages are, which channels
# members may choose, and India's DLT ids for SMS (empty: SMS stays off, said at start).
NOTIFY_ENV: dict[str, tuple[str, str]] = {
    cfg.ENV_PUBLIC_BASE_URL: ("PublicBaseUrl", "https:// base URL of the task pages"),
    cfg.ENV_CHANNELS: ("Channels", "Member channels besides push: sms,email"),
    cfg.ENV_SMS_ENTITY_ID: ("SmsEntityId", "India DLT principal entity id"),
    cfg.ENV_SMS_TEMPLATE_ID: ("SmsTemplateId", "India DLT content template id of the SMS"),
}

# The Telegram bot as a delivery channel (issue 13): its username turns the channel on.
TELEGRAM_ENV: dict[str, tuple[str, str]] = {
    cfg.ENV_TELEGRAM_BOT_USERNAME: ("TelegramBotUsername", "The bot's username; empty: off"),
}

# X-Ray's write actions have no resource-level permissions: "*" is the only valid resource.
XRAY_WRITE = Grant(("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ("*",), "XRay")


@dataclass(frozen=True)
class Function:
    chalice_name: str  # the name in .chalice/config.json (``api_handler`` for the REST API)
    logical_id: str  # the resource name ``chalice package`` gives it
    timeout: int
    memory: int
    grants: tuple[Grant, ...]
    reserved_concurrency: int | None = None
    env: dict[str, tuple[str, str]] = field(default_factory=dict)  # var -> (parameter, what)
    extra: Json = field(default_factory=dict)
    # A template condition the function (its log group, role, trigger, alarms) exists under.
    condition: str = ""
    fixed_env: dict[str, Any] = field(default_factory=dict)  # var -> value

    @property
    def function_name(self) -> str:
        return f"{APP}-{self.chalice_name.removesuffix('_handler').replace('_', '-')}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_group_logical_id(self) -> str:
        return self.logical_id + "LogGroup"

    def logs_grant(self) -> Grant:
        return Grant(
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (arn("logs", f"log-group:{self.log_group}:*"),),
            "Logs",
        )

    def policy(self) -> Json:
        grants = (self.logs_grant(), XRAY_WRITE, *self.grants)
        return {"Version": "2012-10-17", "Statement": [g.statement() for g in grants]}


CONFIG_READ = ("GetItem", "Query")  # CachedConfig: the version item, then the partitions

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "api_handler",
        "APIHandler",
        timeout=10,  # API Gateway gives up at 29 s anyway
        memory=512,
        grants=(
            send_grant(MENTIONS.logical_id, "EnqueueMentions"),
            # The webhook's secrets; the bot token answers button taps (issue 13).
            secrets_grant(
                "webhook_secret", "telegram_webhook_secret", "websub_secret", "telegram_bot_token"
            ),
            # Link tokens (single use) and seen Telegram updates (replays refused).
            table_grant("channel-state", "GetItem", "PutItem", "UpdateItem"),
            # Configuration: items, the team index, devices, written in one transaction with
            # the audit record and the version bump.
            table_grant("config", "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"),
            # Idempotency-Key records: claim (conditional put), answer, release.
            table_grant("idempotency", "GetItem", "PutItem", "UpdateItem", "DeleteItem"),
            table_grant("audit", "PutItem", "Query"),
            # Warriors' tasks: their team's list, and ack/complete/decline with its event.
            table_grant("tasks", "GetItem", "PutItem", "Query", indexes=("by-team",)),
            table_grant("task-events", "PutItem", "Query"),
            # Keyword query preview (a bounded Scan); mention and incident reads for heads.
            table_grant(
                "mentions", "Scan", "GetItem", "BatchGetItem", "Query", indexes=("by-state",)
            ),
            table_grant("incidents", "GetItem"),
            table_grant("rollups", "Query"),  # the stats series (services/rollup.py)
            # Devices, and members' SMS/e-mail contacts (services/contacts.py): subscriptions
            # on the state topics; Unsubscribe is in DEVICE_ENDPOINTS (no resource ARNs).
            Grant(("sns:Subscribe",), STATE_TOPICS_PUBLISH.resources, "SubscribeDevices"),
            DEVICE_ENDPOINTS,
        ),
        env=API_ENV | NOTIFY_ENV | TELEGRAM_ENV,
    ),
    Function(
        "analyze",
        "Analyze",
        timeout=30,
        memory=1024,  # CPU scales with memory: language detection and matching are CPU-bound
        # Caps the write rate on DynamoDB and leaves the account's pool to the API and dispatch.
        reserved_concurrency=20,
        grants=(
            consume_grant(MENTIONS),
            # A matched mention: the mention and its tasks are read in the incident lookups'
            # BatchGetItem and written in their TransactWriteItems (issue 17, routing.py).
            table_grant(
                "mentions", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem"
            ),
            # create; note a repost; redact
            table_grant("tasks", "PutItem", "UpdateItem", "BatchGetItem"),
            table_grant("config", *CONFIG_READ),
            # Lookups in one BatchGetItem, writes in one TransactWriteItems (its Puts).
            table_grant("incidents", "GetItem", "PutItem", "BatchGetItem"),
        ),
    ),
    Function(
        "dispatch",
        "Dispatch",
        timeout=30,
        memory=512,
        grants=(
            stream_read_grant("tasks"),
            # A stream batch's tasks are re-read in one BatchGetItem.
            table_grant("tasks", "GetItem", "PutItem", "BatchGetItem"),
            table_grant("task-events", "PutItem"),
            table_grant("config", *CONFIG_READ),
            table_grant("throttle", "GetItem", "PutItem"),
            STATE_TOPICS_PUBLISH,
            # The stream trigger's on-failure destination is sent with the function's role.
            send_grant(DISPATCH_FAILURES.logical_id, "DispatchFailures"),
            # Chat channels (issue 13): what was delivered; the Telegram queue.
            table_grant("channel-state", "BatchGetItem"),
            send_grant(TELEGRAM.logical_id, "EnqueueTelegram"),
            # The WhatsApp channel enqueues its sends (the queue exists with WhatsApp=on only:
            # named by its ARN, not by an attribute of a resource that may be absent).
            Grant(
                ("sqs:SendMessage",),
                (arn("sqs", cfg.WHATSAPP_SENDS_QUEUE_NAME),),
                "EnqueueWhatsAppSends",
            ),
        ),
        env=NOTIFY_ENV | TELEGRAM_ENV,
        fixed_env={
            cfg.ENV_WHATSAPP: {"Fn::If": ["WhatsAppEnabled", "true", "false"]},
            cfg.ENV_WHATSAPP_SENDS_QUEUE_URL: {
                "Fn::If": ["WhatsAppEnabled", ref("WhatsappSendsQueue"), ""]
            },
        },
    ),
    Function(
        "telegram_send",
        "TelegramSend",
        timeout=60,
        memory=256,
        # The bot's only sender: the limits (30/s, 20 a minute per group) are kept in memory.
        reserved_concurrency=1,
        grants=(
            consume_grant(TELEGRAM),
            send_grant(TELEGRAM.logical_id, "DeferTelegram"),  # a send that must wait
            table_grant("tasks", "GetItem"),
            table_grant("task-events", "Query"),
            table_grant("config", *CONFIG_READ),
            table_grant("channel-state", "GetItem", "PutItem", "Query", "BatchGetItem"),
            secrets_grant("telegram_bot_token"),
        ),
        env=NOTIFY_ENV | TELEGRAM_ENV,
    ),
    Function(
        "rollup",
        "Rollup",
        timeout=30,
        memory=256,
        grants=(
            stream_read_grant("tasks"),
            # A marker and the day's counters in one transaction (ConditionCheck-free: the
            # marker's Put carries the condition).
            table_grant("rollups", "PutItem", "UpdateItem"),
            send_grant(ROLLUP_FAILURES.logical_id, "RollupFailures"),
        ),
    ),
    Function(
        "schedule-polls",
        "SchedulePolls",
        timeout=30,
        memory=256,
        reserved_concurrency=1,  # a schedule: never two at once
        grants=(
            table_grant("config", *CONFIG_READ),
            send_grant(POLLS.logical_id, "EnqueuePolls"),
            PLATFORM_TOKENS,  # which platforms are configured decides which accounts are polled
        ),
    ),
    Function(
        "poll",
        "Poll",
        timeout=60,
        memory=256,
        reserved_concurrency=4,  # the platforms' rate limits, not Lambda, set the pace
        grants=(
            consume_grant(POLLS),
            table_grant("config", "GetItem", "Query", "PutItem"),  # watch config; cursors
            send_grant(MENTIONS.logical_id, "EnqueueMentions"),
            PLATFORM_TOKENS,
        ),
    ),
    Function(
        "consume-jetstream",
        "ConsumeJetstream",
        # Reads Bluesky's Jetstream for TVARIT_STREAM_SECONDS (54) of each minute, then saves
        # its cursor; the next run resumes from it (docs/platforms.md).
        timeout=60,
        memory=256,
        reserved_concurrency=1,  # one reader: overlapping runs would read everything twice
        grants=(
            table_grant("config", "GetItem", "Query", "PutItem"),  # watch config; the cursor
            send_grant(MENTIONS.logical_id, "EnqueueMentions"),
        ),
    ),
    Function(
        "consume-filtered-stream",
        "ConsumeFilteredStream",
        # X's filtered stream on the plans that have it (TVARIT_X_PLAN; "basic", the default,
        # returns at once): keeps the rules in step with the watchlist, reads for
        # TVARIT_STREAM_SECONDS (54) of each minute (docs/platforms.md).
        timeout=60,
        memory=256,
        reserved_concurrency=1,  # X allows one connection per app on Pro
        grants=(
            # Watch config; the stream's cursor and the digest of the synced rules.
            table_grant("config", "GetItem", "Query", "PutItem"),
            send_grant(MENTIONS.logical_id, "EnqueueMentions"),
            secrets_grant("x_bearer_token"),
        ),
        env={cfg.ENV_X_PLAN: ("XPlan", "X API plan: basic (no filtered stream), pro, enterprise")},
    ),
    Function(
        "renew-websub",
        "RenewWebsub",
        # Every 6 hours: subscribes watched channels whose 5-day WebSub lease ends within 2 days.
        timeout=60,
        memory=256,
        reserved_concurrency=1,
        grants=(
            table_grant("config", "GetItem", "Query", "PutItem"),  # watch config; leases
            secrets_grant("websub_secret"),
        ),
        env={cfg.ENV_PUBLIC_BASE_URL: NOTIFY_ENV[cfg.ENV_PUBLIC_BASE_URL]},
    ),
    Function(
        "escalate",
        "Escalate",
        timeout=60,
        memory=256,
        reserved_concurrency=1,
        grants=(
            table_grant("tasks", "GetItem", "UpdateItem", "Query", indexes=("open-by-due",)),
            table_grant("config", *CONFIG_READ),
            STATE_TOPICS_PUBLISH,
        ),
        env=NOTIFY_ENV,
    ),
    Function(
        "flush_digests",
        "FlushDigests",
        timeout=60,
        memory=256,
        reserved_concurrency=1,
        grants=(
            table_grant("throttle", "GetItem", "PutItem", "Query", indexes=("digest-by-due",)),
            table_grant("tasks", "GetItem"),
            table_grant("config", *CONFIG_READ),
            STATE_TOPICS_PUBLISH,
        ),
        env=NOTIFY_ENV,
    ),
    Function(
        "push_events",
        "PushEvents",
        timeout=30,
        memory=256,
        reserved_concurrency=2,
        grants=(
            # Retire a dead endpoint: its pointer and device record go, audited, in one
            # transaction with the config version bump.
            table_grant("config", "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"),
            table_grant("audit", "PutItem"),
            Grant(("sns:DeleteEndpoint", "sns:Unsubscribe"), ("*",), "RetireEndpoints"),
        ),
    ),
    Function(
        "whatsapp_events",
        "WhatsappEvents",
        timeout=30,
        memory=256,
        reserved_concurrency=5,
        grants=(
            # A member's button tap: their phone pointer and team, then the task transition
            # with its event (as the API's ack/decline); message ids seen and last inbound
            # (the channel-state table's update and inbound items).
            table_grant("config", *CONFIG_READ),
            table_grant("tasks", "GetItem", "PutItem"),
            table_grant("task-events", "PutItem"),
            table_grant("channel-state", "GetItem", "PutItem", "DeleteItem"),
            # Done without a link: the sender is asked to ask the member for it.
            send_grant(WHATSAPP_SENDS.logical_id, "EnqueueWhatsAppSends"),
        ),
        condition="WhatsAppEnabled",
        fixed_env={
            cfg.ENV_WHATSAPP: "true",
            cfg.ENV_WHATSAPP_SENDS_QUEUE_URL: ref(WHATSAPP_SENDS.logical_id),
        },
    ),
    Function(
        "whatsapp_send",
        "WhatsappSend",
        timeout=60,
        memory=256,
        reserved_concurrency=1,  # one sender per business number: its limiter is the number's
        grants=(
            consume_grant(WHATSAPP_SENDS),
            table_grant("tasks", "GetItem"),
            table_grant("config", *CONFIG_READ),
            # Deliveries per member, a Done prompt once per tap, the last inbound time.
            table_grant("channel-state", "GetItem", "PutItem", "DeleteItem"),
            Grant(
                ("social-messaging:SendWhatsAppMessage",),
                (arn("social-messaging", "phone-number-id/*"),),
                "SendWhatsApp",
            ),
        ),
        env={
            cfg.ENV_WHATSAPP_PHONE_NUMBER_ID: (
                "WhatsAppPhoneNumberId",
                "End User Messaging Social phone number id (phone-number-id-...)",
            ),
            cfg.ENV_WHATSAPP_TIER: ("WhatsAppTier", "The number's messaging limit tier"),
            cfg.ENV_WHATSAPP_MPS: ("WhatsAppMps", "The number's messages per second"),
            cfg.ENV_PUBLIC_BASE_URL: ("PublicBaseUrl", "https:// base URL of the task pages"),
        },
        condition="WhatsAppEnabled",
        fixed_env={cfg.ENV_WHATSAPP: "true"},
    ),
)

# WhatsApp (End User Messaging Social): everything it adds exists only with WhatsApp=on.
WHATSAPP_CONDITION = "WhatsAppEnabled"
WHATSAPP_EVENTS_TOPIC = "tvarit-whatsapp-events"
WHATSAPP_EVENTS_TOPIC_ID = "WhatsAppEventsTopic"


def whatsapp_resources() -> dict[str, Json]:
    """The WABA's event destination: a standard topic End User Messaging Social publishes to
    (FIFO topics are not supported); the whatsapp_events function subscribes to it."""
    return {
        WHATSAPP_EVENTS_TOPIC_ID: {
            "Type": "AWS::SNS::Topic",
            "Condition": WHATSAPP_CONDITION,
            "Properties": {"TopicName": WHATSAPP_EVENTS_TOPIC},
        },
        "WhatsAppEventsTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Condition": WHATSAPP_CONDITION,
            "Properties": {
                "Topics": [ref(WHATSAPP_EVENTS_TOPIC_ID)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "social-messaging.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": ref(WHATSAPP_EVENTS_TOPIC_ID),
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}
                            },
                        }
                    ],
                },
            },
        },
    }


def function_named(chalice_name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.chalice_name == chalice_name:
            return fn
    raise ValueError(
        f"function {chalice_name!r} is not in infra/stack.py FUNCTIONS: declare it with its grants"
    )


def chalice_function_names(app: Any) -> set[str]:
    """Every Lambda function ``chalice package`` makes of the app."""
    names = {"api_handler"} if app.routes else set()
    names |= {source.name for source in app.event_sources}
    names |= {fn.name for fn in app.pure_lambda_functions}
    return names


@dataclass(frozen=True)
class StreamTrigger:
    function: str  # logical id
    table_suffix: str
    on_failure: FailureQueue
    batch_size: int = 100
    batching_window_seconds: int = 1
    retries: int = 5
    max_record_age_seconds: int = 6 * 3600
    iterator_age_alarm_ms: int = 60_000  # dispatch lag: a task waits over a minute to be sent

    @property
    def event_name(self) -> str:
        return cfn_name(self.table_suffix) + "Stream"


STREAM_TRIGGERS: tuple[StreamTrigger, ...] = (
    StreamTrigger("Dispatch", "tasks", DISPATCH_FAILURES),
    StreamTrigger("Rollup", "tasks", ROLLUP_FAILURES),
)


def stream_event(trigger: StreamTrigger) -> Json:
    model = table_by_suffix(trigger.table_suffix)
    return {
        "Type": "DynamoDB",
        "Properties": {
            "Stream": get_att(table_logical_id(model), "StreamArn"),
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": trigger.batch_size,
            "MaximumBatchingWindowInSeconds": trigger.batching_window_seconds,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            # Split a failing batch to isolate the bad record, retry a bounded number of times,
            # then park the records on the failure queue instead of blocking the shard.
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": trigger.retries,
            "MaximumRecordAgeInSeconds": trigger.max_record_age_seconds,
            "DestinationConfig": {
                "OnFailure": {
                    "Type": "SQS",
                    "Destination": get_att(trigger.on_failure.logical_id, "Arn"),
                }
            },
        },
    }


# --------------------------------------------------------------------------------------------
# Environment: every variable the code reads (chalicelib/settings.py), wired to the resources.


def environment() -> dict[str, Any]:
    return {
        cfg.ENV_TABLE_PREFIX: TABLE_PREFIX,
        cfg.ENV_MENTIONS_QUEUE_URL: ref(MENTIONS.logical_id),
        cfg.ENV_POLLS_QUEUE_URL: ref(POLLS.logical_id),
        cfg.ENV_TELEGRAM_QUEUE_URL: ref(TELEGRAM.logical_id),
        cfg.ENV_TOPIC_ARN_PREFIX: arn("sns", TOPIC_PREFIX),
        cfg.ENV_SECRETS_PATH: SECRETS_PATH,
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    }


# --------------------------------------------------------------------------------------------
# SNS: a topic per state/UT, delivery-status logging, account SMS settings.

DELIVERY_STATUS_ROLE = "SnsDeliveryStatusRole"
SMS_SETTINGS_FUNCTION = "SmsSettingsFunction"
SMS_SETTINGS_ROLE = "SmsSettingsRole"

# Inline (ZipFile) code: SNS SMS settings are account attributes that CloudFormation has no
# resource for. cfnresponse is provided by CloudFormation for inline Python functions.
SMS_SETTINGS_CODE = """\
import boto3, cfnresponse
KEYS = ("MonthlySpendLimit", "DefaultSenderID", "DefaultSMSType", "DeliveryStatusIAMRole",
        "DeliveryStatusSuccessSamplingRate")
def handler(event, context):
    try:
        if event["RequestType"] != "Delete":
            props = event["ResourceProperties"]
            boto3.client("sns").set_sms_attributes(
                attributes={k: str(props[k]) for k in KEYS if props.get(k)})
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, "sms-settings")
    except Exception as err:
        cfnresponse.send(event, context, cfnresponse.FAILED, {"Error": str(err)}, "sms-settings")
"""


def sns_resources() -> dict[str, Json]:
    role_arn = get_att(DELIVERY_STATUS_ROLE, "Arn")
    out: dict[str, Json] = {
        DELIVERY_STATUS_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}
                            },
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "DeliveryStatusLogs",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": [
                                        "logs:CreateLogGroup",
                                        "logs:CreateLogStream",
                                        "logs:PutLogEvents",
                                        "logs:PutMetricFilter",
                                        "logs:PutRetentionPolicy",
                                    ],
                                    # SNS names its delivery logs sns/<region>/<account>/...
                                    "Resource": [
                                        arn(
                                            "logs",
                                            "log-group:sns/${AWS::Region}/${AWS::AccountId}/*",
                                        )
                                    ],
                                }
                            ],
                        },
                    }
                ],
            },
        },
    }
    for code in STATE_CODES:
        out[state_topic_logical_id(code)] = {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": f"{TOPIC_PREFIX}{code}",
                # Push (FCM/APNs) delivery status: failures always, a sample of successes.
                "DeliveryStatusLogging": [
                    {
                        "Protocol": "application",
                        "SuccessFeedbackRoleArn": role_arn,
                        "FailureFeedbackRoleArn": role_arn,
                        "SuccessFeedbackSampleRate": "10",
                    }
                ],
            },
        }
    # FCM/APNs delivery failures (the platform applications' EventDeliveryFailure topic,
    # docs/deploy.md): the push_events function retires endpoints they report dead.
    out[PUSH_EVENTS_TOPIC_ID] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": PUSH_EVENTS_TOPIC},
    }
    out[SMS_SETTINGS_ROLE] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "SmsSettings",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            # An account-level setting: SetSMSAttributes has no resource ARN.
                            {
                                "Effect": "Allow",
                                "Action": ["sns:SetSMSAttributes"],
                                "Resource": "*",
                            },
                            {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [role_arn]},
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": [
                                    arn("logs", "log-group:/aws/lambda/tvarit-sms-settings:*")
                                ],
                            },
                        ],
                    },
                }
            ],
        },
    }
    out["SmsSettingsLogGroup"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": "/aws/lambda/tvarit-sms-settings", "RetentionInDays": 30},
    }
    out[SMS_SETTINGS_FUNCTION] = {
        "Type": "AWS::Lambda::Function",
        "DependsOn": ["SmsSettingsLogGroup"],
        "Properties": {
            "FunctionName": "tvarit-sms-settings",
            "Runtime": "python3.11",
            "Handler": "index.handler",
            "Timeout": 30,
            "Role": get_att(SMS_SETTINGS_ROLE, "Arn"),
            "Code": {"ZipFile": SMS_SETTINGS_CODE},
        },
    }
    out["SmsSettings"] = {
        "Type": "AWS::CloudFormation::CustomResource",
        "Properties": {
            "ServiceToken": get_att(SMS_SETTINGS_FUNCTION, "Arn"),
            "MonthlySpendLimit": ref("SmsMonthlySpendLimit"),
            "DefaultSenderID": ref("SmsSenderId"),
            "DefaultSMSType": "Transactional",
            "DeliveryStatusIAMRole": role_arn,
            "DeliveryStatusSuccessSamplingRate": "10",
        },
    }
    return out


# --------------------------------------------------------------------------------------------
# Alarms and the dashboard.


def _alarm(description: str, namespace: str, metric: str, dimensions: Json, **kw: Any) -> Json:
    props: Json = {
        "AlarmDescription": description,
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        "Statistic": kw.pop("statistic", "Maximum"),
        "Period": kw.pop("period", 60),
        "EvaluationPeriods": kw.pop("evaluation_periods", 1),
        "Threshold": kw.pop("threshold"),
        "ComparisonOperator": kw.pop("comparison", "GreaterThanThreshold"),
        "TreatMissingData": "notBreaching",
        "AlarmActions": [ref("OpsAlarmsTopic")],
        "OKActions": [ref("OpsAlarmsTopic")],
    }
    assert not kw, kw
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


FAILURE_METRICS = {
    "DispatchFailures": "dispatch: tasks could not be published to their state topic (retried)",
    "EscalationFailures": "escalate: escalation notices could not be sent (retried next minute)",
    "PollFailures": "poll: platform calls failed (the account backs off)",
}


def alarm_resources() -> dict[str, Json]:
    out: dict[str, Json] = {
        "OpsAlarmsTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": ALARM_TOPIC}},
        "OpsAlarmsEmail": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": ref("OpsAlarmsTopic"),
                "Protocol": "email",
                "Endpoint": ref("AlarmEmail"),
            },
        },
    }
    dead_letters = [(q.dlq_logical_id, q.dlq_name) for q in QUEUES]
    dead_letters += [(q.logical_id, q.name) for q in FAILURE_QUEUES]
    for logical_id, name in dead_letters:
        out[f"{logical_id}DepthAlarm"] = _alarm(
            f"{name} holds messages that failed every retry: read, fix, redrive",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": get_att(logical_id, "QueueName")},
            threshold=0,
            period=300,
        )
    for queue in QUEUES:
        if queue.condition:
            out[f"{queue.dlq_logical_id}DepthAlarm"]["Condition"] = queue.condition
        out[f"{queue.logical_id}AgeAlarm"] = _alarm(
            f"{queue.name}: the oldest post has waited over {queue.oldest_message_alarm_seconds} s",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": get_att(queue.logical_id, "QueueName")},
            threshold=queue.oldest_message_alarm_seconds,
            period=60,
            evaluation_periods=3,
        )
        if queue.condition:
            out[f"{queue.logical_id}AgeAlarm"]["Condition"] = queue.condition
    for fn in FUNCTIONS:
        out[f"{fn.logical_id}ErrorsAlarm"] = _alarm(
            f"{fn.function_name}: invocations failed",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": ref(fn.logical_id)},
            statistic="Sum",
            threshold=0,
            period=300,
        )
        out[f"{fn.logical_id}ThrottlesAlarm"] = _alarm(
            f"{fn.function_name}: invocations throttled",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": ref(fn.logical_id)},
            statistic="Sum",
            threshold=0,
            period=300,
            evaluation_periods=2,
        )
    for fn in FUNCTIONS:
        if fn.condition:  # no function, no alarm on it
            for kind in ("Errors", "Throttles"):
                out[f"{fn.logical_id}{kind}Alarm"]["Condition"] = fn.condition
    out["RestApi5xxAlarm"] = _alarm(
        "API: 5xx responses (503 when a dependency is down)",
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": APP, "Stage": "api"},
        statistic="Sum",
        threshold=0,
        period=300,
    )
    for trigger in STREAM_TRIGGERS:
        out[f"{trigger.function}IteratorAgeAlarm"] = _alarm(
            f"dispatch lag: stream records wait over {trigger.iterator_age_alarm_ms} ms",
            "AWS/Lambda",
            "IteratorAge",
            {"FunctionName": ref(trigger.function)},
            threshold=trigger.iterator_age_alarm_ms,
            period=60,
            evaluation_periods=3,
        )
    # Failures the handlers count but survive (they retry or back off): alarms on the metrics.
    for metric, description in FAILURE_METRICS.items():
        out[f"{metric}Alarm"] = _alarm(
            description,
            NAMESPACE,
            metric,
            {"service": SERVICE},
            statistic="Sum",
            threshold=0,
            period=300,
        )
    out["Dashboard"] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": DASHBOARD, "DashboardBody": dashboard_body()},
    }
    return out


def dashboard_body() -> Json:
    """The dashboard as a Fn::Sub string: ${Logical} names resolve to the stack's resources."""

    def widget(
        title: str, metrics: list[list[Any]], stat: str = "Sum", x: int = 0, y: int = 0
    ) -> Json:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    # A conditional function may not exist: the dashboard names only the others.
    fns = [f"${{{fn.logical_id}}}" for fn in FUNCTIONS if not fn.condition]
    journey = [
        "PollsScheduled",
        "MentionsPolled",
        "StreamEvents",
        "MentionsIngested",
        "MentionsAnalyzed",
        "MentionsMatched",
        "TasksCreated",
        "TasksDispatched",
        "TasksHeldForDigest",
        "DigestsSent",
        "TasksEscalated",
        # Telegram as a delivery channel (issue 13)
        "TasksToChats",
        "TelegramSent",
        "TelegramEdited",
        "TelegramBotUpdates",
    ]
    trouble = [*FAILURE_METRICS, "PollsRateLimited", "EndpointsRetired", "TelegramDeferred"]
    journey += ["WhatsAppMessagesSent", "WhatsAppRepliesActed"]
    trouble += ["WhatsAppMessagesDropped", "WhatsAppRepliesRefused"]
    widgets = [
        widget(
            "Post journey (Tvarit metrics)", [[NAMESPACE, m, "service", SERVICE] for m in journey]
        ),
        widget(
            "Failures handled by retry or backoff",
            [[NAMESPACE, m, "service", SERVICE] for m in trouble],
            y=18,
        ),
        widget("Errors", [["AWS/Lambda", "Errors", "FunctionName", f] for f in fns], x=12),
        widget(
            "Duration p95 (ms)",
            [["AWS/Lambda", "Duration", "FunctionName", f] for f in fns],
            stat="p95",
            y=6,
        ),
        widget(
            "Dispatch lag (ms): stream iterator age, task written to published",
            [
                ["AWS/Lambda", "IteratorAge", "FunctionName", f"${{{t.function}}}"]
                for t in STREAM_TRIGGERS
            ]
            + [[NAMESPACE, "DispatchLag", "service", SERVICE]],
            stat="Maximum",
            x=12,
            y=6,
        ),
        widget(
            "Queues: waiting and dead-lettered",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name] for q in QUEUES]
            + [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.dlq_name]
                for q in QUEUES
            ]
            + [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name]
                for q in FAILURE_QUEUES
            ],
            stat="Maximum",
            y=12,
        ),
        widget(
            "SNS, all state topics: published and failed deliveries",
            [
                [
                    {
                        "expression": f'SEARCH(\'{{AWS/SNS,TopicName}} MetricName="{m}" '
                        f"{TOPIC_PREFIX}', 'Sum', 60)",
                        "id": f"e{i}",
                        "label": m,
                    }
                ]
                for i, m in enumerate(("NumberOfMessagesPublished", "NumberOfNotificationsFailed"))
            ],
            x=12,
            y=12,
        ),
        widget(  # issue 17: where a post waits on its way to a phone, and its round trips
            "Post to phone p95 (ms) by stage; AWS calls per mention",
            [[NAMESPACE, m, "service", SERVICE] for m in STAGE_METRICS]
            + [[NAMESPACE, "AwsCallsPerMention", "service", SERVICE]],
            stat="p95",
            y=24,
        ),
    ]
    return sub(json.dumps({"widgets": widgets}, separators=(",", ":")))


# The lag metrics of chalicelib/stages.py (named there from the stage: Stage<Name>LagMs).
STAGE_METRICS = (
    "StageQueuedLagMs",
    "StageAnalyzedLagMs",
    "StageTaskWrittenLagMs",
    "StageStoredLagMs",
    "StagePublishedLagMs",
)


# --------------------------------------------------------------------------------------------
# The merge template.


def function_patch(fn: Function, stage: str) -> Json:
    """Properties merged over Chalice's definition of the function."""
    props: Json = {
        "FunctionName": fn.function_name,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory,
        "Environment": {
            "Variables": environment()
            | {var: ref(p) for var, (p, _) in fn.env.items()}
            | fn.fixed_env
        },
    }
    if fn.reserved_concurrency is not None:
        props["ReservedConcurrentExecutions"] = fn.reserved_concurrency
    props.update(fn.extra)
    patch: Json = {"DependsOn": [fn.log_group_logical_id], "Properties": props}
    if fn.condition:
        patch["Condition"] = fn.condition
    return patch


def sqs_trigger_patches(event_sources: Iterable[Any]) -> dict[str, Json]:
    """For every ``@on_sqs_message``: report batch item failures, depend on the declared queue."""
    from chalice.utils import to_cfn_resource_name

    by_name = {q.name: q for q in QUEUES}
    patches: dict[str, Json] = {}
    for source in event_sources:
        if type(source).__name__ != "SQSEventConfig":
            continue
        if source.queue not in by_name:
            raise ValueError(
                f"SQS trigger {source.name!r}: queue {source.queue!r} is not in infra QUEUES"
            )
        queue = by_name[source.queue]
        fn = function_named(source.name)
        event_name = to_cfn_resource_name(f"{source.name}-sqs-event-source")
        props: Json = {
            # Same ARN as Chalice's, but through the queue's attribute: CloudFormation then
            # creates the queue before the trigger.
            "Queue": sub(
                "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                f"${{{queue.logical_id}.QueueName}}"
            ),
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        if queue.max_concurrency is not None:
            props["ScalingConfig"] = {"MaximumConcurrency": queue.max_concurrency}
        patches[fn.logical_id] = {"Events": {event_name: {"Properties": props}}}
    return patches


ENTRY_MODULE = "chalicelib.lambda_entry"


def entry_handlers(chalice_app: Any) -> dict[str, str]:
    """Function name -> Handler through the entry module, for every event function.

    Chalice's own handler strings skip app.py, and with it the middleware (aws/chalice#1566).
    """
    sources = [*chalice_app.event_sources, *chalice_app.pure_lambda_functions]
    return {s.name: f"{ENTRY_MODULE}.{s.handler_string.rsplit('.', 1)[1]}" for s in sources}


@dataclass(frozen=True)
class GatewayAnswer:
    """What API Gateway itself answers (no Lambda involved), as the app's problem+json."""

    response_type: str
    status: int
    slug: str
    title: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


# API Gateway answers these before (or instead of) the function. Its default bodies echo the
# Authorization header ("... Authorization=Bearer eyJ...") on unknown routes and name the
# internals; ours are fixed text. No API Gateway authorizer or IAM auth is configured, so
# MISSING_AUTHENTICATION_TOKEN and the signature types arise only for a path or method that
# does not exist: 404. DEFAULT_4XX / DEFAULT_5XX cover every type not listed.
GATEWAY_ANSWERS: tuple[GatewayAnswer, ...] = (
    GatewayAnswer("MISSING_AUTHENTICATION_TOKEN", 404, "not-found", "Not found", "no such route"),
    GatewayAnswer("INCOMPLETE_SIGNATURE", 404, "not-found", "Not found", "no such route"),
    GatewayAnswer("INVALID_SIGNATURE", 404, "not-found", "Not found", "no such route"),
    GatewayAnswer("RESOURCE_NOT_FOUND", 404, "not-found", "Not found", "no such route"),
    GatewayAnswer(
        "UNAUTHORIZED",
        401,
        "unauthenticated",
        "Authentication failed",
        "a bearer token is required",
        (("WWW-Authenticate", "Bearer"),),
    ),
    GatewayAnswer("ACCESS_DENIED", 403, "forbidden", "Forbidden", "access denied"),
    GatewayAnswer("EXPIRED_TOKEN", 401, "unauthenticated", "Authentication failed", "expired"),
    GatewayAnswer("WAF_FILTERED", 403, "forbidden", "Forbidden", "request refused"),
    GatewayAnswer(
        "THROTTLED",
        429,
        "rate-limited",
        "Too many requests",
        "slow down and retry",
        (("Retry-After", "1"),),
    ),
    GatewayAnswer(
        "QUOTA_EXCEEDED",
        429,
        "rate-limited",
        "Too many requests",
        "quota exceeded",
        (("Retry-After", "60"),),
    ),
    GatewayAnswer(
        "REQUEST_TOO_LARGE", 413, "payload-too-large", "Payload too large", "body too large"
    ),
    GatewayAnswer(
        "UNSUPPORTED_MEDIA_TYPE",
        415,
        "unsupported-media-type",
        "Unsupported media type",
        "unsupported media type",
    ),
    GatewayAnswer(
        "INTEGRATION_TIMEOUT",
        504,
        "upstream-unavailable",
        "A dependency is unavailable; retry",
        "the API timed out",
    ),
    GatewayAnswer("DEFAULT_4XX", 400, "malformed-input", "Malformed input", "request refused"),
    GatewayAnswer(
        "DEFAULT_5XX",
        502,
        "upstream-unavailable",
        "A dependency is unavailable; retry",
        "the API is unavailable",
    ),
)


def gateway_responses() -> Json:
    """The REST API's ``GatewayResponses`` (SAM): problem+json, never echoing the request.

    The body is fixed text; only ``$context.requestId`` (an id API Gateway makes) is filled in,
    as the ``instance``: the request's own path or headers would be echoed unescaped into JSON.
    """
    out: Json = {}
    for answer in GATEWAY_ANSWERS:
        body = json.dumps(
            {
                "type": f"/problems/{answer.slug}",
                "title": answer.title,
                "status": answer.status,
                "detail": answer.detail,
                "instance": "urn:tvarit:request:$context.requestId",
            },
            separators=(",", ":"),
        )
        headers = {"Content-Type": "'application/problem+json'"}
        headers.update({name: f"'{value}'" for name, value in answer.headers})
        out[answer.response_type] = {
            "StatusCode": str(answer.status),
            "ResponseParameters": {"Headers": headers},
            "ResponseTemplates": {"application/json": body},
        }
    return out


def merge_template(stage: str, chalice_app: Any = None) -> Json:
    event_sources: list[Any] = list(chalice_app.event_sources) if chalice_app else []
    handlers = entry_handlers(chalice_app) if chalice_app else {}
    resources: dict[str, Json] = {}
    for model in ALL_MODELS:
        resources[table_logical_id(model)] = table_resource(model, stage)
    for queue in QUEUES:
        resources.update(queue_resources(queue))
    for failure_queue in FAILURE_QUEUES:
        resources[failure_queue.logical_id] = failure_queue_resource(failure_queue)
    resources.update(sns_resources())
    retention = 90 if stage in PROD_STAGES else 14
    for fn in FUNCTIONS:
        resources[fn.log_group_logical_id] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": fn.log_group, "RetentionInDays": retention},
        }
        if fn.condition:
            resources[fn.log_group_logical_id]["Condition"] = fn.condition
            resources[f"{fn.logical_id}Role"] = {"Condition": fn.condition}  # Chalice's role
        resources[fn.logical_id] = function_patch(fn, stage)
        if fn.chalice_name in handlers:
            resources[fn.logical_id]["Properties"]["Handler"] = handlers[fn.chalice_name]
    for logical_id, patch in sqs_trigger_patches(event_sources).items():
        resources[logical_id]["Properties"].update(patch)
    for trigger in STREAM_TRIGGERS:
        events = resources[trigger.function]["Properties"].setdefault("Events", {})
        events[trigger.event_name] = stream_event(trigger)
    # The REST API: X-Ray on its stage, a ceiling on request rates per method, and
    # problem+json for what API Gateway answers by itself.
    resources["RestAPI"] = {
        "Properties": {
            "GatewayResponses": gateway_responses(),
            "TracingEnabled": True,
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "MetricsEnabled": True,
                    "ThrottlingRateLimit": API_RATE_LIMIT,
                    "ThrottlingBurstLimit": 2 * API_RATE_LIMIT,
                }
            ],
        }
    }
    resources.update(alarm_resources())
    resources.update(whatsapp_resources())
    # The trigger's topic ARN as Chalice writes it, but through the topic's attribute: then
    # CloudFormation creates the topic before the subscription.
    topic = sub(
        "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:"
        f"${{{WHATSAPP_EVENTS_TOPIC_ID}.TopicName}}"
    )
    resources["WhatsappEvents"]["Properties"]["Events"] = {
        "WhatsappEventsSnsSubscription": {"Properties": {"Topic": topic}}
    }
    outputs: Json = {
        "MentionsQueueUrl": {"Value": ref(MENTIONS.logical_id)},
        "StateTopicArnPrefix": {"Value": arn("sns", TOPIC_PREFIX)},
        "TablePrefix": {"Value": TABLE_PREFIX},
        "OpsAlarmsTopicArn": {"Value": ref("OpsAlarmsTopic")},
        "DashboardName": {"Value": ref("Dashboard")},
    }
    return {
        "Description": f"Tvarit social listening and rapid response ({stage})",
        "Parameters": {
            **{
                parameter: {"Type": "String", "Default": "", "Description": what}
                for fn in FUNCTIONS
                for parameter, what in fn.env.values()
            },
            "SmsMonthlySpendLimit": {
                "Type": "Number",
                "Default": 1,
                "MinValue": 1,
                "Description": "USD per month for SMS; above 1 needs an AWS Support case first",
            },
            "SmsSenderId": {
                "Type": "String",
                "Default": "TVARIT",
                "AllowedPattern": "^[A-Za-z0-9]{3,11}$",
                "Description": "Sender id (India: the 6-character DLT header registered for it)",
            },
            "AlarmEmail": {
                "Type": "String",
                "Default": "",
                "Description": "E-mail subscribed to alarms (empty: none)",
            },
            "WhatsApp": {
                "Type": "String",
                "Default": "off",
                "AllowedValues": ["off", "on"],
                "Description": "WhatsApp through End User Messaging Social (docs/deploy.md)",
            },
        },
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]},
            WHATSAPP_CONDITION: {"Fn::Equals": [ref("WhatsApp"), "on"]},
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def policies() -> dict[str, Json]:
    """``.chalice`` file name -> policy document, for every function."""
    return {f"policy-{fn.chalice_name}.json": fn.policy() for fn in FUNCTIONS}
