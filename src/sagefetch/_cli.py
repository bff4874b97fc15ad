"""The ``sagefetch`` command: ``describe``, ``audit``, ``demo`` and ``local-server``.

Exit codes: 0 every ARN described; 3 the run completed but some ARNs failed;
2 usage or input error; 4 the run stopped early (credentials, permissions,
deadline, output closed); 5 (audit) some shards stopped early, the others
completed; 130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import anyio
import structlog
from rich.console import Console

from . import __version__
from ._audit import OUTPUT_CLOSED, Shard, ShardReport, run_audit
from ._credentials import role_account
from ._discovery import Discovery
from ._exceptions import ConfigurationError, RunStoppedError
from ._fetcher import ModelPackageFetcher
from ._input import ArnReader, count_lines
from ._job import run_job
from ._progress import JobProgress, JobReport, print_shards, print_summary
from ._records import Format, read_recorded_arns, writer_for
from ._redact import RedactingFilter, mask_secrets, mask_text
from ._where import FIELDS, parse_condition

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence

__all__ = [
    "EXIT_FAILURES",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SHARDS_STOPPED",
    "EXIT_STOPPED",
    "EXIT_USAGE",
    "main",
]

EXIT_OK: Final = 0
EXIT_USAGE: Final = 2
EXIT_FAILURES: Final = 3
EXIT_STOPPED: Final = 4
EXIT_SHARDS_STOPPED: Final = 5
EXIT_INTERRUPTED: Final = 130
EXIT_TERMINATED: Final = 143

_GC_THRESHOLDS: Final = (50_000, 20, 100)

_log = structlog.get_logger("sagefetch")


class UsageError(Exception):
    """A problem with the command line or its files: exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sagefetch``; returns the exit code."""
    # A run allocates millions of short-lived dicts (decoded summaries); the
    # default collector thresholds would scan the long-lived ones over and
    # over. Freeze what start-up made and collect the young less often.
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "local-server":
        return _local_server(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    _configure_logging(args)
    stderr = Console(stderr=True, quiet=args.quiet)
    try:
        if args.command == "describe":
            return _run(_describe, args, stderr)
        if args.command == "audit":
            return _run(_audit, args, stderr)
        return _run(_demo, args, stderr)
    except UsageError as exc:
        print(f"sagefetch {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


# -- command line ----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagefetch",
        description="Describe SageMaker model packages in bulk with BatchDescribeModelPackage.",
        epilog="Exit codes: 0 all described, 3 some failed, 2 usage or input error, "
        "4 stopped early (credentials, permissions, deadline), 5 some audit shards stopped "
        "early (the others completed), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"sagefetch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    describe = commands.add_parser(
        "describe",
        help="describe the ARNs of a file (or stdin), one record per ARN",
        description="Describe every ARN of ARN_FILE (one per line; '-' for stdin) and write "
        "one record per distinct ARN.",
    )
    describe.add_argument("arn_file", metavar="ARN_FILE|-", help="file of ARNs, '-' for stdin")
    _output_options(describe)
    aws = describe.add_argument_group("AWS")
    aws.add_argument("--region", help="AWS region (default: the standard chain)")
    aws.add_argument("--profile", help="AWS profile (default: the standard chain)")
    aws.add_argument("--endpoint-url", help="SageMaker endpoint, e.g. a local one")
    _fetch_options(describe)
    _display_options(describe)

    _audit_parser(commands)

    demo = commands.add_parser(
        "demo",
        help="the main job on an embedded local SageMaker (needs sagefetch[testing])",
        description="Start a local SageMaker with a rate limit and some faults, seed it, and "
        "describe its registry the way 'sagefetch describe' would.",
    )
    demo.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("sagefetch-demo.jsonl"),
        help="where the records go (default: sagefetch-demo.jsonl)",
    )
    demo.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    registry = demo.add_argument_group("registry")
    registry.add_argument("--groups", type=int, default=40, help="model package groups")
    registry.add_argument("--versions", type=int, default=100, help="versions per group")
    registry.add_argument("--unknown", type=int, default=60, help="ARNs of missing packages")
    registry.add_argument("--malformed", type=int, default=12, help="malformed ARNs")
    registry.add_argument("--backend", choices=("moto", "synthetic"), default="moto")
    server = demo.add_argument_group("server limit and faults")
    server.add_argument("--rate", type=float, default=20.0, help="server limit, calls/s")
    server.add_argument("--burst", type=int, default=5, help="token bucket capacity")
    server.add_argument("--latency", type=float, default=0.03, help="seconds per answer")
    server.add_argument("--jitter", type=float, default=0.02, help="up to this much more")
    server.add_argument("--internal-error", type=float, default=0.02, help="P(HTTP 500)")
    server.add_argument("--drop", type=float, default=0.01, help="P(dropped connection)")
    server.add_argument("--omit", type=float, default=0.01, help="P(answer omits ARNs)")
    _fetch_options(demo)
    _display_options(demo)

    commands.add_parser(
        "local-server",
        add_help=False,
        help="run a local SageMaker for tests and demos (needs sagefetch[testing]); see --help",
    )
    return parser


def _audit_parser(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="list and describe every model package of accounts and regions",
        description="Discover model packages (ListModelPackageGroups, ListModelPackages) and "
        "describe them, in every (account, region) shard at once, one record per package. "
        "Records carry 'account' and 'region'.",
    )
    _output_options(audit)
    select = audit.add_argument_group("which packages (the API's own filters: fewer calls)")
    select.add_argument(
        "--group",
        action="append",
        dest="groups",
        metavar="NAME",
        help="only this model package group (name or ARN; repeat for more; default: all)",
    )
    select.add_argument(
        "--approval-status", choices=("Approved", "Rejected", "PendingManualApproval")
    )
    select.add_argument(
        "--created-after", type=_timestamp, metavar="TIME", help="ISO 8601, e.g. 2025-01-31"
    )
    select.add_argument("--created-before", type=_timestamp, metavar="TIME", help="ISO 8601")
    select.add_argument(
        "--unversioned",
        action=argparse.BooleanOptionalAction,
        help="also packages outside any group (default: yes, unless --group)",
    )
    select.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COND",
        help="keep described packages where FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX or "
        "FIELD!~REGEX (repeat: all must hold; failures are always kept). Fields: "
        + ", ".join(FIELDS),
    )
    aws = audit.add_argument_group("AWS: every account in every region is one shard")
    aws.add_argument("--regions", type=_names, metavar="R1,R2", help="regions to audit")
    aws.add_argument("--region", help="one region (default: the standard chain)")
    aws.add_argument("--profiles", type=_names, metavar="P1,P2", help="one account per profile")
    aws.add_argument("--profile", help="profile of the credentials (and of --role-arn)")
    aws.add_argument(
        "--role-arn",
        action="append",
        default=[],
        metavar="ARN",
        help="an account reached by assuming this role (STS AssumeRole) with --profile's "
        "credentials; repeat for more",
    )
    aws.add_argument("--endpoint-url", help="SageMaker endpoint for every shard")
    _fetch_options(audit)
    audit.add_argument(
        "--list-concurrency",
        type=int,
        help="groups listed at once per shard (default: --concurrency)",
    )
    audit.add_argument(
        "--max-shards", type=int, default=32, help="shards running at once (default: 32)"
    )
    _display_options(audit)


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return list(dict.fromkeys(names))


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _output_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_argument_group("output")
    output.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    output.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="JSON Lines (default) or CSV with flattened audit columns",
    )
    output.add_argument(
        "--resume",
        action="store_true",
        help="skip ARNs already recorded in --output and append the rest",
    )


def _fetch_options(parser: argparse.ArgumentParser) -> None:
    fetch = parser.add_argument_group("fetching")
    fetch.add_argument("--concurrency", type=int, default=16, help="calls in flight at most")
    fetch.add_argument(
        "--max-rate",
        type=float,
        metavar="CALLS_PER_S",
        help="calls/s ceiling (default: find the server's limit)",
    )
    fetch.add_argument("--batch-size", type=int, default=100, help="ARNs per call, 1..100")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    fetch.add_argument("--max-attempts", type=int, default=8, help="calls per batch at most")
    fetch.add_argument(
        "--deadline",
        type=float,
        metavar="S",
        help="seconds for the whole run (audit: for each shard)",
    )


def _display_options(parser: argparse.ArgumentParser) -> None:
    display = parser.add_argument_group("display")
    display.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    display.add_argument("--log-format", choices=("console", "json"), default="console")
    display.add_argument(
        "--log-level", default="warning", choices=("debug", "info", "warning", "error")
    )
    display.add_argument("--quiet", action="store_true", help="print nothing but errors")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on whatever ``sys.stderr`` is now (the progress bar redirects it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _configure_logging(args: argparse.Namespace) -> None:
    """Configure structlog for sagefetch's events and stdlib logging for libraries, both masked."""
    level = logging.ERROR if args.quiet else getattr(logging, args.log_level.upper())
    handler = _StderrHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore's DEBUG output holds signed request headers: never print it.
    for noisy in ("botocore", "aiobotocore", "urllib3", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    # A failed credential refresh (a role that cannot be assumed) is logged with
    # a traceback there; sagefetch reports it itself, with a hint.
    for refresher in ("botocore.credentials", "aiobotocore.credentials"):
        logging.getLogger(refresher).setLevel(max(level, logging.ERROR))
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if args.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve stderr at each call: the progress bar redirects it while it runs.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


def _fetcher_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "max_concurrency": args.concurrency,
        "max_rate": args.max_rate,
        "batch_size": args.batch_size,
        "timeout": args.timeout,
        "max_attempts": args.max_attempts,
        "deadline": args.deadline,
    }


