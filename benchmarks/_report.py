"""Results: a markdown report, the raw numbers as JSON, and one plot per scenario."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks._measure import PeerRun
    from benchmarks._scenarios import Scenario

PACKAGES = ("sagefetch", "aiobotocore", "botocore", "boto3", "aiometer")


def machine_info() -> dict[str, object]:
    """Platform, CPUs, Python, package versions, date and load: the report's header."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "-"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "packages": versions,
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


# -- targets -----------------------------------------------------------------------


def _target_checks(run: PeerRun) -> list[tuple[str, float | None, float, str]]:
    """(what, measured, bound, unit) for sagefetch's targets in ``run``'s scenario."""
    ratio, share = run.ratio, run.throttled_share
    checks = {
        "S1": [("wall / ideal", ratio, 1.05, "x"), ("throttled", _pct(share), 3.0, "%")],
        "S2": [("wall / ideal", ratio, 1.05, "x"), ("throttled", _pct(share), 3.0, "%")],
        "S3": [
            ("wall / ideal", ratio, 1.15, "x"),
            ("lost", float(run.output.lost), 0.0, ""),
            ("duplicated", float(run.output.duplicated), 0.0, ""),
        ],
        "S4": [("wall / piecewise ideal", ratio, 1.10, "x")],
        "S5": [("CPU ms / 1,000 ARNs", run.cpu_ms_per_1k, 25.0, "ms")],
        "S6": [
            ("peak RSS", run.peak_rss_mb, 300.0, "MB"),
            ("first output line", run.first_output_seconds, 2.0, "s"),
        ],
    }
    return checks.get(run.scenario, [])


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share


