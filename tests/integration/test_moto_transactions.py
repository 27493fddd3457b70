"""The local AWS's transactions (local/moto_transactions.py): moto's semantics, without copying
whole tables (issue 17: a transaction's cost grew with its table and held every other
DynamoDB request of the local stack behind it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.moto_transactions import install


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    # moto 5.2 + botocore 1.44: DynamoDB Streams need account-id endpoints off.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        uninstall = install()
        try:
            yield _tables(boto3.client("dynamodb", region_name="ap-south-1"))
        finally:
            uninstall()


def _tables(client: Any) -> Any:
    for name, keys in (("tx-hash", ["k"]), ("tx-range", ["k", "r"])):
        client.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": a, "KeyType": t}
                for a, t in zip(keys, ["HASH", "RANGE"][: len(keys)], strict=True)
            ],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in keys],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    return client


def _snapshot(client: Any) -> dict[str, Any]:
    """Every item and every stream record of both tables."""
    out: dict[str, Any] = {}
    import boto3

    streams = boto3.client("dynamodbstreams", region_name="ap-south-1")
    for name in ("tx-hash", "tx-range"):
        items = client.scan(TableName=name)["Items"]
        arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=it)["Records"]
        out[name] = (
            sorted(items, key=repr),
            [(r["eventName"], r["dynamodb"].get("NewImage")) for r in records],
        )
    return out


def _seed(client: Any) -> None:
    client.put_item(TableName="tx-hash", Item={"k": {"S": "a"}, "n": {"N": "1"}})
    client.put_item(TableName="tx-hash", Item={"k": {"S": "gone"}, "n": {"N": "1"}})
    client.put_item(TableName="tx-range", Item={"k": {"S": "a"}, "r": {"S": "1"}, "n": {"N": "1"}})


def test_a_cancelled_transaction_leaves_items_and_streams_as_they_were(ddb: Any) -> None:
    _seed(ddb)
    before = _snapshot(ddb)
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                # Applied by moto before it finds the failing condition below, then undone:
                # an in-place update, a put over an item, a new item, a delete.
                {
                    "Update": {
                        "TableName": "tx-hash",
                        "Key": {"k": {"S": "a"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": "tx-range",
                        "Item": {"k": {"S": "a"}, "r": {"S": "1"}, "n": {"N": "9"}},
                    }
                },
                {"Put": {"TableName": "tx-range", "Item": {"k": {"S": "b"}, "r": {"S": "1"}}}},
                {"Delete": {"TableName": "tx-hash", "Key": {"k": {"S": "gone"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "tx-hash",
                        "Key": {"k": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(k)",
                    }
                },
            ]
        )
    assert _snapshot(ddb) == before
    # The table still takes writes, its stream numbering intact.
    ddb.put_item(TableName="tx-hash", Item={"k": {"S": "after"}})
    assert len(_snapshot(ddb)["tx-hash"][1]) == len(before["tx-hash"][1]) + 1


def test_a_transaction_that_passes_writes_everything_once(ddb: Any) -> None:
    _seed(ddb)
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "tx-hash",
                    "Key": {"k": {"S": "a"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": "tx-range", "Item": {"k": {"S": "b"}, "r": {"S": "2"}}}},
        ]
    )
    after = _snapshot(ddb)
    assert {"k": {"S": "a"}, "n": {"N": "2"}} in after["tx-hash"][0]
    assert [e for e, _ in after["tx-hash"][1]] == ["INSERT", "INSERT", "MODIFY"]
    assert [e for e, _ in after["tx-range"][1]] == ["INSERT", "INSERT"]


def test_no_transaction_copies_a_whole_table(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    _seed(ddb)

    def refuse(self: Table, memo: dict[int, Any]) -> Table:
        raise AssertionError(f"table {self.name} copied whole")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "tx-hash", "Item": {"k": {"S": "c"}}}}]
    )
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "tx-hash",
                        "Item": {"k": {"S": "c"}},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                }
            ]
        )
