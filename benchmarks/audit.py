"""The AUDIT benchmark: ``sagefetch audit`` (discovery plus describe) against the ideal and by hand.

    .venv/bin/python -m benchmarks.audit [--quick] [--scenarios A1,A3] [--peers sagefetch-cli,...]

Writes ``audit.md`` and ``audit.json`` under ``benchmarks/results/``
(``benchmarks/results/quick/`` with ``--quick``). See "AUDIT" in ``benchmarks/README.md``.
Measured and reported as ``benchmarks.run`` does (``run_peer``, ``PeerRun``, ``_report``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from benchmarks._harness import (
    RESULTS,
    comma_separated,
    pin_sagefetch,
    unwind_on_signals,
    work_directory,
)
from benchmarks._measure import measure_cli_overhead, measure_rss_floor, run_peer
from benchmarks._peers import sagefetch_command
from benchmarks._processes import BYTECODE_CACHE, ServerProcess
from benchmarks._report import (
    CALLS,
    CPU,
    DESCRIBE,
    DUPLICATED,
    FAILED,
    FIRST_OUTPUT,
    LISTING_DONE,
    LOST,
    PEAK_RSS,
    PEER,
    PROCESS,
    RATIO,
    RESULT,
    THROTTLED,
    Report,
    table,
    versus,
)
from benchmarks._scenarios import ACCOUNT, REGION, SEED, Scenario
from sagefetch.testing import Catalogue, Faults

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks._measure import PeerRun

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
    def scenario(self) -> Scenario:
        """The scenario as both harnesses measure it: every listing call on top of describing."""
        return Scenario(
            self.key, self.title, self.packages, self.faults, listing_calls=self.list_calls
        )

    @property
    def ideal_seconds(self) -> float:
        """max(0, calls - burst) / rate + one mean latency, as S1-S6 count it."""
        ideal = self.scenario.ideal_seconds
        assert ideal is not None
        return ideal

    def scaled(self, factor: float) -> AuditScenario:
        return dataclasses.replace(self, groups=max(1, round(self.groups * factor)))

    def expected_arns(self) -> set[str]:
        return set(Catalogue(ACCOUNT, REGION, self.groups, self.versions).arns())


class AuditServer(ServerProcess):
    """``python -m sagefetch.testing --backend moto``, seeded with the scenario's registry."""

    def __init__(self, audit: AuditScenario, log: Path) -> None:
        super().__init__(audit.scenario, log)
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

    @property
    def is_cli(self) -> bool:
        return self.module is None

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


def run_scenario(
    scenario: AuditScenario, peers: list[AuditPeer], work: Path, overhead: float, *, keep: bool
) -> list[PeerRun]:
    """Start the scenario's server and run each peer against it in turn."""
    (work / scenario.key).mkdir()
    expected = scenario.expected_arns()
    runs = []
    with AuditServer(scenario, work / scenario.key / "server.log") as server:
        for peer in peers:
            run = run_peer(
                peer,
                partial(peer.command, environment=server.environment),
                scenario.scenario,
                server,
                expected,
                work,
                overhead,
                keep_output=keep,
            )
            print(
                f"{scenario.key} {peer.key:<18} exit {run.exit_code} "
                f"wall {run.describe_seconds:6.2f} s ({run.ratio or 0:.3f}x ideal) calls "
                f"{run.calls} throttled {run.throttled} lost {run.output.lost} "
                f"failed {run.output.failed}",
                file=sys.stderr,
                flush=True,
            )
            runs.append(run)
    return runs


# -- report ------------------------------------------------------------------------


def _heading(scenario: AuditScenario) -> str:
    return (
        f"## {scenario.key} {scenario.title}\n\n{scenario.groups:,} groups x "
        f"{scenario.versions:,} versions = {scenario.packages:,} packages; fewest calls "
        f"{scenario.list_calls:,} listing + {scenario.describe_calls:,} describing = "
        f"{scenario.list_calls + scenario.describe_calls:,}; ideal "
        f"{scenario.ideal_seconds:.2f} s.\n"
    )


