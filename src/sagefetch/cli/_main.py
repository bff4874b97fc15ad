"""``sagefetch``: parse the command line, then load only what the command needs.

``--help`` and ``--version`` import argparse and this package's light
modules, nothing more: the library (botocore, aiohttp), rich and structlog
load when a command runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from sagefetch import tune_gc

from ._parser import parser

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sagefetch``; returns the exit code."""
    # A run allocates millions of short-lived dicts (decoded summaries): freeze
    # what start-up made and collect the young less often (sagefetch.tune_gc).
    tune_gc()
    command_line = parser(_version())
    args, rest = command_line.parse_known_args(argv)
    if args.command == "local-server":
        return _local_server(rest)
    if rest:
        command_line.error(f"unrecognized arguments: {' '.join(rest)}")
    from ._run import run_command  # noqa: PLC0415 - the heavy part, only for a command

    return run_command(args)


def _version() -> str:
    from sagefetch import __version__  # noqa: PLC0415 - lazy in sagefetch/__init__.py

    return __version__


def _local_server(rest: list[str]) -> int:
    from sagefetch.testing.__main__ import main as local_server  # noqa: PLC0415 - optional

    return local_server(rest, prog="sagefetch local-server")


if __name__ == "__main__":
    sys.exit(main())