def targets_table(runs: list[PeerRun]) -> list[str]:
    """Markdown rows: each sagefetch target, measured for the library and the CLI."""
    lines = [
        "| scenario | peer | target | measured | met |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        if not run.peer.startswith("sagefetch"):
            continue
        for what, measured, bound, unit in _target_checks(run):
            met = run.ok and measured is not None and measured <= bound
            digits = {"x": ".3f", "%": ".2f", "s": ".2f", "ms": ".1f"}.get(unit, ".0f")
            shown = "-" if measured is None else f"{measured:{digits}} {unit}".strip()
            lines.append(
                f"| {run.scenario} | {run.peer} | {what} <= {bound:g} {unit} | {shown} | "
                f"{'met' if met else '**missed**'} |"
            )
    return lines


# -- tables ------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _result(run: PeerRun) -> str:
    if run.timed_out:
        return f"**TIMEOUT** ({run.timeout_seconds:.0f} s)"
    if not run.ok:
        return f"**exit {run.exit_code}**"
    return "ok"


def scenario_table(runs: list[PeerRun], scenario: Scenario) -> list[str]:
    """Markdown rows for one scenario's peers."""
    first_output = scenario.cli_only
    header = (
        "| peer | result | wall / ideal | describe s | process s | calls | throttled | "
        "lost | duplicated | failed | CPU ms / 1k ARNs | peak RSS MB |"
        + (" first output s |" if first_output else "")
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for run in runs:
        ratio = _fmt(run.ratio, ".3f")
        if run.timed_out and ratio != "-":
            ratio = f"> {ratio}"
        row = (
            f"| {run.peer} | {_result(run)} | {ratio} | {run.describe_seconds:.2f} | "
            f"{run.process_seconds:.2f} | {run.calls} | "
            f"{_fmt(_pct(run.throttled_share), '.1f')}% | "
            f"{run.output.lost} | {run.output.duplicated} | {run.output.failed} | "
            f"{_fmt(run.cpu_ms_per_1k, '.1f')} | {run.peak_rss_mb:.0f} |"
        )
        if first_output:
            row += f" {_fmt(run.first_output_seconds, '.2f')} |"
        lines.append(row)
    return lines


def _scenario_heading(scenario: Scenario) -> list[str]:
    ideal = scenario.ideal_seconds
    facts = [f"{scenario.arns:,} ARNs", f"{scenario.calls_needed:,} calls needed"]
    if ideal is not None:
        facts.append(f"ideal {ideal:.2f} s")
    if scenario.switch_after is not None:
        facts.append(f"limit drops {scenario.switch_after:.2f} s after the first call")
    return [f"## {scenario.key} {scenario.title}", "", "; ".join(facts) + ".", ""]


def write_markdown(
    path: Path,
    *,
    info: dict[str, object],
    settings: dict[str, object],
    scenarios: list[Scenario],
    runs: list[PeerRun],
) -> None:
    """``latest.md``: header, one table and plot per scenario, sagefetch's targets."""
    packages = info["packages"]
    assert isinstance(packages, dict)
    lines = [
        "# sagefetch benchmark results",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['platform']}, {info['cpu_count']} CPUs, "
        f"load average at start {info['load_average_at_start']}, at the end "
        f"{settings.get('load_average_now', '-')} (the server and each peer use ~2 when alone)",
        f"- python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in packages.items()),
        f"- sagefetch measured: {settings.get('sagefetch_source', '-')} (every process of the run "
        "imported this copy; uncommitted changes, if any, are in `sagefetch-src.diff`)",
        f"- command: `{settings['command']}` ({settings['mode']}); "
        f"run took {settings.get('elapsed_seconds', 0):.0f} s",
        "",
        "The machine is shared and noisy: compare peers within one table (measured side by "
        "side in one run), not absolute times across runs. Ideal = max(0, calls - burst) / "
        "limit + one mean latency (S4: piecewise). `describe s` is the peer's own describe "
        "phase (client creation, calls, outcomes written); for the CLI it is the process wall "
        f"time minus the wall time of the same command over an empty file "
        f"({settings.get('cli_overhead_seconds', 0):.2f} s in this run). CPU and peak RSS are "
        "the whole client process (os.wait4), start-up included; CPU is per 1,000 described "
        "ARNs. `throttled` is the server's count over all calls it saw. Peers are forked by a "
        "bare launcher, so peak RSS is each peer's own (floor: "
        f"{settings.get('rss_floor_mb', 0):.1f} MB, the launcher's size).",
        "",
        "## sagefetch targets",
        "",
        *targets_table(runs),
        "",
    ]
    for scenario in scenarios:
        these = [run for run in runs if run.scenario == scenario.key]
        if not these:
            continue
        lines += _scenario_heading(scenario)
        lines += scenario_table(these, scenario)
        lines += ["", f"![{scenario.key}]({scenario.key}.png)", ""]
    path.write_text("\n".join(lines))


def write_json(path: Path, *, info: dict[str, object], settings: dict[str, object],
               scenarios: list[Scenario], runs: list[PeerRun]) -> None:  # fmt: skip
    """The raw numbers of every run."""
    document = {
        "machine": info,
        "settings": settings,
        "scenarios": [
            {
                "key": s.key,
                "title": s.title,
                "arns": s.arns,
                "calls_needed": s.calls_needed,
                "ideal_seconds": s.ideal_seconds,
                "switch_after_seconds": s.switch_after,
                "faults": {k: getattr(s.faults, k) for k in s.faults.__slots__},
            }
            for s in scenarios
        ],
        "runs": [run.to_json() for run in runs],
    }
    path.write_text(json.dumps(document, indent=1, default=str))


# -- plots -------------------------------------------------------------------------


def answered_per_second(timeline: list[tuple[int, int, int]]) -> list[int]:
    """Non-throttled calls in each second from the first call on (seconds without calls: 0)."""
    if not timeline:
        return []
    start = timeline[0][0]
    answered = [0] * (timeline[-1][0] - start + 1)
    for second, calls, throttled in timeline:
        answered[second - start] = calls - throttled
    return answered


def plot_scenario(path: Path, scenario: Scenario, runs: list[PeerRun]) -> None:
    """Answered (non-throttled) calls per second over time for each peer, and the limit."""
    figure, axes = plt.subplots(figsize=(10, 5))
    longest = 1
    for run in runs:
        answered = answered_per_second(run.timeline)
        if not answered:
            continue
        longest = max(longest, len(answered))
        axes.stairs(answered, range(len(answered) + 1), label=run.peer, linewidth=1.2)
    if scenario.limited:
        times = [step / 10 for step in range(longest * 10 + 1)]
        limits = [scenario.limit_at(t) or 0 for t in times]
        axes.plot(times, limits, "k--", drawstyle="steps-post", linewidth=1.5, label="server limit")
    axes.set_xlabel("seconds since the peer's first call (1 s bins)")
    axes.set_ylabel("calls/s answered (not throttled)")
    axes.set_title(f"{scenario.key}: {scenario.title}", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
