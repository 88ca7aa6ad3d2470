"""DynamoDB streams as Lambda reads them: the shards, the event records, the filter.

`StreamReader` follows every shard of a table's stream from TRIM_HORIZON (or from where it
was told to go back to), and hands out Lambda's `aws:dynamodb` event records. `Filters` is
the event source mapping's FilterCriteria: the subset of Lambda's filter rule syntax the
template uses (lists of exact values, `exists`, `prefix`); anything else is refused when
the template is read, rather than matched wrongly.

The local stack's `StreamPoller` and the in-process tests (`tests/support.py`) both use
these, so the records the notifier gets there are the records Lambda would give it.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.config import Config

CLIENT_CONFIG = Config(account_id_endpoint_mode="disabled")
"""Streams clients without a custom endpoint: botocore's account-based host names
(`<account>.streams-ddb.<region>.amazonaws.com`) are not ones moto's in-process mock knows."""


class UnsupportedFilterError(ValueError):
    """A filter pattern uses a rule this emulation does not implement."""


def _check(pattern: Any, path: str) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise UnsupportedFilterError(f"{path or 'pattern'}: expected an object of fields")
    for name, rule in pattern.items():
        where = f"{path}.{name}" if path else name
        if isinstance(rule, dict):
            _check(rule, where)
        elif isinstance(rule, list) and rule:
            for value in rule:
                _check_value(value, where)
        else:
            raise UnsupportedFilterError(f"{where}: expected an object or a non-empty list")


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, int, float, bool)):
        return
    if isinstance(value, dict) and len(value) == 1:
        ((operator, argument),) = value.items()
        if operator == "exists" and isinstance(argument, bool):
            return
        if operator == "prefix" and isinstance(argument, str):
            return
    raise UnsupportedFilterError(f"{where}: rule {value!r} is not supported locally")


def _matches(pattern: dict[str, Any], data: Any) -> bool:
    for name, rule in pattern.items():
        present = isinstance(data, dict) and name in data
        value = data[name] if present else None
        if isinstance(rule, dict):
            # A pattern is matched leaf by leaf: under an absent field, a leaf's
            # `exists: false` holds and every other rule fails.
            if not _matches(rule, value if present else {}):
                return False
        elif not any(_value_matches(expected, present, value) for expected in rule):
            return False
    return True


def _value_matches(expected: Any, present: bool, value: Any) -> bool:
    if isinstance(expected, dict):
        ((operator, argument),) = expected.items()
        if operator == "exists":
            return present is argument
        return present and isinstance(value, str) and value.startswith(argument)
    if not present:
        return False
    if isinstance(value, list):  # a list in the event matches if any element matches
        return any(_equal(expected, item) for item in value)
    return _equal(expected, value)


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return expected == value
    return type(expected) is type(value) and expected == value


@dataclass(frozen=True)
class Filters:
    """An event source mapping's FilterCriteria: a record passes if any pattern matches
    (no filters: every record passes)."""

    patterns: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_criteria(cls, criteria: dict[str, Any] | None) -> Filters:
        """Parse `{"Filters": [{"Pattern": "<json>"}, ...]}`; UnsupportedFilterError for a
        rule outside exact values, `exists` and `prefix`."""
        patterns = []
        for entry in (criteria or {}).get("Filters", []):
            pattern = json.loads(entry["Pattern"])
            _check(pattern, "")
            patterns.append(pattern)
        return cls(tuple(patterns))

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether Lambda would pass this event record to the function."""
        return not self.patterns or any(_matches(p, record) for p in self.patterns)


def _plain(value: Any) -> Any:
    """An attribute value as Lambda's JSON event has it: binary as base64 text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda's DynamoDB event has it."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": _plain(dynamodb),
        "eventSourceARN": stream_arn,
    }


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None = None
    after: str | None = None
    """The sequence number of the last record handed out (None: from TRIM_HORIZON)."""


@dataclass
class StreamReader:
    """Reads a stream's records in order, shard by shard, from TRIM_HORIZON."""

    client: Any
    """A `dynamodbstreams` client."""
    stream_arn: str
    region: str
    shards: dict[str, _Shard] = field(default_factory=dict)
    describe_seconds: float = 0.0
    """How long the shards found are taken as the stream's before it is described again
    (0: at every read). While a shard has no iterator (it ended, or is to be read from a
    new position) the stream is described at every read whatever this says."""
    _described_at: float = field(default=float("-inf"), repr=False)

    def read(self, limit: int = 1000) -> dict[str, list[dict[str, Any]]]:
        """Per shard, up to `limit` records written since the last read (or since a rewind),
        as Lambda event records, oldest first."""
        self._discover()
        found: dict[str, list[dict[str, Any]]] = {}
        for shard in self.shards.values():
            if shard.iterator is None:
                shard.iterator = self._iterator(shard)
            if shard.iterator is None:
                continue
            answer = self.client.get_records(ShardIterator=shard.iterator, Limit=limit)
            shard.iterator = answer.get("NextShardIterator")
            records = answer.get("Records", [])
            if records:
                shard.after = records[-1]["dynamodb"]["SequenceNumber"]
                found[shard.shard_id] = [
                    lambda_record(record, self.stream_arn, self.region) for record in records
                ]
        return found

    def rewind(self, shard_id: str, sequence_number: str) -> None:
        """Read `shard_id` again from `sequence_number` on (a reported batch item failure)."""
        shard = self.shards[shard_id]
        shard.iterator = self.client.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=sequence_number,
        )["ShardIterator"]
        shard.after = None

    def rewind_after(self, shard_id: str, sequence_number: str) -> None:
        """Read `shard_id` on from after `sequence_number` (a batch given up on)."""
        shard = self.shards[shard_id]
        shard.after = sequence_number
        shard.iterator = None

    def _discover(self) -> None:
        now = time.monotonic()
        if (
            self.shards
            and all(shard.iterator for shard in self.shards.values())
            and now - self._described_at < self.describe_seconds
        ):
            return
        self._described_at = now
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            self.shards.setdefault(shard["ShardId"], _Shard(shard["ShardId"]))

    def _iterator(self, shard: _Shard) -> str | None:
        arguments: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.after is None:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            arguments |= {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": shard.after,
            }
        return self.client.get_shard_iterator(**arguments).get("ShardIterator")
