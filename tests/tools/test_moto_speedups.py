"""moto with the local stack's speedups (smsgw_tools.local.moto_speedups) answers every
DynamoDB call as moto's own does: the same items, attributes, pages, counts, consumed
capacity and errors, as a client reads them; and its data-plane answers really take the
short path."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.serialize import ResponseSerializer
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.tokens import ExpressionTokenizer

from smsgw_tools.local import moto_speedups
from tests.support import create_keyed_table

KEY = {"PK": {"S": "P1"}, "SK": {"S": "A"}}
ITEM = {
    **KEY,
    "GSI1PK": {"S": "G"},
    "GSI1SK": {"N": "1"},
    "Text": {"S": "hello \u00e9\u2603 \U0001f600"},
    "Count": {"N": "3"},
    "Ratio": {"N": "-0.25"},
    "Blob": {"B": b"\x00\xffbytes"},
    "Blobs": {"BS": [b"a", b"\x01"]},
    "Tags": {"SS": ["x", "y"]},
    "Numbers": {"NS": ["1", "2.5"]},
    "Events": {"L": [{"M": {"Status": {"S": "queued"}, "At": {"N": "1"}}}, {"NULL": True}]},
    "Flags": {"M": {"Held": {"BOOL": False}, "Empty": {"M": {}}, "None": {"L": []}}},
}
SECOND = {"PK": {"S": "P1"}, "SK": {"S": "B"}, "GSI1PK": {"S": "G"}, "GSI1SK": {"N": "2"}}


def _calls(dynamodb: Any) -> list[tuple[str, Any]]:
    """Each kind of call the product makes, and a few around them: (label, what the client
    read)."""
    answers: list[tuple[str, Any]] = []

    def call(label: str, name: str, **kwargs: Any) -> None:
        try:
            answer = getattr(dynamodb, name)(TableName="t", **kwargs)
        except ClientError as error:
            answer = {"Error": error.response["Error"], "Extra": _extra(error.response)}
        answer.pop("ResponseMetadata", None)
        answers.append((label, answer))

    total = {"ReturnConsumedCapacity": "TOTAL"}
    call("put", "put_item", Item=ITEM, **total)
    call("put new", "put_item", Item=SECOND, ReturnValues="ALL_OLD")
    call("put over", "put_item", Item={**SECOND, "New": {"S": "n"}}, ReturnValues="ALL_OLD")
    call("put failed", "put_item", Item=ITEM, ConditionExpression="attribute_not_exists(PK)")
    call("get", "get_item", Key=KEY, ConsistentRead=True, **total)
    call("get none", "get_item", Key={"PK": {"S": "none"}, "SK": {"S": "A"}})
    call(
        "get projected",
        "get_item",
        Key=KEY,
        ProjectionExpression="Events[0].#s, Flags.Held",
        ExpressionAttributeNames={"#s": "Status"},
    )
    for returned in ("ALL_NEW", "UPDATED_NEW", "UPDATED_OLD", "ALL_OLD", "NONE"):
        call(
            f"update {returned}",
            "update_item",
            Key=KEY,
            UpdateExpression="SET #c = #c + :one, Events = list_append(Events, :e) REMOVE Tags",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#c": "Count"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":e": {"L": [{"S": "more"}]}},
            ReturnValues=returned,
            **total,
        )
    call(
        "update failed",
        "update_item",
        Key=KEY,
        UpdateExpression="SET Text = :t",
        ConditionExpression="#c = :zero",
        ExpressionAttributeNames={"#c": "Count"},
        ExpressionAttributeValues={":t": {"S": "x"}, ":zero": {"N": "0"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    for attempt in ("", " again"):  # an expression that does not parse fails every time
        call(
            f"update unparsed{attempt}",
            "update_item",
            Key=KEY,
            UpdateExpression="SET Text =",
            ExpressionAttributeValues={":t": {"S": "x"}},
        )
        call(
            f"condition unparsed{attempt}",
            "update_item",
            Key=KEY,
            UpdateExpression="SET Text = :t",
            ConditionExpression="Text = :t AND",
            ExpressionAttributeValues={":t": {"S": "x"}},
        )
    partition = {"ExpressionAttributeValues": {":p": {"S": "P1"}}}
    call("query page", "query", KeyConditionExpression="PK = :p", Limit=1, **partition, **total)
    call(
        "query index",
        "query",
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :g",
        ExpressionAttributeValues={":g": {"S": "G"}},
        ScanIndexForward=False,
    )
    call("query count", "query", KeyConditionExpression="PK = :p", Select="COUNT", **partition)
    call("scan", "scan", Limit=1)
    answers.append(
        ("batch get", dynamodb.batch_get_item(RequestItems={"t": {"Keys": [KEY, SECOND]}}))
    )
    third = {"PutRequest": {"Item": {**KEY, "SK": {"S": "C"}}}}
    answers.append(("batch write", dynamodb.batch_write_item(RequestItems={"t": [third]}, **total)))
    put = {"TableName": "t", "Item": {**KEY, "SK": {"S": "D"}}}
    transaction = [
        {"Put": {**put, "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Delete": {"TableName": "t", "Key": SECOND}},
    ]
    for label in ("transaction", "transaction cancelled"):
        try:
            answer = dynamodb.transact_write_items(TransactItems=transaction, **total)
        except ClientError as error:
            answer = {"Error": error.response["Error"], "Extra": _extra(error.response)}
        answers.append((label, answer))
    get = [{"Get": {"TableName": "t", "Key": KEY}}]
    answers.append(("transaction get", dynamodb.transact_get_items(TransactItems=get)))
    call("delete", "delete_item", Key=SECOND, ReturnValues="ALL_OLD")
    call("delete none", "delete_item", Key=SECOND, ReturnValues="ALL_OLD")
    describe = dynamodb.describe_table(TableName="t")["Table"]
    answers.append(("describe", {k: describe[k] for k in ("TableName", "ItemCount")}))
    for _, answer in answers:
        answer.pop("ResponseMetadata", None)
    return answers


def _extra(response: dict[str, Any]) -> dict[str, Any]:
    """What an error answer carries besides its code and message (old item, reasons)."""
    return {k: v for k, v in response.items() if k not in ("Error", "ResponseMetadata")}


def _answers(patch: Any | None) -> tuple[list[tuple[str, Any]], Counter[str]]:
    """Every answer, and how often moto's own serialiser wrote one, tokenised an update
    expression and lexed a condition."""
    with mock_aws(), pytest.MonkeyPatch.context() as spy:
        work: Counter[str] = Counter()
        serialize = ResponseSerializer.serialize
        spy.setattr(
            ResponseSerializer,
            "serialize",
            lambda self, result: work.update(["serialised"]) or serialize(self, result),
        )
        tokenize = ExpressionTokenizer.make_list
        spy.setattr(
            ExpressionTokenizer,
            "make_list",
            lambda text: work.update(["update tokenised"]) or tokenize(text),
        )
        lex = ConditionExpressionParser._lex_condition_expression
        spy.setattr(
            ConditionExpressionParser,
            "_lex_condition_expression",
            lambda parser: work.update(["condition lexed"]) or lex(parser),
        )
        if patch is not None:
            moto_speedups.install(patch)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_keyed_table(dynamodb, projection="KEYS_ONLY")
        work.clear()
        return _calls(dynamodb), work


def test_the_speedups_answer_every_call_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    stock, stock_work = _answers(None)

    fast, fast_work = _answers(monkeypatch.setattr)

    assert fast == stock
    answers = dict(stock)
    # The answers hold what the short path must write right: bytes, unicode, nested types,
    # old and new attributes, pages, counts, capacity, and errors that carry an item.
    assert answers["put"]["ConsumedCapacity"]["CapacityUnits"] > 0
    assert answers["get"]["Item"]["Blob"] == {"B": b"\x00\xffbytes"}
    assert answers["get"]["Item"]["Text"] == {"S": ITEM["Text"]["S"]}
    assert answers["update ALL_OLD"]["Attributes"]["Count"] == {"N": "6"}
    assert answers["update failed"]["Extra"]["Item"]["Count"] == {"N": "8"}
    assert answers["query page"]["LastEvaluatedKey"] == KEY
    assert answers["query count"] == {"Count": 2, "ScannedCount": 2}
    assert answers["transaction cancelled"]["Error"]["Code"] == "TransactionCanceledException"
    # moto's serialiser wrote every data-plane answer before, and none of them after: only
    # the errors and the control plane's take its path.
    written = [label for label, answer in stock if "Error" not in answer]
    assert stock_work["serialised"] - fast_work["serialised"] == len(written) - 1  # not Describe
    # moto tokenised an update expression twice a call, and lexed a condition once a call.
    # With the speedups: once for each of the two update expressions that parse, and once a
    # call for the one that does not (its error comes both times); once for each of the
    # four conditions.
    assert answers["update unparsed"]["Error"]["Code"] == "ValidationException"
    assert answers["update unparsed again"] == answers["update unparsed"]
    assert answers["condition unparsed"]["Error"]["Code"] == "ValidationException"
    assert answers["condition unparsed again"] == answers["condition unparsed"]
    assert (stock_work["update tokenised"], fast_work["update tokenised"]) == (16, 2 + 2)
    assert (stock_work["condition lexed"], fast_work["condition lexed"]) == (21, 4)
