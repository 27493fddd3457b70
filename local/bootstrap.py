"""Create the AWS resources the service expects, on the moto server (infra/ does it in AWS)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import TTLAttribute

from chalicelib.adapters.dynamo.models import (
    ALL_MODELS,
    TaskModel,
    bind,
    create_tables,
)
from chalicelib.domain.states import STATE_CODES
from chalicelib.settings import MENTIONS_QUEUE_NAME as MENTIONS_QUEUE
from chalicelib.settings import Settings

MENTIONS_DLQ = f"{MENTIONS_QUEUE}-dlq"
DISPATCH_FAILURES = "tvarit-dispatch-failures"
TOPIC_PREFIX = "tvarit-state-"


@dataclass(frozen=True)
class Resources:
    mentions_queue_url: str
    mentions_queue_arn: str
    mentions_dlq_url: str
    dispatch_failures_url: str
    tasks_stream_arn: str
    topic_arns: dict[str, str]
    telegram_queue_url: str = ""  # issue 13: the bot's sends
    telegram_queue_arn: str = ""

    @property
    def topic_arn_prefix(self) -> str:
        return next(iter(self.topic_arns.values())).rsplit(TOPIC_PREFIX, 1)[0] + TOPIC_PREFIX


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def bootstrap_queues_and_topics(
    sqs: Any, sns: Any, visibility_timeout: int = 30, max_receive_count: int = 3
) -> tuple[str, str, str, str, dict[str, str]]:
    """Queues with their dead-letter queues, and one SNS topic per state/UT."""
    dlq_url, dlq_arn = _queue(sqs, MENTIONS_DLQ, {"MessageRetentionPeriod": "1209600"})
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    url, arn = _queue(
        sqs,
        MENTIONS_QUEUE,
        {"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
    )
    failures_url, _ = _queue(sqs, DISPATCH_FAILURES, {"MessageRetentionPeriod": "1209600"})
    topics = {s: sns.create_topic(Name=f"{TOPIC_PREFIX}{s}")["TopicArn"] for s in STATE_CODES}
    return url, arn, dlq_url, failures_url, topics


def bootstrap_tables(settings: Settings, dynamodb: Any) -> str:
    """Tables on demand billing, TTL where a model declares it (as infra/ does); returns the
    tasks table's stream ARN."""
    create_tables(settings)
    bind(settings)
    for model in ALL_MODELS:
        for attribute in model.get_attributes().values():
            if isinstance(attribute, TTLAttribute):
                dynamodb.update_time_to_live(
                    TableName=model.Meta.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute.attr_name},
                )
    table = dynamodb.describe_table(TableName=TaskModel.Meta.table_name)["Table"]
    return str(table["LatestStreamArn"])


def bootstrap(
    settings: Settings,
    clients: dict[str, Any],
    visibility_timeout: int = 30,
    max_receive_count: int = 3,
) -> Resources:
    url, arn, dlq_url, failures_url, topics = bootstrap_queues_and_topics(
        clients["sqs"], clients["sns"], visibility_timeout, max_receive_count
    )
    stream_arn = bootstrap_tables(settings, clients["dynamodb"])
    from local.telegram_stack import create_queue

    tg_url, tg_arn = create_queue(clients["sqs"], visibility_timeout, max_receive_count)
    return Resources(url, arn, dlq_url, failures_url, stream_arn, topics, tg_url, tg_arn)
