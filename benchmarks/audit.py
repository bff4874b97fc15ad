"""The AUDIT benchmark: ``sagefetch audit`` (discovery plus describe) against the ideal and by hand.

    .venv/bin/python -m benchmarks.audit [--quick] [--scenarios A1,A3] [--peers sagefetch-cli,...]
                                         [--repeat N]

Writes ``audit.md`` and ``audit.json`` under ``benchmarks/results/``
(``benchmarks/results/quick/`` with ``--quick``). See "AUDIT" in ``benchmarks/README.md``.
Measured and reported as ``benchmarks.run`` does (``run_peer``, ``PeerRun``, ``_report``).

A1-A4 audit one account on one token bucket. A5 audits an organization (20
accounts x 3 regions, a token bucket per account and region; the server is
``benchmarks/_organization.py``): ``--org`` against ``--profiles`` (a profile
per account) and ``--org --engine ray``. A run of some scenarios keeps the
others' runs already in ``audit.json``, each marked with the run it came from.
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
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks._harness import (
    RESULTS,
    comma_separated,
    pin_sagefetch,
    unwind_on_signals,
    work_directory,
)
from benchmarks._measure import measure_rss_floor, run_peer
from benchmarks._organization import profile_name
from benchmarks._peers import sagefetch_command
from benchmarks._processes import BYTECODE_CACHE, ServerProcess
from benchmarks._report import (
    CALLS,
    CPU,
    DESCRIBE,
    FIRST_CALL_COLUMN,
    FIRST_OUTPUT,
    INTEGRITY,
    LISTING_DONE,
    PEAK_RSS,
    PEER,
    PHASE_RATIO,
    PROCESS,
    RATIO,
    RESULT,
    ROUND,
    THROTTLED,
    Metric,
    Report,
    medians_table,
    table,
    versus,
)
from benchmarks._scenarios import ACCOUNT, REGION, SEED, Scenario
from sagefetch.testing import Catalogue, Faults

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks._measure import PeerRun

PAGE = 100
"""Items per ListModelPackageGroups / ListModelPackages page, ARNs per describe call."""
QUICK_SCALE = 0.2
"""``--quick`` keeps a fifth of the groups (and every version of each)."""
ROUNDS = 3
"""Rounds of each scenario unless ``--repeat`` says otherwise (``--quick``: 1)."""


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
class OrganizationScenario:
    """A5: ``accounts`` accounts x ``regions``, each holding ``groups`` x ``versions`` packages.

    Each (account, region) has its own token bucket (SageMaker's limits are per
    account and region), so the shards run side by side: the ideal is one
    shard's, ``max(0, calls - burst) / rate + one mean latency``, with a
    shard's fewest calls. Organizations, STS and EC2 calls are not limited,
    not delayed and not counted (see ``benchmarks/_organization.py``).
    """

    key: str
    title: str
    accounts: int
    regions: tuple[str, ...]
    groups: int
    versions: int
    faults: Faults

    @property
    def shards(self) -> int:
        return self.accounts * len(self.regions)

    @property
    def shard_packages(self) -> int:
        return self.groups * self.versions

    @property
    def packages(self) -> int:
        return self.shards * self.shard_packages

    @property
    def list_calls(self) -> int:
        """One shard's: group pages, version pages of every group, one unversioned page."""
        return math.ceil(self.groups / PAGE) + self.groups * math.ceil(self.versions / PAGE) + 1

    @property
    def describe_calls(self) -> int:
        """One shard's."""
        return math.ceil(self.shard_packages / PAGE)

    @property
    def scenario(self) -> Scenario:
        """One shard, as the harness measures it: its ideal is the whole audit's."""
        return Scenario(
            self.key, self.title, self.shard_packages, self.faults, listing_calls=self.list_calls
        )

    @property
    def ideal_seconds(self) -> float:
        ideal = self.scenario.ideal_seconds
        assert ideal is not None
        return ideal

    def scaled(self, factor: float) -> OrganizationScenario:
        return dataclasses.replace(self, groups=max(1, round(self.groups * factor)))

    def expected_arns(self, accounts: Sequence[str]) -> set[str]:
        return {
            arn
            for account in accounts
            for region in self.regions
            for arn in Catalogue(account, region, self.groups, self.versions).arns()
        }


