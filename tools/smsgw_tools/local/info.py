"""The info file a running local stack writes (`.local-stack/info.json`): its endpoints,
region, stack, table and admin key. `smsgw local up` removes it when it stops, so the
admin CLI and `smsgw local sim` find it only while a stack runs (or after one was killed:
then what it names does not answer, and they say so)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from smsgw_tools.admin.cli_errors import CliError

DEFAULT_INFO_FILE = Path(".local-stack/info.json")
DEMO_LOG_FILE = Path(".local-stack/demo.log")
"""The function logs of the last `smsgw local demo`, replaced by the next (`.local-stack/`
is git-ignored; nothing is left in the temporary directory)."""
LOCAL_CARRIERS = ("twilio", "vonage", "eum")
DEFAULT_SIMULATED = ("twilio", "vonage")
"""The carriers a local stack simulates unless told which: its own is always one (End User
Messaging, which brings a local SNS and CA, only when asked for)."""
START_HINT = "start it with `make serve` (or `smsgw local up`)"


def served_carriers(carrier: str, carriers: Sequence[str] | None = None) -> tuple[str, ...]:
    """The carriers a stack whose `Carrier` is `carrier` simulates: `carriers` (default
    `DEFAULT_SIMULATED`), each once, `carrier` first. Raises ValueError on an unknown name."""
    names = [name.strip().lower() for name in (carriers or DEFAULT_SIMULATED) if name.strip()]
    unknown = [name for name in [carrier, *names] if name not in LOCAL_CARRIERS]
    if unknown:
        raise ValueError(
            f"unknown carrier {unknown[0]!r}: the local stack simulates {', '.join(LOCAL_CARRIERS)}"
        )
    return tuple(dict.fromkeys([carrier, *names]))


def read_info(path: Path) -> dict[str, Any]:
    """The info of the stack that wrote `path`; a `CliError` if there is none."""
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CliError(f"no local stack: {path} does not exist; {START_HINT}") from exc
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path} ({exc}); {START_HINT}") from exc
    if not isinstance(info, dict):
        raise CliError(f"{path} is not a local stack's info; {START_HINT}")
    return info


def field(info: dict[str, Any], name: str, path: Path) -> Any:
    if name not in info:
        raise CliError(f"{path} has no {name}: restart the local stack (`make serve`)")
    return info[name]


@contextmanager
def written(path: Path, info: dict[str, Any]) -> Iterator[None]:
    """`info` is in `path` while the block runs, and removed however it ends. The file
    appears whole (written beside it, then renamed): a command that reads it meanwhile finds
    no file or all of it, never an empty one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(info, indent=2) + "\n")
    partial.replace(path)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
