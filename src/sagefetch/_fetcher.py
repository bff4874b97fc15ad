"""The pipeline: ARNs in, one outcome per distinct ARN out.

    input ─read, dedupe, check─▶ batches (bounded) ─▶ N workers ─▶ outcomes (bounded) ─▶ caller
                 │ invalid ARNs ─────────────────────────────────────────▲
    each worker: limiter slot → call (tenacity retries) → split / re-request → outcomes

Backpressure comes from the two bounded memory object streams: the input is
read only as fast as workers take batches, and workers stop when the caller
stops reading.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import time
import warnings
from collections import Counter
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Self, TypedDict

import anyio
import anyio.lowlevel
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from . import _telemetry
from ._arn_problems import describe_invalid_arn, describe_stray_character
from ._arns import MAX_ARNS_PER_CALL, is_valid_arn
from ._calls import CallFailedError, CallGuard
from ._credentials import assume_role, role_account
from ._decode import fast_data_loader, validated_answers
from ._discovery import ApprovalStatus, Discovery, list_packages
from ._exceptions import (
    ClientRetriesWarning,
    DeadlineExceededError,
    ErrorKind,
    RunStoppedError,
    classify_code,
    classify_error,
    normalize_code,
)
from ._limiter import AdaptiveRateLimiter
from ._log import get_logger
from ._lookups import Lookups, OutcomeSink, check_lookup_options
from ._outcomes import INVALID_ARN, MISSING_FROM_RESPONSE, Described, Failed, FetchStats, Outcome
from ._redact import mask_text
from ._retry import retry_wait
from ._seen import SeenArns
from ._version import __version__

if TYPE_CHECKING:
    from datetime import datetime
    from types import TracebackType

    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from types_aiobotocore_sagemaker.client import SageMakerClient
    from types_aiobotocore_sagemaker.type_defs import (
        BatchDescribeModelPackageErrorTypeDef,
        BatchDescribeModelPackageOutputTypeDef,
        BatchDescribeModelPackageSummaryTypeDef,
    )

__all__ = ["DescribeAllResult", "ModelPackageFetcher"]

_log = get_logger()

_CHECKPOINT_EVERY: Final = 512

#: What ``stream`` reads: ARNs, and ``Failed`` items (discovery's unlisted groups)
#: that pass through as they are.
Input = Iterable[str | Failed] | AsyncIterable[str | Failed]


class DescribeAllResult(TypedDict):
    """``describe_all``'s answer, shaped like one merged API response."""

    ModelPackageSummaries: dict[str, BatchDescribeModelPackageSummaryTypeDef]
    """Described packages by ARN."""
    BatchDescribeModelPackageErrorMap: dict[str, BatchDescribeModelPackageErrorTypeDef]
    """Every other ARN, with the code and message of its ``Failed`` outcome."""


@dataclass
class _Run:
    """One call of :meth:`ModelPackageFetcher.stream`."""

    scope: anyio.CancelScope
    deadline: float | None
    counts: Counter[str] = field(default_factory=Counter)
    """This run's own counts (the fetcher's add up every run)."""
    error: BaseException | None = None
    abandoned: bool = False
    """The caller stopped reading (or was cancelled)."""
    finished: bool = False
    """The run task got to its end (rather than being cancelled from outside)."""
    batch_ids: Iterator[int] = field(default_factory=itertools.count)
    ended: anyio.Event = field(default_factory=anyio.Event)
    """Set when the run task has returned, whatever the reason."""


