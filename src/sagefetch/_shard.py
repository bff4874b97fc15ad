"""One shard, one (account, region): the unit any engine runs, in-process or on a cluster.

    fetch_shard(ShardSpec) ─ own fetcher (client, limiter) ─ discover ─▶ describe
        ─▶ ShardChunk, ShardChunk, ... ─▶ ShardResult (last)

SageMaker's limits hold per account per region, so a shard has its own client
and rate limiter, and is never split. The spec names where the credentials
come from (a profile, a role to assume, the standard chain), never the
credentials themselves: whoever runs the shard resolves them, so a spec can
be shipped to another process or machine. ``sagefetch audit`` runs every shard
through :func:`fetch_shard`, in this process (``--engine local``) or in Ray
actors (``--engine ray``).
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._arns import MAX_ARNS_PER_CALL
from ._discovery import Discovery
from ._exceptions import RunStoppedError
from ._fetcher import ModelPackageFetcher
from ._outcomes import Described, FetchStats
from ._redact import mask_text

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Container, Sequence
    from datetime import datetime

    from ._discovery import ApprovalStatus
    from ._outcomes import Failed, Outcome

__all__ = ["ShardChunk", "ShardResult", "ShardSpec", "fetch_shard", "run_shard", "shard_fetcher"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardSpec:
    """One (account, region) and where its credentials come from: names, never secrets.

    Args:
        region: The shard's region (``None``: the profile's or the environment's).
        profile: AWS profile of the credentials (``None``: the standard chain).
        role_arn: A role to assume with those credentials (the account to audit).
        endpoint_url: SageMaker endpoint (for example a local one).
    """

    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True, slots=True)
class ShardChunk:
    """Outcomes of one shard, in the order they came, and its counts so far."""

    outcomes: tuple[Outcome, ...]
    skipped: int
    """ARNs discovery found that ``skip`` holds, since the chunk before (not described)."""
    stats: FetchStats
    """The shard's fetcher's counts so far."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardResult:
    """How one shard went: the last item :func:`fetch_shard` yields.

    A shard that could not go on (credentials, permissions, deadline) has
    ``stopped`` set: the outcomes it yielded are complete and true, the
    others were not described and can be asked for again.
    """

    shard: ShardSpec
    described: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    """Failed outcomes by error code."""
    skipped: int = 0
    """ARNs found that ``skip`` held: not described again."""
    stats: FetchStats = field(default_factory=FetchStats)
    elapsed: float = 0.0
    """Seconds from the start of the shard to its end."""
    stopped: RunStoppedError | None = None

    @property
    def failed(self) -> int:
        """Failed outcomes yielded."""
        return sum(self.failures.values())

    def to_json(self) -> dict[str, Any]:
        """The result as JSON types only (for an engine that ships JSON: Step Functions)."""
        stopped = self.stopped
        return {
            "region": self.shard.region,
            "profile": self.shard.profile,
            "role_arn": self.shard.role_arn,
            "described": self.described,
            "failed": self.failed,
            "failures": dict(sorted(self.failures.items())),
            "skipped": self.skipped,
            "calls": self.stats.calls,
            "throttled": self.stats.throttled,
            "retries": self.stats.retries,
            "elapsed": round(self.elapsed, 3),
            "stopped": None
            if stopped is None
            else {
                "error": type(stopped).__name__,
                "code": stopped.code,
                "message": mask_text(str(stopped)),
            },
        }


