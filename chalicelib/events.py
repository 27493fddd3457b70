"""Event handlers: the SQS analyze stage and the DynamoDB-stream dispatch stage."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.observability import logger, metrics
from chalicelib.settings import MENTIONS_QUEUE_NAME
from chalicelib.wiring import container

events = Blueprint(__name__)

MENTIONS_QUEUE = MENTIONS_QUEUE_NAME
ANALYZE_BATCH_SIZE = 10


@events.on_sqs_message(queue=MENTIONS_QUEUE, batch_size=ANALYZE_BATCH_SIZE, name="analyze")
def analyze_mentions(event: Any) -> dict[str, Any]:
    """Analyze a batch of mentions, reporting failed records (``ReportBatchItemFailures``)."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    analyzer = container().analyzer

    def handle(record: SQSRecord) -> None:
        message = json.loads(record.body)
        key = f"{message.get('platform')}#{message.get('native_id')}"
        logger.thread_safe_append_keys(correlation_id=key)
        outcome = analyzer.handle(message, correlation_id=key)
        logger.info(
            "mention analyzed",
            extra={
                "duplicate": outcome.duplicate,
                "query_ids": list(outcome.query_ids),
                "new_task_ids": list(outcome.new_task_ids),
            },
        )
        metrics.add_metric(name="MentionsAnalyzed", unit="Count", value=1)
        if outcome.query_ids:
            metrics.add_metric(name="MentionsMatched", unit="Count", value=1)
        if outcome.new_task_ids:
            metrics.add_metric(name="TasksCreated", unit="Count", value=len(outcome.new_task_ids))

    result = process_partial_response(
        event=event.to_dict(),
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
    return dict(result)


@events.lambda_function(name="dispatch")
def dispatch_tasks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB stream of the tasks table: publish newly written tasks."""
    from chalicelib.adapters.dynamo.repositories import task_from_stream_image
    from chalicelib.domain.tasks import TaskStatus

    c = container()
    sequence_of: dict[str, str] = {}
    new_tasks = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue
        task = task_from_stream_image(record["dynamodb"]["NewImage"])
        if task.status is TaskStatus.NEW:
            new_tasks.append(task)
            sequence_of[task.task_id] = record["dynamodb"]["SequenceNumber"]
    if not new_tasks:
        return {"batchItemFailures": []}
    report = c.dispatcher.dispatch(new_tasks)
    for task in new_tasks:
        logger.info(
            "task dispatched" if task.task_id in report.dispatched_task_ids else "task not sent",
            extra={"correlation_id": task.mention_key, "task_id": task.task_id},
        )
    metrics.add_metric(name="TasksDispatched", unit="Count", value=len(report.dispatched_task_ids))
    if report.failed_task_ids:
        metrics.add_metric(name="DispatchFailures", unit="Count", value=len(report.failed_task_ids))
    return {
        "batchItemFailures": [
            {"itemIdentifier": sequence_of[t]} for t in report.failed_task_ids if t in sequence_of
        ]
    }
