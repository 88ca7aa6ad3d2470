"""Two answers botocore works out again for every session and client, kept once per test
process instead.

A botocore session registers some 180 handlers as it starts, and a client a few dozen
more; each registration asks two things whose answer never changes:

- the event's name after botocore's aliases (`EventAliaser._alias_event_name`: a loop over
  the alias table, splitting the name for each entry). Each emitter keeps its own cache of
  the answers, and every session and client starts with an empty one;
- whether the handler takes `**kwargs` (`accepts_kwargs`: `inspect.getfullargspec`).

The tests make a session in every test (mock_aws makes boto3's default one again), and
more for the test's own calls and the admin CLI, and together these two took about a
fifteenth of a worker's CPU (docs/performance.md, "The test suite"). `install()` gives
every emitter whose alias table is botocore's (a client's is a copy of it) one shared cache, and keeps
`accepts_kwargs`'s answer per function. Both are the same answers, computed once:
tests/tools/test_botocore_memos.py holds them to botocore's own.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from typing import Any

_aliased: dict[str, str] = {}
"""An event's name → its name after botocore's aliases (EVENT_ALIASES), for every emitter."""
_takes_kwargs: weakref.WeakKeyDictionary[Callable[..., Any], bool] = weakref.WeakKeyDictionary()


def install() -> None:
    """For this process (pure memos: nothing to undo)."""
    from botocore import hooks

    if getattr(hooks, "_smsgw_memos", False):
        return
    create = hooks.EventAliaser.__init__

    def init(aliaser: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        create(aliaser, event_emitter, event_aliases)
        if aliaser._event_aliases == hooks.EVENT_ALIASES:  # a client's is a copy
            aliaser._alias_name_cache = _aliased

    hooks.EventAliaser.__init__ = init  # type: ignore[method-assign]
    hooks.accepts_kwargs = _memoized(hooks.accepts_kwargs)
    hooks._smsgw_memos = True  # type: ignore[attr-defined]


def _memoized(accepts_kwargs: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`accepts_kwargs`, its answer kept per function (a bound method's is its function's:
    binding takes away a positional parameter, never `**kwargs`)."""

    def memoized(func: Any) -> Any:
        function = getattr(func, "__func__", func)
        try:
            return _takes_kwargs[function]
        except (KeyError, TypeError):  # not seen yet, or not weakly referable
            pass
        answer = accepts_kwargs(func)
        with contextlib.suppress(TypeError):
            _takes_kwargs[function] = answer
        return answer

    return memoized