def fetch_shard(
    shard: ShardSpec,
    *,
    groups: Sequence[str] | None = None,
    approval_status: ApprovalStatus | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    unversioned: bool = True,
    list_concurrency: int | None = None,
    skip: Container[str] = frozenset(),
    chunk_size: int = 100,
    chunk_interval: float = 0.5,
    max_concurrency: int = 16,
    max_rate: float | None = None,
    batch_size: int = MAX_ARNS_PER_CALL,
    timeout: float = 30.0,
    max_attempts: int = 8,
    deadline: float | None = None,
) -> AsyncGenerator[ShardChunk | ShardResult, None]:
    """Discover and describe every model package of one shard, with a fetcher of its own.

    Yields the outcomes in chunks as they come, then one :class:`ShardResult`.
    Close it with ``contextlib.aclosing`` if you stop early::

        async with aclosing(fetch_shard(ShardSpec(region="eu-west-1"))) as items:
            async for item in items:
                if isinstance(item, ShardChunk):
                    write(item.outcomes)
                else:
                    report(item)

    Args:
        shard: The (account, region) and where its credentials come from.
        groups: Names or ARNs of model package groups; ``None`` lists every group.
        approval_status: Only packages with this ``ModelApprovalStatus``.
        created_after: Only packages created after this time.
        created_before: Only packages created before this time.
        unversioned: With ``groups=None``, also packages outside any group.
        list_concurrency: Groups listed at once (default: ``max_concurrency``).
        skip: ARNs (and group keys of failed groups) already recorded: not
            described again, counted in ``skipped`` (a resumed run's output).
        chunk_size: Outcomes per chunk, at most.
        chunk_interval: Seconds after which a chunk goes with fewer outcomes
            (checked as outcomes come: chunks only go when outcomes do).
        max_concurrency: Describe calls in flight at once.
        max_rate: Calls per second at most (default: as the service allows).
        batch_size: ARNs per call.
        timeout: Seconds for one call.
        max_attempts: Attempts per call.
        deadline: Seconds for the whole shard; past it, the shard stops.

    Raises:
        ValueError: a setting or a filter is not one the fetcher or the API
            accepts (before any call). A shard that stops is a result, not an error.
    """
    discovery = Discovery(
        groups=groups,
        approval_status=approval_status,
        created_after=created_after,
        created_before=created_before,
        unversioned=unversioned,
        concurrency=list_concurrency,
    )
    fetcher = shard_fetcher(
        shard,
        max_concurrency=max_concurrency,
        max_rate=max_rate,
        batch_size=batch_size,
        timeout=timeout,
        max_attempts=max_attempts,
        deadline=deadline,
    )
    return run_shard(
        shard,
        fetcher,
        discovery,
        skip=skip,
        chunk_size=chunk_size,
        chunk_interval=chunk_interval,
    )


def shard_fetcher(shard: ShardSpec, **settings: Any) -> ModelPackageFetcher:
    """The shard's own fetcher (client, limiter), with ``ModelPackageFetcher`` keywords.

    Raises:
        ValueError: ``settings`` are not ones a fetcher accepts.
    """
    return ModelPackageFetcher(
        region_name=shard.region,
        profile_name=shard.profile,
        role_arn=shard.role_arn,
        endpoint_url=shard.endpoint_url,
        **settings,
    )


async def run_shard(
    shard: ShardSpec,
    fetcher: ModelPackageFetcher,
    discovery: Discovery,
    *,
    skip: Container[str],
    chunk_size: int,
    chunk_interval: float,
) -> AsyncGenerator[ShardChunk | ShardResult, None]:
    """:func:`fetch_shard` with its fetcher made and its filters checked."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size!r}")
    started = time.monotonic()
    described = 0
    failures: Counter[str] = Counter()
    skipped = [0, 0]  # in all, and since the last chunk
    stopped: RunStoppedError | None = None

    async def unrecorded(
        items: AsyncGenerator[str | Failed, None],
    ) -> AsyncIterator[str | Failed]:
        async with aclosing(items):
            async for item in items:
                if (item if isinstance(item, str) else item.arn) in skip:
                    skipped[0] += 1
                    skipped[1] += 1
                else:
                    yield item

    def chunk(outcomes: list[Outcome]) -> ShardChunk:
        new, skipped[1] = skipped[1], 0
        return ShardChunk(tuple(outcomes), new, fetcher.stats)

    pending: list[Outcome] = []
    since = time.monotonic()
    try:
        async with fetcher:
            found = unrecorded(fetcher._discover(discovery))
            async with aclosing(fetcher.stream(found)) as outcomes:
                async for outcome in outcomes:
                    if isinstance(outcome, Described):
                        described += 1
                    else:
                        failures[outcome.code] += 1
                    if not pending:
                        since = time.monotonic()
                    pending.append(outcome)
                    if len(pending) >= chunk_size or time.monotonic() - since >= chunk_interval:
                        yield chunk(pending)
                        pending = []
    except RunStoppedError as exc:  # what was yielded is complete and true
        stopped = exc
    if pending or skipped[1]:
        yield chunk(pending)
    yield ShardResult(
        shard=shard,
        described=described,
        failures=dict(failures),
        skipped=skipped[0],
        stats=fetcher.stats,
        elapsed=time.monotonic() - started,
        stopped=stopped,
    )
