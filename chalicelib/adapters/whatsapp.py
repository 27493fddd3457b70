"""AWS End User Messaging Social: SendWhatsAppMessage through boto3's ``socialmessaging``.

Request (botocore service model socialmessaging 2024-01-01, ``POST /v1/whatsapp/send``):
``originationPhoneNumberId`` (``phone-number-id-...``), ``message`` (a blob: the WhatsApp Cloud
API message object as JSON bytes, sent base64-encoded) and ``metaApiVersion`` (``v20.0``);
response: ``messageId``. Errors are translated here into the service's error tree.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import FieldProblem, InvalidInputError, RateLimitedError, UpstreamError

_THROTTLED = frozenset({"ThrottledRequestException", "LimitExceededException"})
_INVALID = frozenset({"ValidationException", "InvalidParametersException"})


class SocialMessagingWhatsAppClient:
    def __init__(self, client: Any) -> None:
        self.client = client

    def send_message(
        self, origination_phone_number_id: str, message: bytes, meta_api_version: str
    ) -> str:
        try:
            answer = self.client.send_whatsapp_message(
                originationPhoneNumberId=origination_phone_number_id,
                message=message,
                metaApiVersion=meta_api_version,
            )
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in _THROTTLED:
                raise RateLimitedError("WhatsApp sending is throttled") from None
            if code in _INVALID:
                # The message text may quote a phone number: keep only the code.
                raise InvalidInputError(
                    "WhatsApp refused the message", [FieldProblem("message", code)]
                ) from None
            raise UpstreamError(f"WhatsApp send failed: {code or 'error'}") from None
        except BotoCoreError as err:
            raise UpstreamError(f"WhatsApp send failed: {type(err).__name__}") from None
        message_id = answer.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            raise UpstreamError("WhatsApp send answered without a message id")
        return message_id
