"""``sagefetch describe``: the ARNs of a file (or stdin), one record per distinct ARN."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, BinaryIO

from sagefetch._exceptions import ConfigurationError
from sagefetch._fetcher import ModelPackageFetcher

from ._exits import UsageError
from ._input import ArnReader, open_input
from ._job import run_job
from ._parser import fetcher_settings
from ._progress import JobProgress, print_summary, shows_progress, stop_message
from ._records import Format, OutputError, files_read, open_output, writer_for
from ._reports import JobReport, exit_code
from ._summary import job_figures

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from ._records import RecordWriter
    from ._summary import RunSummary

__all__ = ["describe", "describe_into"]


async def describe(args: argparse.Namespace, stderr: Console, summary: RunSummary) -> int:
    """Run ``sagefetch describe``; returns the exit code. ``summary`` follows its counts."""
    fmt: Format = args.format
    try:  # before the output is opened: a bad option leaves it as it was
        fetcher = ModelPackageFetcher(
            region_name=args.region,
            profile_name=args.profile,
            endpoint_url=args.endpoint_url,
            **fetcher_settings(args),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    with ExitStack() as files:
        progress = shows_progress(args.progress, stderr)
        source, total = open_input(args.arn_file, files, count=progress)
        out, recorded = open_output(
            args.output, fmt, resume=args.resume, reads=files_read(args.arn_file), files=files
        )
        report = JobReport(earlier_described=recorded.described, earlier_failed=recorded.failed)
        summary.follow(lambda: job_figures(report))
        await describe_into(
            fetcher,
            source,
            writer_for(fmt, out),
            recorded.arns,
            header=out.empty,
            total=total,
            progress=progress,
            stderr=stderr,
            report=report,
        )
        try:  # Parquet's last rows: a failure here stops the run like any other write's
            out.close()
        except OutputError as exc:
            report.stopped = report.stopped or exc
    print_summary(stderr, report)
    if report.stopped is not None:
        print(f"sagefetch describe: {stop_message(report.stopped)}", file=sys.stderr)
    return exit_code(report)


async def describe_into(
    fetcher: ModelPackageFetcher,
    source: BinaryIO,
    writer: RecordWriter,
    recorded: set[str],
    *,
    header: bool,
    total: int | None,
    progress: bool,
    stderr: Console,
    report: JobReport | None = None,
) -> JobReport:
    """Describe the ARNs of ``source`` into ``writer``: the code path of describe and demo.

    ``header``: the output is new, so it starts with the format's header.
    ``report``: filled in as the job goes (a new one if not given), and returned.
    """
    report = report if report is not None else JobReport()
    with JobProgress(enabled=progress, total=total, console=stderr) as bar:
        try:
            if header:
                writer.header()
            async with fetcher:
                await run_job(
                    fetcher=fetcher,
                    reader=ArnReader(source),
                    writer=writer,
                    recorded=recorded,
                    progress=bar,
                    report=report,
                )
        except (ConfigurationError, OutputError) as exc:
            report.stopped = exc
    return report
