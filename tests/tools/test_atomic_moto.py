"""The local stack's moto server is as atomic as DynamoDB (smsgw_tools.local.atomic_moto): a
cancelled transaction undoes its own writes only, and a stream reads on after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from smsgw_tools.local.moto_server import DUMMY_CREDENTIALS, REGION, MotoServer


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with MotoServer() as server:
        yield server.url


def _client(url: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url, **DUMMY_CREDENTIALS)


@pytest.fixture
def table(moto_url: str, request: pytest.FixtureRequest) -> str:
    name = request.node.name[:200]
    _client(moto_url, "dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name


def _cancelled_transaction(dynamodb: Any, table: str) -> None:
    """Writes `new` and changes `kept`, then fails on `missing`'s condition."""
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "kept"}},
                        "UpdateExpression": "SET N = :n",
                        "ExpressionAttributeValues": {":n": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"PK": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )


def test_a_cancelled_transaction_undoes_its_own_writes_only(moto_url, table):
    # Given an item
    dynamodb = _client(moto_url, "dynamodb")
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "kept"}, "N": {"N": "1"}})

    # When a transaction that wrote and changed items is cancelled
    _cancelled_transaction(dynamodb, table)

    # Then the table is as it was
    items = dynamodb.scan(TableName=table)["Items"]
    assert items == [{"PK": {"S": "kept"}, "N": {"N": "1"}}]


def test_a_stream_reads_on_after_a_cancelled_transaction(moto_url, table):
    # Given a reader at the end of the table's stream, as the local stack's stream poller
    dynamodb = _client(moto_url, "dynamodb")
    streams = _client(moto_url, "dynamodbstreams")
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "kept"}, "N": {"N": "1"}})
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    first = streams.get_records(ShardIterator=iterator)

    # When a transaction is cancelled, and then an item is written
    _cancelled_transaction(dynamodb, table)
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "after"}})

    # Then the reader's next iterator reads that write, and nothing of the transaction
    then = streams.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in first["Records"]] == ["kept"]
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in then["Records"]] == ["after"]
