"""``sagefetch audit``: discovery plus describe in every (account, region) shard."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING

from sagefetch._credentials import role_account
from sagefetch._discovery import Discovery

from ._accounts import account_shards, read_accounts_file, select_accounts
from ._exits import UsageError
from ._parser import fetcher_settings
from ._progress import JobProgress, print_shards, shows_progress, stop_message
from ._records import Format, OutputError, files_read, open_output, writer_for
from ._reports import Shard, audit_exit_code
from ._shards import run_audit, shard_fetchers, shard_reports
from ._summary import audit_figures
from ._text import printable
from ._where import parse_condition

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from ._records import ReadFile
    from ._summary import RunSummary

__all__ = ["audit"]


def _shards(args: argparse.Namespace) -> tuple[list[Shard], list[ReadFile]]:
    """The shards the command line asks for, and the files it names that the run reads."""
    if args.regions and args.region:
        raise UsageError("give --regions or --region, not both")
    if args.profiles and args.profile:
        raise UsageError(
            "give --profiles or --profile, not both\n"
            "HINT: --profile is the one set of credentials (and the source of --role-arn)."
        )
    if args.accounts_file is not None:
        return _file_shards(args)
    if args.accounts or args.skip_accounts:
        raise UsageError(
            "--accounts and --skip-accounts choose among the accounts of --accounts-file"
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
    shards = [
        Shard(region=region, profile=profile, role_arn=role)
        for profile, role in accounts
        for region in regions
    ]
    return shards, []


def _file_shards(args: argparse.Namespace) -> tuple[list[Shard], list[ReadFile]]:
    """The shards of ``--accounts-file``, narrowed by ``--accounts`` and ``--skip-accounts``."""
    if args.profiles or args.role_arn:
        raise UsageError(
            "--accounts-file lists the accounts: not with --profiles or --role-arn\n"
            "HINT: give each account its profile or role in the file."
        )
    accounts, read = read_accounts_file(args.accounts_file)
    selected, unmatched = select_accounts(accounts, only=args.accounts, skip=args.skip_accounts)
    if unmatched:
        raise UsageError(
            f"--accounts names {', '.join(unmatched)}, not in {args.accounts_file}\n"
            "HINT: name accounts by their account_id or name in the file."
        )
    if not selected:
        raise UsageError(f"no account of {args.accounts_file} is left to audit (--skip-accounts)")
    regions = args.regions or ([args.region] if args.region else None)
    return account_shards(selected, regions=regions, profile=args.profile), [read]


async def audit(args: argparse.Namespace, stderr: Console, summary: RunSummary) -> int:
    """Run ``sagefetch audit``; returns the exit code. ``summary`` follows its shards."""
    fmt: Format = args.format
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
    shards, reads = _shards(args)
    try:  # before the output is opened: a bad option leaves it as it was
        fetchers = shard_fetchers(
            shards, endpoint_url=args.endpoint_url, settings=fetcher_settings(args)
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    started = time.monotonic()
    reports = shard_reports(shards)
    with ExitStack() as files:
        out, recorded = open_output(
            args.output,
            fmt,
            resume=args.resume,
            reads=[*files_read(), *reads],
            files=files,
            origin=True,
        )
        summary.follow(lambda: audit_figures(reports, earlier=recorded if args.resume else None))
        with JobProgress(
            enabled=shows_progress(args.progress, stderr), total=None, console=stderr, label="audit"
        ) as bar:
            try:
                await run_audit(
                    reports,
                    fetchers,
                    discovery=discovery,
                    conditions=conditions,
                    writer=writer_for(fmt, out, origin=True),
                    header=out.empty,
                    recorded=recorded.arns,
                    progress=bar,
                    max_shards=args.max_shards,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
    print_shards(
        stderr,
        reports,
        time.monotonic() - started,
        filtering=bool(conditions),
        resuming=args.resume,
        earlier=recorded if args.resume else None,
    )
    failed_output = [r.stopped for r in reports if isinstance(r.stopped, OutputError)]
    if failed_output:
        # The same for every shard.
        print(f"sagefetch audit: {stop_message(failed_output[0])}", file=sys.stderr)
    else:
        for report in reports:
            if report.stopped is not None:
                shard, message = printable(report.shard.name), stop_message(report.stopped)
                print(f"sagefetch audit: {shard}: {message}", file=sys.stderr)
    return audit_exit_code(reports, earlier_failed=recorded.failed)
