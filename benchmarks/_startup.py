"""Start-up: how soon the sagefetch CLI answers, against the interpreter's own start.

Every command runs with this interpreter, in ``clean_environment``, from the
repository root, timed from the harness (``perf_counter`` around spawn and
reap, stdout to ``/dev/null``); nothing is subtracted. The commands take turns
round by round (the order rotates each round), after one warm-up round that
is not counted (it fills the page cache and the bytecode cache).

The describe row is the CLI's first call on the wire: ``run_peer`` over a
100-ARN file against a local server with no limit, from the CLI's fork to the
first call the server counted (polled every 20 ms), after one warm-up run.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks._measure import PeerRun, run_peer
from benchmarks._peers import PEERS, sagefetch_command
from benchmarks._processes import ServerProcess, clean_environment
from benchmarks._scenarios import SEED, Scenario, write_arn_file
from benchmarks._source import ROOT
from sagefetch.testing import Faults

#: Runs of each start-up command, and of the first-call measurement.
RUNS, FIRST_CALL_RUNS = 15, 5
FLOOR = "python -c pass"
FIRST_CALL_NAME = "sagefetch describe: first call"
#: Seconds a start-up command may take before it counts as failed.
COMMAND_TIMEOUT = 60.0
FIRST_CALL = Scenario(
    "STARTUP", "first call: 100 ARNs, no limit, 5 ms", 100, Faults(latency=0.005, seed=SEED)
)


@dataclass(slots=True)
class Timings:
    """One start-up command, run repeatedly."""

    name: str
    """What the table shows, e.g. ``sagefetch --help``."""
    command: list[str] | None
    """The command line; ``None`` when the program is not installed."""
    seconds: list[float] = field(default_factory=list)
    exit_codes: list[int | None] = field(default_factory=list)
    """One a run; ``None`` for a run that was stopped (timed out)."""
    stderr_tail: str = ""
    """The end of stderr of the last failed run."""

    @property
    def installed(self) -> bool:
        return self.command is not None

    @property
    def ok(self) -> bool:
        """Ran, every run exited 0, and every run gave a time."""
        codes = self.exit_codes
        return bool(codes) and len(self.seconds) == len(codes) and all(c == 0 for c in codes)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    def to_json(self) -> dict[str, object]:
        """The raw times, plus their median and range."""
        return {
            **dataclasses.asdict(self),
            "ok": self.ok,
            "median_seconds": self.median,
            "min_seconds": min(self.seconds, default=None),
            "max_seconds": max(self.seconds, default=None),
        }


@dataclass
class Startup:
    """The start-up commands side by side, and the CLI's first call on the wire."""

    commands: list[Timings]
    """The floor first."""
    first_call: Timings
    """Seconds from the CLI's start to its first call at the server."""
    first_call_runs: list[PeerRun]
    """Everything measured of those ``sagefetch describe`` runs."""

    @property
    def floor(self) -> Timings:
        return self.commands[0]

    def command(self, name: str) -> Timings:
        return next(timings for timings in self.commands if timings.name == name)

    def over_floor(self, seconds: float | None) -> float | None:
        """``seconds`` minus the floor's median: what a command adds to a bare start."""
        floor = self.floor.median
        return None if seconds is None or floor is None else seconds - floor

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Startup:
        """The measurement as ``to_json`` wrote it."""
        names = {f.name for f in dataclasses.fields(Timings)}

        def timings(values: dict[str, Any]) -> Timings:
            return Timings(**{key: value for key, value in values.items() if key in names})

        first_call = document["first_call"]
        return cls(
            [timings(values) for values in document["commands"]],
            timings(first_call),
            [PeerRun.from_json(run) for run in first_call.get("runs", [])],
        )

    def to_json(self) -> dict[str, object]:
        return {
            "commands": [timings.to_json() for timings in self.commands],
            "first_call": {
                **self.first_call.to_json(),
                "scenario": FIRST_CALL.to_json(),
                "runs": [run.to_json() for run in self.first_call_runs],
            },
        }


def startup_commands() -> list[Timings]:
    """The floor, sagefetch's cheap commands, and ``aws --version``.

    The AWS CLI is the bench group's (same interpreter and environment), or
    else whatever ``aws`` is on PATH.
    """
    beside = Path(sys.executable).parent / "aws"
    aws = (
        str(beside)
        if beside.exists()
        else shutil.which("aws", path=clean_environment({}).get("PATH"))
    )
    return [
        Timings(FLOOR, [sys.executable, "-c", "pass"]),
        Timings("sagefetch --version", [*sagefetch_command(), "--version"]),
        Timings("sagefetch --help", [*sagefetch_command(), "--help"]),
        Timings("aws --version", None if aws is None else [aws, "--version"]),
    ]


def _time_once(timings: Timings, environment: dict[str, str]) -> tuple[float, int | None, str]:
    assert timings.command is not None
    started = time.perf_counter()
    try:
        done = subprocess.run(
            timings.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=ROOT,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, None, "timed out"
    return time.perf_counter() - started, done.returncode, done.stderr.decode()[-2000:]


def time_commands(commands: list[Timings], runs: int) -> list[Timings]:
    """Each installed command ``runs`` times, interleaved, after one uncounted round."""
    environment = clean_environment({})
    installed = [timings for timings in commands if timings.installed]
    for round_number in range(runs + 1):
        turn = round_number % len(installed)
        for timings in installed[turn:] + installed[:turn]:
            seconds, exit_code, stderr = _time_once(timings, environment)
            if round_number == 0:
                continue
            timings.seconds.append(seconds)
            timings.exit_codes.append(exit_code)
            if exit_code != 0:
                timings.stderr_tail = stderr
    return commands


def measure_first_calls(work: Path, runs: int) -> tuple[Timings, list[PeerRun]]:
    """``sagefetch describe`` over 100 ARNs, ``runs`` times after one warm-up run."""
    directory = work / "first-call"
    directory.mkdir()
    arn_file = directory / "arns.txt"
    expected = write_arn_file(FIRST_CALL, arn_file)
    cli = PEERS["sagefetch-cli"]
    command = partial(cli.command, arn_file, scenario=FIRST_CALL)
    shown = [*command(Path("outcomes.jsonl"))]
    shown[shown.index(str(arn_file))] = arn_file.name
    timings = Timings(FIRST_CALL_NAME, shown)
    measured = []
    with ServerProcess(FIRST_CALL, directory / "server.log") as server:
        for attempt in range(runs + 1):
            run = run_peer(cli, command, FIRST_CALL, server, expected, directory / str(attempt))
            if not attempt:
                continue
            measured.append(run)
            timings.exit_codes.append(run.exit_code)
            if run.first_call_seconds is not None:
                timings.seconds.append(run.first_call_seconds)
            if run.exit_code != 0:
                timings.stderr_tail = run.stderr_tail
    return timings, measured


def measure_startup(
    work: Path, *, runs: int = RUNS, first_call_runs: int = FIRST_CALL_RUNS
) -> Startup:
    """The whole start-up section of a run: the commands, then the first call."""
    commands = time_commands(startup_commands(), runs)
    return Startup(commands, *measure_first_calls(work, first_call_runs))
