"""Run the benchmark: every peer against every scenario, each in its own process.

    .venv/bin/python -m benchmarks.run [--quick] [--scenarios S1,S3] [--peers sagefetch-lib,...]

Writes ``latest.md``, ``latest.json`` and ``S<n>.png`` under ``benchmarks/results/``
(``benchmarks/results/quick/`` with ``--quick``). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._measure import PeerRun, measure_cli_overhead, measure_rss_floor, run_peer
from benchmarks._peers import PEERS
from benchmarks._processes import ServerProcess
from benchmarks._report import machine_info, plot_scenario, write_json, write_markdown
from benchmarks._scenarios import SCENARIOS, Scenario
from benchmarks._source import ROOT, snapshot_commit, snapshot_sagefetch
from sagefetch.testing import Catalogue

if TYPE_CHECKING:
    from types import FrameType

    from benchmarks._peers import Peer

RESULTS = Path(__file__).resolve().parent / "results"
QUICK_SCALE = 0.1
ACCOUNT, REGION = "123456789012", "us-east-1"
#: S6's ARN file also holds this many repeated ARNs (plus a comment and a blank line).
S6_DUPLICATES = 1_000


def _csv(choices: dict[str, Any]) -> Any:
    def parse(text: str) -> list[str]:
        keys = [key.strip() for key in text.split(",") if key.strip()]
        unknown = [key for key in keys if key not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(unknown)} (choose from {', '.join(choices)})"
            )
        return keys

    return parse


def _size(text: str) -> tuple[str, int]:
    key, _, number = text.partition("=")
    if key not in SCENARIOS or not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"expected S<n>=ARNS, got {text!r}")
    return key, int(number)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the ARNs, same rates")
    parser.add_argument(
        "--scale", type=float, default=None, help="multiply every ARN count (default 1, quick 0.1)"
    )
    parser.add_argument(
        "--size",
        type=_size,
        action="append",
        default=[],
        metavar="S<n>=ARNS",
        help="ARN count of one scenario, after scaling (repeatable)",
    )
    parser.add_argument(
        "--scenarios", type=_csv(SCENARIOS), default=list(SCENARIOS), help="e.g. S1,S3"
    )
    parser.add_argument(
        "--peers",
        type=_csv(PEERS),
        default=list(PEERS),
        help=f"comma-separated, from: {', '.join(PEERS)}",
    )
    parser.add_argument(
        "--commit",
        metavar="REV",
        default=None,
        help="measure src/sagefetch of this commit (default: the working tree at the start)",
    )
    parser.add_argument("--results", type=Path, default=None, help="where the results go")
    parser.add_argument(
        "--keep-work", action="store_true", help="keep the work directory (ARN files, logs)"
    )
    return parser.parse_args(argv)


def select_scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The chosen scenarios at the chosen sizes."""
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    sizes = dict(args.size)
    chosen = []
    for key in args.scenarios:
        scenario = SCENARIOS[key].scaled(scale)
        if key in sizes:
            scenario = SCENARIOS[key].scaled(sizes[key] / SCENARIOS[key].arns)
        chosen.append(scenario)
    return chosen


