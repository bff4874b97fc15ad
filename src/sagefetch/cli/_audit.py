"""``sagefetch audit``: discovery plus describe in every (account, region) shard."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING

from sagefetch._credentials import role_account
from sagefetch._discovery import Discovery
from sagefetch._exceptions import ConfigurationError, RunStoppedError

from ._accounts import account_shards, read_accounts_file, select_accounts
from ._exits import EXIT_STOPPED, EXIT_USAGE, UsageError
from ._organization import DEFAULT_MEMBER_ROLE, Organization, list_organization, member_role_arn
from ._parser import fetcher_settings
from ._progress import JobProgress, print_shards, shows_progress, stop_message
from ._records import Format, OutputError, Recorded, files_read, open_output, writer_for
from ._regions import ALL_REGIONS, AccountRegions, list_enabled_regions, region_shards
from ._reports import Shard, ShardReport, audit_exit_code
from ._shards import LocalEngine, check_settings, run_audit, shard_reports
from ._summary import audit_figures, organization_figures, regions_figures
from ._text import printable
from ._where import parse_condition

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from ._records import ReadFile
    from ._shards import Engine
    from ._summary import RunSummary

__all__ = ["audit"]


def _shards(args: argparse.Namespace) -> tuple[list[Shard], list[ReadFile]]:
    """The shards the command line asks for, and the files it names that the run reads.

    With ``--regions all``, one shard per account, its region to be listed.
    """
    if args.engine == "ray":
        from ._ray import require_ray  # noqa: PLC0415 - Ray loads only for --engine ray

        require_ray()  # before any call: a missing extra is a one-line hint
    if args.regions and args.region:
        raise UsageError("give --regions or --region, not both")
    if args.regions and ALL_REGIONS in args.regions and len(args.regions) > 1:
        raise UsageError(f"--regions {ALL_REGIONS} stands alone: not with other regions")
    if args.profiles and args.profile:
        raise UsageError(
            "give --profiles or --profile, not both\n"
            "HINT: --profile is the one set of credentials (and the source of --role-arn)."
        )
    if args.org and (args.profiles or args.role_arn or args.accounts_file):
        raise UsageError(
            "--org lists the accounts: not with --profiles, --role-arn or --accounts-file\n"
            "HINT: --profile gives the credentials --org lists and assumes roles with."
        )
    if not args.org and (args.ou or args.member_role_name):
        raise UsageError("--ou and --member-role-name go with --org")
    if args.org:
        try:
            member_role_arn("aws", "000000000000", _member_role(args))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        return [], []  # listed when the audit starts
    if args.accounts_file is not None:
        return _file_shards(args)
    if args.accounts or args.skip_accounts:
        raise UsageError(
            "--accounts and --skip-accounts choose among the accounts of --accounts-file or --org"
        )
    for role_arn in args.role_arn:
        try:
            role_account(role_arn)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    regions: list[str | None] = _regions(args) or [None]
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
    return account_shards(selected, regions=_regions(args), profile=args.profile), [read]


def _member_role(args: argparse.Namespace) -> str:
    return str(args.member_role_name or DEFAULT_MEMBER_ROLE)


def _all_regions(args: argparse.Namespace) -> bool:
    return bool(args.regions) and args.regions == [ALL_REGIONS]


def _regions(args: argparse.Namespace) -> list[str | None] | None:
    """The regions the command line names; None: each account's own (or the default).

    ``--regions all``: one region to be listed, ``[None]``.
    """
    if _all_regions(args):
        return [None]
    regions: list[str | None] | None = args.regions or ([args.region] if args.region else None)
    return regions


async def _organization_shards(args: argparse.Namespace, organization: Organization) -> list[Shard]:
    """The shards of ``--org``: its ACTIVE accounts (under ``--ou``), chosen, in each region.

    Raises:
        RunStoppedError: the organization's accounts could not be listed.
        UsageError: ``--accounts`` and ``--skip-accounts`` leave no account.
    """
    regions = _regions(args)
    accounts = await list_organization(
        organization,
        profile=args.profile,
        region=regions[0] if regions else None,  # where Organizations and STS are called
        call_timeout=args.timeout,
        max_attempts=args.max_attempts,
        max_rate=args.max_rate,
    )
    selected, organization.not_found = select_accounts(
        accounts, only=args.accounts, skip=args.skip_accounts
    )
    organization.selected = len(selected)
    where = f"under {', '.join(organization.ous)}" if organization.ous else "of the organization"
    for name in organization.not_found:
        print(
            f"sagefetch audit: --accounts names {printable(name)}, not an active account "
            f"{where}: skipped",
            file=sys.stderr,
        )
    if not selected:
        raise UsageError(
            f"no active account {where} is left to audit ({organization.listed} listed, "
            f"{organization.inactive} not active)"
        )
    return account_shards(selected, regions=regions, profile=args.profile)


def _engine(
    args: argparse.Namespace,
    discovery: Discovery,
    *,
    shards: int,
    files: ExitStack,
) -> Engine:
    """Where the shards run (``--engine``); a Ray cluster is left when ``files`` closes.

    Called before the output is opened: a bad option leaves it as it was.

    Raises:
        UsageError: the fetching options are wrong, or Ray cannot start.
    """
    settings = fetcher_settings(args)
    try:
        check_settings(settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.engine != "ray" or not shards:
        return LocalEngine(discovery, settings, endpoint_url=args.endpoint_url)
    from ._ray import ray_engine  # noqa: PLC0415 - Ray loads only for --engine ray

    return files.enter_context(
        ray_engine(
            args.ray_address,
            discovery=discovery,
            settings=settings,
            endpoint_url=args.endpoint_url,
            shards=shards,
            max_shards=args.max_shards,
        )
    )


def _reports(
    shards: list[Shard], listings: list[AccountRegions]
) -> tuple[list[ShardReport], list[ShardReport]]:
    """Every shard's report, in order, and those of the shards to run.

    With ``--regions all`` (``listings``), each account's regions are its
    shards; an account whose regions could not be listed is one stopped shard.
    """
    if not listings:
        reports = shard_reports(shards)
        return reports, reports
    reports, runnable = [], []
    for listing in listings:
        if listing.stopped is not None:
            shard = listing.shard
            reports.append(
                ShardReport(
                    shard=shard, account=shard.account, stopped=listing.stopped, finished=True
                )
            )
            continue
        ran = shard_reports(region_shards([listing]))
        reports += ran
        runnable += ran
    return reports, runnable


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
    reports: list[ShardReport] = []
    recorded = Recorded()
    summary.follow(
        lambda: audit_figures(
            reports, earlier=recorded if args.resume else None, engine=args.engine
        )
    )
    started = time.monotonic()
    if args.org:
        organization = Organization(member_role=_member_role(args), ous=args.ou or ())
        summary.follow(lambda: organization_figures(organization))
        try:
            shards = await _organization_shards(args, organization)
        except RunStoppedError as exc:
            print(f"sagefetch audit: {stop_message(exc)}", file=sys.stderr)
            return EXIT_USAGE if isinstance(exc, ConfigurationError) else EXIT_STOPPED
    listings: list[AccountRegions] = []
    if _all_regions(args):
        summary.follow(lambda: regions_figures(listings))
        listings = await list_enabled_regions(
            shards,
            call_timeout=args.timeout,
            max_attempts=args.max_attempts,
            max_rate=args.max_rate,
            concurrency=args.max_shards,
        )
    reports, runnable = _reports(shards, listings)
    with ExitStack() as files:
        engine = _engine(args, discovery, shards=len(runnable), files=files)
        out, recorded = open_output(
            args.output,
            fmt,
            resume=args.resume,
            reads=[*files_read(), *reads],
            files=files,
            origin=True,
        )
        with JobProgress(
            enabled=shows_progress(args.progress, stderr), total=None, console=stderr, label="audit"
        ) as bar:
            try:
                await run_audit(
                    runnable,
                    engine,
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
    if listings:
        skipped = sum(len(account.not_enabled) for account in listings)
        stderr.print(
            f"--regions all: {skipped:,} SageMaker regions not enabled in their account "
            f"skipped ({len(listings):,} accounts).",
            highlight=False,
        )
    failed_output = [r.stopped for r in reports if isinstance(r.stopped, OutputError)]
    if failed_output:
        # The same for every shard.
        print(f"sagefetch audit: {stop_message(failed_output[0])}", file=sys.stderr)
    else:
        for report in reports:
            if report.stopped is not None:
                # With --regions all, an account whose regions were not listed has none.
                where = report.shard.who if listings and not report.shard.region else None
                shard = printable(where or report.shard.name)
                message = stop_message(report.stopped)
                print(f"sagefetch audit: {shard}: {message}", file=sys.stderr)
    return audit_exit_code(reports, earlier_failed=recorded.failed)
