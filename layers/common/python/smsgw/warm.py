"""What a warm Lambda process keeps between invocations: the settings read from its
environment, its AWS clients, its stores and use cases, each built once on first use.

Every such factory is decorated with `warm`, never with `functools.cache` directly, so that
`forget()` (a cold start, for tests that change the environment) reaches all of them;
`tests/unit/test_warm_state.py` fails on a `functools.cache` anywhere else in the product
but the few that hold data independent of the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

_factories: list[Any] = []


def warm[F: Callable[..., Any]](factory: F) -> F:
    """`functools.cache`, remembered so that `forget` clears it."""
    cached = cache(factory)
    _factories.append(cached)
    return cached  # type: ignore[return-value]


def forget() -> None:
    """Forget everything the process keeps, as a cold start would."""
    for cached in _factories:
        cached.cache_clear()
