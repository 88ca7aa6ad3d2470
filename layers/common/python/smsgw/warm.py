"""What a warm Lambda process keeps between invocations: the settings read from its
environment, its AWS clients, its stores and use cases, each built once on first use.

Every such factory is decorated with `warm`, never with `functools.cache` directly, so that
`forget()` (a cold start, for tests that change the environment) reaches all of them;
`tests/unit/test_warm_state.py` fails on a `functools.cache` anywhere else in the product
but the few that hold data independent of the environment.

The sender and the notifier work on a batch in threads, and the first batch after a cold
start asks for the same clients from several threads at once. What is kept is built one
thing at a time, under `building`: boto3's default session, which every client comes from,
is not thread-safe, and a client is built once, not once per thread that asked first.

An AWS client is kept by `aws_client` rather than `warm`: what it builds depends only on
the AWS configuration (the environment's `AWS_*` settings and boto3's default session),
so a test that plays a cold start under the same configuration may keep it
(`forget(keep_aws_clients=True)`), as a warm process would.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

building = threading.RLock()
"""Held while something is built for the process to keep (a factory may call another)."""

_kept: dict[tuple[Callable[..., Any], tuple[Any, ...]], Any] = {}
_aws_clients: set[Callable[..., Any]] = set()


def warm[F: Callable[..., Any]](factory: F) -> F:
    """Build on first use, once per process, and keep it until `forget`."""

    @functools.wraps(factory)
    def kept(*args: Any) -> Any:
        key = (factory, args)
        try:
            return _kept[key]
        except KeyError:
            pass
        with building:
            if key not in _kept:
                _kept[key] = factory(*args)
            return _kept[key]

    def cache_clear() -> None:
        for key in [key for key in _kept if key[0] is factory]:
            del _kept[key]

    kept.cache_clear = cache_clear  # type: ignore[attr-defined]
    return kept  # type: ignore[return-value]


def aws_client[F: Callable[..., Any]](factory: F) -> F:
    """`warm`, for a factory of an AWS client (or resource): given its arguments, what it
    builds depends on nothing but the AWS configuration."""
    _aws_clients.add(factory)
    return warm(factory)


def forget(*, keep_aws_clients: bool = False) -> None:
    """Forget everything the process keeps, as a cold start would; with
    `keep_aws_clients`, all but the AWS clients (for a caller that knows the AWS
    configuration is the one they were built for)."""
    if not keep_aws_clients:
        _kept.clear()
        return
    for key in [key for key in _kept if key[0] not in _aws_clients]:
        del _kept[key]
