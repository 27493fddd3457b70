"""Event handlers: polling (schedule + SQS), the SQS analyze stage, the DynamoDB-stream dispatch."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Rate

from chalicelib.observability import logger, metrics
from chalicelib.settings import MENTIONS_QUEUE_NAME, POLLS_QUEUE_NAME, TELEGRAM_QUEUE_NAME
from chalicelib.wiring import container

events = Blueprint(__name__)

MENTIONS_QUEUE = MENTIONS_QUEUE_NAME
ANALYZE_BATCH_SIZE = 10
POLLS_QUEUE = POLLS_QUEUE_NAME
# Each record is one HTTP round trip (or a few pages); small batches keep a slow platform
# from holding many accounts past the visibility timeout.
POLL_BATCH_SIZE = 5
POLL_SCHEDULE_MINUTES = 1


@events.schedule(Rate(POLL_SCHEDULE_MINUTES, unit=Rate.MINUTES), name="schedule-polls")
def schedule_polls(event: Any) -> dict[str, Any]:
    """Send one poll message per watched account whose poll is due."""
    from chalicelib.services.polling import account_to_dict, watched_accounts

    c = container()
    accounts = watched_accounts(c.config.watch_config().leaders.values())
    supported = [a for a in accounts if a.platform in c.platform_clients]
    due = c.poller.due(supported, c.cursor_store.all())
    if due:
        c.poll_queue.send([account_to_dict(a) for a in due])
    logger.info(
        "polls scheduled",
        extra={"watched": len(accounts), "pollable": len(supported), "due": len(due)},
    )
    metrics.add_metric(name="PollsScheduled", unit="Count", value=len(due))
    return {"watched": len(accounts), "pollable": len(supported), "due": len(due)}


@events.on_sqs_message(queue=POLLS_QUEUE, batch_size=POLL_BATCH_SIZE, name="poll")
def poll_accounts(event: Any) -> dict[str, Any]:
    """Poll each account in the batch: fetch, enqueue its mentions, then save its cursor."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.errors import FieldProblem, MalformedInputError
    from chalicelib.services.polling import FAILED, RATE_LIMITED, account_from_dict

    poller = container().poller

    def handle(record: SQSRecord) -> None:
        try:
            account = account_from_dict(json.loads(record.body))
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedInputError(
                "poll message has the wrong shape", [FieldProblem("body", repr(err))]
            ) from None
        logger.thread_safe_append_keys(correlation_id=account.key)
        # Platform errors become backoff in the account's state; only a failure to enqueue
        # or to save the cursor raises here, so SQS retries the message.
        outcome = poller.poll_if_due(account)
        logger.info(
            "account polled",
            extra={
                "status": outcome.status,
                "enqueued": outcome.enqueued,
                "failures": outcome.state.failures,
                "healthy": outcome.state.healthy,
                "last_error": outcome.state.last_error,
            },
        )
        metrics.add_metric(name="MentionsPolled", unit="Count", value=outcome.enqueued)
        if outcome.status == FAILED:
            metrics.add_metric(name="PollFailures", unit="Count", value=1)
        elif outcome.status == RATE_LIMITED:
            metrics.add_metric(name="PollsRateLimited", unit="Count", value=1)

    result = process_partial_response(
        event=event.to_dict(),
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
    return dict(result)


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
                "incident_key": outcome.incident_key,
                "incident_reason": outcome.incident_reason,
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
    from chalicelib.domain.channels import visible_change
    from chalicelib.domain.tasks import TaskStatus
    from chalicelib.errors import UpstreamError

    c = container()
    sequence_of: dict[str, str] = {}
    new_tasks = []
    changed: list[tuple[Any, str]] = []
    for record in event.get("Records", []):
        if record.get("eventName") == "MODIFY" and "OldImage" in record["dynamodb"]:
            before = task_from_stream_image(record["dynamodb"]["OldImage"])
            after = task_from_stream_image(record["dynamodb"]["NewImage"])
            if visible_change(before, after):
                changed.append((after, record["dynamodb"]["SequenceNumber"]))
            continue
        if record.get("eventName") != "INSERT":
            continue
        task = task_from_stream_image(record["dynamodb"]["NewImage"])
        if task.status is TaskStatus.NEW:
            new_tasks.append(task)
            sequence_of[task.task_id] = record["dynamodb"]["SequenceNumber"]
    update_failures: list[dict[str, str]] = []
    if changed:
        # Acted on or mentioned again: chats edit their message (SNS pages nobody).
        try:
            c.dispatcher.update([t for t, _ in changed])
        except UpstreamError:
            update_failures = [{"itemIdentifier": seq} for _, seq in changed]
    if not new_tasks:
        return {"batchItemFailures": update_failures}
    report = c.dispatcher.dispatch(new_tasks)
    for task in new_tasks:
        logger.info(
            "task dispatched"
            if task.task_id in report.dispatched_task_ids
            else "task held for the team's digest"
            if task.task_id in report.held_task_ids
            else "task not sent",
            extra={"correlation_id": task.mention_key, "task_id": task.task_id},
        )
    metrics.add_metric(name="TasksDispatched", unit="Count", value=len(report.dispatched_task_ids))
    sent = [t for t in new_tasks if t.task_id in report.dispatched_task_ids]
    if sent:
        # Dispatch lag: from the task's write (the outbox) to its publish; the worst of the batch.
        now = c.clock()
        lag = max((now - t.created_at).total_seconds() for t in sent)
        metrics.add_metric(name="DispatchLag", unit="Milliseconds", value=max(lag, 0.0) * 1e3)
    if report.held_task_ids:
        metrics.add_metric(name="TasksHeldForDigest", unit="Count", value=len(report.held_task_ids))
    if report.failed_task_ids:
        metrics.add_metric(name="DispatchFailures", unit="Count", value=len(report.failed_task_ids))
    to_chats = sum(n for channel, n in report.channel_counts.items() if channel != "sns")
    if to_chats:
        metrics.add_metric(name="TasksToChats", unit="Count", value=to_chats)
    return {
        "batchItemFailures": [
            {"itemIdentifier": sequence_of[t]} for t in report.failed_task_ids if t in sequence_of
        ]
        + update_failures
    }


@events.schedule(Rate(1, unit=Rate.MINUTES), name="escalate")
def escalate_tasks(event: Any) -> dict[str, int]:
    """Every minute: unacknowledged tasks past their wait climb their escalation chain."""
    report = container().escalator.run()
    for task_id in report.notified:
        logger.info("task escalated", extra={"task_id": task_id})
    if report.notified:
        metrics.add_metric(name="TasksEscalated", unit="Count", value=len(report.notified))
    if report.failed:
        metrics.add_metric(name="EscalationFailures", unit="Count", value=len(report.failed))
    return {
        "notified": len(report.notified),
        "stopped": len(report.stopped),
        "failed": len(report.failed),
    }


@events.schedule(Rate(1, unit=Rate.MINUTES), name="flush_digests")
def flush_digests(event: Any) -> dict[str, int]:
    """Every minute: teams whose held digest is due get it, as one notice."""
    teams = container().digester.run()
    if teams:
        metrics.add_metric(name="DigestsSent", unit="Count", value=len(teams))
        logger.info("digests sent", extra={"team_ids": teams})
    return {"digests": len(teams)}


PUSH_EVENTS_TOPIC = "tvarit-push-events"


@events.on_sns_message(topic=PUSH_EVENTS_TOPIC, name="push_events")
def retire_dead_endpoints(event: Any) -> dict[str, int]:
    """SNS push delivery failures: endpoints FCM/APNs disabled are unsubscribed and deleted."""
    from chalicelib.domain.push_events import endpoint_to_retire
    from chalicelib.services.devices import retire_endpoint

    arn = endpoint_to_retire(event.message)
    if arn is None:
        return {"retired": 0}
    c = container()
    retired = retire_endpoint(c.config_repo, c.devices, arn)
    if retired:
        metrics.add_metric(name="EndpointsRetired", unit="Count", value=1)
        logger.info("push endpoint retired", extra={"endpoint_arn": arn})
    return {"retired": int(retired)}


@events.on_sqs_message(queue=TELEGRAM_QUEUE_NAME, batch_size=10, name="telegram_send")
def telegram_send(event: Any) -> dict[str, Any]:
    """Post tasks to their teams' Telegram groups and edit them as they change (issue 13).

    Limits are kept by the one sender (reserved concurrency 1): a message that must wait
    longer than a few seconds (a group's minute is full, or a 429's retry_after) is put back
    on the queue with that delay, and its record counts as done.
    """
    import math

    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.errors import FieldProblem, MalformedInputError
    from chalicelib.services.telegram_bot import Deferred

    c = container()
    sender = c.telegram_sender

    def handle(record: SQSRecord) -> None:
        try:
            message = json.loads(record.body)
        except ValueError as err:
            raise MalformedInputError(
                "telegram message is not JSON", [FieldProblem("body", repr(err))]
            ) from None
        try:
            outcome = sender.handle(message)
        except Deferred as wait:
            c.telegram_queue.send([message], delay_seconds=math.ceil(wait.seconds))
            metrics.add_metric(name="TelegramDeferred", unit="Count", value=1)
            logger.info("telegram send deferred", extra={"seconds": round(wait.seconds, 1)})
            return
        logger.info(
            "telegram " + outcome,
            extra={"task_id": message.get("task_id"), "op": message.get("op")},
        )
        if outcome == "sent":
            metrics.add_metric(name="TelegramSent", unit="Count", value=1)
        elif outcome == "edited":
            metrics.add_metric(name="TelegramEdited", unit="Count", value=1)

    result = process_partial_response(
        event=event.to_dict(),
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
    return dict(result)
