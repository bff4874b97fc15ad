"""``sagefetch``: parse the command line, then load only what the command needs.

``--help`` and ``--version`` import argparse and this package's light
modules, nothing more: the library (botocore, aiohttp), rich and structlog
load when a command runs.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Final

from ._parser import parser

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

_GC_THRESHOLDS: Final = (50_000, 20, 100)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sagefetch``; returns the exit code."""
    # A run allocates millions of short-lived dicts (decoded summaries); the
    # default collector thresholds would scan the long-lived ones over and
    # over. Freeze what start-up made and collect the young less often.
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)
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
