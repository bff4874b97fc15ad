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
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from benchmarks._measure import PeerRun
from benchmarks._peers import PEERS
from benchmarks._startup import FIRST_CALL, Startup

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from benchmarks._scenarios import Scenario
    from benchmarks._startup import Timings

PACKAGES = ("sagefetch", "aiobotocore", "botocore", "boto3", "aiometer")
#: sagefetch's start-up targets: seconds over ``python -c pass``, and to the first call.
STARTUP_OVER_FLOOR, FIRST_CALL_WITHIN = 0.1, 0.3
#: S5: client CPU ms per 1,000 described ARNs, on either client path (issue 13).
S5_CPU_MS_PER_1K = 20.0
#: S7: calls over the linger reference, for sagefetch's coalescing lookups.
S7_CALLS_OVER_REFERENCE = 1.10
#: Issue 14 (the limiter): the library's own describe phase / ideal, the CLI's whole
#: process / ideal (start-up included), and the throttled share in %, by scenario.
ISSUE14_LIBRARY_PHASE = {"S1": 1.02, "S2": 1.02, "S4": 1.04, "S8": 1.08}
ISSUE14_CLI_WALL = {"S4": 1.07}  # S1: 1.05, issue 17's row already
ISSUE14_THROTTLED = {"S4": 5.0, "S8": 5.0}  # S1 and S2: 3 %, issue 17's target already


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

    @classmethod
    def from_json(cls, path: Path) -> tuple[Report, list[dict[str, Any]]]:
        """A report as ``write_json`` wrote it, and its scenarios' documents: to render again."""
        document = json.loads(path.read_text())
        report = cls(document["settings"], document["machine"])
        report.runs = [PeerRun.from_json(run) for run in document["runs"]]
        if "startup" in document:
            report.startup = Startup.from_json(document["startup"])
        return report, document["scenarios"]

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


def _missing(failed: str, lost: str) -> str:
    """``N failed`` and, if any, ``M lost``: the ARNs a peer did not describe."""
    return f"{failed} failed" + ("" if lost in {"0", "0 (0-0)"} else f", {lost} lost")


def _ratio(run: PeerRun) -> str:
    """The headline: whole process over the ideal, unless the peer left ARNs undescribed."""
    if run.incomplete and run.ideal_seconds is not None:
        return f"incomplete: {_missing(str(run.output.failed), str(run.output.lost))}"
    ratio = _fmt(run.ratio, ".3f")
    return f"> {ratio}" if run.timed_out and ratio != "-" else ratio


