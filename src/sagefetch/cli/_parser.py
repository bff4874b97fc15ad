"""The command line: every command's options, with their defaults in ``--help``.

Cheap to import (argparse and the standard library only): ``--help`` and
``--version`` pay for nothing else.

Every numeric option has a range a real run can use, checked here: NaN,
infinities and out-of-range values are usage errors (exit 2) before anything
starts, whichever command takes them.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from ._where import FIELDS

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FORMAT_WORDS", "LOWEST_RATE", "fetcher_settings", "parser"]

#: Values of ``--output`` that are format names, typed by AWS CLI habit.
FORMAT_WORDS = frozenset({"json", "jsonl", "csv", "text", "table", "yaml"})

#: The lowest calls/s a rate option takes: one call every 100 s (the library's
#: ``AdaptiveRateLimiter`` refuses the same; importing it here would cost ``--help``).
LOWEST_RATE: Final = 0.01

_N = TypeVar("_N", int, float)


class _Number(Generic[_N]):
    """An argparse type: a finite number of one kind in a range, else a usage error.

    ``float()`` takes ``nan``, ``inf`` and ``1e400`` (inf) and ``int()`` takes
    ``-5``: none of them may reach the library, where an infinite timeout never
    fires, NaN passes no comparison and a rate of 0.001 calls/s looks hung.
    """

    def __init__(
        self,
        kind: Callable[[str], _N],
        least: _N,
        most: _N | None = None,
        *,
        what: str,
        hint: str = "",
    ) -> None:
        self.kind: Callable[[str], _N] = kind
        self.least: _N = least
        self.most: _N | None = most
        self.what = what
        self.hint = hint
        self.span = (
            f"at least {_shown(least)}" if most is None else f"{_shown(least)}..{_shown(most)}"
        )
        """The range as ``--help`` and the error show it."""

    def __call__(self, text: str) -> _N:
        try:
            value = self.kind(text)
        except ValueError:
            value = None
        if value is None or not self._within(value):
            raise argparse.ArgumentTypeError(
                f"expected {self.what}, {self.span}, got {text!r}{self.hint}"
            )
        return value

    def _within(self, value: _N) -> bool:
        if not math.isfinite(value) or value < self.least:
            return False
        return self.most is None or value <= self.most


def _shown(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


_CONCURRENCY = _Number(int, 1, 1000, what="a whole number")
_BATCH_SIZE = _Number(int, 1, 100, what="a whole number")
_ATTEMPTS = _Number(int, 1, 100, what="a whole number")
_SHARDS = _Number(int, 1, 1000, what="a whole number")
_RATE = _Number(
    float,
    LOWEST_RATE,
    what="a number of calls/s",
    hint="\nHINT: leave --max-rate out and sagefetch finds the server's limit by itself.",
)
_TIMEOUT = _Number(float, 0.01, 3600.0, what="a number of seconds")
_DEADLINE = _Number(float, 0.01, 30 * 24 * 3600.0, what="a number of seconds")
# The demo's registry and its server's limit and faults.
_COUNT = _Number(int, 0, 100_000, what="a whole number")
_SERVER_RATE = _Number(float, LOWEST_RATE, what="a number of calls/s")
_BURST = _Number(int, 1, 1000, what="a whole number")
_DELAY = _Number(float, 0.0, 60.0, what="a number of seconds")
_PROBABILITY = _Number(float, 0.0, 1.0, what="a probability")


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
        "--regions",
        type=_names,
        metavar="R1,R2|all",
        help="regions to audit; 'all': in each account, every region it has enabled where "
        "SageMaker exists (EC2 DescribeRegions; the others are skipped and counted) "
        "(default: --region)",
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
    aws.add_argument(
        "--accounts-file",
        type=Path,
        metavar="FILE",
        help="the accounts to audit, YAML or JSON in c7n-org's shape: accounts: [{account_id, "
        "name, role, profile, regions, tags}]; roles are assumed with --profile's credentials, "
        "--regions/--region replace the file's regions (default: none)",
    )
    aws.add_argument(
        "--org",
        action="store_true",
        help="every ACTIVE account of the AWS Organization (Organizations ListAccounts with "
        "--profile's credentials, in the management account or a delegated administrator): "
        "that account with its own credentials, the others through --member-role-name "
        "(default: off)",
    )
    aws.add_argument(
        "--member-role-name",
        metavar="NAME",
        help="with --org, the role assumed in each member account "
        "(default: OrganizationAccountAccessRole)",
    )
    aws.add_argument(
        "--ou",
        action="append",
        type=_organizational_unit,
        metavar="ID",
        help="with --org, only the accounts under this organizational unit (ou-...) or root "
        "(r-...), recursively; repeat for more (default: the whole organization)",
    )
    aws.add_argument(
        "--accounts",
        type=_names,
        metavar="A1,A2",
        help="only these accounts of --accounts-file or --org (ids or names) (default: all)",
    )
    aws.add_argument(
        "--skip-accounts",
        type=_names,
        metavar="A1,A2",
        help="not these accounts of --accounts-file or --org (ids or names) (default: none)",
    )
    _aws_options(
        aws,
        profile_help="profile of the credentials, and of --role-arn (default: AWS_PROFILE, "
        "else the default credential chain)",
    )
    _fetch_options(audit)
    audit.add_argument(
        "--list-concurrency",
        type=_CONCURRENCY,
        metavar="N",
        help=f"groups listed at once per shard, {_CONCURRENCY.span} (default: --concurrency)",
    )
    audit.add_argument(
        "--max-shards",
        type=_SHARDS,
        default=32,
        metavar="N",
        help=f"shards running at once, {_SHARDS.span} (default: %(default)s)",
    )
    engine = audit.add_argument_group("engine: where the shards run")
    engine.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="'local': every shard in this process; 'ray': shards in Ray async actors, "
        "records streamed back to this process's one writer (needs sagefetch[ray]; "
        "default: %(default)s)",
    )
    engine.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="the Ray cluster to join, as ray.init(address=...) takes it (default: "
        "RAY_ADDRESS, else a local Ray started for the run)",
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
    for flag, count, text in (
        ("--groups", 40, "model package groups"),
        ("--versions", 100, "versions per group"),
        ("--unknown", 60, "ARNs of missing packages"),
        ("--malformed", 12, "malformed ARNs"),
    ):
        registry.add_argument(
            flag, type=_COUNT, default=count, help=f"{text}, {_COUNT.span} (default: %(default)s)"
        )
    registry.add_argument(
        "--backend",
        choices=("moto", "synthetic"),
        default="moto",
        help="moto's SageMaker or the fast synthetic one (default: %(default)s)",
    )
    server = demo.add_argument_group("server limit and faults")
    for flag, kind, default, text in (
        ("--rate", _SERVER_RATE, 20.0, "server limit, calls/s"),
        ("--burst", _BURST, 5, "token bucket capacity"),
        ("--latency", _DELAY, 0.03, "seconds per answer"),
        ("--jitter", _DELAY, 0.02, "up to this many more seconds"),
        ("--internal-error", _PROBABILITY, 0.02, "P(HTTP 500)"),
        ("--drop", _PROBABILITY, 0.01, "P(dropped connection)"),
        ("--omit", _PROBABILITY, 0.01, "P(answer omits ARNs)"),
    ):
        server.add_argument(
            flag, type=kind, default=default, help=f"{text}, {kind.span} (default: %(default)s)"
        )
    _fetch_options(demo)
    _display_options(demo)


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return list(dict.fromkeys(names))


#: An organizational unit's id, or a root's (the whole organization).
_ORGANIZATIONAL_UNIT: Final = re.compile(r"ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32}")


def _organizational_unit(text: str) -> str:
    if not _ORGANIZATIONAL_UNIT.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected an organizational unit's id (ou-xxxx-xxxxxxxx) or a root's (r-xxxx), "
            f"got {text!r}"
        )
    return text


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
    # Path() drops a trailing slash and a last "." ("new/" and "new/." are "new"):
    # the raw text says whether a directory was meant.
    if not text:
        raise argparse.ArgumentTypeError("an empty name: -o/--output names the output file")
    last = re.split(r"[/\\]" if os.altsep else "/", text)[-1]
    if last in {"", ".", ".."}:
        raise argparse.ArgumentTypeError(
            f"{text!r} names a directory; -o/--output names the output file. HINT: add the "
            f"file's name, e.g. -o {text.rstrip('/')}/records.jsonl"
        )
    path = Path(text)
    if text.lower() in FORMAT_WORDS and not path.exists():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a format, not a file: -o/--output names the output file "
            "('-' for stdout). HINT: use --format jsonl or --format csv (or -o ./"
            f"{text} to write a file named {text})"
        )
    return path


def _summary_path(text: str) -> Path:
    """``--summary-json`` value: a file's path (written by rename, so never stdout)."""
    last = re.split(r"[/\\]" if os.altsep else "/", text)[-1]
    if text == "-" or last in {"", ".", ".."}:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a file's path: --summary-json names the file to write, "
            "e.g. --summary-json summary.json"
        )
    return Path(text)


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
        choices=("jsonl", "csv", "parquet"),
        default="jsonl",
        help="JSON Lines, CSV with flattened audit columns, or Parquet with typed columns "
        "(needs sagefetch[parquet]; default: %(default)s)",
    )
    output.add_argument(
        "--resume",
        action="store_true",
        help="skip ARNs already recorded in --output and append the rest (default: off)",
    )
    output.add_argument(
        "--summary-json",
        type=_summary_path,
        metavar="PATH",
        help="also write the run's summary (totals, per shard, exit code) to PATH as one JSON "
        "document, replaced atomically when the run ends, however it ends (default: none)",
    )


