"""A moto DynamoDB Query that costs what its partition holds, not what the table holds.

moto 5.2.5's `Table.query` starts from `all_items()`: every item of the table, sorted by
key (Python comparisons of `DynamoType`s), then keeps those of the queried partition. On a
table with a history every Query pays for the whole table, and the scheduler makes 16 (one
per shard) per bucket it releases and 16 more to reconcile (docs/performance.md).

`install()` hands `query` only the items it could keep: for a table Query the items under
the partition key (a dict lookup, as GetItem does), for an index Query the items whose
index partition attributes equal the query's, found by one pass without the sort. The rest
of moto's Query runs unchanged on them, so its answers are the same: moto keeps exactly
these items, and sorts what it keeps by a key that ends in the table's own key, unique per
item, so the order they come in does not matter. The local stack's moto server and
`bench/local_stack_growth.py` install it; docs/decisions.md has the measurements.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

from smsgw_tools.local.atomic_moto import Setter

_narrowed = threading.local()
"""The (table, items) the current thread's Query reads instead of the whole table."""


def install(patch: Setter = setattr) -> None:
    """Make moto's Query read only its partition (module docstring)."""
    from moto.dynamodb.models.table import Table

    patch(Table, "all_items", _all_items(Table.all_items))
    patch(Table, "query", _query(Table.query))


def _all_items(all_items: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    def narrowed_all_items(table: Any) -> list[Any]:
        narrowed = getattr(_narrowed, "items", None)
        if narrowed is not None and narrowed[0] is table:
            return narrowed[1]
        return all_items(table)

    return narrowed_all_items


def _query(query: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(query)

    def partition_query(table: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(table, *args, **kwargs).arguments
        items = _partition(
            table,
            arguments.get("hash_key"),
            arguments.get("index_name"),
            arguments.get("hash_key_conditions"),
        )
        if items is None:
            return query(table, *args, **kwargs)
        _narrowed.items = (table, items)
        try:
            return query(table, *args, **kwargs)
        finally:
            _narrowed.items = None

    return partition_query


def _partition(
    table: Any, hash_key: Any, index_name: str | None, conditions: list[tuple[str, Any]] | None
) -> list[Any] | None:
    """The items moto's Query would keep out of `all_items()`, or None to let it look."""
    if not index_name:
        if hash_key is None:
            return None
        stored = table.items.get(hash_key)  # .get: the defaultdict must not grow
        if stored is None:
            return []
        return list(stored.values()) if table.range_key_attr else [stored]
    if not conditions:
        return None
    # moto's own test for an index partition: each attribute present and equal
    return [
        item
        for item in _unsorted(table)
        if all(
            (value := item.attrs.get(name)) is not None and value == expected
            for name, expected in conditions
        )
    ]


def _unsorted(table: Any) -> Iterator[Any]:
    for stored in table.items.values():
        if table.range_key_attr:
            yield from stored.values()
        else:
            yield stored