def _phase_ratio(run: PeerRun) -> str:
    if run.incomplete and run.ideal_seconds is not None:
        return "incomplete"
    return _fmt(run.phase_ratio, ".3f")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a peers table: its header, and its cell for a run."""

    header: str
    cell: Callable[[PeerRun], str]


PEER = Column("peer", lambda run: run.peer)
RESULT = Column("result", _result)
RATIO = Column("wall / ideal", _ratio)
PHASE_RATIO = Column("own phase / ideal", _phase_ratio)
DESCRIBE = Column("own phase s", lambda run: _fmt(run.describe_seconds, ".2f"))
PROCESS = Column("process s", lambda run: f"{run.process_seconds:.2f}")
FIRST_CALL_COLUMN = Column("first call s", lambda run: _fmt(run.first_call_seconds, ".2f"))
RECORDS = Column("lines", lambda run: str(run.output.records))
DESCRIBED = Column("described", lambda run: str(run.output.described))
UNEXPECTED = Column("unexpected", lambda run: str(run.output.unexpected))
CALLS = Column("calls", lambda run: str(run.calls))
THROTTLED = Column("throttled", lambda run: f"{_fmt(_pct(run.throttled_share), '.1f')}%")
LOST = Column("lost", lambda run: str(run.output.lost))
DUPLICATED = Column("duplicated", lambda run: str(run.output.duplicated))
FAILED = Column("failed", lambda run: str(run.output.failed))
INTEGRITY = (RECORDS, DESCRIBED, FAILED, LOST, DUPLICATED, UNEXPECTED)
"""Every count ``check_output`` makes, by distinct ARN (``lines``: non-blank lines)."""
CPU_PER_1K = Column("CPU ms / 1k ARNs", lambda run: _fmt(run.cpu_ms_per_1k, ".1f"))
CPU = Column("CPU s", lambda run: f"{run.cpu_seconds:.2f}")
PEAK_RSS = Column("peak RSS MB", lambda run: f"{run.peak_rss_mb:.0f}")
FIRST_OUTPUT = Column("first output s", lambda run: _fmt(run.first_output_seconds, ".2f"))
LISTING_DONE = Column("listing done s", lambda run: run.reported.get("list_seconds") or "-")
ROUND = Column("round", lambda run: str(run.round + 1))


def _ms(seconds: float | None) -> str:
    return _fmt(None if seconds is None else 1000 * seconds, ".0f")


def _calls_over_reference(run: PeerRun) -> float | None:
    reference = run.reference_calls
    return run.calls / reference if reference else None


def _requests_failed(run: PeerRun) -> float | None:
    service = run.service
    return None if service is None else float(service.failed + service.unanswered)


REQUESTS = Column(
    "answered", lambda run: "-" if run.service is None else f"{run.service.answered:,}"
)
REQUESTS_FAILED = Column("failed", lambda run: _fmt(_requests_failed(run), ".0f"))
REQUESTS_UNANSWERED = Column(
    "of which unanswered",
    lambda run: "-" if run.service is None else str(run.service.unanswered),
)
ARNS_LOST = Column("ARNs lost", lambda run: "-" if run.service is None else str(run.service.lost))
DERIVED_REFERENCE = Column(
    "derived ref.",
    lambda run: "-" if run.service is None else str(run.service.derived_reference),
)
SENT_REFERENCE = Column("sent ref.", lambda run: _fmt(run.sent_reference, "d"))
BATCHES = Column(
    "batches formed (under-full, resent)",
    lambda run: (
        f"{run.reported['batches_formed']} ({run.reported.get('batches_underfull', '-')}, "
        f"{run.reported.get('batches_resent', '-')})"
        if "batches_formed" in run.reported
        else "-"
    ),
)
CALLS_OVER_REFERENCE = Column("calls / ref.", lambda run: _fmt(_calls_over_reference(run), ".2f"))
P50 = Column("p50 ms", lambda run: _ms(None if run.service is None else run.service.latency_p50))
P99 = Column("p99 ms", lambda run: _ms(None if run.service is None else run.service.latency_p99))
MAX_LATENCY = Column(
    "max ms", lambda run: _ms(None if run.service is None else run.service.latency_max)
)
LAST_ANSWER = Column("last answer s", lambda run: _fmt(run.describe_seconds, ".2f"))


def versus(peer: str, runs: list[PeerRun]) -> Column:
    """Process wall time over that of ``peer``'s run in the same round (``-`` if it failed).

    A peer that left ARNs undescribed is not compared on time: ``incomplete``.
    """
    references = {run.round: run for run in runs if run.peer == peer and run.ok}

    def cell(run: PeerRun) -> str:
        reference = references.get(run.round)
        if run.incomplete:
            return "incomplete"
        if reference is None or reference.incomplete:
            return "-"
        return f"{run.process_seconds / reference.process_seconds:.2f}"

    return Column(f"wall / {peer}", cell)


def table(runs: list[PeerRun], columns: Sequence[Column]) -> list[str]:
    """Markdown rows: a header, then one row per run."""
    lines = [
        "| " + " | ".join(column.header for column in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(column.cell(run) for column in columns) + " |" for run in runs]
    return lines


def scenario_table(runs: list[PeerRun], scenario: Scenario) -> list[str]:
    """Markdown rows for one scenario's runs (with a round column when there were rounds)."""
    rounds = [ROUND] if any(run.round for run in runs) else []
    if scenario.service is not None:
        columns = [PEER, *rounds, RESULT, REQUESTS, REQUESTS_FAILED, REQUESTS_UNANSWERED]
        columns += [ARNS_LOST, CALLS, THROTTLED]
        columns += [BATCHES, SENT_REFERENCE, DERIVED_REFERENCE, CALLS_OVER_REFERENCE]
        columns += [P50, P99, MAX_LATENCY, LAST_ANSWER, CPU, PEAK_RSS]
        return table(_by_peer(runs), columns)
    columns = [PEER, *rounds, RESULT, RATIO, PROCESS, FIRST_CALL_COLUMN, PHASE_RATIO, DESCRIBE]
    columns += [CALLS, THROTTLED, *INTEGRITY, CPU_PER_1K, PEAK_RSS]
    if scenario.cli_only:
        columns.append(FIRST_OUTPUT)
    return table(_by_peer(runs), columns)


