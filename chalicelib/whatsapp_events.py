"""Blueprint of the WhatsApp event destination: SNS notifications from End User Messaging Social.

Deployed only where the stage turns WhatsApp on (infra/stack.py's ``WhatsAppEnabled``
condition); with the flag off in the code too, a notification is counted and left alone.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.observability import logger, metrics
from chalicelib.settings import WHATSAPP_SENDS_QUEUE_NAME
from chalicelib.wiring import container

whatsapp_events = Blueprint(__name__)

WHATSAPP_EVENTS_TOPIC = "tvarit-whatsapp-events"
WHATSAPP_SENDS_QUEUE = WHATSAPP_SENDS_QUEUE_NAME
SEND_BATCH_SIZE = 10


@whatsapp_events.on_sns_message(topic=WHATSAPP_EVENTS_TOPIC, name="whatsapp_events")
def whatsapp_replies(event: Any) -> dict[str, int]:
    """Members' button taps (and other messages) become their task transitions."""
    c = container()
    if not c.settings.whatsapp:
        logger.warning("WhatsApp event ignored: WhatsApp is off on this stage")
        return {"acted": 0, "refused": 0, "noted": 0}
    from chalicelib.errors import MalformedInputError

    try:
        report = c.whatsapp_inbound.handle(event.message)
    except MalformedInputError as err:
        # A retry cannot fix it: say so and drop it (the problem names the part, not the data).
        logger.error(
            "whatsapp event unreadable", extra={"problems": [p.as_dict() for p in err.problems]}
        )
        metrics.add_metric(name="WhatsAppRepliesRefused", unit="Count", value=1)
        return {"acted": 0, "refused": 1, "noted": 0}
    for member_id, action, task_id in report.acted:
        # The member id, never the phone number: that is personal data.
        logger.info(
            "whatsapp reply acted on",
            extra={"member_id": member_id, "action": action, "task_id": task_id},
        )
    if report.refused:
        logger.info("whatsapp messages refused", extra={"reasons": report.refused})
        metrics.add_metric(name="WhatsAppRepliesRefused", unit="Count", value=len(report.refused))
    if report.acted:
        metrics.add_metric(name="WhatsAppRepliesActed", unit="Count", value=len(report.acted))
    if report.asks:
        # Done without a link: the sender (which keeps the number's limits) asks for it.
        c.whatsapp_queue.send(
            [
                {
                    "kind": "done_prompt",
                    "member_id": member_id,
                    "team_id": team_id,
                    "task_id": task_id,
                    "reply_to": message_id,
                    "version": 0,
                }
                for member_id, team_id, task_id, message_id in report.asks
            ]
        )
    return {"acted": len(report.acted), "refused": len(report.refused), "noted": report.noted}


@whatsapp_events.on_sqs_message(
    queue=WHATSAPP_SENDS_QUEUE, batch_size=SEND_BATCH_SIZE, name="whatsapp_send"
)
def send_whatsapp(event: Any) -> dict[str, Any]:
    """One queued (task, member) each: sent within the number's limits; throttled ones retried."""
    import json

    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.domain.org import team_from_dict
    from chalicelib.domain.tasks import TERMINAL
    from chalicelib.errors import FieldProblem, MalformedInputError, UpstreamError
    from chalicelib.services.config_cache import team_record
    from chalicelib.services.whatsapp import SendReport

    c = container()

    def handle(record: SQSRecord) -> None:
        try:
            body = json.loads(record.body)
            task_id, member_id = str(body["task_id"]), str(body["member_id"])
            version = int(body["version"])
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedInputError(
                "whatsapp send message has the wrong shape", [FieldProblem("body", repr(err))]
            ) from None
        task = c.tasks.get(task_id)
        record_ = team_record(c.config_repo, str(body.get("team_id", "")))
        closed = task is None or (
            not task.is_open if body.get("kind") != "done_prompt" else task.status in TERMINAL
        )
        if task is None or record_ is None or closed:
            return  # gone, or acknowledged / closed meanwhile: nobody needs paging
        team = team_from_dict(dict(record_.data))
        member = next((m for m in team.members if m.id == member_id), None)
        if member is None:
            return  # left the team meanwhile
        report = SendReport()
        if body.get("kind") == "done_prompt":
            c.whatsapp_sender.send_done_prompt(task, member, str(body.get("reply_to", "")), report)
        else:
            c.whatsapp_sender.send_to_member(task, member, team.name, report, version)
        if report.sent:
            metrics.add_metric(name="WhatsAppMessagesSent", unit="Count", value=1)
            logger.info(
                "whatsapp message sent",
                extra={"task_id": task_id, "member_id": member_id, "kind": report.sent[0].kind},
            )
        elif report.over_tier or report.refused:
            # Not retried: today's tier is spent, or the message was refused as invalid.
            metrics.add_metric(name="WhatsAppMessagesDropped", unit="Count", value=1)
            logger.warning(
                "whatsapp message not sent",
                extra={"task_id": task_id, "member_id": member_id, "why": report.failed[member_id]},
            )
        elif report.failed:
            raise UpstreamError(report.failed[member_id])  # SQS redelivers it later

    result = process_partial_response(
        event=event.to_dict(),
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
    return dict(result)
