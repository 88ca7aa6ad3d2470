"""The local stack's moto Query (smsgw_tools.local.moto_query) answers as moto's own does:
the same items, in the same order, the same pages and counts, on the table and its index."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from moto import mock_aws

from smsgw_tools.local import moto_query
from tests.support import create_keyed_table

QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "P3"}}},
    {
        "KeyConditionExpression": "PK = :p AND begins_with(SK, :s)",
        "ExpressionAttributeValues": {":p": {"S": "P1"}, ":s": {"S": "S1"}},
        "ScanIndexForward": False,
        "Limit": 4,
    },
    {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
    {
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :p",
        "ExpressionAttributeValues": {":p": {"S": "G2"}},
        "Limit": 5,
    },
    {
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :p AND GSI1SK BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "G1"}, ":a": {"N": "3"}, ":b": {"N": "7"}},
        "ScanIndexForward": False,
        "FilterExpression": "attribute_exists(Extra)",
    },
    {
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :p",
        "ExpressionAttributeValues": {":p": {"S": "none"}},
    },
]


def _answers(patch: Any | None) -> list[list[dict[str, Any]]]:
    """Every page of every query, against a table written the same way each time."""
    with mock_aws():
        if patch is not None:
            moto_query.install(patch)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_keyed_table(dynamodb)
        chance = random.Random(7)
        for n in range(300):
            item = {"PK": {"S": f"P{n % 5}"}, "SK": {"S": f"S{chance.randrange(30)}-{n}"}}
            if n % 3:  # not every item is in the index; index keys repeat
                item["GSI1PK"] = {"S": f"G{n % 4}"}
                item["GSI1SK"] = {"N": str(chance.randrange(10))}
            if n % 2:
                item["Extra"] = {"S": "x"}
            dynamodb.put_item(TableName="t", Item=item)
        dynamodb.delete_item(TableName="t", Key={"PK": {"S": "P3"}, "SK": {"S": item["SK"]["S"]}})
        answers = []
        for query in QUERIES:
            pages, start = [], None
            while True:
                extra = {"ExclusiveStartKey": start} if start else {}
                page = dynamodb.query(TableName="t", **query, **extra)
                page.pop("ResponseMetadata")
                pages.append(page)
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            answers.append(pages)
        return answers


def test_the_partition_query_answers_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    stock = _answers(None)

    local = _answers(monkeypatch.setattr)

    assert local == stock
    assert sum(len(page["Items"]) for pages in stock for page in pages) > 100
