"""A deterministic virtual-time simulator of sagefetch's pacing against a token-bucket server.

No sockets and no sleeps: the pipeline's pacing runs on an asyncio event loop
whose clock jumps from one scheduled moment to the next (:class:`VirtualTimeLoop`),
so ten simulated seconds take a few milliseconds. What runs is sagefetch's own
code: the real :class:`~sagefetch.AdaptiveRateLimiter` (its clock and sleep are
the loop's) and the real ``CallGuard`` (limiter slot, timeout, classification,
tenacity retries); only the SageMaker client is replaced, by a token-bucket
server with latency.

The model, per scenario and seed:

- ``workers`` tasks (the fetcher's ``max_concurrency``) take batches in turn
  and call through one ``CallGuard``; several runs (``Scenario.runs``) follow one
  another on one limiter, as runs of a long-lived fetcher do.
- A call reaches the server ``uplink`` seconds after its limiter slot (plus up
  to ``uplink_jitter``: the client's and the machine's noise), takes a token or
  is throttled there, and answers after the scenario's latency plus up to its
  jitter (throttles too, as the benchmark's fault layer does).
- The server's limit follows ``Scenario.limits``: ``(second, calls/s)`` steps
  counted from the first call's arrival, as the benchmark's S4 switch is. The
  bucket starts full (``burst`` tokens).
- The ideal is the benchmark's: the moment a client that sends every call the
  instant the bucket has a token would send its last one, plus one mean
  latency (per run).

It is a tool for tuning the limiter, and the tests' regression guard
(``tests/test_limiter_simulation.py`` imports this module: it lives here, not in
the package, so it never ships, and it needs no benchmark dependency but
matplotlib, imported only to plot). Run it from the repository root::

    .venv/bin/python -m benchmarks.simulation                      # every scenario, 20 seeds
    .venv/bin/python -m benchmarks.simulation --scenarios S1,S4 --seeds 5
    .venv/bin/python -m benchmarks.simulation --save now.json --baseline today.json
    .venv/bin/python -m benchmarks.simulation --plot DIR --baseline today.json
    .venv/bin/python -m benchmarks.simulation --scenarios S8 --phases   # the rise moved too
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import math
import random
import selectors
import statistics
import subprocess
import sys
import time
import types
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio
from botocore.exceptions import ClientError

from benchmarks import _scenarios as benchmark
from sagefetch import AdaptiveRateLimiter
from sagefetch import _retry as retry_module
from sagefetch._calls import CallFailedError, CallGuard

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = [
    "BENCHMARK_KEYS",
    "PHASE_SHIFTS",
    "SCENARIOS",
    "Model",
    "Outcome",
    "Scenario",
    "VirtualTimeLoop",
    "default_limiter",
    "from_benchmark",
    "ideal_seconds",
    "over_phases",
    "simulate",
    "sweep",
]

# -- virtual time ---------------------------------------------------------------


class _JumpingSelector(selectors.BaseSelector):
    """A selector that never blocks: where the loop would wait, its clock jumps instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop
        self._real = selectors.DefaultSelector()  # the loop's self-pipe lives here

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("simulation deadlock: every task waits and nothing is scheduled")
        self._loop.advance(timeout)
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Any:
        return self._real.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a virtual clock that starts at 0 and jumps to the next timer."""

    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move the clock on (the loop calls this where it would have waited)."""
        self._virtual_now += seconds


# -- the server -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """A server (token bucket with a limit that may change) and the work asked of it."""

    key: str
    title: str
    limits: tuple[tuple[float, float], ...]
    """``(second, calls/s)``: the limit from that second on, counted from the first call."""
    burst: int
    calls: int
    """Calls a perfect client makes in each run (one per 100 ARNs)."""
    runs: int = 1
    """Runs, one after another, on one limiter."""
    run_gap: float = 0.0
    """Seconds between the end of one run and the start of the next."""
    latency: float = 0.05
    jitter: float = 0.01

    def limit_at(self, second: float) -> float:
        """The limit ``second`` seconds after the first call."""
        current = self.limits[0][1]
        for start, rate in self.limits:
            if second >= start:
                current = rate
        return current


#: Tokens a float sum may miss by: a token due at a moment is there at that moment.
_EPSILON = 1e-9


