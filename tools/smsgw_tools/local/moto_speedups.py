"""moto's DynamoDB answers, the same, at a fraction of the cost.

moto 5.2.5 spends most of a DynamoDB call on work whose outcome never varies:

- Its response serialiser walks the operation's output shape member by member, and for
  each one asks an attribute picker to try the member's name, its snake_case form and its
  aliases on the result. An item's attributes are a map of AttributeValue structures, so
  every attribute costs ten such look-ups. Yet a data-plane answer (an item, its
  attributes, a page of items) is already the answer's JSON: `dynamo_to_dict` built it in
  the wire's shape, with the wire's names. The one value JSON has no type for is a binary
  attribute, which moto hands over as bytes for the serialiser to base64-encode.
- Every request lists the handler class's methods with `inspect.getmembers`, to find the
  one the action names. The class does not change between requests.
- An update is parsed twice (to check its names and values, then to apply it), and a
  condition is lexed on every call, though the product sends a handful of expressions
  over and over. Neither result is changed by its users: the update's validator works on
  its own deep copy of the tree, and a condition's parser reads its tokens into new nodes.

`install()` writes a data-plane answer with `json.dumps`, base64-encoding bytes as the
serialiser does, lists each handler class's methods once, and keeps the parsed update
and the lexed condition of the last 256 expressions of each kind (an expression that
does not parse is not kept: its error comes every time). Anything else (an error, a
control-plane call, a value JSON cannot write, a response transformer some service
registered) takes moto's own path. A client reads the same answer either way:
tests/tools/test_moto_speedups.py holds every operation the product uses to it, answer
for answer. The local stack's moto server and the test suite install it;
docs/performance.md has the measurements.
"""

from __future__ import annotations

import base64
import functools
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from smsgw_tools.local.atomic_moto import Setter

DATA_PLANE = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)
"""The operations whose answers are items and counts, already in the wire's shape."""

_CONTENT_TYPE = "application/x-amz-json-1.0"  # DynamoDB's protocol: JSON 1.0


def install(patch: Setter = setattr) -> None:
    """Make this process's moto answer DynamoDB calls faster (module docstring); `patch`
    sets each attribute (`monkeypatch.setattr` in a test, to undo it after)."""
    from moto.core import responses
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.responses import DynamoHandler

    patch(responses, "method_names_from_class", functools.cache(method_names_from_class))
    patch(DynamoHandler, "serialized", _serialized(DynamoHandler.serialized))
    parsed = functools.lru_cache(maxsize=256)(UpdateExpressionParser.make)
    patch(UpdateExpressionParser, "make", classmethod(lambda cls, expression: parsed(expression)))
    lex = ConditionExpressionParser._lex_condition_expression
    lexed = functools.lru_cache(maxsize=256)(
        lambda expression: tuple(lex(ConditionExpressionParser(expression, None, None)))
    )
    patch(
        ConditionExpressionParser,
        "_lex_condition_expression",
        lambda parser: deque(lexed(parser.condition_expression)),  # the parser empties it
    )


def _serialized(serialized: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    plain = (ActionResult, DynamoResult)  # not paginated, not empty: written as they are

    def data_plane_serialized(handler: Any, action_result: Any) -> Any:
        result = action_result.result
        if (
            type(action_result) not in plain
            or type(result) is not dict
            or handler.RESPONSE_KEY_PATH_TO_TRANSFORMER
            or handler._get_action() not in DATA_PLANE
        ):
            return serialized(handler, action_result)
        try:
            body = json.dumps(result, default=_blob)
        except TypeError:  # a value only moto's serialiser knows how to write
            return serialized(handler, action_result)
        headers = {"Content-Type": _CONTENT_TYPE}
        headers.update(handler.response_headers)
        return 200, headers, body

    return data_plane_serialized


def _blob(value: Any) -> str:
    """A binary attribute's bytes as the wire carries them; nothing else is written."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)
