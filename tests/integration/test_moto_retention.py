"""The local AWS's retention (local/moto_memory.py) bounds what moto would keep forever, and
every client still gets what it asks for. Each test first shows the growth without it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.moto_memory import _backends, apply_retention, measure, trim_stream


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    # moto 5.2 + botocore 1.44: DynamoDB Streams need account-id endpoints off.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        yield {
            n: boto3.client(n, region_name="ap-south-1")
            for n in ("dynamodb", "dynamodbstreams", "sns", "sqs")
        }


def _stream_table(c: dict[str, Any]) -> str:
    c["dynamodb"].create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn: str = c["dynamodb"].describe_table(TableName="t")["Table"]["LatestStreamArn"]
    return arn


def _first_iterator(c: dict[str, Any], arn: str) -> str:
    shard = c["dynamodbstreams"].describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    it: str = c["dynamodbstreams"].get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return it


def _poll(c: dict[str, Any], it: str, times: int) -> tuple[str, list[str]]:
    """Read the stream as the pump does: follow NextShardIterator; the keys seen."""
    seen: list[str] = []
    for _ in range(times):
        page = c["dynamodbstreams"].get_records(ShardIterator=it)
        seen += [r["dynamodb"]["Keys"]["k"]["S"] for r in page["Records"]]
        it = page["NextShardIterator"]
    return it, seen


def test_idle_stream_polls_pile_up_iterators_unless_they_expire(aws: dict[str, Any]) -> None:
    arn = _stream_table(aws)
    it, _ = _poll(aws, _first_iterator(aws, arn), 100)
    assert measure(sizes=False)["stream_iterators"]["count"] >= 100  # moto keeps every one

    apply_retention(iterator_lifetime=0.0)  # AWS: 15 minutes; here: at once, to see the bound
    aws["dynamodb"].put_item(TableName="t", Item={"k": {"S": "a"}})
    it, seen = _poll(aws, it, 100)
    aws["dynamodb"].put_item(TableName="t", Item={"k": {"S": "b"}})
    _, seen_after = _poll(aws, it, 3)
    assert measure(sizes=False)["stream_iterators"]["count"] <= 1
    assert seen + seen_after == ["a", "b"]  # the live iterator still reads, nothing missed


def test_published_messages_are_kept_only_up_to_the_bound(aws: dict[str, Any]) -> None:
    topic = aws["sns"].create_topic(Name="tvarit-state-DL")["TopicArn"]
    queue = aws["sqs"].create_queue(QueueName="phone")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    for i in range(30):
        aws["sns"].publish(TopicArn=topic, Message=f"m{i}")
    assert measure(sizes=False)["sns_published"]["count"] == 30  # moto keeps every one

    apply_retention(keep_published=10)
    for i in range(30, 60):
        aws["sns"].publish(TopicArn=topic, Message=f"m{i}")
    assert measure(sizes=False)["sns_published"]["count"] == 10
    attrs = aws["sqs"].get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == 60  # every subscriber got each one


def _send_receive_delete(sqs: Any, url: str, n: int) -> list[str]:
    handles = []
    for i in range(n):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
        [m] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        handles.append(m["ReceiptHandle"])
    return handles


def test_deleted_receipt_handles_are_kept_only_up_to_the_bound(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    url = sqs.create_queue(QueueName="mentions")["QueueUrl"]
    _send_receive_delete(sqs, url, 20)
    assert measure(sizes=False)["sqs"]["deleted_handles"] >= 20  # moto keeps every one

    apply_retention(keep_deleted=10)
    handles = _send_receive_delete(sqs, url, 20)
    assert measure(sizes=False)["sqs"]["deleted_handles"] == 10
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-1])  # a repeated delete still works


def test_old_stream_records_are_trimmed_and_sequence_numbers_kept(aws: dict[str, Any]) -> None:
    arn = _stream_table(aws)
    for k in ("a", "b", "c"):
        aws["dynamodb"].put_item(TableName="t", Item={"k": {"S": k}})
    it, seen = _poll(aws, _first_iterator(aws, arn), 2)
    assert seen == ["a", "b", "c"]
    [table] = [t for d in _backends("dynamodb") for t in d.tables.values()]
    assert trim_stream(table.stream_shard, keep_seconds=-1.0, now=10**10) == 3
    assert measure(sizes=False)["dynamodb"]["t"]["stream_records"] == 0
    aws["dynamodb"].put_item(TableName="t", Item={"k": {"S": "d"}})
    _, seen = _poll(aws, it, 2)  # the reader's iterator still points at the right place
    assert seen == ["d"]
    _, fresh = _poll(aws, _first_iterator(aws, arn), 1)
    assert fresh == ["d"]


def _live_items() -> int:
    """moto DynamoDB ``Item`` objects alive in this process (after a full collection)."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item

    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Item)


def test_transaction_rollback_copies_are_freed_once_moto_forgets_its_tracked_instances(
    aws: dict[str, Any],
) -> None:
    _stream_table(aws)
    db = aws["dynamodb"]
    for i in range(50):
        db.put_item(TableName="t", Item={"k": {"S": f"k{i}"}, "v": {"S": "x" * 100}})

    def transactions(start: int, n: int) -> None:
        for i in range(start, start + n):
            db.transact_write_items(
                TransactItems=[{"Put": {"TableName": "t", "Item": {"k": {"S": f"t{i}"}}}}]
            )

    transactions(0, 10)
    # moto deep-copies the table for each transaction's rollback, and keeps every copy.
    assert measure(sizes=False)["tracked_instances"]["count"] >= 10 * 50
    assert _live_items() >= 10 * 50

    apply_retention()
    transactions(10, 10)
    apply_retention()
    assert measure(sizes=False)["tracked_instances"]["count"] == 0
    assert _live_items() <= 50 + 20 + 5  # the table's own items, and nothing else kept
    assert db.get_item(TableName="t", Key={"k": {"S": "t19"}})["Item"]  # the data is intact
