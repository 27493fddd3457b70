"""Devices on SNS: a push token becomes a platform endpoint subscribed to the state topic.

The subscription carries the warrior's filter policy (``domain.subscriptions.filter_policy``)
on message attributes, so one publish per state topic reaches exactly the right phones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import FieldProblem, InvalidInputError, UpstreamError


class SnsDeviceRegistry:
    def __init__(self, client: Any, platform_apps: Mapping[str, str]) -> None:
        self._client = client
        self._apps = dict(platform_apps)

    def register(
        self,
        platform: str,
        token: str,
        topic_arn: str,
        filter_policy: Mapping[str, Any],
        user_data: str,
    ) -> tuple[str, str]:
        """The endpoint and subscription ARNs; re-registering the same token reuses them."""
        app = self._apps.get(platform)
        if not app:
            raise UpstreamError(f"no SNS platform application is configured for {platform}")
        try:
            endpoint = self._client.create_platform_endpoint(
                PlatformApplicationArn=app, Token=token, CustomUserData=user_data
            )["EndpointArn"]
            subscription = self._client.subscribe(
                TopicArn=topic_arn,
                Protocol="application",
                Endpoint=endpoint,
                Attributes={
                    "FilterPolicy": json.dumps(filter_policy),
                    "FilterPolicyScope": "MessageAttributes",
                },
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "InvalidParameter":
                raise InvalidInputError(
                    "SNS refused the device token", [FieldProblem("token", "refused by SNS")]
                ) from err
            raise UpstreamError("registering the device with SNS failed") from err
        except BotoCoreError as err:
            raise UpstreamError("registering the device with SNS failed") from err
        return str(endpoint), str(subscription)

    def unregister(self, endpoint_arn: str, subscription_arn: str) -> None:
        try:
            if subscription_arn:
                self._client.unsubscribe(SubscriptionArn=subscription_arn)
            if endpoint_arn:
                self._client.delete_endpoint(EndpointArn=endpoint_arn)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "NotFound":
                raise UpstreamError("removing the device from SNS failed") from err
        except BotoCoreError as err:
            raise UpstreamError("removing the device from SNS failed") from err

    def set_filter_policy(self, subscription_arn: str, filter_policy: Mapping[str, Any]) -> None:
        try:
            self._client.set_subscription_attributes(
                SubscriptionArn=subscription_arn,
                AttributeName="FilterPolicy",
                AttributeValue=json.dumps(filter_policy),
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "NotFound":
                return  # unsubscribed meanwhile (a retired endpoint): nothing to change
            raise UpstreamError("changing a device's filter policy failed") from err
        except BotoCoreError as err:
            raise UpstreamError("changing a device's filter policy failed") from err
