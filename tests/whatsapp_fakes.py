"""A fake beside the WhatsApp port: the socialmessaging client (what WhatsApp delivery
remembers goes through the channel seam's stores, faked in ``tests.fakes``).

moto has no backend for AWS End User Messaging Social. :class:`FakeWhatsAppClient` keeps the
documented request and response shapes of SendWhatsAppMessage: the request is checked against
botocore's own service model (required members, types, the blob's size), the message bytes
must be a WhatsApp Cloud API message object, and the answer is ``{"messageId": ...}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from chalicelib.adapters.whatsapp import SocialMessagingWhatsAppClient
from chalicelib.errors import FieldProblem, InvalidInputError

_MODEL = botocore.session.get_session().get_service_model("socialmessaging")
SEND_INPUT = _MODEL.operation_model("SendWhatsAppMessage").input_shape
MESSAGE_TYPES = frozenset({"text", "template", "interactive", "image", "document", "reaction"})


def check_cloud_api_message(message: bytes) -> dict[str, Any]:
    """The message object, if it has the Cloud API's envelope; InvalidInputError otherwise."""
    try:
        body = json.loads(message)
    except ValueError:
        raise InvalidInputError("message is not JSON", [FieldProblem("message", "json")]) from None
    problems = []
    if body.get("messaging_product") != "whatsapp":
        problems.append(FieldProblem("message.messaging_product", "whatsapp"))
    if not str(body.get("to", "")).isdigit():
        problems.append(FieldProblem("message.to", "the number's digits"))
    if body.get("type") not in MESSAGE_TYPES or body.get("type") not in body:
        problems.append(FieldProblem("message.type", "a type and its object"))
    if problems:
        raise InvalidInputError("not a Cloud API message", problems)
    return dict(body)


class _BotoShapedClient:
    """What boto3's ``socialmessaging`` client is to the adapter, minus the network."""

    def __init__(self, owner: FakeWhatsAppClient) -> None:
        self.owner = owner

    def send_whatsapp_message(self, **params: Any) -> dict[str, Any]:
        report = ParamValidator().validate(params, SEND_INPUT)
        if report.has_errors():
            raise AssertionError(report.generate_report())
        return self.owner.answer(params)


@dataclass
class FakeWhatsAppClient:
    """The port, through the real adapter, over a fake of the boto3 client."""

    sent: list[dict[str, Any]] = field(default_factory=list)  # decoded message objects
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[Exception] = field(default_factory=list)

    def answer(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.fail_next:
            raise self.fail_next.pop(0)
        body = check_cloud_api_message(params["message"])
        self.requests.append(params)
        self.sent.append(body)
        return {"messageId": f"msg-{len(self.sent):04d}"}

    def send_message(
        self, origination_phone_number_id: str, message: bytes, meta_api_version: str
    ) -> str:
        adapter = SocialMessagingWhatsAppClient(_BotoShapedClient(self))
        return adapter.send_message(origination_phone_number_id, message, meta_api_version)
