"""An audit: discovery plus describe, in every (account, region) shard at once.

    shard 1: fetch_shard (own client, own limiter) ─▶ chunks ─┐
    shard 2: ...                                              ├─▶ --where ─▶ one writer
    shard N: ...                                              ┘

Each shard has its own service limits, so its own client and limiter. A shard
that stops (credentials, permissions, unreachable) is reported; the others
go on. Where the shards run is the engine's business: in this process
(:class:`LocalEngine`) or in Ray actors (``_ray.RayEngine``); either way their
chunks come back here, to the one writer, which writes each ARN once.
``sagefetch audit`` runs this.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from sagefetch._fetcher import ModelPackageFetcher
from sagefetch._outcomes import Failed, FetchStats
from sagefetch._shard import ShardChunk, ShardResult, ShardSpec, run_shard, shard_fetcher

from ._records import OutputError
from ._reports import JobReport, ShardReport
from ._where import matches_all

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Collection, Sequence

    from sagefetch._discovery import Discovery
    from sagefetch._outcomes import Outcome

    from ._progress import JobProgress
    from ._records import Origin, RecordWriter
    from ._reports import Shard
    from ._where import Condition

__all__ = [
    "CHUNK_INTERVAL",
    "CHUNK_SIZE",
    "Engine",
    "LocalEngine",
    "check_settings",
    "run_audit",
    "shard_reports",
    "shard_spec",
    "total_stats",
]

#: Outcomes per chunk a shard sends to the writer, at most (about one call's worth).
CHUNK_SIZE = 100
#: Seconds after which a shard sends a chunk with fewer outcomes.
CHUNK_INTERVAL = 0.5


def total_stats(stats: Sequence[FetchStats | None]) -> FetchStats:
    """Every shard's counts added up (rates too: the total calls per second allowed)."""
    totals: dict[str, Any] = {}
    for one in stats:
        if one is None:
            continue
        for name, value in dataclasses.asdict(one).items():
            totals[name] = totals.get(name, 0) + value
    return FetchStats(**totals)


def shard_spec(shard: Shard, *, endpoint_url: str | None) -> ShardSpec:
    """What a worker needs to run ``shard``: names of credentials, never the credentials."""
    return ShardSpec(
        region=shard.region,
        profile=shard.profile,
        role_arn=shard.role_arn,
        endpoint_url=endpoint_url,
    )


def check_settings(settings: dict[str, Any]) -> None:
    """Check the fetcher settings before any shard starts (and before the output opens).

    Raises:
        ValueError: ``settings`` are not ones a fetcher accepts.
    """
    ModelPackageFetcher(**settings)


def shard_reports(shards: Sequence[Shard]) -> list[ShardReport]:
    """An empty report for each shard, in order, for :func:`run_audit` to fill in."""
    return [
        ShardReport(shard=shard, account=shard.account, region=shard.region) for shard in shards
    ]


class Engine(Protocol):
    """Where the shards run: it runs one, and its chunks and result come back."""

    def run(
        self, index: int, report: ShardReport, recorded: Collection[str]
    ) -> AsyncGenerator[ShardChunk | ShardResult, None]:
        """Run shard ``index`` (of ``report``); yield its chunks, then its result.

        ``recorded``: keys the output holds, not to be described again. The
        engine may count in ``report`` what only it knows (worker retries).
        """
        ...


@dataclass(frozen=True, slots=True)
class LocalEngine:
    """Every shard in this process, on this event loop (``--engine local``)."""

    discovery: Discovery
    settings: dict[str, Any]
    """``ModelPackageFetcher`` keywords (checked by :func:`check_settings`)."""
    endpoint_url: str | None = None

    def run(
        self, index: int, report: ShardReport, recorded: Collection[str]
    ) -> AsyncGenerator[ShardChunk | ShardResult, None]:
        """Run one shard here; ``recorded`` is read as it grows (other shards' records too)."""
        spec = shard_spec(report.shard, endpoint_url=self.endpoint_url)
        fetcher = shard_fetcher(spec, **self.settings)
        return run_shard(
            spec,
            fetcher,
            self.discovery,
            skip=recorded,
            chunk_size=CHUNK_SIZE,
            chunk_interval=CHUNK_INTERVAL,
        )


