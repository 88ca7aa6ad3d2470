"""Conditional writes: a write whose condition does not hold is an answer, not an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def condition_failed(exc: ClientError) -> bool:
    """Whether DynamoDB refused a write because its condition did not hold."""
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def written(write: Callable[[], Any]) -> bool:
    """Run a conditional write: True when it was made, False when its condition failed."""
    try:
        write()
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def delete_existing(table: Any, key: dict[str, str], attribute: str) -> dict[str, Any] | None:
    """Delete the item at `key` if it has `attribute`: its attributes as they were, or None
    when there was no such item (nothing deleted)."""
    removed: dict[str, Any] = {}

    def delete() -> None:
        answer = table.delete_item(
            Key=key,
            ConditionExpression="attribute_exists(#a)",
            ExpressionAttributeNames={"#a": attribute},
            ReturnValues="ALL_OLD",
        )
        removed.update(answer.get("Attributes") or {})

    return removed if written(delete) else None