def _fetch_options(parser: argparse.ArgumentParser) -> None:
    fetch = parser.add_argument_group("fetching")
    fetch.add_argument(
        "--concurrency",
        type=_CONCURRENCY,
        default=16,
        metavar="N",
        help=f"calls in flight at most, {_CONCURRENCY.span} (default: %(default)s)",
    )
    fetch.add_argument(
        "--max-rate",
        type=_RATE,
        metavar="CALLS_PER_S",
        help=f"calls/s ceiling, {_RATE.span} (default: find the server's limit)",
    )
    fetch.add_argument(
        "--batch-size",
        type=_BATCH_SIZE,
        default=100,
        metavar="N",
        help=f"ARNs per call, {_BATCH_SIZE.span} (default: %(default)s)",
    )
    fetch.add_argument(
        "--timeout",
        type=_TIMEOUT,
        default=30.0,
        metavar="S",
        help=f"seconds per call, {_TIMEOUT.span} (default: %(default)s)",
    )
    fetch.add_argument(
        "--max-attempts",
        type=_ATTEMPTS,
        default=8,
        metavar="N",
        help=f"calls per batch at most, {_ATTEMPTS.span} (default: %(default)s)",
    )
    fetch.add_argument(
        "--deadline",
        type=_DEADLINE,
        metavar="S",
        help=f"seconds for the whole run, audit: for each shard; {_DEADLINE.span} (30 days) "
        "(default: none)",
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
