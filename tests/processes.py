"""Processes for tests: a local SageMaker in its own process, and the sagefetch CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import IO, TYPE_CHECKING, Self

if TYPE_CHECKING:
    import signal
    from pathlib import Path
    from types import TracebackType

SAGEFETCH = [sys.executable, "-m", "sagefetch.cli"]

#: Runs a command with a file size limit: writes past it fail with EFBIG (SIGXFSZ ignored).
#: Use as ``[*FILE_SIZE_LIMIT, str(limit), *SAGEFETCH, ...]``.
FILE_SIZE_LIMIT = (
    sys.executable, "-c",
    "import os, resource, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), hard))\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n",
)  # fmt: skip


class SageMakerProcess:
    """``sagefetch local-server`` in a child process, so it can be killed outright."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.process: subprocess.Popen[str] | None = None
        self.environment: dict[str, str] = {}

    def __enter__(self) -> Self:
        self.process = subprocess.Popen(
            [*SAGEFETCH, "local-server", "--backend", "synthetic", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                self.environment[name] = value
            if line.startswith("Press Ctrl-C"):
                return self
        raise AssertionError("the local SageMaker did not start")

    @property
    def endpoint_url(self) -> str:
        return self.environment["AWS_ENDPOINT_URL_SAGEMAKER"]

    def kill(self) -> None:
        """Kill it with SIGKILL: every connection dies with it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


def start_cli(*args: str, stderr: int | IO[bytes] = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """``sagefetch ARGS`` in the background."""
    return subprocess.Popen([*SAGEFETCH, *args], stdout=subprocess.DEVNULL, stderr=stderr)


def run_cli(
    *args: str, stdin: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """``sagefetch ARGS`` to the end, capturing stdout and stderr."""
    return subprocess.run(
        [*SAGEFETCH, *args], input=stdin, capture_output=True, timeout=timeout, check=False,
        env={**os.environ},
    )  # fmt: skip


def wait_for_lines(
    path: Path, count: int, process: subprocess.Popen[bytes], limit: float = 60
) -> None:
    """Wait until ``path`` has ``count`` lines, or the process ends, or ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)


def interrupt(process: subprocess.Popen[bytes], signum: signal.Signals) -> int:
    """Send ``signum`` and return the exit code (within 15 s)."""
    process.send_signal(signum)
    return process.wait(timeout=15)
