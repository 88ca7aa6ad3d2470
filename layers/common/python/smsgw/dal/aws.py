"""AWS clients, created once per process (they honour AWS_ENDPOINT_URL).

boto3 resources are not thread-safe, and the sender works on a batch in threads, so a
table is a proxy that keeps one resource per thread; clients are thread-safe and shared.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from smsgw.warm import warm

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5)


class _ThreadLocalTable:
    def __init__(self, name: str) -> None:
        self._name = name
        self._local = threading.local()
        self._main = boto3.resource("dynamodb", config=_CONFIG).Table(name)
        self._owner = threading.get_ident()

    def _table(self) -> Any:
        if threading.get_ident() == self._owner:
            return self._main
        table = getattr(self._local, "table", None)
        if table is None:
            session = _thread_session()
            table = self._local.table = session.resource("dynamodb", config=_CONFIG).Table(
                self._name
            )
        return table

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._table(), attribute)


def _thread_session() -> boto3.session.Session:
    """A new session that shares the default session's loaded service models, so a thread
    does not parse botocore's model files again."""
    core = botocore.session.get_session()
    core.register_component(
        "data_loader", boto3._get_default_session()._session.get_component("data_loader")
    )
    return boto3.session.Session(botocore_session=core)


@warm
def table(name: str) -> Any:
    return _ThreadLocalTable(name)


@warm
def sqs() -> Any:
    return boto3.client("sqs", config=_CONFIG)


@warm
def secretsmanager() -> Any:
    return boto3.client("secretsmanager", config=_CONFIG)
