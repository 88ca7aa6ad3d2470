"""moto made as atomic as DynamoDB, for the local stack's moto server and the tests.

DynamoDB applies each request, and each transaction, atomically. moto does not lock: its
server answers requests on many threads, `UpdateItem` changes an item in place while
another request may be reading it, and a cancelled `TransactWriteItems` is rolled back by
putting back a deep copy of every table it names, taken when it started. That undoes every
write other requests made in between (an accepted message never stored, a number leased
twice), and puts a new stream shard in place, so a stream reader's next iterator reads the
cancelled writes and never another record.

`install()` serialises moto's DynamoDB and DynamoDB Streams requests under one lock and
rolls back a cancelled transaction item by item, in the same table. The local stack's moto
server installs it for its life; tests install it with `monkeypatch.setattr`, so it is
undone after each. What else was checked, and left: docs/decisions.md.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

DYNAMODB_LOCK = threading.RLock()
"""Held by every DynamoDB and DynamoDB Streams request moto answers in this process."""

Setter = Callable[[Any, str, Any], None]
"""Sets an attribute: `setattr`, or `monkeypatch.setattr` in a test (undone after it);
every `install` of the local stack's moto patches takes one."""


def install(patch: Setter = setattr) -> None:
    """Make this process's moto atomic per request (module docstring); `patch` sets each
    attribute (`monkeypatch.setattr` in a test, to undo it after)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        patch(handler, "call_action", _locked(handler.call_action))
    patch(DynamoDBBackend, "transact_write_items", transact_write_items)


def _locked(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # The whole request, the answer's serialisation included: an item read while another
    # request updates it in place would otherwise come out half old, half new.
    def locked(self: Any) -> Any:
        with DYNAMODB_LOCK:
            return call_action(self)

    return locked


class _Undo:
    """What a transaction changed, to put back in the same tables: each item as it was
    before the transaction's write to it, and each table's stream as long as it was."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._items: list[tuple[Any, dict[str, Any], Any]] = []
        self._streams: dict[int, tuple[Any, int]] = {}

    def remember(self, table_name: str, key: dict[str, Any]) -> None:
        table = self._backend.get_table(table_name)
        shard = table.stream_shard
        if shard is not None and id(shard) not in self._streams:
            self._streams[id(shard)] = (shard, len(shard.items))
        before = self._backend.get_item(table_name, key)
        self._items.append((table, key, copy.deepcopy(before)))

    def roll_back(self) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        for table, key, before in reversed(self._items):
            hash_value = DynamoType(key[table.hash_key_attr])
            if table.range_key_attr is None:
                if before is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before
                continue
            range_value = DynamoType(key[table.range_key_attr])
            if before is None:
                table.items[hash_value].pop(range_value, None)
            else:
                table.items[hash_value][range_value] = before
        for shard, length in self._streams.values():
            del shard.items[length:]


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's `DynamoDBBackend.transact_write_items`, with the same checks, order and
    errors, but undone item by item (`_Undo`) instead of by deep copies of whole tables: a
    copy costs time in proportion to the table and its stream, and putting it back replaces
    the table object that a stream reader's iterator holds."""
    from moto.dynamodb.comparisons import get_filter_expression as filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo(self)
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            conditions = {
                "condition_expression": condition_expression,
                "expression_attribute_names": names,
                "expression_attribute_values": values,
            }
            if op_type != "ConditionCheck":
                undo.remember(table_name, key)
            if op_type == "Put":
                self.put_item(table_name, op["Item"], **conditions)
            elif op_type == "Delete":
                self.delete_item(table_name, key, **conditions)
            elif op_type == "Update":
                self.update_item(
                    table_name, key, update_expression=op["UpdateExpression"], **conditions
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto reports any failure as the item's reason
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        undo.roll_back()
        raise TransactionCanceledException(errors)
