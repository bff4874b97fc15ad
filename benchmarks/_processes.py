"""Child processes: the local SageMaker server, and peers measured with ``os.wait4``."""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

from benchmarks._source import ROOT
from sagefetch.testing import ServerControl

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from benchmarks._scenarios import Scenario

_PR_SET_PDEATHSIG = 1
_STOP_GRACE_SECONDS = 5.0
#: Every child reads and writes bytecode here, never next to the sources (the venv
#: and the repository stay untouched). Without it, where PYTHONDONTWRITEBYTECODE
#: is set and the venv holds no bytecode, every process would compile botocore,
#: aiohttp and sagefetch again (~0.5 s): a cost no installed package pays twice.
BYTECODE_CACHE = Path(tempfile.gettempdir()) / "sagefetch-bench-pycache"


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the harness dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This environment without real AWS settings, with the bytecode cache, plus ``extra``."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    environment.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPYCACHEPREFIX=str(BYTECODE_CACHE),
    )
    environment.update(extra)
    return environment


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal a child, then kill it if it has not gone after a grace period."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ServerProcess:
    """``python -m sagefetch.testing --backend synthetic ...`` for one scenario."""

    def __init__(self, scenario: Scenario, log: Path) -> None:
        self.scenario = scenario
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self.environment: dict[str, str] = {}
        self.control: ServerControl | None = None

    def command(self) -> list[str]:
        """The server's command line, from the scenario's faults."""
        faults = self.scenario.faults
        command = [
            sys.executable, "-m", "sagefetch.testing", "--backend", "synthetic",
            "--groups", str(math.ceil(self.scenario.arns / 100)), "--versions", "100",
            "--burst", str(faults.burst), "--latency", str(faults.latency),
            "--jitter", str(faults.jitter), "--internal-error", str(faults.internal_error),
            "--drop", str(faults.drop), "--omit", str(faults.omit), "--seed", str(faults.seed),
        ]  # fmt: skip
        if faults.rate is not None:
            command += ["--rate", str(faults.rate)]
        return command

    def __enter__(self) -> Self:
        with self._log.open("wb") as stderr:
            self._process = subprocess.Popen(
                self.command(),
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=clean_environment({}),
                cwd=ROOT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - it only calls prctl
            )
        try:
            self._read_banner()
        except BaseException:
            _stop(self._process)
            raise
        return self

    def _read_banner(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        deadline = time.monotonic() + 60
        for raw in self._process.stdout:
            line = raw.decode().strip()
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                self.environment[name] = value
            if line.startswith("Press Ctrl-C") or time.monotonic() > deadline:
                break
        if "AWS_ENDPOINT_URL_SAGEMAKER" not in self.environment:
            raise RuntimeError(f"the local SageMaker did not start; see {self._log}")
        self.control = ServerControl(self.environment["AWS_ENDPOINT_URL_SAGEMAKER"])

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            _stop(self._process)
            if self._process.stdout is not None:
                self._process.stdout.close()


LAUNCHER = Path(__file__).resolve().with_name("_launcher.py")


@dataclass
class ChildResult:
    """What the launcher measured of one peer process."""

    exit_code: int | None
    timed_out: bool
    started: float
    """``time.monotonic()`` when the launcher forked the peer: the peer's start."""
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    first_output_seconds: float | None
    """Seconds from launch until the output file was first non-empty."""
    stdout: str
    stderr_tail: str
    reported: dict[str, str] = field(default_factory=dict)
    """``key=value`` lines the peer printed."""


def run_child(
    command: Sequence[str],
    *,
    environment: dict[str, str],
    out_file: Path,
    log_dir: Path,
    timeout: float,
    on_start: Callable[[], None] | None = None,
) -> ChildResult:
    """Run one peer to its end (or its timeout) through the launcher, and measure it.

    The launcher forks the peer and reaps it with ``os.wait4``: CPU time and
    peak RSS are that process's own. ``on_start`` runs right after the launch.
    """
    stdout_path, stderr_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    spec = {
        "command": list(command),
        "stdout": str(stdout_path),
        "stderr": str(stderr_path),
        "out_file": str(out_file),
        "timeout": timeout,
    }
    launcher = subprocess.Popen(
        [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec)],
        stdout=subprocess.PIPE,
        env=environment,
        cwd=ROOT,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - it only calls prctl
    )
    if on_start is not None:
        on_start()
    try:
        answer, _ = launcher.communicate(timeout=timeout + 2 * _STOP_GRACE_SECONDS + 30)
    except BaseException:
        _stop(launcher)
        raise
    measured = json.loads(answer)
    stdout_text = stdout_path.read_text(errors="replace") if stdout_path.exists() else ""
    stderr_text = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
    return ChildResult(
        exit_code=None if measured["timed_out"] else measured["exit_code"],
        timed_out=measured["timed_out"],
        started=measured["started"],
        wall_seconds=measured["wall_seconds"],
        cpu_seconds=measured["user_seconds"] + measured["system_seconds"],
        peak_rss_mb=measured["peak_rss_kb"] / 1024,
        first_output_seconds=measured["first_output_seconds"],
        stdout=stdout_text,
        stderr_tail=stderr_text[-2000:],
        reported=_reported(stdout_text),
    )


def _reported(stdout: str) -> dict[str, str]:
    pairs = (line.partition("=") for line in stdout.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, _, value in pairs if key.strip().isidentifier()}


class FirstCallWatcher:
    """Finds when a peer's first call reaches the server; then changes the limit on schedule.

    A thread polls the server's counters every 20 ms until the first call, then
    puts each later step of ``Scenario.limits`` in force at its moment after
    that call (S4's drop, S8's rise, S11's changes). Moments are
    ``time.monotonic()`` readings, comparable with the launcher's
    ``ChildResult.started``.
    """

    POLL_SECONDS = 0.02

    def __init__(self, control: ServerControl, scenario: Scenario, timeout: float) -> None:
        self._control = control
        self._scenario = scenario
        self._timeout = timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="first-call", daemon=True)
        self.first_call_at: float | None = None
        """When the poll that first saw a call was sent (at most one poll late)."""
        self.switched_at: float | None = None
        """When the limit first changed (S4: the lower limit took effect)."""
        self.changes: list[tuple[float, float]] = []
        """``(moment, calls/s)`` of every limit change put in force."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def _watch(self) -> None:
        deadline = time.monotonic() + self._timeout
        while not self._stop.is_set() and time.monotonic() < deadline:
            polled = time.monotonic()
            if self._control.counters().calls > 0:
                self.first_call_at = polled
                break
            self._stop.wait(self.POLL_SECONDS)
        if self.first_call_at is None:
            return
        for after, rate in self._scenario.limits[1:]:
            if self._stop.wait(max(0.0, self.first_call_at + after - time.monotonic())):
                return
            self._control.set_faults(dataclasses.replace(self._scenario.faults, rate=rate))
            moment = time.monotonic()
            self.changes.append((moment, rate))
            if self.switched_at is None:
                self.switched_at = moment
