"""Exit codes of ``sagefetch`` and the error that means "exit 2".

Cheap to import: ``--help`` and ``--version`` load this and nothing heavy.
"""

from __future__ import annotations

from typing import Final, NoReturn

__all__ = [
    "EXIT_FAILURES",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SHARDS_STOPPED",
    "EXIT_STOPPED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "Terminated",
    "UsageError",
    "exit_code_of_signal",
    "terminate",
]

EXIT_OK: Final = 0
EXIT_USAGE: Final = 2
EXIT_FAILURES: Final = 3
EXIT_STOPPED: Final = 4
EXIT_SHARDS_STOPPED: Final = 5
EXIT_INTERRUPTED: Final = 130
EXIT_TERMINATED: Final = 143


class UsageError(Exception):
    """A problem with the command line or its files: exit code 2."""


class Terminated(BaseException):
    """SIGTERM during start-up, before a command's event loop takes the signals over.

    A ``BaseException`` as ``KeyboardInterrupt`` (SIGINT) is: code that catches
    ``Exception`` lets it through.
    """


def terminate(signum: int, frame: object) -> NoReturn:
    """The SIGTERM handler during start-up: raise ``Terminated`` where the program is."""
    raise Terminated


def exit_code_of_signal(error: KeyboardInterrupt | Terminated) -> int:
    """The exit code of a run that SIGINT (130) or SIGTERM (143) stopped during start-up."""
    return EXIT_INTERRUPTED if isinstance(error, KeyboardInterrupt) else EXIT_TERMINATED
