"""The SNS contact adapter under moto: sms and email subscriptions with their filter policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.sns_contacts import SnsContactSubscriber
from chalicelib.errors import UpstreamError

POLICY = {"team_ids": ["DL-CENTRAL-01", "@lead:DL-CENTRAL-01"], "lang": ["hi"]}


@pytest.mark.parametrize(
    ("protocol", "endpoint"), [("sms", "+919876543210"), ("email", "asha@example.in")]
)
def test_subscribe_with_the_filter_policy_and_unsubscribe(
    clients: dict[str, Any], protocol: str, endpoint: str
) -> None:
    sns = clients["sns"]
    topic = sns.create_topic(Name="tvarit-state-DL")["TopicArn"]
    contacts = SnsContactSubscriber(sns)
    arn = contacts.subscribe(topic, protocol, endpoint, POLICY)
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert json.loads(attrs["FilterPolicy"]) == POLICY
    assert (attrs["Protocol"], attrs["Endpoint"]) == (protocol, endpoint)
    assert attrs["FilterPolicyScope"] == "MessageAttributes"
    contacts.unsubscribe(arn)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    contacts.unsubscribe("pending confirmation")  # an unconfirmed e-mail has no ARN yet


def test_a_missing_topic_is_an_upstream_error_that_names_no_number(
    clients: dict[str, Any],
) -> None:
    contacts = SnsContactSubscriber(clients["sns"])
    missing = "arn:aws:sns:ap-south-1:123456789012:tvarit-state-XX"
    with pytest.raises(UpstreamError) as err:
        contacts.subscribe(missing, "sms", "+919876543210", POLICY)
    assert "9876543210" not in str(err.value)
