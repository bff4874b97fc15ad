"""``python -m sagefetch.testing``: run a local SageMaker until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ._command import add_arguments, run

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None, prog: str = "python -m sagefetch.testing") -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a local SageMaker that speaks BatchDescribeModelPackage, until Ctrl-C.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
