"""The limiter call by call: real runs of a scenario beside the simulator's.

    .venv/bin/python -m benchmarks.limiter_trace --scenario S8 --rounds 5 --out DIR

- **Real**: the scenario's local server, started as ``benchmarks.run`` starts
  it (its faults; the limit changed on schedule after the first call, by
  ``FirstCallWatcher``), and the library in this process:
  ``ModelPackageFetcher(max_concurrency=16, limiter=TracingLimiter())``
  streaming the scenario's ARNs, ``--rounds`` times (the server reset before
  each). Describe / ideal counts from the fetcher's opening (client creation)
  to the last outcome, as the benchmark's library peer does.
- **Simulated**: the same limiter class in ``benchmarks.simulation`` (its
  default model), seeds ``0..--seeds-1``.

For every run it gathers the throttles, every rate change the limiter made
(the ``why`` it logs as ``sagefetch.rate_changed``, and the limit it believed), and for each
change of the server's limit how long the limiter took to react to it: to a
rise, its ``limit_raised``; to a drop, its next reaction. Seconds count from the
run's first call. It writes ``summary.md`` (one row a run, then the medians)
and one trace a run (``real-N.txt``, ``simulated-N.txt``: every call's ticket,
answer and the limiter's state, and every rate change), and prints the summary.

This is how issue 14 found why real S8 missed its target while the simulator
met it (``benchmarks/results/issue14/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from benchmarks import simulation
from benchmarks._processes import FirstCallWatcher, ServerProcess
from benchmarks._scenarios import SCENARIOS, Scenario, write_arn_file
from sagefetch import AdaptiveRateLimiter, ModelPackageFetcher

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

CONCURRENCY = 16  # as the benchmark's library peer


@dataclass(slots=True)
class Step:
    """One line of a trace: a call's send or answer, or a rate change."""

    at: float
    what: str
    """``send``, ``ok``, ``throttled``, or ``rate:WHY`` (the limiter's reason)."""
    ticket: float | None
    rate: float
    limit: float | None
    """What the limiter believed the limit was (``None``: not measured yet)."""


class TracingLimiter(AdaptiveRateLimiter):
    """The library's limiter, keeping every call and every rate change it made.

    Rate changes are taken where the limiter makes them (its ``_react`` and
    ``_raised``, the two places that log ``sagefetch.rate_changed``), not from
    the log: where events go depends on the application's logging (structlog,
    once configured, takes them), and a trace must not.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        super().__init__(clock=clock, sleep=sleep)
        self.steps: list[Step] = []
        self.now = clock

    def note(self, what: str, ticket: float | None = None) -> None:
        """Keep a step at this moment."""
        self.steps.append(Step(self.now(), what, ticket, self.rate, self.measured_limit))

    async def acquire(self) -> float:
        ticket = await super().acquire()
        self.note("send", ticket)
        return ticket

    def on_success(self, ticket: float | None = None) -> None:
        super().on_success(ticket)
        self.note("ok", ticket)

    def on_throttle(self, ticket: float) -> None:
        super().on_throttle(ticket)
        self.note("throttled", ticket)

    def _react(self, now: float, why: str) -> None:
        super()._react(now, why)
        self.note(f"rate:{why}")

    def _raised(self, now: float) -> None:
        super()._raised(now)
        self.note("rate:limit_raised")


@dataclass(slots=True)
class Run:
    """One traced run, real or simulated."""

    kind: str
    number: int
    ratio: float
    calls: int
    throttled: int
    first_call: float
    """The limiter's clock at the first call: trace times count from here."""
    changes: list[tuple[float, float]]
    """``(seconds after the first call, calls/s)``: when the server's limit changed."""
    steps: list[Step] = field(default_factory=list)

    def reactions(self) -> list[tuple[float, str, float | None]]:
        """``(seconds after the first call, why, believed limit)`` of every rate change."""
        return [
            (step.at - self.first_call, step.what.removeprefix("rate:"), step.limit)
            for step in self.steps
            if step.what.startswith("rate:")
        ]

    def seen_after(self) -> list[float | None]:
        """For each change of the limit after the first: seconds until the limiter reacted.

        To a rise, its ``limit_raised``; to a drop, its first reaction after it.
        """
        delays: list[float | None] = []
        previous = None
        for moment, rate in self.changes:
            rising = previous is not None and rate > previous
            previous = rate
            if moment <= 0:
                continue
            seen = [
                at
                for at, why, _ in self.reactions()
                if at >= moment and (why == "limit_raised" or not rising)
            ]
            delays.append(seen[0] - moment if seen else None)
        return delays


async def _real_run(arns: list[str]) -> tuple[float, TracingLimiter]:
    limiter = TracingLimiter()
    started = time.monotonic()
    async with ModelPackageFetcher(max_concurrency=CONCURRENCY, limiter=limiter) as fetcher:
        async for _ in fetcher.stream(arns):
            pass
    return time.monotonic() - started, limiter