def _by_peer(runs: list[PeerRun]) -> list[PeerRun]:
    """Runs grouped by peer (in the order peers first ran), each peer's rounds in order."""
    first: dict[str, int] = {}
    for index, run in enumerate(runs):
        first.setdefault(run.peer, index)
    return sorted(runs, key=lambda run: (first[run.peer], run.round))


# -- medians over rounds -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Metric:
    """A number measured once per run, summarised over a peer's rounds."""

    header: str
    value: Callable[[PeerRun], float | None]
    spec: str
    ranked: bool = False
    """A time that ranks peers: ``incomplete`` for a peer that left ARNs undescribed."""


def spread(values: Sequence[float], spec: str) -> str:
    """``median (min-max)``; the value alone for one run or none that differ; ``-`` for none."""
    if not values:
        return "-"
    median = format(statistics.median(values), spec)
    if len(values) == 1 or format(min(values), spec) == format(max(values), spec):
        return median
    return f"{median} ({format(min(values), spec)}-{format(max(values), spec)})"


def _values(runs: Sequence[PeerRun], value: Callable[[PeerRun], float | None]) -> list[float]:
    return [v for v in map(value, runs) if v is not None]


def _service_value(name: str) -> Callable[[PeerRun], float | None]:
    def value(run: PeerRun) -> float | None:
        measured = None if run.service is None else getattr(run.service, name)
        return None if measured is None else float(measured)

    return value


def _ms_value(name: str) -> Callable[[PeerRun], float | None]:
    seconds = _service_value(name)

    def value(run: PeerRun) -> float | None:
        measured = seconds(run)
        return None if measured is None else 1000 * measured

    return value


def _count(name: str) -> Callable[[PeerRun], float | None]:
    def value(run: PeerRun) -> float | None:
        return float(getattr(run.output, name))

    return value


#: Every count ``check_output`` makes, by distinct ARN: summarised like the timings.
_INTEGRITY_METRICS = [
    Metric("described", _count("described"), ".0f"),
    Metric("failed", _count("failed"), ".0f"),
    Metric("lost", _count("lost"), ".0f"),
    Metric("duplicated", _count("duplicated"), ".0f"),
    Metric("unexpected", _count("unexpected"), ".0f"),
]
_FIRST_CALL = Metric("first call s", lambda run: run.first_call_seconds, ".2f")


def _metrics(scenario: Scenario) -> list[Metric]:
    if scenario.service is not None:
        return [
            Metric("calls", lambda run: float(run.calls), ".0f"),
            Metric("calls / ref.", _calls_over_reference, ".2f"),
            Metric("throttled %", lambda run: _pct(run.throttled_share), ".1f"),
            Metric("failed", _requests_failed, ".0f"),
            Metric("ARNs lost", _service_value("lost"), ".0f"),
            Metric("p50 ms", _ms_value("latency_p50"), ".0f"),
            Metric("p99 ms", _ms_value("latency_p99"), ".0f"),
            Metric("last answer s", lambda run: run.describe_seconds, ".2f"),
            Metric("CPU s", lambda run: run.cpu_seconds, ".2f"),
        ]
    if scenario.limited:
        return [
            Metric("wall / ideal", lambda run: run.ratio, ".3f", ranked=True),
            Metric("process s", lambda run: run.process_seconds, ".2f"),
            _FIRST_CALL,
            Metric("own phase / ideal", lambda run: run.phase_ratio, ".3f", ranked=True),
            Metric("throttled %", lambda run: _pct(run.throttled_share), ".1f"),
            *_INTEGRITY_METRICS,
            Metric("CPU ms / 1k ARNs", lambda run: run.cpu_ms_per_1k, ".1f"),
        ]
    metrics = [
        Metric("CPU ms / 1k ARNs", lambda run: run.cpu_ms_per_1k, ".1f"),
        Metric("process s", lambda run: run.process_seconds, ".2f"),
        _FIRST_CALL,
        Metric("own phase s", lambda run: run.describe_seconds, ".2f"),
        *_INTEGRITY_METRICS,
        Metric("peak RSS MB", lambda run: run.peak_rss_mb, ".0f"),
    ]
    if scenario.cli_only:
        metrics.append(Metric("first output s", lambda run: run.first_output_seconds, ".2f"))
    return metrics