def write_arn_file(scenario: Scenario, path: Path) -> set[str]:
    """The scenario's ARN file; returns the distinct ARNs every peer must account for."""
    groups = -(-scenario.arns // 100)
    arns = Catalogue(ACCOUNT, REGION, groups, 100).arns()[: scenario.arns]
    with path.open("w", encoding="utf-8") as file:
        if scenario.extra_lines:
            file.write("# sagefetch benchmark S6: the catalogue, then some repeats\n\n")
        file.write("\n".join(arns))
        file.write("\n")
        if scenario.extra_lines:
            step = max(1, len(arns) // S6_DUPLICATES)
            file.write("\n".join(arns[::step]) + "\n")
    return set(arns)


def _summary(run: PeerRun) -> str:
    ratio = "-" if run.ratio is None else f"{run.ratio:.3f}x"
    share = "-" if run.throttled_share is None else f"{run.throttled_share:.1%}"
    cpu = "-" if run.cpu_ms_per_1k is None else f"{run.cpu_ms_per_1k:.1f}"
    state = "TIMEOUT" if run.timed_out else f"exit {run.exit_code}"
    return (
        f"{run.scenario} {run.peer:<14} {state:<8} ideal {ratio:>7}  describe "
        f"{run.describe_seconds:7.2f} s  throttled {share:>6}  lost {run.output.lost}  "
        f"dup {run.output.duplicated}  failed {run.output.failed}  CPU {cpu} ms/1k  "
        f"RSS {run.peak_rss_mb:.0f} MB"
    )


def run_scenario(
    scenario: Scenario, peers: list[Peer], work: Path, cli_overhead: float
) -> list[PeerRun]:
    """Start the scenario's server and run each peer against it in turn."""
    scenario_dir = work / scenario.key
    scenario_dir.mkdir()
    arn_file = scenario_dir / "arns.txt"
    expected = write_arn_file(scenario, arn_file)
    runs = []
    with ServerProcess(scenario, scenario_dir / "server.log") as server:
        for peer in peers:
            if scenario.cli_only and not peer.is_cli:
                continue
            run = run_peer(peer, scenario, server, arn_file, expected, work, cli_overhead)
            print(_summary(run), file=sys.stderr, flush=True)
            runs.append(run)
    return runs


def _mode(args: argparse.Namespace) -> str:
    if args.quick:
        return "quick"
    if args.scale not in {None, 1.0} or args.size:
        return "custom sizes"
    return "full"


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM: unwind like Ctrl-C, so every child process is stopped."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Even when started with SIGINT ignored (a background job), Ctrl-C must unwind.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    scenarios = select_scenarios(args)
    peers = [PEERS[key] for key in args.peers]
    results = args.results or (RESULTS / "quick" if args.quick else RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    settings: dict[str, object] = {
        "command": shlex.join(["python", "-m", "benchmarks.run", *(argv or sys.argv[1:])]),
        "mode": _mode(args),
        "scenarios": [s.key for s in scenarios],
        "peers": [p.key for p in peers],
    }
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="sagefetch-bench-"))
    runs: list[PeerRun] = []
    try:
        source = snapshot_commit(work, args.commit) if args.commit else snapshot_sagefetch(work)
        # Every child (server, peers, CLI) imports the snapshot, then finds benchmarks/.
        os.environ["PYTHONPATH"] = os.pathsep.join([str(source.path), str(ROOT)])
        settings["sagefetch_source"] = source.describe()
        diff_file = results / "sagefetch-src.diff"
        diff_file.unlink(missing_ok=True)
        if source.diff:
            diff_file.write_text(source.diff)
        print(f"sagefetch source: {source.describe()}", file=sys.stderr)
        overhead = measure_cli_overhead(work) if any(p.is_cli for p in peers) else 0.0
        settings["cli_overhead_seconds"] = overhead
        settings["rss_floor_mb"] = measure_rss_floor(work)
        print(f"sagefetch CLI start-up and shut-down: {overhead:.2f} s", file=sys.stderr)
        for scenario in scenarios:
            ideal = scenario.ideal_seconds
            print(
                f"== {scenario.key} {scenario.title}: {scenario.arns:,} ARNs"
                + ("" if ideal is None else f", ideal {ideal:.2f} s"),
                file=sys.stderr,
                flush=True,
            )
            these = run_scenario(scenario, peers, work, overhead)
            runs += these
            plot_scenario(results / f"{scenario.key}.png", scenario, these)
            settings["elapsed_seconds"] = time.monotonic() - started
            settings["load_average_now"] = [round(load, 2) for load in os.getloadavg()]
            report = {"info": info, "settings": settings, "scenarios": scenarios, "runs": runs}
            write_markdown(results / "latest.md", **report)
            write_json(results / "latest.json", **report)
    except KeyboardInterrupt:
        print("interrupted: results so far are in " + str(results), file=sys.stderr)
        return 130
    finally:
        if args.keep_work:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"done in {time.monotonic() - started:.0f} s: {results / 'latest.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
