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
"""

from __future__ import annotations

import copy
import copyreg
import threading
from typing import Any

import boto3
from moto.core.base_backend import BackendDict

from smsgw_tools.local.resources import Stack, deploy

# moto's models hold locks and conditions; a copy gets new ones (nothing holds them between
# tests).
copyreg.pickle(type(threading.Lock()), lambda _: (threading.Lock, ()))
copyreg.pickle(type(threading.RLock()), lambda _: (threading.RLock, ()))
copyreg.pickle(threading.Condition, lambda _: (threading.Condition, ()))

_Backends = list[tuple[BackendDict, dict[str, dict[str, Any]]]]
_snapshots: dict[tuple[Any, ...], tuple[_Backends, Stack]] = {}


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
        _snapshots[key] = _copy((_backends(), stack))
        return stack
    backends, stack = _copy(_snapshots[key])
    for backend_dict, accounts in backends:
        for account_id, regions in accounts.items():
            account = backend_dict[account_id]  # registers the service as in use
            for region, backend in regions.items():
                dict.__setitem__(account, region, backend)
    return stack


def _copy(snapshot: tuple[_Backends, Stack]) -> tuple[_Backends, Stack]:
    """A deep copy of the backends' contents and the stack; moto's registries (the
    `BackendDict`s) stay themselves."""
    backends, _ = snapshot
    return copy.deepcopy(snapshot, {id(registry): registry for registry, _ in backends})


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
