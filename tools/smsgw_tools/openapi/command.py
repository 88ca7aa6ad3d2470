"""`smsgw openapi [--output PATH]`: writes the document `document.build` puts together.

Registering the subcommand imports nothing of the document's: the other `smsgw` commands,
and `--help`, start without it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """`smsgw openapi [--output PATH]`."""
    parser = commands.add_parser("openapi", help="write the API's OpenAPI 3.1 document")
    parser.add_argument(
        "--output", default="docs/openapi.json", help="where to write it ('-' for stdout)"
    )
    parser.set_defaults(func=_command)


def _command(args: argparse.Namespace) -> int:
    from smsgw_tools.openapi.document import build, render

    text = render(build())
    if args.output == "-":
        print(text, end="")
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0