async def run_audit(
    reports: Sequence[ShardReport],
    engine: Engine,
    *,
    conditions: Sequence[Condition],
    writer: RecordWriter,
    header: bool,
    recorded: set[str],
    progress: JobProgress,
    max_shards: int = 32,
) -> None:
    """Audit every shard concurrently on ``engine``; fill in its report.

    ``reports`` (from :func:`shard_reports`) are filled in as the shards go,
    so they hold every shard's counts so far even when the audit is cancelled.

    At most ``max_shards`` shards run at once (each holds a client and its
    connection pool); the others wait their turn. ``header``: the output is
    new, so it starts with the format's header. ``recorded`` holds the keys
    already in the output; every record written is added to it, so a package
    two shards reach (two profiles of one account), or one shard twice (run
    again after its worker died), is written once. If the output fails
    (closed, disk full), every shard stops with that error.
    """

    def show() -> None:
        total = JobReport(described=sum(r.described + r.filtered for r in reports))
        for report in reports:
            total.failures.update(report.failures)
        done = total.described + total.failed + sum(r.resumed + r.duplicates for r in reports)
        progress.update(done, total, total_stats([r.stats for r in reports]))

    def tick() -> None:
        if progress.due():
            show()

    output_errors: list[OutputError] = []
    try:
        if header:
            writer.header()
        async with anyio.create_task_group() as shard_tasks:
            audit = _Audit(
                engine,
                conditions,
                writer,
                recorded,
                tick,
                anyio.Semaphore(max_shards),
                shard_tasks.cancel_scope,
                output_errors,
            )
            for index, report in enumerate(reports):
                shard_tasks.start_soon(audit.shard, index, report)
        writer.close()  # Parquet's last rows: a failure here stops the shards as any other
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

    engine: Engine
    conditions: Sequence[Condition]
    writer: RecordWriter
    recorded: set[str]
    tick: Callable[[], None]
    running: anyio.Semaphore
    everything: anyio.CancelScope
    """Cancelled when the output fails: no shard can write any more."""
    output_errors: list[OutputError]
    """How the output failed, if it did."""

    async def shard(self, index: int, report: ShardReport) -> None:
        """Run one shard on the engine and write its records; fill in ``report``."""
        async with self.running:
            started = time.monotonic()
            try:
                items = self.engine.run(index, report, self.recorded)
                async with aclosing(items):
                    async for item in items:
                        if isinstance(item, ShardChunk):
                            report.resumed += item.skipped
                            report.stats = item.stats
                            for outcome in item.outcomes:
                                self._write(outcome, report)
                            self.tick()
                        else:
                            report.stats = item.stats
                            report.stopped = item.stopped
            except OutputError as exc:
                self.output_errors.append(exc)
                self.everything.cancel()
            finally:
                report.elapsed = time.monotonic() - started
            report.finished = True

    def _write(self, outcome: Outcome, report: ShardReport) -> None:
        """Write ``outcome`` unless the output has it (or ``--where`` leaves it out)."""
        if outcome.arn in self.recorded:  # another shard (or this one, before) wrote it
            report.duplicates += 1
        elif isinstance(outcome, Failed):
            self.writer.write(outcome, _origin(outcome.arn, report))
            self.recorded.add(outcome.arn)
            report.failures[outcome.code] += 1
        elif self.conditions and not matches_all(self.conditions, outcome.summary):
            report.filtered += 1
        else:
            self.writer.write(outcome, _origin(outcome.arn, report))
            self.recorded.add(outcome.arn)
            report.described += 1


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
