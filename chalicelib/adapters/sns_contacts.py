"""SMS and e-mail subscriptions on the state topics (SNS ``sms`` / ``email`` protocols).

The endpoint (a phone number or an address) is personal data: it goes to SNS and nowhere else;
errors name the protocol, never the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import FieldProblem, InvalidInputError, UpstreamError


class SnsContactSubscriber:
    def __init__(self, client: Any) -> None:
        self._client = client

    def subscribe(
        self, topic_arn: str, protocol: str, endpoint: str, filter_policy: Mapping[str, Any]
    ) -> str:
        try:
            # An e-mail subscription stays "pending confirmation" until the member clicks the
            # link SNS mails them; SNS still returns its ARN with ReturnSubscriptionArn.
            response = self._client.subscribe(
                TopicArn=topic_arn,
                Protocol=protocol,
                Endpoint=endpoint,
                Attributes={
                    "FilterPolicy": json.dumps(filter_policy),
                    "FilterPolicyScope": "MessageAttributes",
                },
                ReturnSubscriptionArn=True,
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "InvalidParameter":
                where = "phone" if protocol == "sms" else "email"
                raise InvalidInputError(
                    f"SNS refused the {protocol} endpoint", [FieldProblem(where, "refused by SNS")]
                ) from err
            raise UpstreamError(f"subscribing the {protocol} contact failed") from err
        except BotoCoreError as err:
            raise UpstreamError(f"subscribing the {protocol} contact failed") from err
        return str(response["SubscriptionArn"])

    def unsubscribe(self, subscription_arn: str) -> None:
        # "pending confirmation" is what SNS reports for an unconfirmed e-mail: nothing to undo.
        if not subscription_arn.startswith("arn:"):
            return
        try:
            self._client.unsubscribe(SubscriptionArn=subscription_arn)
        except ClientError as err:
            # NotFound: gone already. InvalidParameter: an e-mail never confirmed, which SNS
            # will not delete and lets expire by itself (it delivers nothing meanwhile).
            if err.response.get("Error", {}).get("Code") not in ("NotFound", "InvalidParameter"):
                raise UpstreamError("removing a contact subscription failed") from err
        except BotoCoreError as err:
            raise UpstreamError("removing a contact subscription failed") from err