# -- running -----------------------------------------------------------------------


def _run(
    command: Callable[[argparse.Namespace, Console], Coroutine[Any, Any, int]],
    args: argparse.Namespace,
    stderr: Console,
) -> int:
    """Run a command's coroutine; SIGINT/SIGTERM cancel it and pick the exit code."""
    received: list[int] = []
    usage: list[UsageError] = []

    async def guarded() -> int:
        async with anyio.create_task_group() as group:
            code: list[int] = []

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        received.append(signum)
                        group.cancel_scope.cancel()
                        return

            async def work() -> None:
                try:
                    code.append(await command(args, stderr))
                except UsageError as exc:
                    usage.append(exc)
                group.cancel_scope.cancel()

            group.start_soon(watch_signals)
            group.start_soon(work)
        if usage:
            raise usage[0]
        if received:
            stderr.print("[yellow]interrupted: the output holds every record written so far")
            return EXIT_TERMINATED if received[0] == signal.SIGTERM else EXIT_INTERRUPTED
        return code[0]

    return anyio.run(guarded)


def _exit_code(report: JobReport) -> int:
    if report.stopped is not None:
        return EXIT_USAGE if isinstance(report.stopped, ConfigurationError) else EXIT_STOPPED
    return EXIT_FAILURES if report.failed else EXIT_OK


