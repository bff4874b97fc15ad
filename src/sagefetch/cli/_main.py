"""``sagefetch``: parse the command line, then load only what the command needs.

``--help`` and ``--version`` import argparse and this package's light
modules, nothing more: the library (botocore, aiohttp), rich and structlog
load when a command runs.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

from sagefetch import tune_gc

from ._exits import Terminated, exit_code_of_signal, terminate
from ._parser import parser

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sagefetch``; returns the exit code.

    SIGINT or SIGTERM during start-up (imports, reading the configuration)
    ends it at once with 130 or 143 and no traceback; a command's event loop
    then takes both signals over (``_run``).
    """
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return _main(argv)
    except (KeyboardInterrupt, Terminated) as stopped:
        return exit_code_of_signal(stopped)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
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
