"""The command line: every command's options, with their defaults in ``--help``.

Cheap to import (argparse and the standard library only): ``--help`` and
``--version`` pay for nothing else.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._where import FIELDS

__all__ = ["FORMAT_WORDS", "fetcher_settings", "parser"]

#: Values of ``--output`` that are format names, typed by AWS CLI habit.
FORMAT_WORDS = frozenset({"json", "jsonl", "csv", "text", "table", "yaml"})


def parser(version: str) -> argparse.ArgumentParser:
    """The ``sagefetch`` parser, with ``version`` for ``--version``."""
    main = argparse.ArgumentParser(
        prog="sagefetch",
        description="Describe SageMaker model packages in bulk with BatchDescribeModelPackage.",
        epilog="Exit codes: 0 all described, 3 some failed, 2 usage or input error, "
        "4 stopped early (credentials, permissions, deadline, unreachable endpoint), "
        "5 some audit shards stopped early (the others completed), 130 interrupted, "
        "143 terminated.",
    )
    main.add_argument("--version", action="version", version=f"sagefetch {version}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    describe = commands.add_parser(
        "describe",
        help="describe the ARNs of a file (or stdin), one record per ARN",
        description="Describe every ARN of ARN_FILE (one per line; '-' for stdin) and write "
        "one record per distinct ARN.",
    )
    describe.add_argument("arn_file", metavar="ARN_FILE|-", help="file of ARNs, '-' for stdin")
    _output_options(describe)
    aws = describe.add_argument_group("AWS")
    _aws_options(aws)
    _fetch_options(describe)
    _display_options(describe)

    _audit_parser(commands)
    _demo_parser(commands)

    commands.add_parser(
        "local-server",
        add_help=False,
        help="run a local SageMaker for tests and demos (needs sagefetch[testing]); see "
        "'sagefetch local-server --help'",
    )
    return main


def _aws_options(aws: Any, *, profile_help: str | None = None) -> None:
    aws.add_argument(
        "--region",
        help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's region)",
    )
    aws.add_argument(
        "--profile",
        help=profile_help
        or "AWS profile (default: AWS_PROFILE, else the default credential chain)",
    )
    aws.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="SageMaker endpoint, e.g. a local one (default: the region's)",
    )


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
        "--approval-status",
        choices=("Approved", "Rejected", "PendingManualApproval"),
        help="only packages with this status (default: any)",
    )
    select.add_argument(
        "--created-after",
        type=_timestamp,
        metavar="TIME",
        help="ISO 8601, e.g. 2025-01-31 (default: no bound)",
    )
    select.add_argument(
        "--created-before", type=_timestamp, metavar="TIME", help="ISO 8601 (default: no bound)"
    )
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
        "FIELD!~REGEX (repeat: all must hold; failures are always kept; default: keep all). "
        "Fields: " + ", ".join(FIELDS),
    )
    aws = audit.add_argument_group("AWS: every account in every region is one shard")
    aws.add_argument(
        "--regions", type=_names, metavar="R1,R2", help="regions to audit (default: --region)"
    )
    aws.add_argument(
        "--profiles",
        type=_names,
        metavar="P1,P2",
        help="one account per profile (default: --profile)",
    )
    aws.add_argument(
        "--role-arn",
        action="append",
        default=[],
        metavar="ARN",
        help="an account reached by assuming this role (STS AssumeRole) with --profile's "
        "credentials; repeat for more (default: none)",
    )
    _aws_options(
        aws,
        profile_help="profile of the credentials, and of --role-arn (default: AWS_PROFILE, "
        "else the default credential chain)",
    )
    _fetch_options(audit)
    audit.add_argument(
        "--list-concurrency",
        type=int,
        metavar="N",
        help="groups listed at once per shard (default: --concurrency)",
    )
    audit.add_argument(
        "--max-shards",
        type=int,
        default=32,
        metavar="N",
        help="shards running at once (default: %(default)s)",
    )
    _display_options(audit)


def _demo_parser(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="the main job on an embedded local SageMaker (needs sagefetch[testing])",
        description="Start a local SageMaker with a rate limit and some faults, seed it, "
        "describe its registry the way 'sagefetch describe' would, and check every outcome: "
        "exit 0 when every package was described once and every planted unknown or malformed "
        "ARN failed as it should, 3 otherwise.",
    )
    demo.add_argument(
        "-o",
        "--output",
        type=_output,
        default=Path("sagefetch-demo.jsonl"),
        metavar="FILE",
        help="where the records go, '-' for stdout (default: %(default)s)",
    )
    demo.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="record format (default: %(default)s)",
    )
    registry = demo.add_argument_group("registry")
    registry.add_argument(
        "--groups", type=int, default=40, help="model package groups (default: %(default)s)"
    )
    registry.add_argument(
        "--versions", type=int, default=100, help="versions per group (default: %(default)s)"
    )
    registry.add_argument(
        "--unknown", type=int, default=60, help="ARNs of missing packages (default: %(default)s)"
    )
    registry.add_argument(
        "--malformed", type=int, default=12, help="malformed ARNs (default: %(default)s)"
    )
    registry.add_argument(
        "--backend",
        choices=("moto", "synthetic"),
        default="moto",
        help="moto's SageMaker or the fast synthetic one (default: %(default)s)",
    )
    server = demo.add_argument_group("server limit and faults")
    for flag, kind, default, text in (
        ("--rate", float, 20.0, "server limit, calls/s"),
        ("--burst", int, 5, "token bucket capacity"),
        ("--latency", float, 0.03, "seconds per answer"),
        ("--jitter", float, 0.02, "up to this many more seconds"),
        ("--internal-error", float, 0.02, "P(HTTP 500)"),
        ("--drop", float, 0.01, "P(dropped connection)"),
        ("--omit", float, 0.01, "P(answer omits ARNs)"),
    ):
        server.add_argument(flag, type=kind, default=default, help=f"{text} (default: %(default)s)")
    _fetch_options(demo)
    _display_options(demo)


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


def _output(text: str) -> Path | None:
    """``-o`` value: a path, or None for stdout (``-``)."""
    if text == "-":
        return None
    path = Path(text)
    if text.lower() in FORMAT_WORDS and not path.exists():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a format, not a file: -o/--output names the output file "
            "('-' for stdout). HINT: use --format jsonl or --format csv (or -o ./"
            f"{text} to write a file named {text})"
        )
    return path


def _output_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_argument_group("output")
    output.add_argument(
        "-o",
        "--output",
        type=_output,
        metavar="FILE",
        help="output file, '-' for stdout (default: stdout)",
    )
    output.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="JSON Lines or CSV with flattened audit columns (default: %(default)s)",
    )
    output.add_argument(
        "--resume",
        action="store_true",
        help="skip ARNs already recorded in --output and append the rest (default: off)",
    )


def _fetch_options(parser: argparse.ArgumentParser) -> None:
    fetch = parser.add_argument_group("fetching")
    fetch.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="calls in flight at most (default: %(default)s)",
    )
    fetch.add_argument(
        "--max-rate",
        type=float,
        metavar="CALLS_PER_S",
        help="calls/s ceiling (default: find the server's limit)",
    )
    fetch.add_argument(
        "--batch-size",
        type=int,
        default=100,
        metavar="N",
        help="ARNs per call, 1..100 (default: %(default)s)",
    )
    fetch.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds per call (default: %(default)s)",
    )
    fetch.add_argument(
        "--max-attempts",
        type=int,
        default=8,
        metavar="N",
        help="calls per batch at most (default: %(default)s)",
    )
    fetch.add_argument(
        "--deadline",
        type=float,
        metavar="S",
        help="seconds for the whole run, audit: for each shard (default: none)",
    )


def _display_options(parser: argparse.ArgumentParser) -> None:
    display = parser.add_argument_group("display")
    display.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    display.add_argument(
        "--log-format",
        choices=("console", "json"),
        default="console",
        help="log lines on stderr (default: %(default)s)",
    )
    display.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="least severe log level shown (default: %(default)s)",
    )
    display.add_argument(
        "--quiet", action="store_true", help="print nothing but errors (default: off)"
    )


def fetcher_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ModelPackageFetcher`` keywords the fetching options give."""
    return {
        "max_concurrency": args.concurrency,
        "max_rate": args.max_rate,
        "batch_size": args.batch_size,
        "timeout": args.timeout,
        "max_attempts": args.max_attempts,
        "deadline": args.deadline,
    }
