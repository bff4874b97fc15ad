"""The AUDIT benchmark: ``sagefetch audit`` (discovery plus describe) against the ideal and by hand.

    .venv/bin/python -m benchmarks.audit [--quick] [--scenarios A1,A3] [--peers sagefetch-cli,...]

Writes ``audit.md`` and ``audit.json`` under ``benchmarks/results/``
(``benchmarks/results/quick/`` with ``--quick``). See "AUDIT" in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks._check import OutputCheck, check_output
from benchmarks._measure import measure_cli_overhead, measure_rss_floor
from benchmarks._peers import sagefetch_command
from benchmarks._processes import ServerProcess, clean_environment, run_child
from benchmarks._report import machine_info
from benchmarks._scenarios import SEED, Scenario
from benchmarks._source import ROOT, snapshot_sagefetch
from sagefetch.testing import Catalogue, Faults

if TYPE_CHECKING:
    from types import FrameType

RESULTS = Path(__file__).resolve().parent / "results"
ACCOUNT, REGION = "123456789012", "us-east-1"
PAGE = 100
"""Items per ListModelPackageGroups / ListModelPackages page, ARNs per describe call."""
QUICK_SCALE = 0.2
"""``--quick`` keeps a fifth of the groups (and every version of each)."""


@dataclass(frozen=True, slots=True)
class AuditScenario:
    """A moto registry of ``groups`` x ``versions`` packages behind one token bucket."""

    key: str
    title: str
    groups: int
    versions: int
    faults: Faults

    @property
    def packages(self) -> int:
        return self.groups * self.versions

    @property
    def list_calls(self) -> int:
        """Group pages, version pages of every group, and one page of unversioned packages."""
        return math.ceil(self.groups / PAGE) + self.groups * math.ceil(self.versions / PAGE) + 1

    @property
    def describe_calls(self) -> int:
        return math.ceil(self.packages / PAGE)

    @property
    def ideal_seconds(self) -> float:
        """max(0, calls - burst) / rate + one mean latency, as S1-S6 count it."""
        assert self.faults.rate is not None
        to_pace = max(0, self.list_calls + self.describe_calls - self.faults.burst)
        return to_pace / self.faults.rate + self.faults.latency + self.faults.jitter / 2

    def scaled(self, factor: float) -> AuditScenario:
        return dataclasses.replace(self, groups=max(1, round(self.groups * factor)))

    def expected_arns(self) -> set[str]:
        return set(Catalogue(ACCOUNT, REGION, self.groups, self.versions).arns())


class AuditServer(ServerProcess):
    """``python -m sagefetch.testing --backend moto``, seeded with the scenario's registry."""

    def __init__(self, audit: AuditScenario, log: Path) -> None:
        super().__init__(Scenario(audit.key, audit.title, audit.packages, audit.faults), log)
        self.audit = audit

    def command(self) -> list[str]:
        faults = self.audit.faults
        return [
            sys.executable, "-m", "sagefetch.testing", "--backend", "moto",
            "--account-id", ACCOUNT, "--region", REGION,
            "--groups", str(self.audit.groups), "--versions", str(self.audit.versions),
            "--rate", str(faults.rate), "--burst", str(faults.burst),
            "--latency", str(faults.latency), "--jitter", str(faults.jitter),
            "--internal-error", str(faults.internal_error), "--seed", str(faults.seed),
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class AuditPeer:
    key: str
    label: str
    module: str | None
    """``benchmarks.peers.<module> OUT_FILE``; ``None`` for ``sagefetch audit``."""

    def command(self, out_file: Path, environment: dict[str, str]) -> list[str]:
        if self.module is None:
            return [
                *sagefetch_command(), "audit", "-o", str(out_file),
                "--endpoint-url", environment["AWS_ENDPOINT_URL_SAGEMAKER"],
                "--region", environment["AWS_DEFAULT_REGION"], "--no-progress", "--quiet",
            ]  # fmt: skip
        return [sys.executable, "-m", f"benchmarks.peers.{self.module}", str(out_file)]


_A1_FAULTS = Faults(rate=20.0, burst=5, latency=0.03, jitter=0.02, seed=SEED)
SCENARIOS: dict[str, AuditScenario] = {
    s.key: s
    for s in (
        AuditScenario(
            "A1", "big groups: 20 calls/s, burst 5, 30 ms (+0-20 ms)", 50, 200, _A1_FAULTS
        ),
        AuditScenario(
            "A2",
            "many small groups: 40 calls/s, burst 5, 30 ms (+0-20 ms)",
            400,
            5,
            dataclasses.replace(_A1_FAULTS, rate=40.0),
        ),
        AuditScenario(
            "A3",
            "A1 plus 2% HTTP 500",
            50,
            200,
            dataclasses.replace(_A1_FAULTS, internal_error=0.02),
        ),
        AuditScenario(
            "A4",
            "many small groups at a high limit: 100 calls/s, burst 5, 30 ms (+0-20 ms)",
            400,
            5,
            dataclasses.replace(_A1_FAULTS, rate=100.0),
        ),
    )
}
PEERS: dict[str, AuditPeer] = {
    p.key: p
    for p in (
        AuditPeer("sagefetch-cli", "sagefetch audit (CLI)", None),
        AuditPeer("sagefetch-lib", "discover() into stream()", "audit_sagefetch_library"),
        AuditPeer("boto3-paginators", "boto3 paginators, sequential, adaptive", "audit_boto3"),
        AuditPeer("aiobotocore-gather", "aiobotocore, gather(16), standard", "audit_aiobotocore"),
    )
}


@dataclass
class AuditRun:
    """Every number measured for one peer in one scenario."""

    scenario: str
    peer: str
    ideal_seconds: float
    timeout_seconds: float
    exit_code: int | None
    timed_out: bool
    wall_seconds: float
    """The peer's own timed phase (CLI: process wall minus its start-up overhead)."""
    process_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    first_output_seconds: float | None
    calls: int
    throttled: int
    server_counters: dict[str, float]
    output: OutputCheck
    timeline: list[tuple[int, int, int]] = field(default_factory=list)
    reported: dict[str, str] = field(default_factory=dict)
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.exit_code in {0, 3}

    @property
    def ratio(self) -> float:
        return self.wall_seconds / self.ideal_seconds

    @property
    def throttled_share(self) -> float | None:
        return self.throttled / self.calls if self.calls else None

    def to_json(self) -> dict[str, object]:
        document = dataclasses.asdict(self)
        document.update(ok=self.ok, ratio=self.ratio, throttled_share=self.throttled_share)
        return document


def run_peer(
    peer: AuditPeer, scenario: AuditScenario, server: AuditServer, work: Path, overhead: float
) -> AuditRun:
    """Reset the server (faults, counters, a full bucket), run ``peer``, check its output."""
    control = server.control
    assert control is not None
    control.set_faults(scenario.faults)
    control.reset()
    log_dir = work / scenario.key / peer.key
    log_dir.mkdir(parents=True)
    out_file = log_dir / "outcomes.jsonl"
    timeout = 4 * scenario.ideal_seconds + 60
    child = run_child(
        peer.command(out_file, server.environment),
        environment=clean_environment(server.environment),
        out_file=out_file,
        log_dir=log_dir,
        timeout=timeout,
    )
    counters = control.counters()
    wall = child.wall_seconds
    if "describe_seconds" in child.reported and not child.timed_out:
        wall = float(child.reported["describe_seconds"])
    elif peer.module is None and not child.timed_out:
        wall = max(0.0, child.wall_seconds - overhead)
    return AuditRun(
        scenario=scenario.key,
        peer=peer.key,
        ideal_seconds=scenario.ideal_seconds,
        timeout_seconds=timeout,
        exit_code=child.exit_code,
        timed_out=child.timed_out,
        wall_seconds=wall,
        process_seconds=child.wall_seconds,
        cpu_seconds=child.cpu_seconds,
        peak_rss_mb=child.peak_rss_mb,
        first_output_seconds=child.first_output_seconds,
        calls=counters.calls,
        throttled=counters.throttled,
        server_counters=dataclasses.asdict(counters),
        output=check_output(out_file, scenario.expected_arns()),
        timeline=control.timeline(),
        reported=child.reported,
        stderr_tail=child.stderr_tail if child.exit_code not in {0, 3} else "",
    )


# -- report ------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _heading(scenario: AuditScenario) -> str:
    return (
        f"## {scenario.key} {scenario.title}\n\n{scenario.groups:,} groups x "
        f"{scenario.versions:,} versions = {scenario.packages:,} packages; fewest calls "
        f"{scenario.list_calls:,} listing + {scenario.describe_calls:,} describing = "
        f"{scenario.list_calls + scenario.describe_calls:,}; ideal "
        f"{scenario.ideal_seconds:.2f} s.\n"
    )


def scenario_table(runs: list[AuditRun]) -> list[str]:
    """Markdown rows for one scenario; ratios against the ideal and against sagefetch-cli."""
    ours = next((r for r in runs if r.peer == "sagefetch-cli" and r.ok), None)
    header = (
        "| peer | result | wall s | wall / ideal | wall / sagefetch-cli | listing done s | "
        "first record s | process s | calls | throttled | lost | duplicated | failed | "
        "CPU s | peak RSS MB |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for run in runs:
        if run.timed_out:
            result = f"**TIMEOUT** ({run.timeout_seconds:.0f} s)"
        else:
            result = "ok" if run.ok else f"**exit {run.exit_code}**"
        versus = None if ours is None else run.wall_seconds / ours.wall_seconds
        listing = run.reported.get("list_seconds")
        share = None if run.throttled_share is None else 100 * run.throttled_share
        lines.append(
            f"| {run.peer} | {result} | {run.wall_seconds:.2f} | {run.ratio:.3f} | "
            f"{_fmt(versus, '.2f')} | {listing or '-'} | "
            f"{_fmt(run.first_output_seconds, '.2f')} | {run.process_seconds:.2f} | "
            f"{run.calls} | {_fmt(share, '.1f')}% | {run.output.lost} | "
            f"{run.output.duplicated} | {run.output.failed} | {run.cpu_seconds:.2f} | "
            f"{run.peak_rss_mb:.0f} |"
        )
    return lines


def write_reports(
    results: Path,
    info: dict[str, object],
    settings: dict[str, object],
    scenarios: list[AuditScenario],
    runs: list[AuditRun],
) -> str:
    """``audit.md`` and ``audit.json``; returns the markdown tables."""
    packages = info["packages"]
    assert isinstance(packages, dict)
    tables = []
    for scenario in scenarios:
        these = [run for run in runs if run.scenario == scenario.key]
        if these:
            tables += [_heading(scenario), *scenario_table(these), ""]
    lines = [
        "# sagefetch AUDIT benchmark results",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['platform']}, {info['cpu_count']} CPUs, load average at start "
        f"{info['load_average_at_start']}, at the end {settings.get('load_average_now', '-')}",
        f"- python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in packages.items()),
        f"- sagefetch measured: {settings.get('sagefetch_source', '-')}",
        f"- command: `{settings['command']}`; run took {settings.get('elapsed_seconds', 0):.0f} s",
        "",
        "Server: moto backend in its own process; every call (ListModelPackageGroups, "
        "ListModelPackages, BatchDescribeModelPackage) takes a token from one bucket that "
        "starts full (`burst` tokens). Ideal = max(0, fewest calls - burst) / rate + one mean "
        "latency. `wall s` is the peer's own timed phase (client creation, listing, describing, "
        "records written); for the CLI it is the process wall time minus that of `sagefetch "
        f"describe` over an empty file ({settings.get('cli_overhead_seconds', 0):.2f} s). "
        "`wall / sagefetch-cli` > 1 means slower than `sagefetch audit`. `listing done s`: when "
        "the hand-written peers finished listing (they list, then describe); sagefetch "
        "interleaves both. `first record s` is from the process launch. `calls` and "
        "`throttled` are the server's counts (every attempt, listing included). CPU and "
        "peak RSS are the whole client process (os.wait4; floor "
        f"{settings.get('rss_floor_mb', 0):.1f} MB). Compare peers within one table only.",
        "",
        *tables,
    ]
    (results / "audit.md").write_text("\n".join(lines))
    document = {
        "machine": info,
        "settings": settings,
        "scenarios": [
            {
                **dataclasses.asdict(s),
                "packages": s.packages,
                "list_calls": s.list_calls,
                "describe_calls": s.describe_calls,
                "ideal_seconds": s.ideal_seconds,
            }
            for s in scenarios
        ],
        "runs": [run.to_json() for run in runs],
    }
    (results / "audit.json").write_text(json.dumps(document, indent=1, default=str))
    return "\n".join(tables)


# -- main --------------------------------------------------------------------------


def _keys(choices: dict[str, object]) -> object:
    def parse(text: str) -> list[str]:
        keys = [key.strip() for key in text.split(",") if key.strip()]
        if unknown := [key for key in keys if key not in choices]:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)}")
        return keys

    return parse


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM: unwind like Ctrl-C, so the server and the peer are stopped."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.audit", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a fifth of the groups")
    parser.add_argument("--scenarios", type=_keys(SCENARIOS), default=list(SCENARIOS))  # type: ignore[arg-type]
    parser.add_argument("--peers", type=_keys(PEERS), default=list(PEERS))  # type: ignore[arg-type]
    parser.add_argument("--keep-work", action="store_true", help="keep outputs and logs")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    scale = QUICK_SCALE if args.quick else 1.0
    scenarios = [SCENARIOS[key].scaled(scale) for key in args.scenarios]
    peers = [PEERS[key] for key in args.peers]
    results = RESULTS / "quick" if args.quick else RESULTS
    results.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    settings: dict[str, object] = {
        "command": shlex.join(["python", "-m", "benchmarks.audit", *(argv or sys.argv[1:])]),
        "peers": {p.key: p.label for p in peers},
    }
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="sagefetch-audit-"))
    runs: list[AuditRun] = []
    tables = ""
    try:
        source = snapshot_sagefetch(work)
        os.environ["PYTHONPATH"] = os.pathsep.join([str(source.path), str(ROOT)])
        settings["sagefetch_source"] = source.describe()
        overhead = measure_cli_overhead(work)
        settings["cli_overhead_seconds"] = overhead
        settings["rss_floor_mb"] = measure_rss_floor(work)
        for scenario in scenarios:
            print(
                f"== {scenario.key}: {scenario.packages:,} packages, ideal "
                f"{scenario.ideal_seconds:.2f} s",
                file=sys.stderr,
                flush=True,
            )
            (work / scenario.key).mkdir()
            with AuditServer(scenario, work / scenario.key / "server.log") as server:
                for peer in peers:
                    run = run_peer(peer, scenario, server, work, overhead)
                    print(
                        f"{scenario.key} {peer.key:<18} exit {run.exit_code} "
                        f"wall {run.wall_seconds:6.2f} s ({run.ratio:.3f}x ideal) calls "
                        f"{run.calls} throttled {run.throttled} lost {run.output.lost} "
                        f"failed {run.output.failed}",
                        file=sys.stderr,
                        flush=True,
                    )
                    runs.append(run)
            settings["elapsed_seconds"] = time.monotonic() - started
            settings["load_average_now"] = [round(load, 2) for load in os.getloadavg()]
            tables = write_reports(results, info, settings, scenarios, runs)
    except KeyboardInterrupt:
        print(f"interrupted: results so far are in {results}", file=sys.stderr)
        return 130
    finally:
        if args.keep_work:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(tables)
    print(f"done in {time.monotonic() - started:.0f} s: {results / 'audit.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