class ModelPackageFetcher:
    """Describes model packages in bulk: batched, concurrent, rate-limited, retried.

    Use it as an async context manager. Pass an aiobotocore SageMaker client you
    own, or let the fetcher open one from the standard credential chain::

        async with ModelPackageFetcher(region_name="eu-west-1") as fetcher:
            async for outcome in fetcher.stream(arns):
                ...

    Args:
        client: An aiobotocore SageMaker client. Its own retries should be off
            (``retries={"total_max_attempts": 1}``): sagefetch retries.
        region_name: Region for a client the fetcher opens itself.
        profile_name: AWS profile for that client (default: the credential chain).
        role_arn: IAM role for that client to assume (STS ``AssumeRole``) with the
            profile's (or the chain's) credentials; refreshed before it expires.
        endpoint_url: Endpoint for that client (for example a local SageMaker).
        max_concurrency: Most calls in flight at once.
        max_rate: Hard ceiling in calls per second; ``None`` lets the limiter
            find the server's limit. Not allowed together with ``limiter``.
        batch_size: ARNs per call, 1..100.
        timeout: Seconds one call may take before it counts as failed (and is retried).
        max_attempts: Most calls for one batch before its ARNs fail; also the most
            answers that may leave an ARN out (or fail it retryably) before it fails.
        deadline: Seconds the whole of one run may take; past it the run stops
            with :class:`~sagefetch.DeadlineExceededError`.
        limiter: A limiter shared with other fetchers on the same account and region.
        linger: Seconds :meth:`describe` waits for more ARNs before it sends a
            batch that is not full (0: send at once; a full batch goes at once).
        cache_ttl: Seconds :meth:`describe` keeps an outcome to answer repeats
            without a call; ``None`` (the default) keeps none.
        cache_size: Most outcomes that cache holds (least recently used go first).
        validate_arns: Refuse ARNs that break the service's pattern locally
            (``InvalidArn``, no call). Turn off if the service ever accepts ARNs
            the documented pattern does not: the pipeline then isolates the ones
            the service rejects by splitting batches.
    """

    def __init__(
        self,
        client: SageMakerClient | None = None,
        *,
        region_name: str | None = None,
        profile_name: str | None = None,
        role_arn: str | None = None,
        endpoint_url: str | None = None,
        max_concurrency: int = 16,
        max_rate: float | None = None,
        batch_size: int = MAX_ARNS_PER_CALL,
        timeout: float = 30.0,
        max_attempts: int = 8,
        deadline: float | None = None,
        limiter: AdaptiveRateLimiter | None = None,
        validate_arns: bool = True,
        linger: float = 0.005,
        cache_ttl: float | None = None,
        cache_size: int = 10_000,
    ) -> None:
        if not 1 <= batch_size <= MAX_ARNS_PER_CALL:
            raise ValueError(
                f"batch_size must be 1..{MAX_ARNS_PER_CALL} (the API's limit), got {batch_size!r}"
            )
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        if deadline is not None and not deadline > 0:
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        if client is not None and (region_name or profile_name or role_arn or endpoint_url):
            raise ValueError(
                "pass either a client or region_name/profile_name/role_arn/endpoint_url, "
                "not both\n"
                "HINT: configure your own client with those settings instead."
            )
        check_lookup_options(linger, cache_ttl, cache_size)
        if limiter is not None and max_rate is not None:
            raise ValueError(
                "max_rate belongs to the shared limiter\n"
                "HINT: AdaptiveRateLimiter(max_rate=...) and pass it as limiter=."
            )
        self._client = client
        self._owns_client = client is None
        self._client_settings = {
            "region_name": region_name,
            "profile_name": profile_name,
            "role_arn": role_arn,
            "endpoint_url": endpoint_url,
        }
        if role_arn is not None:
            role_account(role_arn)
        self.max_concurrency = max_concurrency
        self.batch_size = batch_size
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.deadline = deadline
        self.validate_arns = validate_arns
        self.linger = linger
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self.limiter = limiter if limiter is not None else AdaptiveRateLimiter(max_rate=max_rate)
        self._guard = CallGuard(
            limiter=self.limiter, timeout=self.timeout, max_attempts=self.max_attempts
        )
        """Makes every call; holds every run's counts, by ``FetchStats`` field name."""
        self._stack: AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None
        self._lookups: Lookups | None = None

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this ModelPackageFetcher is already open")
        _require_asyncio()
        async with AsyncExitStack() as stack:
            if self._owns_client:
                try:
                    self._client = await stack.enter_async_context(self._open_client())
                except Exception as exc:
                    raise classify_error(exc).stop_error() from exc
            else:
                self._check_client_retries()
            # Every answer is checked before anything reads it, on a caller's client
            # too; leaving the stack restores that client exactly.
            stack.enter_context(validated_answers(self._client))
            self._task_group = await stack.enter_async_context(anyio.create_task_group())
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, task_group, lookups = self._stack, self._task_group, self._lookups
        self._stack = self._task_group = self._lookups = None
        if lookups is not None:
            lookups.close()
        if task_group is not None:
            # Streams the caller walked away from have nothing left to do.
            task_group.cancel_scope.cancel()
        if stack is not None:
            # The caller's exception is theirs: passing it in would make the task
            # group wrap it in an ExceptionGroup.
            await stack.__aexit__(None, None, None)
        if self._owns_client:
            self._client = None

    def _open_client(self) -> Any:
        settings = self._client_settings
        session = AioSession(profile=settings["profile_name"])
        session.register_component("data_loader", fast_data_loader(session))
        region = settings["region_name"] or _region_from_environment()
        if settings["role_arn"] is not None:
            assume_role(session, settings["role_arn"], region)
        config = AioConfig(
            max_pool_connections=max(self.max_concurrency, 10),
            retries={"mode": "standard", "total_max_attempts": 1},
            # The pipeline checks every ARN and the batch size itself; botocore's
            # walk over 100 ARNs per call would cost more than decoding the answer.
            parameter_validation=False,
            connect_timeout=min(self.timeout, 10.0),
            read_timeout=self.timeout,
            user_agent_extra=f"sagefetch/{__version__}",
        )
        return session.create_client(
            "sagemaker",
            region_name=region,
            endpoint_url=settings["endpoint_url"],
            config=config,
        )

    def _check_client_retries(self) -> None:
        retries = getattr(getattr(self._client, "meta", None), "config", None)
        settings = getattr(retries, "retries", None) or {}
        attempts = settings.get("total_max_attempts", (settings.get("max_attempts") or 4) + 1)
        if attempts > 1:
            warnings.warn(
                f"this SageMaker client makes up to {attempts} attempts per call by itself: "
                "attempts multiply with sagefetch's, and throttles it retries never reach "
                "sagefetch's limiter\n"
                "HINT: create the client with AioConfig(retries={'total_max_attempts': 1}).",
                ClientRetriesWarning,
                # user code -> __aenter__ -> here
                stacklevel=3,
            )

    # -- public API ------------------------------------------------------------

    @property
    def stats(self) -> FetchStats:
        """Counts so far, over every run of this fetcher, and the limiter's rate."""
        return FetchStats(**self._guard.counts, rate=self.limiter.rate)

    async def stream(self, arns: Input) -> AsyncGenerator[Outcome, None]:
        """Yield one outcome per distinct ARN of ``arns``, as batches complete.

        ``arns`` is read lazily; an async generator is closed when the run ends
        (so ``stream(fetcher.discover())`` needs no closing of its own).
        Duplicates are skipped (counted in ``stats``);
        ARNs the service would refuse fail locally as ``InvalidArn``. ``Failed``
        items (what :meth:`discover` yields for a group it could not list) are
        yielded as they are.

        Raises:
            RunStoppedError: credentials, permissions or configuration make every
                call fail, or the deadline passed. Outcomes already yielded are valid.
            TypeError: ``arns`` is a single string.
        """
        if isinstance(arns, str | bytes):
            raise TypeError("arns must be an iterable of ARNs, not a single string")
        task_group = self._require_open()
        deadline = None if self.deadline is None else anyio.current_time() + self.deadline
        run = _Run(scope=anyio.CancelScope(deadline=deadline or float("inf")), deadline=deadline)
        # Outcomes travel in chunks (one per settled part of a batch): a stream
        # operation per ARN would cost more CPU than decoding the answers.
        send, receive = anyio.create_memory_object_stream[list[Outcome]](self.max_concurrency)
        task_group.start_soon(self._run, arns, send, run)
        with receive:
            try:
                async for chunk in receive:
                    for outcome in chunk:
                        yield outcome
            finally:
                run.abandoned = True
                run.scope.cancel()
                # Wait for the run to unwind, so its input is closed and no call
                # is left in flight once the caller is past this stream.
                with anyio.CancelScope(shield=True):
                    await run.ended.wait()
        if run.error is not None:
            raise run.error
        if not run.finished:
            raise RunStoppedError(
                "the fetcher was closed before this run finished\n"
                "HINT: consume stream() inside 'async with ModelPackageFetcher(...)'."
            )

    async def describe_all(self, arns: Input) -> DescribeAllResult:
        """Describe every ARN and merge the outcomes like one API response.

        Raises:
            RunStoppedError: as :meth:`stream`.
        """
        summaries: dict[str, BatchDescribeModelPackageSummaryTypeDef] = {}
        errors: dict[str, BatchDescribeModelPackageErrorTypeDef] = {}
        async with aclosing(self.stream(arns)) as outcomes:
            async for outcome in outcomes:
                if isinstance(outcome, Described):
                    summaries[outcome.arn] = outcome.summary
                else:
                    errors[outcome.arn] = {
                        "ErrorCode": outcome.code,
                        "ErrorResponse": outcome.message,
                    }
        return {"ModelPackageSummaries": summaries, "BatchDescribeModelPackageErrorMap": errors}

    async def describe(self, arn: str) -> Outcome:
        """Describe one package, sharing calls with every concurrent request.

        For services: call it from any number of tasks. ARNs asked for at about
        the same time (within ``linger``, or until a batch is full) go in one
        call, through the same limiter, retries and classification as
        :meth:`stream`; concurrent requests for one ARN share one lookup, and
        with ``cache_ttl`` recent outcomes answer repeats. A request that is
        cancelled leaves the call to the others. For a budget per request, wrap
        it in ``anyio.fail_after`` (the fetcher's ``deadline`` is per run of
        :meth:`stream`).

        Raises:
            RunStoppedError: credentials, permissions or configuration make
                calls fail, no answer came after retries, or the fetcher closed
                before the lookup finished.
            TypeError: ``arn`` is not a string.
        """
        [outcome] = await self.describe_many([arn])
        return outcome

    async def describe_many(self, arns: Iterable[str]) -> list[Outcome]:
        """Describe a few packages, coalesced as :meth:`describe`, in the order of ``arns``.

        A repeated ARN gets the same outcome at each of its places. For many
        thousands, :meth:`stream` reads lazily and keeps memory flat.

        Raises:
            RunStoppedError: as :meth:`describe`.
            TypeError: ``arns`` is a single string, or holds something else than strings.
        """
        if isinstance(arns, str | bytes):
            raise TypeError("arns must be an iterable of ARNs, not a single string")
        wanted = list(arns)
        for arn in wanted:
            if not isinstance(arn, str):
                raise TypeError(f"ARNs must be strings, got {type(arn).__name__}")
        lookups = self._open_lookups()
        if not self.validate_arns:
            return await lookups.describe(wanted)
        refused: dict[str, Outcome] = {}
        for arn in wanted:
            if arn not in refused and not is_valid_arn(arn):
                refused[arn] = Failed(arn, INVALID_ARN, describe_invalid_arn(arn), 0)
        if refused:
            self._guard.counts.update(invalid=len(refused), failed=len(refused))
            _telemetry.count_outcomes(list(refused.values()), 0)
        found = iter(await lookups.describe([arn for arn in wanted if arn not in refused]))
        return [refused[arn] if arn in refused else next(found) for arn in wanted]

    def _open_lookups(self) -> Lookups:
        task_group = self._require_open()
        if self._lookups is None:
            # What describe() counts under: it has no run of its own.
            run = _Run(scope=anyio.CancelScope(), deadline=None)

            async def send_batch(
                batch: list[str], outcomes: OutcomeSink, sent: Callable[[], None]
            ) -> None:
                await self._describe_batch(next(run.batch_ids), batch, outcomes, run, sent=sent)

            self._lookups = Lookups(
                send_batch=send_batch,
                task_group=task_group,
                batch_size=self.batch_size,
                max_concurrency=self.max_concurrency,
                linger=self.linger,
                cache_ttl=self.cache_ttl,
                cache_size=self.cache_size,
                count=lambda name: self._guard.bump(run.counts, name),
            )
        return self._lookups

    def discover(
        self,
        *,
        groups: Sequence[str] | None = None,
        approval_status: ApprovalStatus | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        unversioned: bool = True,
        concurrency: int | None = None,
    ) -> AsyncGenerator[str | Failed, None]:
        """Yield the ARN of every model package selected, listing lazily.

        Lists every group (``ListModelPackageGroups``) or the chosen ones, and
        their versions (``ListModelPackages``), through this fetcher's limiter
        and retries; listing stays only a few pages ahead of the caller. Feed
        the result to :meth:`stream`, which closes it when its run ends::

            found = fetcher.discover(approval_status="Approved")
            async with aclosing(fetcher.stream(found)) as outcomes:
                async for outcome in outcomes: ...

        Args:
            groups: Names or ARNs of groups; ``None`` lists every group.
            approval_status: Only packages with this ``ModelApprovalStatus``.
            created_after: Only packages created after this time.
            created_before: Only packages created before this time.
            unversioned: With ``groups=None``, also packages outside any group.
            concurrency: Groups listed at once (default: ``max_concurrency``).

        Yields:
            Package ARNs, and a ``Failed`` item (keyed by the group's ARN, or its
            name as given) for each group that does not exist or could not be listed.

        Raises:
            RunStoppedError: listing cannot go on (credentials, permissions), or
                the groups themselves, or the packages outside groups, could not
                be listed (there is no group to record that failure under).
            ValueError: a filter is not one the API accepts.
        """
        discovery = Discovery(
            groups=groups,
            approval_status=approval_status,
            created_after=created_after,
            created_before=created_before,
            unversioned=unversioned,
            concurrency=concurrency,
        )
        return self._discover(discovery)

    async def _discover(self, discovery: Discovery) -> AsyncGenerator[str | Failed, None]:
        if discovery.concurrency is None:
            discovery = dataclasses.replace(discovery, concurrency=self.max_concurrency)
        task_group = self._require_open()
        client = self._client
        assert client is not None, "the fetcher is open"
        scope = anyio.CancelScope()
        errors: list[BaseException] = []
        send, receive = anyio.create_memory_object_stream[list[str | Failed]](self.max_concurrency)

        async def run() -> None:
            with scope:
                try:
                    await list_packages(client, self._guard, discovery, send, Counter())
                except* RunStoppedError as group:
                    errors.append(group.exceptions[0])
                except* (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass  # the caller stopped listening
                except* Exception as group:  # noqa: BLE001 - a bug: hand it to the caller, not the fetcher
                    errors.append(group.exceptions[0] if len(group.exceptions) == 1 else group)

        task_group.start_soon(run)
        with receive:
            try:
                async for page in receive:
                    for item in page:
                        yield item
            finally:
                scope.cancel()
        if errors:
            raise errors[0]

    def _require_open(self) -> TaskGroup:
        if self._task_group is None:
            raise RuntimeError(
                "ModelPackageFetcher is not open\n"
                "HINT: use it as 'async with ModelPackageFetcher(...) as fetcher:'"
            )
        return self._task_group

    # -- the run ---------------------------------------------------------------

    async def _run(
        self,
        arns: Input,
        outcomes: MemoryObjectSendStream[list[Outcome]],
        run: _Run,
    ) -> None:
        try:
            await self._run_to_the_end(arns, outcomes, run)
        finally:
            run.ended.set()

    async def _run_to_the_end(
        self,
        arns: Input,
        outcomes: MemoryObjectSendStream[list[Outcome]],
        run: _Run,
    ) -> None:
        started = time.monotonic()
        # Current before the workers start: they inherit it, and their calls are its children.
        with _telemetry.run_span(run.counts) as span:
            try:
                with run.scope:
                    async with outcomes, anyio.create_task_group() as workers:
                        batches_in, batches_out = anyio.create_memory_object_stream[list[str]]()
                        async with batches_out:
                            for _ in range(self.max_concurrency):
                                workers.start_soon(
                                    self._work, batches_out.clone(), outcomes.clone(), run
                                )
                        await self._read(arns, batches_in, outcomes, run)
            except* RunStoppedError as group:
                run.error = group.exceptions[0]
            except* (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the caller stopped listening
            except* Exception as group:  # noqa: BLE001 - a bug: hand it to the caller, not the fetcher
                run.error = group.exceptions[0] if len(group.exceptions) == 1 else group
            if (
                run.error is None
                and not run.abandoned
                and run.scope.cancelled_caught
                and run.deadline is not None
            ):
                run.error = DeadlineExceededError(
                    f"the run's deadline of {self.deadline} s passed "
                    "before every ARN had an outcome\n"
                    "HINT: raise the deadline, or resume with the ARNs that have no outcome yet."
                )
            span.stopped_by(run.error)
        run.finished = True
        counts = run.counts
        _log.info(
            "sagefetch.run_finished",
            described=counts["described"],
            failed=counts["failed"],
            duplicates=counts["duplicates"],
            calls=counts["calls"],
            throttled=counts["throttled"],
            retries=counts["retries"],
            rate=round(self.limiter.rate, 2),
            elapsed=round(time.monotonic() - started, 3),
            stopped=type(run.error).__name__ if run.error is not None else None,
        )

    async def _read(
        self,
        arns: Input,
        batches: MemoryObjectSendStream[list[str]],
        outcomes: MemoryObjectSendStream[list[Outcome]],
        run: _Run,
    ) -> None:
        """Dedupe and check the input, and cut it into batches."""
        seen = SeenArns()
        seen_other: set[str] = set()
        batch: list[str] = []
        async with batches, aclosing(_iterate(arns)) as items:
            async for item in items:
                if isinstance(item, Failed):
                    # Discovery's report of a group it could not list: already an outcome.
                    if seen.add(item.arn):
                        await self._emit(outcomes, [item], run)
                    else:
                        self._bump(run, "duplicates")
                    continue
                if not isinstance(item, str):
                    # Keyed by its repr (its outcome's ARN), apart from the ARN strings.
                    key = repr(item)
                    if key in seen_other:
                        self._bump(run, "duplicates")
                        continue
                    seen_other.add(key)
                    self._bump(run, "invalid")
                    await self._emit(
                        outcomes, [Failed(key, INVALID_ARN, _not_a_string(item), 0)], run
                    )
                    continue
                if not seen.add(item):
                    self._bump(run, "duplicates")
                    continue
                if self.validate_arns and not is_valid_arn(item):
                    self._bump(run, "invalid")
                    failed = Failed(item, INVALID_ARN, describe_invalid_arn(item), 0)
                    await self._emit(outcomes, [failed], run)
                    continue
                batch.append(item)
                if len(batch) == self.batch_size:
                    await batches.send(batch)
                    batch = []
            if batch:
                await batches.send(batch)

    async def _work(
        self,
        batches: MemoryObjectReceiveStream[list[str]],
        outcomes: MemoryObjectSendStream[list[Outcome]],
        run: _Run,
    ) -> None:
        async with batches, outcomes:
            async for batch in batches:
                await self._describe_batch(next(run.batch_ids), batch, outcomes, run)

    async def _describe_batch(
        self,
        batch_id: int,
        batch: list[str],
        outcomes: OutcomeSink,
        run: _Run,
        *,
        sent: Callable[[], None] | None = None,
    ) -> None:
        """Give every ARN of ``batch`` exactly one outcome; ``sent`` hears each call go out."""
        attempts: Counter[str] = Counter()
        rerequests: Counter[str] = Counter()
        parts = [batch]
        while parts:
            part = parts.pop()
            try:
                response = await self._call(batch_id, part, attempts, run, sent)
            except CallFailedError as failure:
                error = failure.classified
                if error.kind is ErrorKind.INVALID_REQUEST and len(part) > 1:
                    half = len(part) // 2
                    parts += [part[half:], part[:half]]
                    self._bump(run, "splits")
                    _log.warning(
                        "sagefetch.batch_split", batch=batch_id, size=len(part), code=error.code
                    )
                    continue
                failed: list[Outcome] = [
                    Failed(arn, error.code, error.message, attempts[arn]) for arn in part
                ]
                await self._emit(outcomes, failed, run)
                continue
            settled, again, trouble = self._settle(response, part, attempts, rerequests)
            await self._emit(outcomes, settled, run)
            if again:
                rerequests.update(again)
                self._bump(run, "rerequested", len(again))
                _log.warning(
                    "sagefetch.batch_rerequested",
                    batch=batch_id,
                    arns=len(again),
                    code=trouble,
                )
                if trouble is not None:
                    # Throttled or failing ARNs: wait as for a whole call (a throttle has
                    # reached the limiter already, in CallGuard, which paces the retry).
                    attempt = max(rerequests[arn] for arn in again)
                    await anyio.sleep(retry_wait(attempt, classify_code(trouble)))
                parts.append(again)

    def _settle(
        self,
        response: BatchDescribeModelPackageOutputTypeDef,
        part: list[str],
        attempts: Counter[str],
        rerequests: Counter[str],
    ) -> tuple[list[Outcome], list[str], str | None]:
        """What ``response`` settles: outcomes, ARNs to ask for again, and why.

        The reason is a retryable error code of one of those ARNs, or ``None``
        when the answer just left them out.
        """
        summaries = response.get("ModelPackageSummaries") or {}
        errors = response.get("BatchDescribeModelPackageErrorMap") or {}
        settled: list[Outcome] = []
        again: list[str] = []
        trouble: str | None = None
        for arn in part:
            summary = summaries.get(arn)
            if summary is not None:
                settled.append(Described(arn, summary))
                continue
            entry = errors.get(arn)
            may_retry = rerequests[arn] < self.max_attempts - 1
            if entry is not None:
                code = mask_text(normalize_code(entry.get("ErrorCode") or "Unknown"))
                if classify_code(code).retryable and may_retry:
                    again.append(arn)
                    trouble = code
                else:
                    message = mask_text(entry.get("ErrorResponse") or "")
                    stray = describe_stray_character(arn)
                    if stray is not None:
                        # "Not found" because of an invisible character: say which.
                        message = f"{message} ({stray})" if message else stray
                    settled.append(Failed(arn, code, message, attempts[arn]))
            elif may_retry:
                again.append(arn)
            else:
                message = (
                    f"the service left this ARN out of both maps of {rerequests[arn] + 1} "
                    "successful answers"
                )
                settled.append(Failed(arn, MISSING_FROM_RESPONSE, message, attempts[arn]))
        return settled, again, trouble

    async def _call(
        self,
        batch_id: int,
        part: list[str],
        attempts: Counter[str],
        run: _Run,
        sent: Callable[[], None] | None = None,
    ) -> BatchDescribeModelPackageOutputTypeDef:
        """One describe call with retries; :class:`CallFailedError` once it cannot succeed."""
        client = self._client
        assert client is not None, "the fetcher is open"

        def on_attempt() -> None:
            attempts.update(part)
            if sent is not None:
                sent()

        return await self._guard.call(
            lambda: client.batch_describe_model_package(ModelPackageArnList=part),
            name="batch",
            operation="BatchDescribeModelPackage",
            context={"batch": batch_id, "arns": len(part)},
            counts=run.counts,
            on_attempt=on_attempt,
            throttled_inside=_throttles_inside,
        )

    async def _emit(self, outcomes: OutcomeSink, chunk: list[Outcome], run: _Run) -> None:
        described = sum(isinstance(outcome, Described) for outcome in chunk)
        self._bump(run, "described", described)
        self._bump(run, "failed", len(chunk) - described)
        _telemetry.count_outcomes(chunk, described)
        if chunk:
            await outcomes.send(chunk)

    def _bump(self, run: _Run, name: str, amount: int = 1) -> None:
        """Add to a count of this run and of the fetcher."""
        self._guard.bump(run.counts, name, amount)


async def _iterate(arns: Input) -> AsyncGenerator[object, None]:
    if isinstance(arns, AsyncGenerator):
        # Closed here, in the task that iterates it: closing it from another
        # task while this one waits in it would fail ("already running").
        async with aclosing(arns):
            async for arn in arns:
                yield arn
        return
    if isinstance(arns, AsyncIterable):
        async for arn in arns:
            yield arn
        return
    for index, arn in enumerate(arns):
        if index % _CHECKPOINT_EVERY == 0:
            # A long synchronous input must not starve the workers.
            await anyio.lowlevel.checkpoint()
        yield arn


def _throttles_inside(response: BatchDescribeModelPackageOutputTypeDef) -> bool:
    """Whether an answer throttled some of its ARNs (a throttling code in the error map)."""
    errors = response.get("BatchDescribeModelPackageErrorMap") or {}
    return any(
        classify_code(entry.get("ErrorCode") or "") is ErrorKind.THROTTLED
        for entry in errors.values()
    )


def _require_asyncio() -> None:
    """Refuse any loop but asyncio (aiobotocore runs on asyncio only), before a call fails."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "sagefetch needs the asyncio event loop (aiobotocore runs on asyncio only)\n"
            "HINT: run it with asyncio.run(...), or anyio.run(..., backend='asyncio'); "
            "from trio, call it through a worker thread that runs asyncio."
        ) from None


def _not_a_string(item: object) -> str:
    return f"input items must be ARN strings, got {type(item).__name__}"


def _region_from_environment() -> str | None:
    """``AWS_REGION`` where ``AWS_DEFAULT_REGION`` is unset, as AWS CLI v2 and other SDKs read it.

    botocore reads only ``AWS_DEFAULT_REGION`` (then the profile); returning
    None leaves the choice to it.
    """
    if os.environ.get("AWS_DEFAULT_REGION"):
        return None
    return os.environ.get("AWS_REGION") or None