def scenario_table(runs: list[PeerRun]) -> list[str]:
    """Markdown rows for one scenario; ratios against the ideal and against sagefetch-cli."""
    columns = [PEER, RESULT, DESCRIBE, RATIO, versus("sagefetch-cli", runs), LISTING_DONE]
    columns += [FIRST_OUTPUT, PROCESS, CALLS, THROTTLED, LOST, DUPLICATED, FAILED, CPU, PEAK_RSS]
    return table(runs, columns)


def write_reports(results: Path, report: Report, scenarios: list[AuditScenario]) -> str:
    """``audit.md`` and ``audit.json``; returns the markdown tables."""
    settings = report.settings
    tables = []
    for scenario in scenarios:
        these = [run for run in report.runs if run.scenario == scenario.key]
        if these:
            tables += [_heading(scenario), *scenario_table(these), ""]
    lines = [
        *report.header_lines("sagefetch AUDIT benchmark results", diff_file=None),
        "Server: moto backend in its own process; every call (ListModelPackageGroups, "
        "ListModelPackages, BatchDescribeModelPackage) takes a token from one bucket that "
        "starts full (`burst` tokens). Ideal = max(0, fewest calls - burst) / rate + one mean "
        "latency. `describe s` is the peer's own timed phase (client creation, listing, "
        "describing, records written); for the CLI it is the process wall time minus that of "
        "`sagefetch describe` over an empty file "
        f"({settings.get('cli_overhead_seconds', 0):.2f} s). `describe / sagefetch-cli` > 1 "
        "means slower than `sagefetch audit`. `listing done s`: when the hand-written peers "
        "finished listing (they list, then describe); sagefetch interleaves both. `first "
        "output s` (the first record) is from the process launch. `calls` and `throttled` are "
        "the server's counts (every attempt, listing included). CPU and peak RSS are the "
        "whole client process (os.wait4; floor "
        f"{settings.get('rss_floor_mb', 0):.1f} MB). Compare peers within one table only.",
        "",
        *tables,
    ]
    (results / "audit.md").write_text("\n".join(lines))
    report.write_json(
        results / "audit.json",
        [
            {
                **s.scenario.to_json(),
                "groups": s.groups,
                "versions": s.versions,
                "packages": s.packages,
                "list_calls": s.list_calls,
                "describe_calls": s.describe_calls,
            }
            for s in scenarios
        ],
    )
    return "\n".join(tables)


# -- main --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.audit", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a fifth of the groups")
    parser.add_argument("--scenarios", type=comma_separated(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--peers", type=comma_separated(PEERS), default=list(PEERS))
    parser.add_argument("--keep-work", action="store_true", help="keep outputs and logs")
    args = parser.parse_args(argv)
    unwind_on_signals()
    scale = QUICK_SCALE if args.quick else 1.0
    scenarios = [SCENARIOS[key].scaled(scale) for key in args.scenarios]
    peers = [PEERS[key] for key in args.peers]
    results = RESULTS / "quick" if args.quick else RESULTS
    results.mkdir(parents=True, exist_ok=True)
    report = Report(
        {
            "command": shlex.join(["python", "-m", "benchmarks.audit", *(argv or sys.argv[1:])]),
            "peers": {p.key: p.label for p in peers},
            "bytecode_cache": str(BYTECODE_CACHE),
        }
    )
    tables = ""
    try:
        with work_directory("sagefetch-audit-", keep=args.keep_work) as work:
            report.settings["sagefetch_source"] = pin_sagefetch(work).describe()
            overhead = measure_cli_overhead(work)
            report.settings["cli_overhead_seconds"] = overhead
            report.settings["rss_floor_mb"] = measure_rss_floor(work)
            for scenario in scenarios:
                print(
                    f"== {scenario.key}: {scenario.packages:,} packages, ideal "
                    f"{scenario.ideal_seconds:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
                report.runs += run_scenario(scenario, peers, work, overhead, keep=args.keep_work)
                report.stamp()
                tables = write_reports(results, report, scenarios)
    except KeyboardInterrupt:
        print(f"interrupted: results so far are in {results}", file=sys.stderr)
        return 130
    print(tables)
    elapsed = time.monotonic() - report.started
    print(f"done in {elapsed:.0f} s: {results / 'audit.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
