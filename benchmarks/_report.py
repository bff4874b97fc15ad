"""Results: markdown reports, the raw numbers as JSON, and one plot per scenario.

Both harnesses render through here: ``benchmarks.run`` (``latest.md``) and
``benchmarks.audit`` (``audit.md``) share the header, the table columns and
the JSON document.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from benchmarks._startup import FIRST_CALL

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from benchmarks._measure import PeerRun
    from benchmarks._scenarios import Scenario
    from benchmarks._startup import Startup, Timings

PACKAGES = ("sagefetch", "aiobotocore", "botocore", "boto3", "aiometer")
#: sagefetch's start-up targets: seconds over ``python -c pass``, and to the first call.
STARTUP_OVER_FLOOR, FIRST_CALL_WITHIN = 0.1, 0.3


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


@dataclass
class Report:
    """What a harness has measured so far: the header's facts, every peer's run, start-up."""

    settings: dict[str, object]
    """What the run was asked to do (``command`` first) and what it set up."""
    info: dict[str, object] = field(default_factory=machine_info)
    runs: list[PeerRun] = field(default_factory=list)
    startup: Startup | None = None
    started: float = field(default_factory=time.monotonic)

    def stamp(self) -> None:
        """Note the time taken and the load now, before writing the report again."""
        self.settings["elapsed_seconds"] = time.monotonic() - self.started
        self.settings["load_average_now"] = [round(load, 2) for load in os.getloadavg()]

    def header_lines(self, title: str, *, diff_file: str | None) -> list[str]:
        """The title and the bullet list every report opens with: machine, versions, command."""
        info, settings = self.info, self.settings
        packages = info["packages"]
        assert isinstance(packages, dict)
        mode = f" ({settings['mode']})" if "mode" in settings else ""
        diff = f"; uncommitted changes, if any, are in `{diff_file}`" if diff_file else ""
        return [
            f"# {title}",
            "",
            f"- date: {info['date']}",
            f"- machine: {info['platform']}, {info['cpu_count']} CPUs, "
            f"load average at start {info['load_average_at_start']}, at the end "
            f"{settings.get('load_average_now', '-')} "
            "(the server and each peer use ~2 when alone)",
            f"- python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in packages.items()),
            f"- sagefetch measured: {settings.get('sagefetch_source', '-')} (every process of "
            f"the run imported this copy{diff})",
            f"- command: `{settings['command']}`{mode}; "
            f"run took {settings.get('elapsed_seconds', 0):.0f} s",
            "",
        ]

    def write_json(self, path: Path, scenarios: list[dict[str, object]]) -> None:
        """The raw numbers of every run (and of the start-up measurement, if there was one)."""
        document: dict[str, object] = {
            "machine": self.info,
            "settings": self.settings,
            "scenarios": scenarios,
            "runs": [run.to_json() for run in self.runs],
        }
        if self.startup is not None:
            document["startup"] = self.startup.to_json()
        path.write_text(json.dumps(document, indent=1, default=str))


# -- tables ------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share


def _result(run: PeerRun) -> str:
    if run.timed_out:
        return f"**TIMEOUT** ({run.timeout_seconds:.0f} s)"
    if not run.ok:
        return f"**exit {run.exit_code}**"
    return "ok"


def _ratio(run: PeerRun) -> str:
    ratio = _fmt(run.ratio, ".3f")
    return f"> {ratio}" if run.timed_out and ratio != "-" else ratio


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a peers table: its header, and its cell for a run."""

    header: str
    cell: Callable[[PeerRun], str]


PEER = Column("peer", lambda run: run.peer)
RESULT = Column("result", _result)
RATIO = Column("wall / ideal", _ratio)
DESCRIBE = Column("describe s", lambda run: f"{run.describe_seconds:.2f}")
PROCESS = Column("process s", lambda run: f"{run.process_seconds:.2f}")
CALLS = Column("calls", lambda run: str(run.calls))
THROTTLED = Column("throttled", lambda run: f"{_fmt(_pct(run.throttled_share), '.1f')}%")
LOST = Column("lost", lambda run: str(run.output.lost))
DUPLICATED = Column("duplicated", lambda run: str(run.output.duplicated))
FAILED = Column("failed", lambda run: str(run.output.failed))
CPU_PER_1K = Column("CPU ms / 1k ARNs", lambda run: _fmt(run.cpu_ms_per_1k, ".1f"))
CPU = Column("CPU s", lambda run: f"{run.cpu_seconds:.2f}")
PEAK_RSS = Column("peak RSS MB", lambda run: f"{run.peak_rss_mb:.0f}")
FIRST_OUTPUT = Column("first output s", lambda run: _fmt(run.first_output_seconds, ".2f"))
LISTING_DONE = Column("listing done s", lambda run: run.reported.get("list_seconds") or "-")