def _grouped(runs: Sequence[PeerRun]) -> dict[str, list[PeerRun]]:
    groups: dict[str, list[PeerRun]] = {}
    for run in runs:
        groups.setdefault(run.peer, []).append(run)
    return groups


def incomplete_cell(runs: Sequence[PeerRun]) -> str | None:
    """``incomplete: N failed`` (median (min-max)) if any round left ARNs; else None."""
    short = [run for run in runs if run.incomplete]
    if not short:
        return None
    failed = spread([float(run.output.failed) for run in runs], ".0f")
    lost = spread([float(run.output.lost) for run in runs], ".0f")
    rounds = "" if len(short) == len(runs) else f" in {len(short)} of {len(runs)} rounds"
    return f"incomplete{rounds}: {_missing(failed, lost)}"


def medians_table(runs: list[PeerRun], metrics: Sequence[Metric]) -> list[str]:
    """One row per peer: each number as median (min-max) over its rounds.

    A peer that left ARNs undescribed in any round is not ranked on time: its
    ratio cells say ``incomplete`` beside its failed (and lost) count.
    """
    lines = [
        "| peer | rounds (ok) | " + " | ".join(metric.header for metric in metrics) + " |",
        "|---|---|" + "---|" * len(metrics),
    ]
    for peer, these in _grouped(runs).items():
        ok = sum(run.ok for run in these)
        short = incomplete_cell(these) if these[0].ideal_seconds is not None else None
        cells = [
            short
            if short is not None and metric.ranked
            else spread(_values(these, metric.value), metric.spec)
            for metric in metrics
        ]
        lines.append(f"| {peer} | {len(these)} ({ok}) | " + " | ".join(cells) + " |")
    return lines


def _client_path_cell(runs: Sequence[PeerRun], key: str) -> tuple[str, str]:
    """The cell of one peer (median (min-max) and its key) and whether it met the target."""
    if not runs:
        return "-", "-"
    values = _values(runs, lambda run: run.cpu_ms_per_1k)
    met = all(run.ok for run in runs) and bool(values)
    met = met and statistics.median(values) <= S5_CPU_MS_PER_1K
    return f"{spread(values, '.1f')} (`{key}`)", "met" if met else "**missed**"


def client_paths_table(runs: list[PeerRun]) -> list[str]:
    """S5: sagefetch's CPU per 1,000 ARNs by who opens the client, with and without tune_gc."""
    groups = _grouped(runs)
    lines = [
        "| client | default collector | `sagefetch.tune_gc()` | "
        f"<= {S5_CPU_MS_PER_1K:g} ms: default / tune_gc |",
        "|---|---|---|---|",
    ]
    labels = {"fetcher's": "the fetcher opens it", "caller's": "the caller's own, passed in"}
    for client, label in labels.items():
        cells, met = [], []
        for tunes_gc in (False, True):
            key = next(
                peer.key
                for peer in PEERS.values()
                if peer.client == client and peer.tunes_gc == tunes_gc and not peer.is_cli
            )
            cell, verdict = _client_path_cell(groups.get(key, []), key)
            cells.append(cell)
            met.append(verdict)
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {' / '.join(met)} |")
    cli, verdict = _client_path_cell(groups.get("sagefetch-cli", []), "sagefetch-cli")
    if groups.get("sagefetch-cli"):
        lines.append(f"| the CLI (the fetcher's; tune_gc at start) | - | {cli} | - / {verdict} |")
    return lines


