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