def versus(peer: str, runs: list[PeerRun]) -> Column:
    """``describe s`` over that of ``peer``'s run among ``runs`` (``-`` if it failed)."""
    reference = next((run for run in runs if run.peer == peer and run.ok), None)

    def cell(run: PeerRun) -> str:
        if reference is None:
            return "-"
        return f"{run.describe_seconds / reference.describe_seconds:.2f}"

    return Column(f"describe / {peer}", cell)


def table(runs: list[PeerRun], columns: Sequence[Column]) -> list[str]:
    """Markdown rows: a header, then one row per run."""
    lines = [
        "| " + " | ".join(column.header for column in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(column.cell(run) for column in columns) + " |" for run in runs]
    return lines


def scenario_table(runs: list[PeerRun], scenario: Scenario) -> list[str]:
    """Markdown rows for one S1-S6 scenario's peers."""
    columns = [PEER, RESULT, RATIO, DESCRIBE, PROCESS, CALLS, THROTTLED, LOST, DUPLICATED]
    columns += [FAILED, CPU_PER_1K, PEAK_RSS]
    if scenario.cli_only:
        columns.append(FIRST_OUTPUT)
    return table(runs, columns)


# -- targets -----------------------------------------------------------------------

Check = tuple[str, float | None, float, str]
"""(what, measured, bound, unit): one of sagefetch's targets."""


def _target_checks(run: PeerRun) -> list[Check]:
    """sagefetch's targets in ``run``'s scenario."""
    ratio, share = run.ratio, run.throttled_share
    checks: dict[str, list[Check]] = {
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


@dataclass(frozen=True, slots=True)
class StartupTarget:
    """One of sagefetch's start-up targets, and the row of the start-up table it is on."""

    timings: Timings
    check: Check
    short: str
    """The target as the start-up table shows it."""

    @property
    def met(self) -> bool:
        return _met(self.check, ok=self.timings.ok)


def startup_targets(startup: Startup) -> list[StartupTarget]:
    """``--version`` and ``--help`` over the floor; describe's first call after start."""
    targets = []
    for name in ("sagefetch --version", "sagefetch --help"):
        timings = startup.command(name)
        check = (
            f"`{name}` over the floor",
            startup.over_floor(timings.median),
            STARTUP_OVER_FLOOR,
            "s",
        )
        targets.append(StartupTarget(timings, check, f"over the floor <= {STARTUP_OVER_FLOOR:g} s"))
    first_call = startup.first_call
    check = (_label(first_call.name), first_call.median, FIRST_CALL_WITHIN, "s")
    targets.append(StartupTarget(first_call, check, f"<= {FIRST_CALL_WITHIN:g} s"))
    return targets


def _met(check: Check, *, ok: bool) -> bool:
    _what, measured, bound, _unit = check
    return ok and measured is not None and measured <= bound


def _target_row(scenario: str, peer: str, check: Check, *, ok: bool) -> str:
    what, measured, bound, unit = check
    digits = {"x": ".3f", "%": ".2f", "s": ".2f", "ms": ".1f"}.get(unit, ".0f")
    shown = "-" if measured is None else f"{measured:{digits}} {unit}".strip()
    return (
        f"| {scenario} | {peer} | {what} <= {bound:g} {unit} | {shown} | "
        f"{'met' if _met(check, ok=ok) else '**missed**'} |"
    )


def targets_table(runs: list[PeerRun], startup: Startup | None = None) -> list[str]:
    """Markdown rows: each sagefetch target, measured for the library and the CLI."""
    lines = [
        "| scenario | peer | target | measured | met |",
        "|---|---|---|---|---|",
    ]
    if startup is not None:
        lines += [
            _target_row("start-up", "sagefetch-cli", target.check, ok=target.timings.ok)
            for target in startup_targets(startup)
        ]
    for run in runs:
        if run.peer.startswith("sagefetch"):
            lines += [
                _target_row(run.scenario, run.peer, check, ok=run.ok)
                for check in _target_checks(run)
            ]
    return lines


# -- start-up ----------------------------------------------------------------------


def _timings_result(timings: Timings) -> str:
    if not timings.installed:
        return "not installed"
    if timings.ok:
        return "ok"
    failed = next((code for code in timings.exit_codes if code != 0), 0)
    return "**TIMEOUT**" if failed is None else f"**exit {failed}**"


def _label(name: str) -> str:
    """``sagefetch --help`` as code; ``sagefetch describe: first call`` as code and words."""
    command, colon, what = name.partition(": ")
    return f"`{command}`{colon}{what}"


def _startup_row(timings: Timings, startup: Startup, target: StartupTarget | None) -> str:
    seconds = timings.seconds
    spread = f"{min(seconds):.3f}-{max(seconds):.3f}" if seconds else "-"
    over = None if timings is startup.floor else startup.over_floor(timings.median)
    shown, met = (
        ("-", "-") if target is None else (target.short, "met" if target.met else "**missed**")
    )
    runs = len(timings.exit_codes) or "-"
    return (
        f"| {_label(timings.name)} | {_timings_result(timings)} | {runs} | "
        f"{_fmt(timings.median, '.3f')} | {spread} | {_fmt(over, '+.3f')} | {shown} | {met} |"
    )


def startup_section(startup: Startup) -> list[str]:
    """``## Start-up``: the floor, sagefetch's cheap commands, aws, and describe's first call."""
    rows = [*startup.commands, startup.first_call]
    targets = {target.timings.name: target for target in startup_targets(startup)}
    command_lines = [
        f"- {_label(t.name)}, run as `{shlex.join(t.command)}`" for t in rows if t.command
    ]
    lines = [
        "## Start-up",
        "",
        f"Medians of {len(startup.floor.exit_codes)} runs of each command, with min-max, taken "
        "in turns (the order rotating each round) after one uncounted warm-up round. Every "
        "command runs with the same interpreter and the same environment as the peers "
        "(bytecode cached), from the repository root, timed by the harness from spawn to "
        "exit; nothing is subtracted. `over the floor` is a median minus the median of "
        f"`{startup.floor.name}`. The first-call row runs `sagefetch describe` over a "
        f"{FIRST_CALL.arns}-ARN file against the local server with no limit "
        f"({len(startup.first_call.exit_codes)} runs after one warm-up run) and times the CLI's "
        "fork to the server's first counted call (polled every 20 ms, so up to 20 ms late).",
        "",
        "| command | result | runs | median s | min-max s | over the floor s | target | met |",
        "|---|---|---|---|---|---|---|---|",
        *(_startup_row(timings, startup, targets.get(timings.name)) for timings in rows),
        "",
        "Command lines:",
        "",
        *command_lines,
        "",
    ]
    for timings in rows:
        if timings.stderr_tail:
            lines += [f"{_label(timings.name)} failed; the end of its stderr:", "", "```"]
            lines += [timings.stderr_tail.strip(), "```", ""]
    return lines


# -- latest.md ---------------------------------------------------------------------


def _scenario_heading(scenario: Scenario) -> list[str]:
    ideal = scenario.ideal_seconds
    facts = [f"{scenario.arns:,} ARNs", f"{scenario.calls_needed:,} calls needed"]
    if ideal is not None:
        facts.append(f"ideal {ideal:.2f} s")
    if scenario.switch_after is not None:
        facts.append(f"limit drops {scenario.switch_after:.2f} s after the first call")
    return [f"## {scenario.key} {scenario.title}", "", "; ".join(facts) + ".", ""]


def write_markdown(path: Path, report: Report, scenarios: list[Scenario]) -> None:
    """``latest.md``: header, sagefetch's targets, start-up, one table and plot per scenario."""
    settings, runs, startup = report.settings, report.runs, report.startup
    lines = report.header_lines("sagefetch benchmark results", diff_file="sagefetch-src.diff")
    if scenarios:
        lines += [
            "The machine is shared and noisy: compare peers within one table (measured side by "
            "side in one run), not absolute times across runs. Ideal = max(0, calls - burst) / "
            "limit + one mean latency (S4: piecewise). `describe s` is the peer's own describe "
            "phase (client creation, calls, outcomes written); for the CLI it is the process "
            "wall time minus the wall time of the same command over an empty file "
            f"({settings.get('cli_overhead_seconds', 0):.2f} s in this run). CPU and peak RSS "
            "are the whole client process (os.wait4), start-up included; CPU is per 1,000 "
            "described ARNs. `throttled` is the server's count over all calls it saw. Peers are "
            "forked by a bare launcher, so peak RSS is each peer's own (floor: "
            f"{settings.get('rss_floor_mb', 0):.1f} MB, the launcher's size).",
            "",
        ]
    lines += ["## sagefetch targets", "", *targets_table(runs, startup), ""]
    if startup is not None:
        lines += startup_section(startup)
    for scenario in scenarios:
        these = [run for run in runs if run.scenario == scenario.key]
        if not these:
            continue
        lines += _scenario_heading(scenario)
        lines += scenario_table(these, scenario)
        lines += ["", f"![{scenario.key}]({scenario.key}.png)", ""]
    path.write_text("\n".join(lines))


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