# -- targets -----------------------------------------------------------------------

WALL = "wall / ideal (whole process)"
Check = tuple[str, float | None, float, str]
"""(what, measured, bound, unit): one of sagefetch's targets."""


def _target_checks(run: PeerRun) -> list[Check]:
    """sagefetch's targets in ``run``'s scenario."""
    ratio, share = run.ratio, run.throttled_share
    checks: dict[str, list[Check]] = {
        "S1": [(WALL, ratio, 1.05, "x"), ("throttled", _pct(share), 3.0, "%")],
        "S2": [(WALL, ratio, 1.05, "x"), ("throttled", _pct(share), 3.0, "%")],
        "S3": [
            (WALL, ratio, 1.15, "x"),
            ("lost", float(run.output.lost), 0.0, ""),
            ("duplicated", float(run.output.duplicated), 0.0, ""),
        ],
        "S4": [("wall (whole process) / piecewise ideal", ratio, 1.10, "x")],
        "S5": [("CPU ms / 1,000 ARNs", run.cpu_ms_per_1k, S5_CPU_MS_PER_1K, "ms")],
        "S6": [
            ("peak RSS", run.peak_rss_mb, 300.0, "MB"),
            ("first output line", run.first_output_seconds, 2.0, "s"),
        ],
    }
    if run.peer.startswith("sagefetch-describe"):
        reference = "sent" if run.sent_reference is not None else "derived"
        checks["S7"] = [
            (
                f"calls / reference ({reference})",
                _calls_over_reference(run),
                S7_CALLS_OVER_REFERENCE,
                "x",
            ),
            ("failed requests", _requests_failed(run), 0.0, ""),
        ]
    return checks.get(run.scenario, []) + _issue14_checks(run)


def _issue14_checks(run: PeerRun) -> list[Check]:
    """Issue 14's limiter targets that issue 17's rows above do not already check."""
    checks: list[Check] = []
    key = run.scenario
    if run.peer == "sagefetch-lib" and key in ISSUE14_LIBRARY_PHASE:
        bound = ISSUE14_LIBRARY_PHASE[key]
        checks.append(("own phase / ideal (issue 14)", run.phase_ratio, bound, "x"))
    if run.peer == "sagefetch-cli" and key in ISSUE14_CLI_WALL:
        checks.append((f"{WALL} (issue 14)", run.ratio, ISSUE14_CLI_WALL[key], "x"))
    if run.peer in {"sagefetch-lib", "sagefetch-cli"} and key in ISSUE14_THROTTLED:
        share = _pct(run.throttled_share)
        checks.append(("throttled (issue 14)", share, ISSUE14_THROTTLED[key], "%"))
    return checks


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

    def measured_all(self, startup: Startup) -> list[float]:
        """Every run's value of the target (over the floor: less the floor's median)."""
        if self.timings is startup.first_call:
            return list(self.timings.seconds)
        return [value for t in self.timings.seconds if (value := startup.over_floor(t)) is not None]


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


def verdict(check: Check, *, ok: bool, measured_all: Sequence[float] = ()) -> str:
    """``met`` or ``**missed**``, judged on the median.

    A target met by less than the spread (max - min over the runs) is ``met,
    within noise``; a miss is ``within noise`` only when some run was on the
    other side of the bound. One run has no spread to judge by.
    """
    met = _met(check, ok=ok)
    _what, measured, bound, _unit = check
    if measured is None or not ok or len(measured_all) < 2:
        return "met" if met else "**missed**"
    low, high = min(measured_all), max(measured_all)
    if met:
        return "met, within noise" if bound - measured < high - low else "met"
    return "**missed**, within noise" if low <= bound else "**missed**"


