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