async def _describe(args: argparse.Namespace, stderr: Console) -> int:
    fmt: Format = args.format
    if not 1 <= args.batch_size <= 100:
        raise UsageError(f"--batch-size must be 1..100, got {args.batch_size}")
    with ExitStack() as files:
        source, total = _open_input(args.arn_file, files)
        out, recorded = _open_output(args.output, fmt, resume=args.resume, files=files)
        try:
            fetcher = ModelPackageFetcher(
                region_name=args.region,
                profile_name=args.profile,
                endpoint_url=args.endpoint_url,
                **_fetcher_settings(args),
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        report = await _describe_into(
            fetcher,
            source,
            out,
            fmt,
            recorded,
            total=total,
            header=out.tell() == 0 if args.resume else True,
            progress=args.progress,
            stderr=stderr,
        )
    print_summary(stderr, report)
    if report.stopped is not None:
        print(f"sagefetch describe: {mask_text(str(report.stopped))}", file=sys.stderr)
    return _exit_code(report)


async def _describe_into(
    fetcher: ModelPackageFetcher,
    source: BinaryIO,
    out: BinaryIO,
    fmt: Format,
    recorded: set[str],
    *,
    total: int | None,
    header: bool,
    progress: bool | None,
    stderr: Console,
) -> JobReport:
    """The code path shared by describe and demo."""
    writer = writer_for(fmt, out)
    if header:
        writer.header()
    show = progress if progress is not None else stderr.is_terminal
    report = JobReport()
    with JobProgress(enabled=show and not stderr.quiet, total=total, console=stderr) as bar:
        try:
            async with fetcher:
                await run_job(
                    fetcher=fetcher,
                    reader=ArnReader(source),
                    writer=writer,
                    recorded=recorded,
                    progress=bar,
                    report=report,
                )
        except ConfigurationError as exc:
            report.stopped = exc
        except BrokenPipeError:
            report.stopped = RunStoppedError("the output was closed before the run finished")
    return report


def _open_input(name: str, files: ExitStack) -> tuple[BinaryIO, int | None]:
    if name == "-":
        return sys.stdin.buffer, None
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{name} is a directory, not a file of ARNs")
    try:
        source: BinaryIO = files.enter_context(path.open("rb"))
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from exc
    total = count_lines(source) if path.is_file() else None
    return source, total


def _open_output(
    path: Path | None, fmt: Format, *, resume: bool, files: ExitStack
) -> tuple[BinaryIO, set[str]]:
    if path is None:
        if resume:
            raise UsageError("--resume needs --output FILE: it reads the ARNs already there")
        return sys.stdout.buffer, set()
    if path.is_dir():
        raise UsageError(f"{path} is a directory")
    recorded: set[str] = set()
    try:
        if resume and path.exists():
            try:
                recorded = read_recorded_arns(path, fmt)
            except (ValueError, UnicodeDecodeError) as exc:
                raise UsageError(str(exc)) from exc
            return files.enter_context(path.open("ab")), recorded
        return files.enter_context(path.open("wb")), recorded
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _shards(args: argparse.Namespace) -> list[Shard]:
    if args.regions and args.region:
        raise UsageError("give --regions or --region, not both")
    if args.profiles and args.profile:
        raise UsageError(
            "give --profiles or --profile, not both\n"
            "HINT: --profile is the one set of credentials (and the source of --role-arn)."
        )
    for role_arn in args.role_arn:
        try:
            role_account(role_arn)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    regions: list[str | None] = args.regions or [args.region]
    accounts: list[tuple[str | None, str | None]] = [
        *((profile, None) for profile in args.profiles or []),
        *((args.profile, role) for role in dict.fromkeys(args.role_arn)),
    ] or [(args.profile, None)]
    return [
        Shard(region=region, profile=profile, role_arn=role)
        for profile, role in accounts
        for region in regions
    ]


def _audit_exit_code(reports: list[ShardReport]) -> int:
    stopped = [report for report in reports if report.stopped is not None]
    if stopped and len(stopped) < len(reports):
        return EXIT_SHARDS_STOPPED
    if stopped:
        return (
            EXIT_USAGE
            if all(isinstance(report.stopped, ConfigurationError) for report in stopped)
            else EXIT_STOPPED
        )
    return EXIT_FAILURES if any(report.failed for report in reports) else EXIT_OK


async def _audit(args: argparse.Namespace, stderr: Console) -> int:
    fmt: Format = args.format
    if not 1 <= args.batch_size <= 100:
        raise UsageError(f"--batch-size must be 1..100, got {args.batch_size}")
    if args.groups and args.unversioned:
        raise UsageError("--unversioned lists packages outside any group: not with --group")
    try:
        conditions = [parse_condition(text) for text in args.where]
        discovery = Discovery(
            groups=args.groups,
            approval_status=args.approval_status,
            created_after=args.created_after,
            created_before=args.created_before,
            unversioned=args.unversioned is not False and not args.groups,
            concurrency=args.list_concurrency,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.max_shards < 1:
        raise UsageError(f"--max-shards must be at least 1, got {args.max_shards}")
    shards = _shards(args)
    started = time.monotonic()
    with ExitStack() as files:
        out, recorded = _open_output(args.output, fmt, resume=args.resume, files=files)
        writer = writer_for(fmt, out, origin=True)
        if not args.resume or out.tell() == 0:
            writer.header()
        show = args.progress if args.progress is not None else stderr.is_terminal
        with JobProgress(
            enabled=show and not stderr.quiet, total=None, console=stderr, label="audit"
        ) as bar:
            try:
                reports = await run_audit(
                    shards,
                    discovery=discovery,
                    conditions=conditions,
                    writer=writer,
                    recorded=recorded,
                    progress=bar,
                    endpoint_url=args.endpoint_url,
                    max_shards=args.max_shards,
                    settings=_fetcher_settings(args),
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
    print_shards(
        stderr,
        reports,
        time.monotonic() - started,
        filtering=bool(conditions),
        resuming=args.resume,
    )
    closed = [r.stopped for r in reports if r.stopped and r.stopped.code == OUTPUT_CLOSED]
    if closed:
        print(f"sagefetch audit: {closed[0]}", file=sys.stderr)  # the same for every shard
    else:
        for report in reports:
            if report.stopped is not None:
                message = mask_text(str(report.stopped))
                print(f"sagefetch audit: {report.shard.name}: {message}", file=sys.stderr)
    return _audit_exit_code(reports)


async def _demo(args: argparse.Namespace, stderr: Console) -> int:
    try:
        from ._demo import run_demo  # noqa: PLC0415 - needs sagefetch[testing]
    except ImportError as exc:
        raise UsageError(f"{exc}\nHINT: pip install 'sagefetch[testing]'") from exc
    return await run_demo(args, stderr)


def _local_server(rest: list[str]) -> int:
    try:
        from .testing.__main__ import main as local_server  # noqa: PLC0415 - optional, slow
    except ImportError as exc:
        print(
            f"sagefetch local-server: {exc}\nHINT: pip install 'sagefetch[testing]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return local_server(rest, prog="sagefetch local-server")


if __name__ == "__main__":
    sys.exit(main())