class OrganizationServer(ServerProcess):
    """``python -m benchmarks._organization``: the organization, its packages, a config file."""

    def __init__(self, organization: OrganizationScenario, log: Path) -> None:
        super().__init__(organization.scenario, log)
        self.organization = organization
        self.config = log.with_name("aws-config")

    def command(self) -> list[str]:
        organization, faults = self.organization, self.organization.faults
        return [
            sys.executable, "-m", "benchmarks._organization",
            "--accounts", str(organization.accounts), "--regions", ",".join(organization.regions),
            "--groups", str(organization.groups), "--versions", str(organization.versions),
            "--rate", str(faults.rate), "--burst", str(faults.burst),
            "--latency", str(faults.latency), "--jitter", str(faults.jitter),
            "--seed", str(faults.seed), "--config", str(self.config),
        ]  # fmt: skip

    @property
    def account_ids(self) -> list[str]:
        return self.environment["SAGEFETCH_BENCH_ACCOUNTS"].split(",")


@dataclass(frozen=True, slots=True)
class OrganizationPeer:
    """``sagefetch audit`` over the organization: ``--org``, or a profile per account."""

    key: str
    label: str
    profiles: bool = False
    """``--profiles acct-01,...``: the server's config file, one profile per account."""
    options: tuple[str, ...] = ()

    @property
    def is_cli(self) -> bool:
        return True

    def command(self, out_file: Path, accounts: int, regions: Sequence[str]) -> list[str]:
        chosen = (
            ["--profiles", ",".join(profile_name(n) for n in range(1, accounts + 1))]
            if self.profiles
            else ["--org"]
        )
        return [
            *sagefetch_command(), "audit", *chosen, *self.options,
            "--regions", ",".join(regions), "-o", str(out_file), "--no-progress", "--quiet",
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class AuditPeer:
    key: str
    label: str
    module: str | None
    """``benchmarks.peers.<module> OUT_FILE``; ``None`` for ``sagefetch audit``."""
    options: tuple[str, ...] = ()
    """More arguments for the script."""

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
        return [
            sys.executable,
            "-m",
            f"benchmarks.peers.{self.module}",
            str(out_file),
            *self.options,
        ]


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
A5 = OrganizationScenario(
    "A5",
    "an organization: 20 accounts x 3 regions, 1 call/s, burst 2, 30 ms (+0-20 ms) in each",
    20,
    ("us-east-1", "eu-west-1", "ap-southeast-2"),
    25,
    8,
    Faults(rate=1.0, burst=2, latency=0.03, jitter=0.02, seed=SEED),
)
ALL_SCENARIOS: dict[str, AuditScenario | OrganizationScenario] = {**SCENARIOS, A5.key: A5}
ORGANIZATION_PEERS: dict[str, OrganizationPeer] = {
    p.key: p
    for p in (
        OrganizationPeer(
            "sagefetch-org",
            "sagefetch audit --org --engine local --regions R1,R2,R3 (Organizations lists the "
            "accounts; members through OrganizationAccountAccessRole)",
            options=("--engine", "local"),
        ),
        OrganizationPeer(
            "sagefetch-org-60",
            "sagefetch audit --org --engine local --max-shards 60 --regions R1,R2,R3 (every "
            "shard at once; the default, 32, runs 60 shards in two waves)",
            options=("--engine", "local", "--max-shards", "60"),
        ),
        OrganizationPeer(
            "sagefetch-profiles",
            "sagefetch audit --profiles acct-01,...,acct-20 --regions R1,R2,R3 (a config file: "
            "the management account's keys, a role_arn + source_profile for each member)",
            profiles=True,
        ),
        OrganizationPeer(
            "sagefetch-org-ray",
            "sagefetch audit --org --engine ray --regions R1,R2,R3 (a local Ray started for the "
            "run, on this machine)",
            options=("--engine", "ray"),
        ),
    )
}
PEERS: dict[str, AuditPeer] = {
    p.key: p
    for p in (
        AuditPeer("sagefetch-cli", "sagefetch audit (CLI)", None),
        AuditPeer("sagefetch-lib", "discover() into stream()", "audit_sagefetch_library"),
        AuditPeer(
            "aiobotocore-concurrent",
            "aiobotocore: groups listed 16 at once, then gather(16); adaptive, 20 attempts",
            "audit_aiobotocore",
        ),
        AuditPeer(
            "aiobotocore-concurrent-standard",
            "aiobotocore: groups listed 16 at once, then gather(16); standard, 20 attempts",
            "audit_aiobotocore",
            ("--retry-mode", "standard"),
        ),
        AuditPeer(
            "boto3-sequential-baseline",
            "baseline: boto3 paginators one listing at a time, then one batch at a time; "
            "adaptive, 3 attempts",
            "audit_boto3",
        ),
    )
}


def run_scenario(
    scenario: AuditScenario, peers: list[AuditPeer], work: Path, *, keep: bool, rounds: int = 1
) -> list[PeerRun]:
    """Start the scenario's server and run each peer against it, ``rounds`` times in turns.

    Each round starts one peer later than the last (as ``benchmarks.run`` does).
    """
    (work / scenario.key).mkdir()
    expected = scenario.expected_arns()
    runs = []
    with AuditServer(scenario, work / scenario.key / "server.log") as server:
        for round_ in range(rounds):
            turn = round_ % max(1, len(peers))
            for peer in peers[turn:] + peers[:turn]:
                run = run_peer(
                    peer,
                    partial(peer.command, environment=server.environment),
                    scenario.scenario,
                    server,
                    expected,
                    work,
                    keep_output=keep,
                    round_=round_,
                )
                _print_run(scenario.key, peer.key, run)
                runs.append(run)
    return runs


def run_organization(
    organization: OrganizationScenario,
    peers: list[OrganizationPeer],
    work: Path,
    *,
    keep: bool,
    rounds: int = 1,
) -> list[PeerRun]:
    """Start the organization's server and run each peer against it, ``rounds`` times in turns."""
    (work / organization.key).mkdir()
    runs = []
    with OrganizationServer(organization, work / organization.key / "server.log") as server:
        accounts = server.account_ids
        expected = organization.expected_arns(accounts)
        for round_ in range(rounds):
            turn = round_ % max(1, len(peers))
            for peer in peers[turn:] + peers[:turn]:
                command = partial(
                    peer.command, accounts=len(accounts), regions=organization.regions
                )
                run = run_peer(
                    peer,
                    command,
                    organization.scenario,
                    server,
                    expected,
                    work,
                    keep_output=keep,
                    round_=round_,
                )
                # run_peer saw one shard (for the ideal); the output holds every shard's.
                run = dataclasses.replace(run, arns=organization.packages)
                _print_run(organization.key, peer.key, run)
                runs.append(run)
    return runs


def _print_run(scenario: str, peer: str, run: PeerRun) -> None:
    ratio = "incomplete" if run.incomplete else f"{run.ratio or 0:.3f}x ideal"
    print(
        f"{scenario} {peer:<26} exit {run.exit_code} "
        f"process {run.process_seconds:6.2f} s ({ratio}) calls {run.calls} "
        f"throttled {run.throttled} described {run.output.described} "
        f"failed {run.output.failed} lost {run.output.lost} "
        f"dup {run.output.duplicated} unexpected {run.output.unexpected} "
        f"cpu {run.cpu_seconds:.2f} s rss {run.peak_rss_mb:.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    if run.stderr_tail and not run.ok:
        print(f"  stderr: {run.stderr_tail[-600:]}", file=sys.stderr, flush=True)


# -- report ------------------------------------------------------------------------


def _heading(scenario: AuditScenario | OrganizationScenario) -> str:
    if isinstance(scenario, OrganizationScenario):
        return (
            f"## {scenario.key} {scenario.title}\n\n{scenario.accounts} accounts (the "
            f"management one and {scenario.accounts - 1} members) x {len(scenario.regions)} "
            f"regions ({', '.join(scenario.regions)}) = {scenario.shards} shards, each "
            f"{scenario.groups:,} groups x {scenario.versions:,} versions = "
            f"{scenario.shard_packages:,} packages ({scenario.packages:,} in all) behind its "
            f"own token bucket; fewest calls per shard {scenario.list_calls:,} listing + "
            f"{scenario.describe_calls:,} describing = "
            f"{scenario.list_calls + scenario.describe_calls:,} "
            f"({scenario.shards * (scenario.list_calls + scenario.describe_calls):,} in all); "
            f"ideal (the shards side by side) {scenario.ideal_seconds:.2f} s; with "
            f"`--max-shards` 32 (the default) the shards run in "
            f"{math.ceil(scenario.shards / 32)} waves, "
            f"{math.ceil(scenario.shards / 32) * scenario.ideal_seconds:.2f} s. Organizations, "
            "STS and EC2 calls are not limited, delayed or counted. `calls` and `throttled` "
            "sum every shard's SageMaker calls. `wall / sagefetch-org` compares with `sagefetch "
            "audit --org --engine local` in the same round.\n"
        )
    return (
        f"## {scenario.key} {scenario.title}\n\n{scenario.groups:,} groups x "
        f"{scenario.versions:,} versions = {scenario.packages:,} packages; fewest calls "
        f"{scenario.list_calls:,} listing + {scenario.describe_calls:,} describing = "
        f"{scenario.list_calls + scenario.describe_calls:,}; ideal "
        f"{scenario.ideal_seconds:.2f} s.\n"
    )


def _reference(runs: list[PeerRun]) -> str:
    """The peer the others are compared with: the CLI (A5: ``--org`` on the local engine)."""
    return "sagefetch-org" if any(run.scenario == A5.key for run in runs) else "sagefetch-cli"


def scenario_table(runs: list[PeerRun]) -> list[str]:
    """Every run of one scenario; ratios against the ideal and against sagefetch-cli."""
    rounds = [ROUND] if any(run.round for run in runs) else []
    columns = [PEER, *rounds, RESULT, RATIO, PROCESS, versus(_reference(runs), runs)]
    columns += [FIRST_CALL_COLUMN, PHASE_RATIO, DESCRIBE, LISTING_DONE, FIRST_OUTPUT, CALLS]
    columns += [THROTTLED, *INTEGRITY, CPU, PEAK_RSS]
    ordered = sorted(runs, key=lambda run: (run.round, [r.peer for r in runs].index(run.peer)))
    return table(ordered, columns)


def _versus_cli(runs: list[PeerRun]) -> dict[int, float]:
    """Process wall time of ``sagefetch-cli`` (A5: ``sagefetch-org``) in each round it completed."""
    reference = _reference(runs)
    return {
        run.round: run.process_seconds
        for run in runs
        if run.peer == reference and run.ok and not run.incomplete
    }


def summary_table(runs: list[PeerRun]) -> list[str]:
    """One row per peer: medians (min-max) over the rounds; ``incomplete`` is never ranked."""
    cli = _versus_cli(runs)

    def over_cli(run: PeerRun) -> float | None:
        reference = cli.get(run.round)
        return None if reference is None else run.process_seconds / reference

    metrics = [
        Metric("wall / ideal", lambda run: run.ratio, ".3f", ranked=True),
        Metric("process s", lambda run: run.process_seconds, ".2f"),
        Metric(f"wall / {_reference(runs)} (same round)", over_cli, ".2f", ranked=True),
        Metric("calls", lambda run: float(run.calls), ".0f"),
        Metric("first call s", lambda run: run.first_call_seconds, ".2f"),
        Metric("throttled %", lambda run: 100 * (run.throttled_share or 0), ".1f"),
        Metric("described", lambda run: float(run.output.described), ".0f"),
        Metric("failed", lambda run: float(run.output.failed), ".0f"),
        Metric("lost", lambda run: float(run.output.lost), ".0f"),
        Metric("duplicated", lambda run: float(run.output.duplicated), ".0f"),
        Metric("unexpected", lambda run: float(run.output.unexpected), ".0f"),
        Metric("CPU s", lambda run: run.cpu_seconds, ".2f"),
        Metric("peak RSS MB", lambda run: run.peak_rss_mb, ".0f"),
    ]
    return medians_table(runs, metrics)


def write_reports(
    results: Path, report: Report, scenarios: Sequence[AuditScenario | OrganizationScenario]
) -> str:
    """``audit.md`` and ``audit.json``; returns the markdown tables."""
    settings = report.settings
    tables = []
    earlier = settings.get("earlier")
    notes = earlier.get("notes", {}) if isinstance(earlier, dict) else {}
    for scenario in scenarios:
        these = [run for run in report.runs if run.scenario == scenario.key]
        if not these:
            continue
        tables += [_heading(scenario)]
        if scenario.key in notes:
            tables += [f"*{notes[scenario.key]}*", ""]
        rounds = max(run.round for run in these) + 1
        if rounds > 1:
            tables += [f"Medians over {rounds} rounds (min-max):", "", *summary_table(these), ""]
            tables += ["Every run:", ""]
        tables += [*scenario_table(these), ""]
    repeat = settings.get("repeat", 1)
    peer_labels = settings.get("peers", {})
    assert isinstance(peer_labels, dict)
    rounds_note = (
        "One round: every number is a single run, with no spread."
        if repeat == 1
        else f"Each peer ran {repeat} rounds in turns (the order rotating); tables give "
        "median (min-max)."
    )
    lines = [
        *report.header_lines("sagefetch AUDIT benchmark results", diff_file=None),
        "Server: moto backend in its own process; every call (ListModelPackageGroups, "
        "ListModelPackages, BatchDescribeModelPackage) takes a token from one bucket that "
        "starts full (`burst` tokens). Ideal = max(0, fewest calls - burst) / rate + one mean "
        "latency. `wall / ideal`, the headline, is every peer's whole process (fork to exit, "
        "start-up included) over the ideal; nothing is subtracted from any peer. `first call "
        "s` is start-up, from the fork to the server's first counted call. `own phase` is "
        "what a peer timed itself (client creation, listing, describing, records written; "
        "the CLI prints none), for reference. `wall / sagefetch-cli` > 1 means slower than "
        "`sagefetch audit` in the same round. A peer that left any package failed or lost is "
        "not ranked on time: `incomplete` beside its failed (and lost) count. `described`, "
        "`failed`, `lost` count distinct ARNs; `duplicated` ARNs with more than one record; "
        "`unexpected` records for ARNs not in the registry, or unreadable; `lines` the "
        "output's non-blank lines. `listing done s`: when the hand-written peers finished "
        "listing (they list, then describe); sagefetch interleaves both. `first output s` "
        "(the first record) is from the process launch. `calls` and `throttled` are the "
        "server's counts (every attempt, listing included). CPU and peak RSS are the whole "
        "client process (os.wait4; floor "
        f"{settings.get('rss_floor_mb', 0):.1f} MB). Compare peers within one table only. "
        + rounds_note,
        "",
        "| peer | what it is |",
        "|---|---|",
        *(f"| `{key}` | {label} |" for key, label in peer_labels.items()),
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
                **(
                    {"accounts": s.accounts, "regions": list(s.regions), "shards": s.shards}
                    if isinstance(s, OrganizationScenario)
                    else {}
                ),
            }
            for s in scenarios
        ],
    )
    return "\n".join(tables)


