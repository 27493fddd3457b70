"""The SNS device adapter under moto: endpoint, filtered subscription, clean removal."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.sns_devices import SnsDeviceRegistry


def test_register_subscribes_with_the_filter_policy(clients: dict[str, Any]) -> None:
    sns = clients["sns"]
    app = sns.create_platform_application(
        Name="tvarit-fcm", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )["PlatformApplicationArn"]
    topic = sns.create_topic(Name="tvarit-state-DL")["TopicArn"]
    registry = SnsDeviceRegistry(sns, {"fcm": app})
    policy = {"team_ids": ["DL-CENTRAL-01", "@state:DL"], "lang": ["hi"]}
    endpoint, subscription = registry.register("fcm", "tok-1234567890", topic, policy, "w1")
    attrs = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert json.loads(attrs["FilterPolicy"]) == policy
    assert attrs["Endpoint"] == endpoint and attrs["Protocol"] == "application"
    registry.unregister(endpoint, subscription)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    registry.unregister(endpoint, "")  # already gone: not an error


def test_a_changed_filter_policy_replaces_the_subscriptions(clients: dict[str, Any]) -> None:
    sns = clients["sns"]
    app = sns.create_platform_application(
        Name="tvarit-fcm-2", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )["PlatformApplicationArn"]
    topic = sns.create_topic(Name="tvarit-state-RJ")["TopicArn"]
    registry = SnsDeviceRegistry(sns, {"fcm": app})
    lead = {"team_ids": ["RJ-JAIPUR-01", "@lead:RJ-JAIPUR-01"], "lang": ["hi"]}
    _, subscription = registry.register("fcm", "tok-abcdef123456", topic, lead, "l1")
    warrior = {"team_ids": ["RJ-JAIPUR-01"], "lang": ["hi"]}
    registry.set_filter_policy(subscription, warrior)
    attrs = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert json.loads(attrs["FilterPolicy"]) == warrior
