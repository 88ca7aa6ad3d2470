"""One deploy per template variant and test process: in-process moto's state right after a
deploy is kept, and every later test that deploys the same variant gets a fresh copy of it.

A deploy into in-process moto (`mock_aws`) creates ~40 resources through boto3 and takes
0.5 to 3 s; restoring a copy of the state it left takes a few milliseconds. The copy is the
state a real deploy leaves, object for object (moto's backends, copied together so that
references between services stay shared), and the `Stack` returned is a copy of the one
the deploy returned: a test sees exactly what a fresh deploy would give it, and nothing a
previous test did.

A deploy is only replaced when moto holds nothing yet (the test did nothing before it);
otherwise, or for a moto server, it runs for real.

The state is kept pickled and each copy unpickled from it: a copy took 6 to 10 ms with
`copy.deepcopy`, 2 ms unpickled. What a deep copy would not copy is shared by both
(`_Pickler.persistent_id`): moto's registries, its `MISSING` sentinel (whose `__deepcopy__`
is itself) and cryptography's keys and certificates (immutable). A state that does not
pickle is deep-copied as before.
"""

from __future__ import annotations

import copy
import copyreg
import io
import pickle
import threading
from typing import Any

import boto3
from moto.core.base_backend import BackendDict
from moto.core.constants import MISSING

from smsgw_tools.local.resources import Stack, deploy

# moto's models hold locks and conditions; a copy gets new ones (nothing holds them between
# tests).
copyreg.pickle(type(threading.Lock()), lambda _: (threading.Lock, ()))
copyreg.pickle(type(threading.RLock()), lambda _: (threading.RLock, ()))
copyreg.pickle(threading.Condition, lambda _: (threading.Condition, ()))

_Backends = list[tuple[BackendDict, dict[str, dict[str, Any]]]]
_snapshots: dict[tuple[Any, ...], bytes | tuple[_Backends, Stack]] = {}


def deploy_once(
    session: boto3.session.Session,
    stack_name: str = "smsgw-local",
    parameters: dict[str, str] | None = None,
) -> Stack:
    """`deploy(session, stack_name, parameters)` into in-process moto, from a snapshot
    after the first time."""
    key = (session.region_name, stack_name, tuple(sorted((parameters or {}).items())))
    if not _moto_is_empty():
        return deploy(session, stack_name, parameters)
    if key not in _snapshots:
        stack = deploy(session, stack_name, parameters)
        _snapshots[key] = _kept((_backends(), stack))
        return stack
    backends, stack = _copy(_snapshots[key])
    for backend_dict, accounts in backends:
        for account_id, regions in accounts.items():
            account = backend_dict[account_id]  # registers the service as in use
            for region, backend in regions.items():
                dict.__setitem__(account, region, backend)
    return stack


def _kept(snapshot: tuple[_Backends, Stack]) -> bytes | tuple[_Backends, Stack]:
    """The snapshot as it is kept: pickled, or else a deep copy."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer).dump(snapshot)
    except (pickle.PicklingError, TypeError, AttributeError):
        return _deep_copy(snapshot)
    return buffer.getvalue()


def _copy(kept: bytes | tuple[_Backends, Stack]) -> tuple[_Backends, Stack]:
    """A copy of the backends' contents and the stack; moto's registries (the
    `BackendDict`s) stay themselves."""
    if isinstance(kept, bytes):
        return _Unpickler(io.BytesIO(kept)).load()
    return _deep_copy(kept)


def _deep_copy(snapshot: tuple[_Backends, Stack]) -> tuple[_Backends, Stack]:
    return copy.deepcopy(snapshot, {id(registry): registry for registry in _registries()})


_shared: dict[int, Any] = {}
"""What every copy shares, by id (kept alive here, so an id is never reused)."""


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._registries = {id(registry) for registry in _registries()}

    def persistent_id(self, obj: Any) -> int | None:
        if (
            id(obj) in self._registries
            or obj is MISSING
            or type(obj).__module__.startswith("cryptography.")
        ):
            _shared[id(obj)] = obj
            return id(obj)
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        return _shared[pid]


def _registries() -> list[BackendDict]:
    return list(BackendDict._instances)


def _backends() -> _Backends:
    return [
        (backend_dict, {account_id: dict(account) for account_id, account in backend_dict.items()})
        for backend_dict in BackendDict._instances
    ]


def _moto_is_empty() -> bool:
    return not any(
        region
        for backend_dict in BackendDict._instances
        for account in backend_dict.values()
        for region in account.values()
    )