# -- main --------------------------------------------------------------------------


def _keep_earlier(
    report: Report, path: Path, running: list[str]
) -> list[AuditScenario | OrganizationScenario]:
    """Keep the runs in ``path`` of the scenarios not run now (``audit.md`` would lose them).

    They go into ``report`` with a note of the run they came from; returns their scenarios.
    """
    if not path.exists():
        return []
    earlier, documents = Report.from_json(path)
    kept = {
        str(document["key"]): dataclasses.replace(
            ALL_SCENARIOS[document["key"]], groups=document["groups"]
        )
        for document in documents
        if document["key"] not in running and document["key"] in ALL_SCENARIOS
    }
    if not kept:
        return []
    report.runs = [run for run in earlier.runs if run.scenario in kept]
    earlier_peers = earlier.settings.get("peers")
    if isinstance(earlier_peers, dict):
        peers = report.settings["peers"]
        assert isinstance(peers, dict)
        report.settings["peers"] = {**earlier_peers, **peers}
    settings, info = earlier.settings, earlier.info
    note = (
        f"Kept from an earlier run, not measured again: {info.get('date')}; "
        f"{settings.get('sagefetch_source', '-')}; `{settings.get('command')}`; load average "
        f"at start {info.get('load_average_at_start')}, at the end "
        f"{settings.get('load_average_now', '-')}."
    )
    # A scenario the earlier run had kept from a still earlier one keeps that one's note.
    previous = settings.get("earlier")
    notes = previous.get("notes", {}) if isinstance(previous, dict) else {}
    report.settings["earlier"] = {
        "notes": {key: notes.get(key, note) for key in kept},
        "machine": info,
        "settings": settings,
    }
    return list(kept.values())


