"""An audit: discovery plus describe, in every (account, region) shard at once.

    shard 1: fetcher (own client, own limiter) ─ discover ─▶ stream ─┐
    shard 2: ...                                                     ├─▶ --where ─▶ one writer
    shard N: ...                                                     ┘

Each shard has its own service limits, so its own client and limiter. A shard
that stops (credentials, permissions, unreachable) is reported; the others
go on. ``sagefetch audit`` runs this.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from sagefetch._exceptions import RunStoppedError
from sagefetch._fetcher import ModelPackageFetcher
from sagefetch._outcomes import Failed, FetchStats

from ._records import OutputError
from ._reports import JobReport, ShardReport
from ._where import matches_all

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence

    from sagefetch._discovery import Discovery

    from ._progress import JobProgress
    from ._records import Origin, RecordWriter
    from ._reports import Shard
    from ._where import Condition

__all__ = ["run_audit", "shard_fetchers", "shard_reports", "total_stats"]


def total_stats(stats: Sequence[FetchStats | None]) -> FetchStats:
    """Every shard's counts added up (rates too: the total calls per second allowed)."""
    totals: dict[str, Any] = {}
    for one in stats:
        if one is None:
            continue
        for name, value in dataclasses.asdict(one).items():
            totals[name] = totals.get(name, 0) + value
    return FetchStats(**totals)


def shard_fetchers(
    shards: Sequence[Shard], *, endpoint_url: str | None = None, settings: dict[str, Any]
) -> list[ModelPackageFetcher]:
    """One fetcher per shard: its own client and its own limiter.

    Raises:
        ValueError: ``settings`` are not ones a fetcher accepts.
    """
    return [
        ModelPackageFetcher(
            region_name=shard.region,
            profile_name=shard.profile,
            role_arn=shard.role_arn,
            endpoint_url=endpoint_url,
            **settings,
        )
        for shard in shards
    ]


def shard_reports(shards: Sequence[Shard]) -> list[ShardReport]:
    """An empty report for each shard, in order, for :func:`run_audit` to fill in."""
    return [
        ShardReport(shard=shard, account=shard.account, region=shard.region) for shard in shards
    ]


async def run_audit(
    reports: Sequence[ShardReport],
    fetchers: Sequence[ModelPackageFetcher],
    *,
    discovery: Discovery,
    conditions: Sequence[Condition],
    writer: RecordWriter,
    header: bool,
    recorded: set[str],
    progress: JobProgress,
    max_shards: int = 32,
) -> None:
    """Audit every shard concurrently, each with its fetcher; fill in its report.

    ``reports`` (from :func:`shard_reports`) are filled in as the shards go,
    so they hold every shard's counts so far even when the audit is cancelled.

    At most ``max_shards`` shards run at once (each holds a client and its
    connection pool); the others wait their turn. ``header``: the output is
    new, so it starts with the format's header. ``recorded`` holds the keys
    already in the output; every record written is added to it, so a package
    two shards reach (two profiles of one account) is written once. If the
    output fails (closed, disk full), every shard stops with that error.
    """

    def show() -> None:
        total = JobReport(described=sum(r.described + r.filtered for r in reports))
        for report in reports:
            total.failures.update(report.failures)
        done = total.described + total.failed + sum(r.resumed + r.duplicates for r in reports)
        progress.update(done, total, total_stats([f.stats for f in fetchers]))

    def tick() -> None:
        if progress.due():
            show()

    output_errors: list[OutputError] = []
    try:
        if header:
            writer.header()
        async with anyio.create_task_group() as shard_tasks:
            audit = _Audit(
                discovery,
                conditions,
                writer,
                recorded,
                tick,
                anyio.Semaphore(max_shards),
                shard_tasks.cancel_scope,
                output_errors,
            )
            for fetcher, report in zip(fetchers, reports, strict=True):
                shard_tasks.start_soon(audit.shard, fetcher, report)
    except OutputError as exc:
        output_errors.append(exc)
    finally:
        show()
    if output_errors:
        for report in reports:
            report.stopped = report.stopped or output_errors[0]


@dataclass(frozen=True, slots=True)
class _Audit:
    """What every shard of one audit shares."""

    discovery: Discovery
    conditions: Sequence[Condition]
    writer: RecordWriter
    recorded: set[str]
    tick: Callable[[], None]
    running: anyio.Semaphore
    everything: anyio.CancelScope
    """Cancelled when the output fails: no shard can write any more."""
    output_errors: list[OutputError]
    """How the output failed, if it did."""

    async def shard(self, fetcher: ModelPackageFetcher, report: ShardReport) -> None:
        """Discover and describe one shard; fill in ``report``. Never raises RunStoppedError."""
        async with self.running:
            started = time.monotonic()
            try:
                await self._describe_shard(fetcher, report)
            except OutputError as exc:
                self.output_errors.append(exc)
                self.everything.cancel()
            except RunStoppedError as exc:
                report.stopped = exc
            finally:
                report.elapsed = time.monotonic() - started
                report.stats = fetcher.stats
            report.finished = True

    async def _describe_shard(self, fetcher: ModelPackageFetcher, report: ShardReport) -> None:
        recorded, writer, conditions = self.recorded, self.writer, self.conditions

        async def unrecorded(
            items: AsyncGenerator[str | Failed, None],
        ) -> AsyncIterator[str | Failed]:
            async with aclosing(items):
                async for item in items:
                    if (item if isinstance(item, str) else item.arn) in recorded:
                        report.resumed += 1
                    else:
                        yield item

        async with fetcher:
            found = unrecorded(fetcher._discover(self.discovery))
            async with aclosing(fetcher.stream(found)) as outcomes:
                async for outcome in outcomes:
                    if outcome.arn in recorded:  # another shard wrote it meanwhile
                        report.duplicates += 1
                    elif isinstance(outcome, Failed):
                        writer.write(outcome, _origin(outcome.arn, report))
                        recorded.add(outcome.arn)
                        report.failures[outcome.code] += 1
                    elif conditions and not matches_all(conditions, outcome.summary):
                        report.filtered += 1
                    else:
                        writer.write(outcome, _origin(outcome.arn, report))
                        recorded.add(outcome.arn)
                        report.described += 1
                    self.tick()


def _origin(arn: str, report: ShardReport) -> Origin:
    """Account, region and account name of a record: from its ARN, else the shard's.

    The name is the shard's when the record's account is the shard's.
    """
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        report.region = report.region or parts[3]
        report.account = report.account or parts[4]
        account, region = parts[4], parts[3]
    else:
        account, region = report.account or "", report.region or ""
    named = report.shard.account_id in (None, account)
    return account, region, report.shard.account_name if named else None
