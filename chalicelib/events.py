"""Event handlers: polling (schedule + SQS), the SQS analyze stage, the DynamoDB-stream dispatch."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from chalice import Blueprint, Rate

from chalicelib.observability import logger, metrics
from chalicelib.services.deadline import Deadline
from chalicelib.settings import MENTIONS_QUEUE_NAME, POLLS_QUEUE_NAME, TELEGRAM_QUEUE_NAME
from chalicelib.stages import aws_calls, mark
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
    deadline = Deadline.of(event.context)

    def handle(record: SQSRecord) -> None:
        deadline.check()  # near the timeout: handed back as a batch item failure
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
    deadline = Deadline.of(event.context)
    calls_before = aws_calls.in_this_thread

    def handle(record: SQSRecord) -> None:
        deadline.check()  # near the timeout: handed back as a batch item failure
        message = json.loads(record.body)
        key = f"{message.get('platform')}#{message.get('native_id')}"
        logger.thread_safe_append_keys(correlation_id=key)
        outcome = analyzer.handle(message, correlation_id=key)
        _mark_analyzed(key, message, record, outcome)
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
    records = len(event.to_dict().get("Records", []))
    if records:
        # Round trips dominate a mention's cost on Lambda: the target is 4 on the common path.
        per_mention = (aws_calls.in_this_thread - calls_before) / records
        metrics.add_metric(name="AwsCallsPerMention", unit="Count", value=per_mention)
    return dict(result)


def _mark_analyzed(key: str, message: dict[str, Any], record: Any, outcome: Any) -> None:
    """The analyze stage's marks: the platform's time, queue wait, analysis, store, tasks."""
    from datetime import datetime

    created = message.get("created_at")
    if isinstance(created, str):
        with contextlib.suppress(ValueError):  # analyze refused it already: no mark
            mark("created", key, datetime.fromisoformat(created).timestamp())
    sent = record.attributes.sent_timestamp
    queued = int(sent) / 1e3 if sent else None
    times = [  # in the order they happen: the mention is stored last, once routed
        ("analyzed", outcome.analyzed_at),
        ("task_written", outcome.tasks_written_at),
        ("stored", outcome.stored_at),
    ]
    since = queued
    for stage, at in times:
        if at is None:
            continue
        for i, task_id in enumerate(outcome.new_task_ids if stage == "task_written" else ("",)):
            # One lag metric a stage; every new task gets its mark (the bench follows tasks).
            sink = metrics if i == 0 else None
            mark(stage, key, at.timestamp(), since=since, task_id=task_id, metrics=sink)
        since = at.timestamp()


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
    if Deadline.of(context).near():
        # Too late to publish and record: the stream retries from the lowest of these.
        logger.warning("dispatch handed back near the timeout", extra={"tasks": len(new_tasks)})
        return {
            "batchItemFailures": update_failures
            + [{"itemIdentifier": sequence_of[t.task_id]} for t in new_tasks]
        }
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
    for i, t in enumerate(sent):
        at = report.published_at.get(t.task_id)
        if at is not None:
            mark(
                "published",
                t.mention_key,
                at.timestamp(),
                since=t.created_at.timestamp(),
                task_id=t.task_id,
                message_id=report.message_ids.get(t.task_id, ""),
                metrics=metrics if i == 0 else None,
            )
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


# --- stream consumers: one scheduled function per stream of a platform descriptor ----------


def _stream_function(platform: str, stream: str) -> Any:
    def consume(event: Any) -> dict[str, Any]:
        """Read the stream for just under a minute from its saved cursor (docs/platforms.md)."""
        from chalicelib.adapters.platforms.registry import adapter_function
        from chalicelib.domain.platforms import BY_NAME
        from chalicelib.services.streams import StreamRun

        p = BY_NAME[platform]
        desc = next(s for s in p.streams if s.name == stream)
        run = adapter_function(p, desc.consumer)(container().stream_context(platform, stream))
        assert isinstance(run, StreamRun)
        summary = {
            "stream": run.key,
            "events": run.events,
            "mentions": run.mentions,
            "connections": run.connections,
            "errors": len(run.errors),
        }
        if run.waited:
            summary["backing_off_seconds"] = round(run.waited)
        logger.info(
            "stream read", extra={**summary, "last_error": run.errors[-1:], "notes": run.notes}
        )
        metrics.add_metric(name="StreamEvents", unit="Count", value=run.events)
        metrics.add_metric(name="MentionsIngested", unit="Count", value=run.mentions)
        return summary

    consume.__name__ = consume.__qualname__ = f"consume_{stream.replace('-', '_')}"
    return consume


def _job_function(platform: str, job: str) -> Any:
    def run(event: Any) -> dict[str, Any]:
        """A platform's scheduled chore (renewing WebSub leases), as its descriptor names it."""
        from chalicelib.adapters.platforms.registry import adapter_function
        from chalicelib.domain.platforms import BY_NAME

        p = BY_NAME[platform]
        desc = next(j for j in p.jobs if j.name == job)
        counts = adapter_function(p, desc.function)(container().job_context(platform, job))
        assert isinstance(counts, dict)
        logger.info("job ran", extra={"job": job, **counts})
        return counts

    run.__name__ = run.__qualname__ = job.replace("-", "_")
    return run


def _register_streams() -> None:
    from chalicelib.domain.platforms import PLATFORMS

    for p in PLATFORMS:
        for s in p.streams:
            fn = _stream_function(p.name, s.name)
            rate = Rate(s.every_minutes, unit=Rate.MINUTES)
            # Lambda finds the handler by its name in this module (lambda_entry).
            globals()[fn.__name__] = events.schedule(rate, name=f"consume-{s.name}")(fn)
        for j in p.jobs:
            fn = _job_function(p.name, j.name)
            rate = Rate(j.every_minutes, unit=Rate.MINUTES)
            globals()[fn.__name__] = events.schedule(rate, name=j.name)(fn)


_register_streams()


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