class _Bucket:
    """The server's token bucket: ``burst`` tokens at most, refilled at the scenario's limit."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self.level = float(scenario.burst)
        self.now = 0.0

    def advance(self, to: float) -> None:
        """Refill up to the moment ``to`` (seconds after the first call), step by step."""
        limits = self._scenario.limits
        while self.now < to:
            later = [start for start, _ in limits if start > self.now]
            step_end = min([to, *later])
            rate = self._scenario.limit_at(self.now)
            self.level = min(float(self._scenario.burst), self.level + rate * (step_end - self.now))
            self.now = step_end

    def take(self, at: float) -> bool:
        """Whether a call arriving at ``at`` gets a token (and takes it)."""
        self.advance(at)
        if self.level >= 1.0 - _EPSILON:
            self.level = max(0.0, self.level - 1.0)
            return True
        return False


def ideal_seconds(scenario: Scenario) -> float:
    """What a perfect client needs: each call the instant a token is there, one latency per run.

    For one run at a fixed limit this is the benchmark's ideal,
    ``max(0, calls - burst) / limit + latency + jitter / 2``; it is the
    benchmark's own computation (``benchmarks._scenarios.token_bucket_ideal``).
    """
    latency = scenario.latency + scenario.jitter / 2
    return (
        benchmark.token_bucket_ideal(
            scenario.limits,
            scenario.burst,
            calls=scenario.calls,
            runs=scenario.runs,
            between_runs=latency + scenario.run_gap,
        )
        + latency
    )


def _throttle() -> ClientError:
    """What botocore raises for the fault layer's throttle (HTTP 400 ``ThrottlingException``)."""
    response: Any = {
        "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
    }
    return ClientError(response, "BatchDescribeModelPackage")


# -- the client -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Model:
    """The client side: concurrency, the way to the server, and start-up."""

    workers: int = 16
    """The fetcher's ``max_concurrency`` (16 by default and in the benchmark)."""
    max_attempts: int = 8
    """The fetcher's ``max_attempts``."""
    uplink: float = 0.005
    """Seconds from the limiter's slot to the server's token check (signing, the wire)."""
    uplink_jitter: float = 0.012
    """Up to this much more, uniformly: the client's and the machine's noise.

    Measured (``python -m benchmarks.limiter_trace``, real S8 on a quiet 2-core
    machine): calls were answered 54-75 ms after their tickets (10th-90th
    percentile 57-75 ms) where the server alone takes 50-60 ms, so the client adds
    5-15 ms around the server's latency. With 2 ms +- 2 ms (the earlier model)
    every seed of S8 met the probe cycle at the same phase and said 1.058 where
    real runs took 1.04-1.16.
    """
    startup: float = 0.08
    """Seconds of the describe phase before the first call (opening the client).

    With it, simulated S1 and S4 land within about 0.01 of the benchmark's
    library describe phase / ideal (medians of 3 real runs, noisy 2-core machine:
    S1 real - simulated +0.012 today, +0.008 new; S4 +0.009 today, -0.006 new).
    """


@dataclass(slots=True)
class Attempt:
    """One call attempt, as the trace keeps it."""

    sent: float
    arrived: float
    throttled: bool
    rate: float
    """The limiter's rate as the call went out."""


