"""A describe job: ARNs from a line reader to records in an output, with progress.

``sagefetch describe`` and ``sagefetch demo`` both run this.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import TYPE_CHECKING

from sagefetch._exceptions import RunStoppedError
from sagefetch._outcomes import Described, Failed

from ._input import BadLine

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sagefetch._fetcher import ModelPackageFetcher

    from ._input import ArnReader
    from ._progress import JobProgress
    from ._records import RecordWriter
    from ._reports import JobReport

__all__ = ["INVALID_INPUT", "run_job"]

#: ``error.code`` of a line that cannot be an ARN: not UTF-8 (UTF-16/32 on a pipe
#: included), a NUL byte, far too long.
INVALID_INPUT = "InvalidInput"


async def run_job(
    *,
    fetcher: ModelPackageFetcher,
    reader: ArnReader,
    writer: RecordWriter,
    recorded: set[str],
    progress: JobProgress,
    report: JobReport,
) -> JobReport:
    """Describe every ARN ``reader`` yields that ``recorded`` lacks; fill in ``report``.

    ``report`` is filled in as the job goes, so it is complete up to the last
    record even when the job is cancelled.

    Raises:
        RunStoppedError: never; the reason is put in ``report.stopped``.
    """
    started = time.monotonic()
    duplicates_before = fetcher.stats.duplicates
    bad_seen: set[str] = set()

    def done() -> int:
        stats = fetcher.stats
        return (
            report.described
            + report.failed
            + report.resumed
            + reader.skipped
            + stats.duplicates
            - duplicates_before
        )

    async def arns() -> AsyncIterator[str]:
        async for item in reader:
            if isinstance(item, BadLine):
                if item.key in recorded:
                    report.resumed += 1
                elif item.key in bad_seen:
                    report.skipped_lines += 1
                else:
                    bad_seen.add(item.key)
                    writer.write(Failed(item.key, INVALID_INPUT, item.reason, 0))
                    report.failures[INVALID_INPUT] += 1
            elif item in recorded:
                report.resumed += 1
            else:
                yield item

    try:
        async with aclosing(fetcher.stream(arns())) as outcomes:
            async for outcome in outcomes:
                writer.write(outcome)
                if isinstance(outcome, Described):
                    report.described += 1
                else:
                    report.failures[outcome.code] += 1
                if progress.due():  # counting is cheap; building the figures is not
                    progress.update(done(), report, fetcher.stats)
    except RunStoppedError as exc:
        report.stopped = exc
    finally:
        report.skipped_lines += reader.skipped
        report.elapsed = time.monotonic() - started
        report.stats = fetcher.stats
        progress.update(done(), report, fetcher.stats)
    return report
