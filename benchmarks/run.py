"""Run the benchmark: every peer against every scenario, each in its own process.

    .venv/bin/python -m benchmarks.run [--quick] [--scenarios STARTUP,S1,S3] [--peers ...]
                                       [--repeat N]

Writes ``latest.md``, ``latest.json`` and ``S<n>.png`` under ``benchmarks/results/``
(``benchmarks/results/quick/`` with ``--quick``). ``STARTUP`` is the start-up
measurement (``benchmarks/_startup.py``), run before the scenarios.
See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
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
from benchmarks._peers import PEERS
from benchmarks._processes import BYTECODE_CACHE, ServerProcess
from benchmarks._report import Report, plot_scenario, write_markdown
from benchmarks._scenarios import SCENARIOS, Scenario, write_arn_file, write_requests
from benchmarks._simulated import side_by_side, simulable, simulate
from benchmarks._startup import RUNS, measure_startup

if TYPE_CHECKING:
    from benchmarks._measure import PeerRun
    from benchmarks._peers import Peer
    from benchmarks._startup import Startup

QUICK_SCALE = 0.1
#: Rounds of every scenario unless ``--repeat`` says otherwise (``--quick``: 1).
ROUNDS, QUICK_ROUNDS = 3, 1
#: The ``--scenarios`` key of the start-up measurement.
STARTUP = "STARTUP"


def _size(text: str) -> tuple[str, int]:
    key, _, number = text.partition("=")
    if key not in SCENARIOS or not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"expected S<n>=ARNS, got {text!r}")
    return key, int(number)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


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
        "--scenarios",
        type=comma_separated([STARTUP, *SCENARIOS]),
        default=[STARTUP, *SCENARIOS],
        help=f"default: {STARTUP} (start-up) and S1-S11; e.g. S1,S3 or {STARTUP} alone",
    )
    parser.add_argument(
        "--peers",
        type=comma_separated(PEERS),
        default=None,
        help=f"comma-separated, from: {', '.join(PEERS)} (default: each where it belongs)",
    )
    parser.add_argument(
        "--repeat",
        type=_positive,
        default=None,
        metavar="N",
        help=(
            f"run each scenario's peers N rounds, in turns (tables: medians, min-max; "
            f"default {ROUNDS}, --quick {QUICK_ROUNDS})"
        ),
    )
    parser.add_argument(
        "--startup-runs",
        type=_positive,
        default=RUNS,
        metavar="N",
        help=f"{STARTUP}: runs of each start-up command (default {RUNS})",
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
        help="measure nothing: write latest.md again from a latest.json (after a table change)",
    )
    parser.add_argument(
        "--keep-work", action="store_true", help="keep the work directory (ARN files, logs)"
    )
    parser.add_argument(
        "--no-simulation",
        action="store_true",
        help="skip the simulator's table beside the real runs (limited scenarios, 20 seeds)",
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = QUICK_ROUNDS if args.quick else ROUNDS
    return args


def select_scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The chosen scenarios at the chosen sizes."""
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    sizes = dict(args.size)
    chosen = []
    for key in args.scenarios:
        if key == STARTUP:
            continue
        scenario = SCENARIOS[key].scaled(scale)
        if key in sizes:
            scenario = SCENARIOS[key].scaled(sizes[key] / SCENARIOS[key].arns)
        chosen.append(scenario)
    return chosen


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def _summary(run: PeerRun) -> str:
    ratio = "-" if run.ratio is None else f"{run.ratio:.3f}x"
    if run.incomplete and run.ratio is not None:
        ratio = "incomplete"
    phase = "-" if run.describe_seconds is None else f"{run.describe_seconds:.2f} s"
    share = "-" if run.throttled_share is None else f"{run.throttled_share:.1%}"
    cpu = "-" if run.cpu_ms_per_1k is None else f"{run.cpu_ms_per_1k:.1f}"
    state = "TIMEOUT" if run.timed_out else f"exit {run.exit_code}"
    service = run.service
    if service is not None:
        return (
            f"{run.scenario} {run.peer:<24} {state:<8} calls {run.calls}  throttled {share:>6}  "
            f"answered {service.answered}/{service.requests}  failed {service.failed}  "
            f"p50 {_ms(service.latency_p50)}  p99 {_ms(service.latency_p99)}  "
            f"last answer {phase}  CPU {run.cpu_seconds:.2f} s"
        )
    return (
        f"{run.scenario} {run.peer:<24} {state:<8} process/ideal {ratio:>10}  process "
        f"{run.process_seconds:7.2f} s  own phase {phase}  throttled {share:>6}  "
        f"lost {run.output.lost}  dup {run.output.duplicated}  failed {run.output.failed}  "
        f"unexpected {run.output.unexpected}  CPU {cpu} ms/1k  "
        f"RSS {run.peak_rss_mb:.0f} MB"
    )


