"""What every peer shares: reading ARNs, writing outcomes, reporting its time.

Kept to what a user's own script would have, so the peers stay comparable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from types import TracebackType

BATCH_SIZE = 100


def argument_parser(description: str) -> argparse.ArgumentParser:
    """``ARN_FILE OUT_FILE``; a peer adds its own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("arn_file", type=Path)
    parser.add_argument("out_file", type=Path)
    return parser


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--runs N --run-gap S``: split the ARNs into N runs, one after another, on one client."""
    parser.add_argument("--runs", type=int, default=1, help="runs, one after another (S10)")
    parser.add_argument("--run-gap", type=float, default=0.0, help="seconds between runs")


def split_runs(arns: list[str], runs: int) -> list[list[str]]:
    """``arns`` in ``runs`` consecutive slices of equal size (the last may be shorter)."""
    size = -(-len(arns) // max(1, runs))
    return [arns[start : start + size] for start in range(0, len(arns), max(1, size))]


def parse_args(description: str, *, rate_option: bool = False) -> argparse.Namespace:
    """``ARN_FILE OUT_FILE`` (and ``--max-per-second`` for the oracle peer)."""
    parser = argument_parser(description)
    if rate_option:
        parser.add_argument("--max-per-second", type=float, default=None)
    return parser.parse_args()


def read_arns(path: Path) -> list[str]:
    """One ARN per line; blank lines and ``#`` comments skipped."""
    with path.open(encoding="utf-8") as file:
        return [line for raw in file if (line := raw.strip()) and not line.startswith("#")]


def batches(arns: list[str], size: int = BATCH_SIZE) -> Iterator[list[str]]:
    """Consecutive slices of ``size`` ARNs."""
    for start in range(0, len(arns), size):
        yield arns[start : start + size]


class OutcomeFile:
    """One compact JSON line per outcome, buffered, closed on exit."""

    def __init__(self, path: Path) -> None:
        self._file: TextIO = path.open("w", encoding="utf-8")

    def write(self, arn: str, status: str) -> None:
        """Record one outcome."""
        self._file.write(json.dumps({"arn": arn, "status": status}, separators=(",", ":")) + "\n")

    def write_all(self, arns: Iterable[str], status: str) -> None:
        """Record the same status for many ARNs."""
        for arn in arns:
            self.write(arn, status)

    def write_response(self, response: Mapping[str, object]) -> None:
        """Record what a successful answer holds, as a user who trusts it would."""
        self.write_all(response.get("ModelPackageSummaries") or {}, "described")  # type: ignore[arg-type]
        self.write_all(response.get("BatchDescribeModelPackageErrorMap") or {}, "failed")  # type: ignore[arg-type]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._file.close()


class DescribeClock:
    """Times the describe phase and prints ``describe_seconds=S`` for the harness."""

    def __enter__(self) -> Self:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        print(f"describe_seconds={time.perf_counter() - self._started:.6f}", flush=True)


def report(**values: object) -> None:
    """Print ``key=value`` lines the harness keeps with the raw numbers."""
    for key, value in values.items():
        print(f"{key}={value}", file=sys.stdout)
    sys.stdout.flush()