def _target_row(
    scenario: str, peer: str, check: Check, *, ok: bool, measured_all: Sequence[float] = ()
) -> str:
    what, measured, bound, unit = check
    digits = {"x": ".3f", "%": ".2f", "s": ".2f", "ms": ".1f"}.get(unit, ".0f")
    shown = "-" if measured is None else f"{measured:{digits}} {unit}".strip()
    if len(measured_all) > 1:
        low, high = format(min(measured_all), digits), format(max(measured_all), digits)
        shown += f" (median of {len(measured_all)}; {low}-{high})"
    elif len(measured_all) == 1:
        shown += " (1 run: no spread)"
    if not ok and unit == "x":
        shown += " (incomplete or not ok: not ranked)"
    return (
        f"| {scenario} | {peer} | {what} <= {bound:g} {unit} | {shown} | "
        f"{verdict(check, ok=ok, measured_all=measured_all)} |"
    )


def _median_checks(runs: list[PeerRun]) -> list[tuple[Check, list[float]]]:
    """A peer's target checks over its rounds: the median measured, and every value."""
    per_run = [_target_checks(run) for run in runs]
    merged = []
    for index, (what, _, bound, unit) in enumerate(per_run[0]):
        values = [checks[index][1] for checks in per_run if index < len(checks)]
        measured = [value for value in values if value is not None]
        median = statistics.median(measured) if measured else None
        merged.append(((what, median, bound, unit), measured))
    return merged


