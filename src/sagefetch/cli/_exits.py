"""Exit codes of ``sagefetch`` and the error that means "exit 2".

Cheap to import: ``--help`` and ``--version`` load this and nothing heavy.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "EXIT_FAILURES",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SHARDS_STOPPED",
    "EXIT_STOPPED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "UsageError",
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
