"""The ``smfetch`` command."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``smfetch``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="smfetch",
        description="Describe SageMaker model packages in bulk with BatchDescribeModelPackage.",
    )
    parser.add_argument("--version", action="version", version=f"smfetch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "local-server",
        add_help=False,
        help="run a local SageMaker for tests and demos (needs smfetch[testing]); see --help",
    )
    args, rest = parser.parse_known_args(argv)
    if args.command != "local-server":  # pragma: no cover - argparse allows no other
        parser.error(f"unknown command {args.command!r}")
    try:
        from .testing.__main__ import main as local_server  # noqa: PLC0415 - optional, slow
    except ImportError as exc:
        print(
            f"smfetch local-server: {exc}\nHINT: pip install 'smfetch[testing]'",
            file=sys.stderr,
        )
        return 2
    return local_server(rest, prog="smfetch local-server")


if __name__ == "__main__":
    sys.exit(main())