@dataclass(slots=True)
class Outcome:
    """What one simulated run (all of a scenario's runs, one seed) did."""

    scenario: str
    seed: int
    seconds: float
    """The describe phase: start-up, then every run to its last answer."""
    ideal: float
    calls: int
    throttled: int
    failed_batches: int
    first_call: float
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Describe phase over the ideal."""
        return self.seconds / self.ideal

    @property
    def throttled_share(self) -> float:
        """Throttled calls over all calls the server saw."""
        return self.throttled / self.calls if self.calls else 0.0


class _Server:
    """The token-bucket server the simulated client calls."""

    def __init__(self, scenario: Scenario, model: Model, rng: random.Random) -> None:
        self._scenario = scenario
        self._model = model
        self._rng = rng
        self._bucket = _Bucket(scenario)
        self.first_arrival: float | None = None
        self.attempts: list[Attempt] = []
        self.limiter: AdaptiveRateLimiter | None = None

    async def call(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        sent = loop.time()
        rate = self.limiter.rate if self.limiter is not None else math.nan
        model, scenario, rng = self._model, self._scenario, self._rng
        await anyio.sleep(model.uplink + rng.uniform(0.0, model.uplink_jitter))
        arrived = loop.time()
        if self.first_arrival is None:
            self.first_arrival = arrived
        accepted = self._bucket.take(arrived - self.first_arrival)
        self.attempts.append(Attempt(sent, arrived, not accepted, rate))
        await anyio.sleep(scenario.latency + rng.uniform(0.0, scenario.jitter))
        if not accepted:
            raise _throttle()
        return {"ModelPackageSummaries": {}, "BatchDescribeModelPackageErrorMap": {}}


def default_limiter(clock: Callable[[], float]) -> AdaptiveRateLimiter:
    """The library's limiter on ``clock`` (the simulator's virtual one)."""
    return AdaptiveRateLimiter(clock=clock, sleep=anyio.sleep)


async def _run_all(
    scenario: Scenario,
    model: Model,
    seed: int,
    make_limiter: Callable[[Callable[[], float]], AdaptiveRateLimiter],
) -> Outcome:
    loop = asyncio.get_running_loop()
    server = _Server(scenario, model, random.Random(seed))
    limiter = make_limiter(loop.time)
    server.limiter = limiter
    guard = CallGuard(limiter=limiter, timeout=30.0, max_attempts=model.max_attempts)
    failed = 0

    async def work(batches: Iterator[int]) -> None:
        nonlocal failed
        for batch in batches:
            try:
                await guard.call(
                    server.call,
                    name="batch",
                    operation="BatchDescribeModelPackage",
                    context={"batch": batch, "arns": 100},
                    counts=guard.counts,
                )
            except CallFailedError:
                failed += 1

    await anyio.sleep(model.startup)
    for run in range(scenario.runs):
        if run:
            await anyio.sleep(scenario.run_gap)
        batches = iter(range(scenario.calls))
        async with anyio.create_task_group() as workers:
            for _ in range(model.workers):
                workers.start_soon(work, batches)
    attempts = server.attempts
    return Outcome(
        scenario=scenario.key,
        seed=seed,
        seconds=loop.time(),
        ideal=ideal_seconds(scenario),
        calls=len(attempts),
        throttled=sum(attempt.throttled for attempt in attempts),
        failed_batches=failed,
        first_call=server.first_arrival or 0.0,
        attempts=attempts,
    )


@contextlib.contextmanager
def _real_backoff(seed: int) -> Iterator[None]:
    """Backoff waits on (tests turn them off) and drawn from a seeded ``random``, for this block."""
    testing = retry_module._testing  # restored as it was
    state = random.getstate()
    retry_module.set_testing(False)
    random.seed(seed)
    try:
        yield
    finally:
        retry_module.set_testing(testing)
        random.setstate(state)


def limiter_at(revision: str) -> Callable[[Callable[[], float]], AdaptiveRateLimiter]:
    """A factory of the limiter of a git revision (``src/sagefetch/_limiter.py`` there).

    The rest of the pipeline (``CallGuard``, retries) is the working tree's: it
    compares limiters, not whole versions. A limiter whose ``on_success`` takes
    no ticket (before issue 14) is given none.
    """
    source = subprocess.run(
        ["git", "show", f"{revision}:src/sagefetch/_limiter.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    module = types.ModuleType(f"sagefetch._limiter_at_{revision}")
    module.__package__ = "sagefetch"
    exec(compile(source, f"{revision}:_limiter.py", "exec"), module.__dict__)
    limiter_class: Any = module.AdaptiveRateLimiter
    takes_ticket = len(inspect.signature(limiter_class.on_success).parameters) > 1

    def make(clock: Callable[[], float]) -> AdaptiveRateLimiter:
        limiter = limiter_class(clock=clock, sleep=anyio.sleep)
        if not takes_ticket:
            on_success = limiter.on_success
            limiter.on_success = lambda _ticket=None: on_success()
        return cast("AdaptiveRateLimiter", limiter)

    return make


def simulate(
    scenario: Scenario,
    seed: int,
    model: Model | None = None,
    make_limiter: Callable[[Callable[[], float]], AdaptiveRateLimiter] = default_limiter,
) -> Outcome:
    """Run ``scenario`` once in virtual time; the same seed gives the same outcome.

    Args:
        make_limiter: Builds the limiter, given the virtual clock (its sleep
            must be ``anyio.sleep``, which the virtual loop times).
    """
    with _real_backoff(seed), asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(_run_all(scenario, model or Model(), seed, make_limiter))


def sweep(
    scenarios: Sequence[Scenario],
    seeds: Sequence[int],
    model: Model | None = None,
    make_limiter: Callable[[Callable[[], float]], AdaptiveRateLimiter] = default_limiter,
) -> dict[str, list[Outcome]]:
    """Every scenario under every seed, outcomes by scenario key."""
    return {
        scenario.key: [simulate(scenario, seed, model, make_limiter) for seed in seeds]
        for scenario in scenarios
    }


# -- the scenarios ---------------------------------------------------------------------


def from_benchmark(scenario: benchmark.Scenario) -> Scenario:
    """The simulated twin of one of ``python -m benchmarks.run``'s scenarios (same sizes, limits).

    ``benchmark.Scenario.scaled`` sizes (``--quick``, ``--scale``) carry over:
    the simulator runs the calls the real run needs.
    """
    faults = scenario.faults
    if not scenario.limits or scenario.service is not None:
        raise ValueError(f"{scenario.key} has no limit to simulate, or is a service")
    return Scenario(
        scenario.key,
        scenario.title,
        scenario.limits,
        burst=faults.burst,
        calls=scenario.calls_per_run,
        runs=scenario.runs,
        run_gap=scenario.run_gap,
        latency=faults.latency,
        jitter=faults.jitter,
    )


#: The benchmark's limiter scenarios, simulated (``python -m benchmarks.run`` runs them for real).
BENCHMARK_KEYS = ("S1", "S2", "S4", "S8", "S9", "S10", "S11")

SCENARIOS: dict[str, Scenario] = {
    scenario.key: scenario
    for scenario in (
        *(from_benchmark(benchmark.SCENARIOS[key]) for key in BENCHMARK_KEYS),
        # Issue 14's measured runs.
        Scenario("I1", "issue 14 steady: 15 calls/s, burst 3", ((0.0, 15.0),), burst=3, calls=150),
        Scenario("I4", "issue 14 falling: 30 -> 8 at 4 s", ((0.0, 30.0), (4.0, 8.0)), 5, 200),
        # Corners: a low limit with no burst, a high one, slow answers.
        Scenario("LOW", "low: 2 calls/s, burst 1", ((0.0, 2.0),), burst=1, calls=40),
        Scenario("B1", "no burst: 20 calls/s, burst 1", ((0.0, 20.0),), burst=1, calls=200),
        Scenario("HIGH", "high: 150 calls/s, burst 20", ((0.0, 150.0),), burst=20, calls=1500),
        Scenario(
            "SLOW", "slow answers: 20 calls/s, burst 5, 0.4 s", ((0.0, 20.0),), 5, 200, latency=0.4
        ),
    )
}


#: Seconds by which :func:`over_phases` moves a scenario's limit changes (S8's rise at
#: 2.5 ... 4 s). The limiter probes in cycles that restart at each throttle, so when
#: a change comes in its cycle decides how soon it is seen; one moment alone can land
#: on a lucky phase (S8 at exactly 3 s said 1.058 under the earlier model, 1.045-1.144
#: with the rise 0.5 s either side).
PHASE_SHIFTS = (-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)


def shifted(scenario: Scenario, seconds: float) -> Scenario:
    """``scenario`` with every change of its limit (all but the first step) ``seconds`` later."""
    first, *later = scenario.limits
    limits = (first, *((start + seconds, rate) for start, rate in later))
    return replace(scenario, limits=limits)


def over_phases(
    scenario: Scenario,
    seeds: Sequence[int],
    model: Model | None = None,
    make_limiter: Callable[[Callable[[], float]], AdaptiveRateLimiter] = default_limiter,
    shifts: Sequence[float] = PHASE_SHIFTS,
) -> list[Outcome]:
    """``scenario`` with its limit changes moved by each of ``shifts``, under every seed.

    The ideal of each outcome is its own shifted scenario's.
    """
    return [
        simulate(shifted(scenario, shift), seed, model, make_limiter)
        for shift in shifts
        for seed in seeds
    ]


# -- the command line --------------------------------------------------------------------


def _spread(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def summarize(
    outcomes: dict[str, list[Outcome]], scenarios: dict[str, Scenario] | None = None
) -> dict[str, dict[str, Any]]:
    """Per scenario: median, min and max of the ratio and the throttled share over seeds."""
    summary: dict[str, dict[str, Any]] = {}
    known = SCENARIOS if scenarios is None else scenarios
    for key, runs in outcomes.items():
        ratio = _spread([outcome.ratio for outcome in runs])
        share = _spread([outcome.throttled_share for outcome in runs])
        if key in known:
            title = known[key].title
        elif key.endswith("~") and key[:-1] in known:  # over_phases
            moved = f"{PHASE_SHIFTS[0]:+g} to {PHASE_SHIFTS[-1]:+g} s"
            title = f"{known[key[:-1]].title}; changes moved {moved}"
        else:
            title = key
        summary[key] = {
            "title": title,
            "ideal": statistics.median(outcome.ideal for outcome in runs),
            "ratio": ratio,
            "throttled": share,
            "seeds": len(runs),
            "failed_batches": sum(outcome.failed_batches for outcome in runs),
        }
    return summary


def _cell(spread: Sequence[float], percent: bool = False) -> str:
    median, low, high = spread
    if percent:
        return f"{median:.1%} ({low:.1%}-{high:.1%})"
    return f"{median:.3f} ({low:.3f}-{high:.3f})"


def render(summary: dict[str, dict[str, Any]], baseline: dict[str, dict[str, Any]] | None) -> str:
    """A markdown table: ratio and throttled share, median (min-max), beside a baseline's."""
    if baseline is None:
        lines = [
            "| scenario | ideal s | describe / ideal | throttled |",
            "|---|---|---|---|",
        ]
        for key, row in summary.items():
            title = row.get("title") or (SCENARIOS[key].title if key in SCENARIOS else key)
            lines.append(
                f"| {key} {title} | {row['ideal']:.2f} | {_cell(row['ratio'])} "
                f"| {_cell(row['throttled'], percent=True)} |"
            )
        return "\n".join(lines)
    lines = [
        "| scenario | ideal s | baseline: describe / ideal | now: describe / ideal "
        "| baseline: throttled | now: throttled |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in summary.items():
        old = baseline.get(key)
        title = row.get("title") or (SCENARIOS[key].title if key in SCENARIOS else key)
        old_ratio = _cell(old["ratio"]) if old else "-"
        old_share = _cell(old["throttled"], percent=True) if old else "-"
        lines.append(
            f"| {key} {title} | {row['ideal']:.2f} | {old_ratio} | {_cell(row['ratio'])} "
            f"| {old_share} | {_cell(row['throttled'], percent=True)} |"
        )
    return "\n".join(lines)


def _trace(outcome: Outcome) -> dict[str, Any]:
    return {
        "first_call": outcome.first_call,
        "attempts": [
            {
                "sent": round(attempt.sent, 5),
                "arrived": round(attempt.arrived, 5),
                "throttled": attempt.throttled,
                "rate": round(attempt.rate, 3),
            }
            for attempt in outcome.attempts
        ],
    }


def plot(
    directory: Path,
    traces: dict[str, dict[str, dict[str, Any]]],
) -> list[Path]:
    """One PNG per scenario: each limiter's rate and accepted calls/s against the limit."""
    import matplotlib as mpl  # noqa: PLC0415 - only plotting needs it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    # The scenarios of the last limiter (this run); earlier ones are drawn beside it.
    keys = sorted(list(traces.values())[-1])
    for key in keys:
        scenario = SCENARIOS[key]
        figure, axes = plt.subplots(figsize=(9, 4.5))
        end = 0.0
        for (label, by_scenario), colour in zip(
            traces.items(), ("tab:orange", "tab:blue", "tab:green"), strict=False
        ):
            trace = by_scenario.get(key)
            if trace is None:
                continue
            first = trace["first_call"]
            attempts = trace["attempts"]
            sent = [attempt["sent"] - first for attempt in attempts]
            end = max(end, *sent)
            axes.step(sent, [attempt["rate"] for attempt in attempts], where="post",
                      color=colour, label=f"{label}: limiter rate")  # fmt: skip
            throttled = [s for s, a in zip(sent, attempts, strict=True) if a["throttled"]]
            axes.plot(throttled, [0.5] * len(throttled), "x", color=colour,
                      label=f"{label}: throttled calls")  # fmt: skip
            seconds = int(end) + 1
            accepted = [0] * seconds
            for moment, attempt in zip(sent, attempts, strict=True):
                if not attempt["throttled"] and 0 <= moment < seconds:
                    accepted[int(moment)] += 1
            axes.plot([s + 0.5 for s in range(seconds)], accepted, "o", color=colour,
                      alpha=0.5, label=f"{label}: accepted per second")  # fmt: skip
        grid = [end * step / 400 for step in range(401)]
        axes.plot(grid, [scenario.limit_at(moment) for moment in grid], "k--",
                  label="server limit")  # fmt: skip
        top = max(rate for _, rate in scenario.limits)
        axes.set_ylim(0, 2.5 * top)  # the start's ramp overshoots; the limit is what matters
        axes.set_xlabel("seconds after the first call")
        axes.set_ylabel("calls/s")
        axes.set_title(f"{key}: {scenario.title} (simulated, seed 0)")
        axes.legend(fontsize="small", loc="upper right")
        figure.tight_layout()
        path = directory / f"{key}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="default: all")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    default = Model()
    parser.add_argument("--startup", type=float, default=default.startup, help="start-up, s")
    parser.add_argument("--uplink", type=float, default=default.uplink, help="uplink, s")
    parser.add_argument("--uplink-jitter", type=float, default=default.uplink_jitter)
    parser.add_argument("--save", type=Path, help="write the summary and seed-0 traces here")
    parser.add_argument("--baseline", type=Path, help="a --save file to show beside")
    parser.add_argument("--plot", type=Path, help="write one PNG per scenario here")
    parser.add_argument("--label", default="now", help="this limiter's name in plots")
    parser.add_argument(
        "--limiter-at", metavar="REV", help="simulate the limiter of this git revision instead"
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="also run each scenario whose limit changes with the changes moved by "
        f"{', '.join(f'{shift:+g}' for shift in PHASE_SHIFTS)} s (a row KEY~)",
    )
    args = parser.parse_args(argv)
    keys = [key.strip() for key in args.scenarios.split(",") if key.strip()]
    unknown = [key for key in keys if key not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    model = Model(startup=args.startup, uplink=args.uplink, uplink_jitter=args.uplink_jitter)
    started = time.perf_counter()
    make_limiter = default_limiter if args.limiter_at is None else limiter_at(args.limiter_at)
    outcomes = sweep([SCENARIOS[key] for key in keys], range(args.seeds), model, make_limiter)
    if args.phases:
        for key in keys:
            scenario = SCENARIOS[key]
            if len(scenario.limits) > 1:
                runs = over_phases(scenario, range(args.seeds), model, make_limiter)
                outcomes[f"{key}~"] = runs
    elapsed = time.perf_counter() - started
    summary = summarize(outcomes)
    baseline = None
    baseline_traces: dict[str, Any] = {}
    if args.baseline is not None:
        document = json.loads(args.baseline.read_text())
        baseline = {
            key: {**row, "ratio": tuple(row["ratio"]), "throttled": tuple(row["throttled"])}
            for key, row in document["summary"].items()
        }
        baseline_traces = {document.get("label", "baseline"): document.get("traces", {})}
    print(render(summary, baseline))
    print(
        f"\n{len(keys)} scenarios x {args.seeds} seeds in {elapsed:.1f} s; model: {asdict(model)}",
        file=sys.stderr,
    )
    traces = {key: _trace(runs[0]) for key, runs in outcomes.items() if key in SCENARIOS}
    if args.save is not None:
        args.save.write_text(
            json.dumps(
                {"label": args.label, "model": asdict(model), "summary": summary, "traces": traces}
            )
        )
    if args.plot is not None:
        for path in plot(args.plot, {**baseline_traces, args.label: traces}):
            print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