def targets_table(runs: list[PeerRun], startup: Startup | None = None) -> list[str]:
    """Markdown rows: each sagefetch target, measured for the library and the CLI."""
    lines = [
        "| scenario | peer | target | measured | met |",
        "|---|---|---|---|---|",
    ]
    if startup is not None:
        lines += [
            _target_row(
                "start-up",
                "sagefetch-cli",
                target.check,
                ok=target.timings.ok,
                measured_all=target.measured_all(startup),
            )
            for target in startup_targets(startup)
        ]
    groups: dict[tuple[str, str], list[PeerRun]] = {}
    for run in runs:
        if run.peer.startswith("sagefetch") and _target_checks(run):
            groups.setdefault((run.scenario, run.peer), []).append(run)
    for (scenario, peer), these in groups.items():
        ok = all(run.ok for run in these)
        # A time target is not met by a run that left ARNs undescribed.
        complete = ok and not any(run.incomplete for run in these)
        lines += [
            _target_row(
                scenario, peer, check, ok=complete if check[3] == "x" else ok, measured_all=values
            )
            for check, values in _median_checks(these)
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
        ("-", "-")
        if target is None
        else (
            target.short,
            verdict(target.check, ok=target.timings.ok, measured_all=target.measured_all(startup)),
        )
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
    if scenario.service is not None:
        facts[0] = f"{scenario.arns:,} requests, {scenario.distinct_arns:,} distinct ARNs"
        facts[1] = f"ceil(distinct / 100) = {scenario.calls_needed:,} calls"
    if ideal is not None:
        facts.append(f"ideal {ideal:.2f} s")
    if len(scenario.limits) > 1:
        steps = ", ".join(f"{rate:g} calls/s from {at:.2f} s" for at, rate in scenario.limits[1:])
        facts.append(f"the limit changes after the first call: {steps}")
    if scenario.runs > 1:
        facts.append(
            f"{scenario.runs} runs of {scenario.calls_per_run} calls, {scenario.run_gap:g} s "
            "apart, on one client (peers without runs sit it out)"
        )
    return [f"## {scenario.key} {scenario.title}", "", "; ".join(facts) + ".", ""]


_SERVICE_NOTE = (
    "Each peer opens its client first, then gets the requests at their arrival times and "
    "answers each in a task of its own; latency runs from a request's arrival time to its "
    "answer, `last answer s` from the first arrival to the last answer. `failed` counts "
    "requests answered failed or not at all. Reference calls = ceil(distinct / 100) + one "
    "per linger window closed under-full. *sent*: the batches sagefetch formed (its calls "
    "minus its retries, by its `stats`) less the full ones (100-ARN calls, counted at its "
    "client); `resent` is its retries. *derived*: windows of `linger` (5 ms, sagefetch's "
    "default) over the arrival times, each opened by the first request while none is "
    "open and closed after 5 ms or at 100 distinct ARNs, regardless of the server's limit "
    "(a client that holds a closed window until it may send makes fewer calls). `calls` "
    "is the server's count, throttled calls included; the target uses the sent reference "
    "when there is one."
)


def _rounds_note(settings: dict[str, object]) -> str:
    """How many rounds each cell is the median of, and how targets are judged."""
    rounds = settings.get("repeat", 1)
    if rounds == 1:
        return (
            "One round (quick or `--repeat 1`): every number is a single run, with no spread; "
            "a target judged on one run cannot be told from noise."
        )
    return (
        f"Each peer ran {rounds} rounds in turns; tables give median (min-max). Targets are "
        "judged on the median; one met (or missed) by less than its spread (max - min) is "
        "marked `within noise`."
    )


def write_markdown(
    path: Path, report: Report, scenarios: list[Scenario], *, sections: Sequence[str] = ()
) -> None:
    """``latest.md``: header, sagefetch's targets, start-up, one table and plot per scenario.

    ``sections``: more markdown lines, after the targets (the simulator's table).
    """
    settings, runs, startup = report.settings, report.runs, report.startup
    lines = report.header_lines("sagefetch benchmark results", diff_file="sagefetch-src.diff")
    if scenarios:
        lines += [
            "The machine is shared and noisy: compare peers within one table (measured side by "
            "side in one run), not absolute times across runs. Ideal = max(0, calls - burst) / "
            "limit + one mean latency (piecewise where the limit changes; S10: run by run, "
            "each starting one latency and its gap after the last call of the one before). "
            "`wall / ideal`, the headline, is every "
            "peer's whole process (fork to exit: interpreter, imports, reading the ARNs, "
            "opening its client, the calls, the outcomes written) over the ideal; nothing is "
            "subtracted from any peer. Start-up is its own column: `first call s`, from the "
            "fork to the server's first counted call (polled every 20 ms). `own phase` is the "
            "phase a peer timed itself (client creation to outcomes written; the CLI prints "
            "none: `-`), for reference only. A peer that left any ARN failed or lost is not "
            "ranked on time: its ratio cells say `incomplete` beside its failed (and lost) "
            "count. `described`, `failed`, `lost` count distinct ARNs (they add up to the ARNs "
            "asked for), `duplicated` ARNs with more than one outcome, `unexpected` outcomes "
            "for ARNs not asked for or unreadable lines, `lines` the output's non-blank lines. "
            "CPU and peak RSS are the whole client process (os.wait4), start-up included; CPU "
            "is per 1,000 described ARNs. `throttled` is the server's count over all calls it "
            "saw. Peers are forked by a bare launcher, so peak RSS is each peer's own (floor: "
            f"{settings.get('rss_floor_mb', 0):.1f} MB, the launcher's size). "
            + _rounds_note(settings),
            "",
        ]
    lines += ["## sagefetch targets", "", *targets_table(runs, startup), ""]
    lines += sections
    if startup is not None:
        lines += startup_section(startup)
    for scenario in scenarios:
        these = [run for run in runs if run.scenario == scenario.key]
        if not these:
            continue
        lines += _scenario_heading(scenario)
        if scenario.service is not None:
            lines += [_SERVICE_NOTE, ""]
        if scenario.key == "S5" and any(run.peer.startswith("sagefetch-lib") for run in these):
            lines += ["sagefetch's client paths (CPU ms per 1,000 described ARNs):", ""]
            lines += [*client_paths_table(these), ""]
        rounds = max(run.round for run in these) + 1
        if rounds > 1:
            lines += [
                f"Medians over {rounds} rounds (min-max):",
                "",
                *medians_table(these, _metrics(scenario)),
            ]
            lines += ["", "Every run:", ""]
        lines += scenario_table(these, scenario)
        plotted = " (the first round)" if rounds > 1 else ""
        lines += ["", f"![{scenario.key}]({scenario.key}.png){plotted}", ""]
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
