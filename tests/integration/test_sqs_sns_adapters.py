from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.sns import SnsTaskPublisher
from chalicelib.adapters.sqs import SqsMentionQueue
from chalicelib.domain.notify import plan_publishes
from chalicelib.domain.subscriptions import filter_policy
from chalicelib.errors import UpstreamError
from tests.factories import make_message, make_team
from tests.integration.test_repository_contracts import make_task


def test_mentions_are_sent_in_batches_of_ten(clients: dict[str, Any]) -> None:
    sqs = clients["sqs"]
    url = sqs.create_queue(QueueName="tvarit-mentions")["QueueUrl"]
    SqsMentionQueue(sqs, url).send([make_message(native_id=str(i)) for i in range(23)])
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        bodies += [json.loads(m["Body"]) for m in got]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )
    assert sorted(int(b["native_id"]) for b in bodies) == list(range(23))


def test_a_missing_queue_is_an_upstream_error(clients: dict[str, Any]) -> None:
    queue = SqsMentionQueue(
        clients["sqs"], "https://sqs.ap-south-1.amazonaws.com/123456789012/nope"
    )
    with pytest.raises(UpstreamError):
        queue.send([make_message()])


def test_one_publish_reaches_exactly_the_teams_it_names(clients: dict[str, Any]) -> None:
    sqs, sns = clients["sqs"], clients["sns"]
    topic = sns.create_topic(Name="tvarit-state-DL")["TopicArn"]
    phones = {}
    for team_id in ("DL-CENTRAL-01", "DL-EAST-01", "DL-WEST-01"):
        team = make_team(team_id)
        url = sqs.create_queue(QueueName=f"phone-{team_id}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={
                "FilterPolicy": json.dumps(filter_policy(team.members[0], team)),
                "RawMessageDelivery": "true",
            },
        )
        phones[team_id] = url
    [call] = plan_publishes([make_task("DL-CENTRAL-01"), make_task("DL-EAST-01")])
    assert call.api == "PublishBatch"  # one entry per delivery language of Delhi, both teams
    assert len(SnsTaskPublisher(sns, lambda state: topic).send(call)) == 2
    received = {
        team: [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url).get("Messages", [])]
        for team, url in phones.items()
    }
    assert len(received["DL-CENTRAL-01"]) == 1
    assert len(received["DL-EAST-01"]) == 1
    assert received["DL-WEST-01"] == []
    # Each phone gets the entry in its own language only (the demo warriors read Hindi).
    assert received["DL-EAST-01"][0]["lang"] == "hi"
    assert "task_id" not in received["DL-EAST-01"][0]  # each team derives its own
    assert received["DL-EAST-01"][0]["incident"] == "x#1"
    assert received["DL-CENTRAL-01"][0] == received["DL-EAST-01"][0]  # the same message


def test_publishing_to_a_missing_topic_is_an_upstream_error(clients: dict[str, Any]) -> None:
    publisher = SnsTaskPublisher(
        clients["sns"], lambda s: f"arn:aws:sns:ap-south-1:123456789012:tvarit-state-{s}"
    )
    with pytest.raises(UpstreamError):
        for call in plan_publishes([make_task()]):
            publisher.send(call)
