"""AWS clients, created once per process (they honour AWS_ENDPOINT_URL).

boto3 resources are not thread-safe, and the sender works on a batch in threads, so a
table is a proxy that keeps one resource per thread; clients are thread-safe and shared.
Every one of them comes from boto3's default session, one at a time (`warm.building`).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from smsgw.warm import aws_client, building

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5)


class _ThreadLocalTable:
    def __init__(self, name: str) -> None:
        self._name = name
        self._local = threading.local()
        self._main = _resource_table(name)
        self._owner = threading.get_ident()

    def _table(self) -> Any:
        if threading.get_ident() == self._owner:
            return self._main
        table = getattr(self._local, "table", None)
        if table is None:
            table = self._local.table = _resource_table(self._name)
        return table

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._table(), attribute)


def _resource_table(name: str) -> Any:
    """A table resource of its own (and so a client of its own) from the default session,
    built under `warm.building`: the session is not thread-safe, the resource it returns
    is used by one thread only."""
    with building:
        return boto3.resource("dynamodb", config=_CONFIG).Table(name)


@aws_client
def table(name: str) -> Any:
    return _ThreadLocalTable(name)


@aws_client
def sqs() -> Any:
    return boto3.client("sqs", config=_CONFIG)


@aws_client
def secretsmanager() -> Any:
    return boto3.client("secretsmanager", config=_CONFIG)
