"""Blueprint of the WhatsApp event destination: SNS notifications from End User Messaging Social.

Deployed only where the stage turns WhatsApp on (infra/stack.py's ``WhatsAppEnabled``
condition); with the flag off in the code too, a notification is counted and left alone.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.observability import logger, metrics
from chalicelib.wiring import container

whatsapp_events = Blueprint(__name__)

WHATSAPP_EVENTS_TOPIC = "tvarit-whatsapp-events"


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
    return {"acted": len(report.acted), "refused": len(report.refused), "noted": report.noted}
