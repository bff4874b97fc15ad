"""What the two harnesses' ``main`` share: options, signals, the work directory, the source."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks._source import ROOT, snapshot_commit, snapshot_sagefetch

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator
    from types import FrameType

    from benchmarks._source import SourceSnapshot

RESULTS = Path(__file__).resolve().parent / "results"


def comma_separated(choices: Collection[str]) -> Callable[[str], list[str]]:
    """An argparse ``type``: ``A,B`` into ``["A", "B"]``, each one of ``choices``."""

    def parse(text: str) -> list[str]:
        keys = [key.strip() for key in text.split(",") if key.strip()]
        unknown = [key for key in keys if key not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(unknown)} (choose from {', '.join(choices)})"
            )
        return keys

    return parse


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM: unwind like Ctrl-C, so every child process is stopped."""
    raise SystemExit(128 + signum)


def unwind_on_signals() -> None:
    """SIGTERM and Ctrl-C unwind the harness (stopping the server and the peer)."""
    signal.signal(signal.SIGTERM, _terminate)
    # Even when started with SIGINT ignored (a background job), Ctrl-C must unwind.
    signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def work_directory(prefix: str, *, keep: bool) -> Iterator[Path]:
    """A fresh directory under the system's temporary one, removed at the end unless ``keep``."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def pin_sagefetch(work: Path, commit: str | None = None) -> SourceSnapshot:
    """Copy sagefetch (the working tree's, or ``commit``'s) and make every child import it."""
    source = snapshot_commit(work, commit) if commit else snapshot_sagefetch(work)
    # Every child (server, peers, CLI) imports the snapshot, then finds benchmarks/.
    os.environ["PYTHONPATH"] = os.pathsep.join([str(source.path), str(ROOT)])
    return source