def run_scenario(
    scenario: Scenario,
    peers: list[Peer],
    work: Path,
    *,
    named: bool = False,
    rounds: int = 1,
) -> list[PeerRun]:
    """Start the scenario's server and run each of its peers in turn, ``rounds`` times.

    Each round starts one peer later than the last, so no peer always runs
    first (or right after the same one) on a machine whose load drifts.
    ``named``: the peers were named with ``--peers``, so variants run anywhere.
    """
    scenario_dir = work / scenario.key
    scenario_dir.mkdir()
    taking_part = [peer for peer in peers if peer.takes_part(scenario, named=named)]
    requests = None
    if scenario.service is not None:
        arn_file = scenario_dir / "requests.txt"
        requests = write_requests(scenario, arn_file)
        expected = {arn for _, arn in requests}
    else:
        arn_file = scenario_dir / "arns.txt"
        expected = write_arn_file(scenario, arn_file)
    runs = []
    with ServerProcess(scenario, scenario_dir / "server.log") as server:
        for round_ in range(rounds):
            turn = round_ % max(1, len(taking_part))
            for peer in taking_part[turn:] + taking_part[:turn]:
                command = partial(peer.command, arn_file, scenario=scenario)
                run = run_peer(
                    peer,
                    command,
                    scenario,
                    server,
                    expected,
                    work,
                    requests=requests,
                    round_=round_,
                )
                print(_summary(run), file=sys.stderr, flush=True)
                runs.append(run)
    return runs


def _startup_summary(startup: Startup) -> str:
    lines = []
    for timings in (*startup.commands, startup.first_call):
        median = "-" if timings.median is None else f"{timings.median:.3f} s"
        over = startup.over_floor(timings.median)
        extra = "" if over is None or timings is startup.floor else f" ({over:+.3f} s)"
        state = "ok" if timings.ok else ("not installed" if not timings.installed else "FAILED")
        lines.append(f"{STARTUP} {timings.name:<32} {state:<13} median {median}{extra}")
    return "\n".join(lines)


def _mode(args: argparse.Namespace) -> str:
    if args.scenarios == [STARTUP]:
        return "start-up only"
    rounds = "1 round: no spread" if args.repeat == 1 else f"{args.repeat} rounds"
    if args.quick:
        return f"quick, {rounds}"
    if args.scale not in {None, 1.0} or args.size:
        return f"custom sizes, {rounds}"
    return f"full, {rounds}"


def render(source: Path, results: Path) -> int:
    """Write ``latest.md`` again from the runs recorded in ``source``; measure nothing."""
    report, documents = Report.from_json(source)
    scenarios = [
        dataclasses.replace(SCENARIOS[document["key"]], arns=document["arns"])
        for document in documents
    ]
    results.mkdir(parents=True, exist_ok=True)
    simulated = report.settings.get("simulation")
    sections = side_by_side(simulated if isinstance(simulated, dict) else None, report.runs)
    write_markdown(results / "latest.md", report, scenarios, sections=sections)
    print(f"rendered {source} into {results / 'latest.md'}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        return render(args.render, args.results or args.render.parent)
    unwind_on_signals()
    scenarios = select_scenarios(args)
    peers = [PEERS[key] for key in (args.peers or PEERS)]
    results = args.results or (RESULTS / "quick" if args.quick else RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    report = Report(
        {
            "command": shlex.join(["python", "-m", "benchmarks.run", *(argv or sys.argv[1:])]),
            "mode": _mode(args),
            "scenarios": list(args.scenarios),
            "peers": [p.key for p in peers],
            "repeat": args.repeat,
            "bytecode_cache": str(BYTECODE_CACHE),
        }
    )

    def side_by_side_lines() -> list[str]:
        simulated = report.settings.get("simulation")
        return side_by_side(simulated if isinstance(simulated, dict) else None, report.runs)

    def write_reports() -> None:
        report.stamp()
        write_markdown(results / "latest.md", report, scenarios, sections=side_by_side_lines())
        report.write_json(results / "latest.json", [scenario.to_json() for scenario in scenarios])

    try:
        with work_directory("sagefetch-bench-", keep=args.keep_work) as work:
            source = pin_sagefetch(work, args.commit)
            report.settings["sagefetch_source"] = source.describe()
            diff_file = results / "sagefetch-src.diff"
            diff_file.unlink(missing_ok=True)
            if source.diff:
                diff_file.write_text(source.diff)
            print(f"sagefetch source: {source.describe()}", file=sys.stderr)
            report.settings["rss_floor_mb"] = measure_rss_floor(work)
            if not args.no_simulation and any(map(simulable, scenarios)):
                # The limiter the peers will import (the pinned copy), simulated first.
                limiter_file = source.path / "sagefetch" / "_limiter.py"
                print(f"== simulating: {limiter_file}, 20 seeds", file=sys.stderr, flush=True)
                report.settings["simulation"] = simulate(scenarios, limiter_file)
            if STARTUP in args.scenarios:
                print(f"== {STARTUP}: start-up, {args.startup_runs} runs each", file=sys.stderr)
                report.startup = measure_startup(work, runs=args.startup_runs)
                print(_startup_summary(report.startup), file=sys.stderr, flush=True)
                write_reports()
            for scenario in scenarios:
                ideal = scenario.ideal_seconds
                unit = "ARNs" if scenario.service is None else "requests"
                print(
                    f"== {scenario.key} {scenario.title}: {scenario.arns:,} {unit}"
                    + ("" if ideal is None else f", ideal {ideal:.2f} s"),
                    file=sys.stderr,
                    flush=True,
                )
                these = run_scenario(
                    scenario,
                    peers,
                    work,
                    named=args.peers is not None,
                    rounds=args.repeat,
                )
                report.runs += these
                first_round = [run for run in these if run.round == 0]
                plot_scenario(results / f"{scenario.key}.png", scenario, first_round)
                write_reports()
    except KeyboardInterrupt:
        print(f"interrupted: results so far are in {results}", file=sys.stderr)
        return 130
    elapsed = time.monotonic() - report.started
    table = side_by_side_lines()
    if table:
        print("\n".join(table))
    print(f"done in {elapsed:.0f} s: {results / 'latest.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