def real_runs(scenario: Scenario, rounds: int, work: Path) -> list[Run]:
    """``rounds`` runs of the library against the scenario's server, traced."""
    write_arn_file(scenario, work / "arns.txt")
    arns = (work / "arns.txt").read_text().split()
    runs = []
    with ServerProcess(scenario, work / "server.log") as server:
        control = server.control
        assert control is not None
        os.environ.update(server.environment)
        for number in range(rounds):
            control.set_faults(scenario.faults)
            control.reset()
            watcher = FirstCallWatcher(control, scenario, timeout=300)
            watcher.start()
            try:
                seconds, limiter = asyncio.run(_real_run(arns))
            finally:
                watcher.stop()
            counters = control.counters()
            first = next(step.ticket for step in limiter.steps if step.what == "send")
            assert first is not None
            changes = [(0.0, scenario.limits[0][1])]
            changes += [(moment - first, rate) for moment, rate in watcher.changes]
            ratio = seconds / scenario.ideal_seconds
            run = Run("real", number, ratio, counters.calls, counters.throttled, first, changes)
            run.steps = limiter.steps
            runs.append(run)
            print(_row(run), file=sys.stderr, flush=True)
    return runs


def simulated_runs(scenario: Scenario, seeds: int) -> list[Run]:
    """The same scenario in the simulator, seeds ``0..seeds-1``, traced."""
    twin = simulation.from_benchmark(scenario)
    made: list[TracingLimiter] = []

    def make(clock: Callable[[], float]) -> TracingLimiter:
        made.append(TracingLimiter(clock=clock, sleep=anyio.sleep))
        return made[-1]

    runs = []
    for seed in range(seeds):
        outcome = simulation.simulate(twin, seed, make_limiter=make)
        run = Run("simulated", seed, outcome.ratio, outcome.calls, outcome.throttled,
                  outcome.first_call, list(twin.limits))  # fmt: skip
        run.steps = made[-1].steps
        runs.append(run)
    return runs


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _row(run: Run) -> str:
    reactions = ", ".join(
        f"{at:.2f} {why}" + ("" if limit is None else f" {limit:.1f}")
        for at, why, limit in run.reactions()
    )
    seen = " / ".join(_seconds(delay) for delay in run.seen_after()) or "-"
    return (
        f"| {run.kind} {run.number} | {run.ratio:.3f} | {run.throttled}/{run.calls} "
        f"| {seen} | {reactions} |"
    )


def summary(scenario: Scenario, runs: Sequence[Run]) -> str:
    """The markdown summary: one row a run, then medians by kind."""
    lines = [
        f"# {scenario.key}: {scenario.title}",
        "",
        "Seconds count from the run's first call. *Seen after*: how long after each",
        "change of the server's limit the limiter reacted to it (a rise: its",
        "`limit_raised`).",
        "",
        "| run | describe / ideal | throttled / calls | seen after (s) "
        "| rate changes (s, why, limit) |",
        "|---|---|---|---|---|",
        *(_row(run) for run in runs),
        "",
    ]
    for kind in ("real", "simulated"):
        chosen = [run for run in runs if run.kind == kind]
        if not chosen:
            continue
        ratios = [run.ratio for run in chosen]
        delays = [delay for run in chosen for delay in run.seen_after() if delay is not None]
        seen = (
            f"; seen after: median {statistics.median(delays):.2f} s "
            f"({min(delays):.2f}-{max(delays):.2f})"
            if delays
            else ""
        )
        lines.append(
            f"- {kind}, {len(chosen)} runs: describe / ideal median "
            f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}){seen}"
        )
    return "\n".join(lines) + "\n"


def write_trace(run: Run, path: Path) -> None:
    """Every step of ``run``, one a line."""
    with path.open("w", encoding="utf-8") as file:
        file.write("# seconds  what  ticket  rate  limit\n")
        for step in run.steps:
            ticket = "" if step.ticket is None else f"{step.ticket - run.first_call:.4f}"
            limit = "-" if step.limit is None else f"{step.limit:.2f}"
            file.write(
                f"{step.at - run.first_call:.4f} {step.what} {ticket} {step.rate:.2f} {limit}\n"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    limited = [key for key in simulation.BENCHMARK_KEYS if SCENARIOS[key].runs == 1]
    parser.add_argument("--scenario", default="S8", choices=limited)
    parser.add_argument("--rounds", type=int, default=3, help="real runs (default 3)")
    parser.add_argument("--seeds", type=int, default=5, help="simulated runs (default 5)")
    parser.add_argument("--out", type=Path, help="write summary.md and the traces here")
    args = parser.parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    with tempfile.TemporaryDirectory(prefix="sagefetch-trace-") as work:
        runs = real_runs(scenario, args.rounds, Path(work)) if args.rounds else []
    runs += simulated_runs(scenario, args.seeds)
    text = summary(scenario, runs)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.md").write_text(text, encoding="utf-8")
        for run in runs:
            write_trace(run, args.out / f"{run.kind}-{run.number}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
