"""The simulator's table beside the real runs': the same scenarios, row by row.

``python -m benchmarks.run`` simulates each limited scenario it runs (the
virtual-time simulator of ``benchmarks/simulation.py``, 20 seeds, the same
calls, limits and burst) with the limiter it measures (the pinned copy's
``_limiter.py``), before the real runs. The table then sets the simulated
describe phase / ideal and throttled share beside sagefetch's real ones: the
library's own phase (client creation to outcomes written, as the simulator's
``Model.startup`` models it) and the CLI's whole process.
"""

from __future__ import annotations

import dataclasses
import time
import types
from typing import TYPE_CHECKING, Any, cast

from benchmarks._report import spread

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from benchmarks._measure import PeerRun
    from benchmarks._scenarios import Scenario
    from sagefetch import AdaptiveRateLimiter

#: Seeds of each simulated scenario (the simulator's default).
SEEDS = 20
#: Seeds of each moved copy in a ``KEY~`` row (``simulation.over_phases``: 7 moments).
PHASE_SEEDS = 5


def simulable(scenario: Scenario) -> bool:
    """Whether the simulator models ``scenario``: a limited batch run without injected errors."""
    faults = scenario.faults
    return (
        bool(scenario.limits)
        and scenario.service is None
        and scenario.listing_calls == 0
        and not (faults.internal_error or faults.drop or faults.omit or faults.unavailable)
    )


def limiter_from_file(path: Path) -> Callable[[Callable[[], float]], AdaptiveRateLimiter]:
    """A factory of the limiter in ``path`` (a ``_limiter.py``: the copy a run measures)."""
    import anyio  # noqa: PLC0415 - the simulator's own dependency, imported with it

    module = types.ModuleType("sagefetch._limiter_measured")
    module.__package__ = "sagefetch"
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    limiter_class: Any = module.AdaptiveRateLimiter

    def make(clock: Callable[[], float]) -> AdaptiveRateLimiter:
        return cast("AdaptiveRateLimiter", limiter_class(clock=clock, sleep=anyio.sleep))

    return make


def simulate(
    scenarios: Sequence[Scenario],
    limiter_file: Path | None = None,
    seeds: int = SEEDS,
) -> dict[str, Any]:
    """The simulator's summary of each simulable scenario, plus how it was run (JSON-ready)."""
    from benchmarks import simulation  # noqa: PLC0415 - botocore and anyio, only when simulating

    chosen = [scenario for scenario in scenarios if simulable(scenario)]
    twins = {scenario.key: simulation.from_benchmark(scenario) for scenario in chosen}
    started = time.perf_counter()
    make = simulation.default_limiter if limiter_file is None else limiter_from_file(limiter_file)
    outcomes = simulation.sweep(list(twins.values()), range(seeds), make_limiter=make)
    for key, twin in twins.items():
        # When a change of the limit comes in the probe's cycle decides how soon it is
        # seen: the row KEY~ moves the changes, so one lucky moment cannot decide.
        if len(twin.limits) > 1 and twin.runs == 1:
            outcomes[f"{key}~"] = simulation.over_phases(
                twin, range(min(seeds, PHASE_SEEDS)), make_limiter=make
            )
    summary = simulation.summarize(outcomes, twins)
    return {
        "seeds": seeds,
        "model": dataclasses.asdict(simulation.Model()),
        "phase_shifts": list(simulation.PHASE_SHIFTS),
        "limiter": "the measured copy of `sagefetch/_limiter.py`"
        if limiter_file is not None
        else "`sagefetch._limiter` as imported",
        "seconds": round(time.perf_counter() - started, 1),
        "summary": {
            key: {**row, "ratio": list(row["ratio"]), "throttled": list(row["throttled"])}
            for key, row in summary.items()
        },
    }


def _cell(values: Sequence[float], spec: str) -> str:
    median, low, high = values
    if format(low, spec) == format(high, spec):
        return format(median, spec)
    return f"{format(median, spec)} ({format(low, spec)}-{format(high, spec)})"


def _real(runs: Sequence[PeerRun], peer: str, value: Callable[[PeerRun], float | None]) -> str:
    values = [v for run in runs if run.peer == peer and (v := value(run)) is not None]
    return spread(values, ".3f")


def _share(runs: Sequence[PeerRun], peer: str) -> str:
    values = [
        100 * share
        for run in runs
        if run.peer == peer and (share := run.throttled_share) is not None
    ]
    return "-" if not values else spread(values, ".1f") + " %"


def side_by_side(simulated: dict[str, Any] | None, runs: Sequence[PeerRun]) -> list[str]:
    """Markdown: per scenario, the simulator's numbers beside sagefetch's real ones."""
    if not simulated or not simulated.get("summary"):
        return []
    lines = [
        "## Simulator beside the real runs",
        "",
        f"Simulated: `benchmarks/simulation.py`, seeds 0-{simulated['seeds'] - 1}, median "
        f"(min-max); limiter: {simulated['limiter']}; the working tree's "
        f"`CallGuard`; model {simulated['model']}; {simulated['seconds']} s of CPU. The "
        "simulated describe phase starts with the model's client start-up, so it compares "
        "with the library's *own phase* (client creation to outcomes written). Real: "
        "median (min-max) over this run's rounds. The CLI's wall time is its whole process "
        "(interpreter, imports and client creation included), which the simulator does not "
        "model. A row `KEY~` is the simulator alone: the scenario with its limit changes "
        f"moved by {simulated.get('phase_shifts', '-')} s, {PHASE_SEEDS} seeds each, because "
        "when a change comes in the limiter's probing cycle decides how soon it is seen.",
        "",
        "| scenario | ideal s | simulated: phase / ideal | real lib: own phase / ideal "
        "| real lib: wall / ideal | real CLI: wall / ideal | simulated: throttled "
        "| real lib: throttled | real CLI: throttled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in simulated["summary"].items():
        these = [run for run in runs if run.scenario == key]
        share = row["throttled"]
        lines.append(
            f"| {key} | {row['ideal']:.2f} | {_cell(row['ratio'], '.3f')} "
            f"| {_real(these, 'sagefetch-lib', lambda run: run.phase_ratio)} "
            f"| {_real(these, 'sagefetch-lib', lambda run: run.ratio)} "
            f"| {_real(these, 'sagefetch-cli', lambda run: run.ratio)} "
            f"| {_cell([100 * v for v in share], '.1f')} % "
            f"| {_share(these, 'sagefetch-lib')} | {_share(these, 'sagefetch-cli')} |"
        )
    return [*lines, ""]