def render(source: Path, results: Path) -> int:
    """Write ``audit.md`` (and ``audit.json``) again from the runs in ``source``."""
    report, documents = Report.from_json(source)
    scenarios = [
        dataclasses.replace(ALL_SCENARIOS[document["key"]], groups=document["groups"])
        for document in documents
    ]
    results.mkdir(parents=True, exist_ok=True)
    write_reports(results, report, scenarios)
    print(f"rendered {source} into {results / 'audit.md'}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.audit", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a fifth of the groups")
    parser.add_argument(
        "--scenarios", type=comma_separated(ALL_SCENARIOS), default=list(ALL_SCENARIOS)
    )
    parser.add_argument(
        "--peers",
        type=comma_separated({**PEERS, **ORGANIZATION_PEERS}),
        default=None,
        help="peers to run (default: every peer of each scenario; A5 has its own)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help=f"rounds of each scenario's peers, in turns (default {ROUNDS}, --quick 1)",
    )
    parser.add_argument(
        "--commit",
        metavar="REV",
        default=None,
        help="measure src/sagefetch of this commit (default: the working tree at the start)",
    )
    parser.add_argument("--results", type=Path, default=None, help="where the results go")
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure nothing: write audit.md again from an audit.json (after a table change)",
    )
    parser.add_argument("--keep-work", action="store_true", help="keep outputs and logs")
    args = parser.parse_args(argv)
    if args.render is not None:
        return render(args.render, args.results or args.render.parent)
    rounds = args.repeat if args.repeat is not None else (1 if args.quick else ROUNDS)
    if rounds < 1:
        parser.error("--repeat must be >= 1")
    unwind_on_signals()
    scale = QUICK_SCALE if args.quick else 1.0
    scenarios = [ALL_SCENARIOS[key].scaled(scale) for key in args.scenarios]
    results = args.results or (RESULTS / "quick" if args.quick else RESULTS)
    chosen = args.peers or [*PEERS, *ORGANIZATION_PEERS]
    peers = [PEERS[key] for key in chosen if key in PEERS]
    organization_peers = [ORGANIZATION_PEERS[key] for key in chosen if key in ORGANIZATION_PEERS]
    labels = {p.key: p.label for p in peers if any(key in SCENARIOS for key in args.scenarios)}
    if A5.key in args.scenarios:
        labels.update({p.key: p.label for p in organization_peers})
    results.mkdir(parents=True, exist_ok=True)
    report = Report(
        {
            "command": shlex.join(["python", "-m", "benchmarks.audit", *(argv or sys.argv[1:])]),
            "peers": labels,
            "repeat": rounds,
            "bytecode_cache": str(BYTECODE_CACHE),
        }
    )
    kept = _keep_earlier(report, results / "audit.json", args.scenarios)
    scenarios = sorted([*kept, *scenarios], key=lambda s: list(ALL_SCENARIOS).index(s.key))
    tables = ""
    try:
        with work_directory("sagefetch-audit-", keep=args.keep_work) as work:
            report.settings["sagefetch_source"] = pin_sagefetch(work, args.commit).describe()
            report.settings["rss_floor_mb"] = measure_rss_floor(work)
            for scenario in scenarios:
                if scenario in kept:
                    continue
                print(
                    f"== {scenario.key}: {scenario.packages:,} packages, ideal "
                    f"{scenario.ideal_seconds:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
                if isinstance(scenario, OrganizationScenario):
                    report.runs += run_organization(
                        scenario, organization_peers, work, keep=args.keep_work, rounds=rounds
                    )
                else:
                    report.runs += run_scenario(
                        scenario, peers, work, keep=args.keep_work, rounds=rounds
                    )
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
