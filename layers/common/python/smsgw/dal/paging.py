"""Reading every page of a DynamoDB Query."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def query_items(table: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, page after page."""
    while True:
        page = table.query(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


BATCH_GET_LIMIT = 100


def batch_get(table: Any, keys: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The items with these primary keys, by (PK, SK); missing ones are left out."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    unique = list({(k["PK"], k["SK"]): k for k in keys}.values())
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request = {table.name: {"Keys": unique[start : start + BATCH_GET_LIMIT]}}
        while request:
            answer = table.meta.client.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(table.name, []):
                found[(item["PK"], item["SK"])] = item
            request = answer.get("UnprocessedKeys") or {}
    return found


def query_full_items(table: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query on a keys-only index matches, read in full from the table, in the
    index's order. The indexes project keys only, so that updating a message's status does
    not write its every index again (docs/data-model.md)."""
    while True:
        page = table.query(**kwargs)
        found = batch_get(table, [{"PK": k["PK"], "SK": k["SK"]} for k in page["Items"]])
        for key in page["Items"]:
            item = found.get((key["PK"], key["SK"]))
            if item is not None:
                yield item
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
