"""Coalescing lookups: many concurrent ``describe(arn)`` requests share batched calls.

The DataLoader pattern (github.com/graphql/dataloader), for a service that
awaits one package per request:

    describe(arn) ─▶ cache? ─▶ pending or in flight? (single flight) ─▶ pending
    dispatcher: wait for a pending ARN ─▶ linger (or a full batch) ─▶ a free slot
                ─▶ the last batch past the limiter ─▶ send up to one batch
                ─▶ each outcome resolves its lookup

A request that is cancelled leaves its lookup to the others; a lookup every
request left before it was sent is dropped. Batches run in the fetcher's task
group, so closing the fetcher ends them, and every lookup still waiting gets
:class:`~sagefetch.RunStoppedError`.
"""

from __future__ import annotations

import contextvars
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import anyio

from ._exceptions import RunStoppedError

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ._outcomes import Outcome

__all__ = ["Lookups", "OutcomeSink", "check_lookup_options"]


class OutcomeSink(Protocol):
    """Where a batch's outcomes go, a chunk at a time (a memory object stream's shape)."""

    async def send(self, item: list[Outcome], /) -> None:
        """Take one chunk of outcomes."""


#: Describes one batch, giving each ARN exactly one outcome through the sink, and
#: calling the third argument as each call goes out (past the limiter).
SendBatch = Callable[[list[str], OutcomeSink, Callable[[], None]], Awaitable[None]]


def check_lookup_options(linger: float, cache_ttl: float | None, cache_size: int) -> None:
    """Refuse options that make no sense, with what to pass instead.

    Raises:
        ValueError: ``linger`` is negative or not finite, ``cache_ttl`` not a
            positive finite number, or ``cache_size`` below 1.
    """
    if not (math.isfinite(linger) and linger >= 0):
        raise ValueError(f"linger must be a finite number of seconds >= 0, got {linger!r}")
    if cache_ttl is not None and not (math.isfinite(cache_ttl) and cache_ttl > 0):
        raise ValueError(
            f"cache_ttl must be a positive finite number of seconds, got {cache_ttl!r}\n"
            "HINT: cache_ttl=None turns the cache off."
        )
    if cache_size < 1:
        raise ValueError(f"cache_size must be at least 1, got {cache_size!r}")


@dataclass(eq=False, slots=True)
class _Lookup:
    """One ARN asked for by one or more requests."""

    arn: str
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: Outcome | None = None
    error: BaseException | None = None
    waiters: int = 0
    """Requests waiting for it now."""


class Lookups:
    """The pending and in-flight lookups of one fetcher, and its outcome cache."""

    def __init__(
        self,
        *,
        send_batch: SendBatch,
        task_group: TaskGroup,
        batch_size: int,
        max_concurrency: int,
        linger: float,
        cache_ttl: float | None,
        cache_size: int,
        count: Callable[[str], None],
    ) -> None:
        self._send_batch = send_batch
        self._task_group = task_group
        self._batch_size = batch_size
        self._linger = linger
        self._cache_ttl = cache_ttl
        self._cache_size = cache_size
        self._count = count
        self._slots = anyio.Semaphore(max_concurrency)
        self._pending: dict[str, _Lookup] = {}
        self._in_flight: dict[str, _Lookup] = {}
        self._cache: OrderedDict[str, tuple[float, Outcome]] = OrderedDict()
        self._some_pending = anyio.Event()
        self._batch_full = anyio.Event()
        self._last_batch_sent = anyio.Event()
        self._last_batch_sent.set()
        self._dispatching = False
        self._closed = False

    async def describe(self, arns: Sequence[str]) -> list[Outcome]:
        """The outcome of each ARN, in order; repeats share one lookup.

        Raises:
            RunStoppedError: a call stopped (credentials, permissions, no
                answer after retries), or the fetcher closed first.
        """
        answers: dict[str, Outcome] = {}
        lookups: dict[str, _Lookup] = {}
        for arn in arns:
            if arn in answers or arn in lookups:
                self._count("coalesced")
                continue
            cached = self._cached(arn)
            if cached is not None:
                answers[arn] = cached
                continue
            lookups[arn] = self._lookup(arn)
        # Registered before any wait, so the dispatcher never drops a lookup
        # that some request here still wants.
        for lookup in lookups.values():
            lookup.waiters += 1
        try:
            for arn, lookup in lookups.items():
                await lookup.done.wait()
                if lookup.error is not None:
                    raise lookup.error
                assert lookup.outcome is not None, "a finished lookup has an outcome"
                answers[arn] = lookup.outcome
        finally:
            for lookup in lookups.values():
                lookup.waiters -= 1
        return [answers[arn] for arn in arns]

    def close(self) -> None:
        """Fail every lookup not yet sent: the fetcher is closing."""
        self._closed = True
        pending, self._pending = self._pending, {}
        for lookup in pending.values():
            _finish(lookup, error=_closed())

    # -- requests ------------------------------------------------------------

    def _lookup(self, arn: str) -> _Lookup:
        lookup = self._pending.get(arn) or self._in_flight.get(arn)
        if lookup is not None:
            self._count("coalesced")
            return lookup
        lookup = _Lookup(arn)
        if self._closed:
            _finish(lookup, error=_closed())
            return lookup
        self._pending[arn] = lookup
        self._some_pending.set()
        if len(self._pending) >= self._batch_size:
            self._batch_full.set()
        if not self._dispatching:
            self._dispatching = True
            # The dispatcher and its batches serve every request, so they run in an
            # empty context, not the first requester's (its trace span, its log fields).
            contextvars.Context().run(self._task_group.start_soon, self._dispatch)
        return lookup

    def _cached(self, arn: str) -> Outcome | None:
        entry = self._cache.get(arn)
        if entry is None:
            return None
        expires, outcome = entry
        if expires <= time.monotonic():
            del self._cache[arn]
            return None
        self._cache.move_to_end(arn)
        self._count("cached")
        return outcome

    # -- the dispatcher ------------------------------------------------------

    async def _dispatch(self) -> None:
        try:
            while True:
                await self._some_pending.wait()
                if self._linger > 0 and len(self._pending) < self._batch_size:
                    with anyio.move_on_after(self._linger):
                        await self._batch_full.wait()
                # Waiting for a slot, and for the last batch to get past the limiter,
                # lets more requests join the next batch: a batch formed earlier
                # would wait at the limiter with the few ARNs it had.
                await self._slots.acquire()
                await self._last_batch_sent.wait()
                batch = self._take_batch()
                if batch:
                    self._last_batch_sent = sent = anyio.Event()
                    self._task_group.start_soon(self._send, batch, sent)
                else:
                    self._slots.release()
        finally:
            self.close()

    def _take_batch(self) -> list[_Lookup]:
        batch: list[_Lookup] = []
        for arn in list(self._pending):
            lookup = self._pending.pop(arn)
            if lookup.waiters == 0:
                continue  # every request for it left before it was sent
            self._in_flight[arn] = lookup
            batch.append(lookup)
            if len(batch) == self._batch_size:
                break
        if not self._pending:
            self._some_pending = anyio.Event()
        if len(self._pending) < self._batch_size:
            self._batch_full = anyio.Event()
        return batch

    async def _send(self, batch: list[_Lookup], sent: anyio.Event) -> None:
        open_lookups = {lookup.arn: lookup for lookup in batch}
        error: BaseException | None = None
        try:
            await self._send_batch(list(open_lookups), _Resolver(self, open_lookups), sent.set)
        except RunStoppedError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a bug: the requests' to see, not the fetcher's
            error = exc
        finally:
            sent.set()
            self._slots.release()
            for lookup in open_lookups.values():
                self._in_flight.pop(lookup.arn, None)
                _finish(lookup, error=error or _closed())

    def resolve(self, lookup: _Lookup, outcome: Outcome) -> None:
        """Give ``lookup`` its outcome, and keep it in the cache if there is one."""
        self._in_flight.pop(lookup.arn, None)
        _finish(lookup, outcome=outcome)
        if self._cache_ttl is not None:
            self._cache[lookup.arn] = (time.monotonic() + self._cache_ttl, outcome)
            self._cache.move_to_end(lookup.arn)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


class _Resolver:
    """The sink of one batch: each outcome resolves its ARN's lookup."""

    __slots__ = ("_lookups", "_open")

    def __init__(self, lookups: Lookups, open_lookups: dict[str, _Lookup]) -> None:
        self._lookups = lookups
        self._open = open_lookups

    async def send(self, item: list[Outcome], /) -> None:
        for outcome in item:
            lookup = self._open.pop(outcome.arn, None)
            if lookup is not None:
                self._lookups.resolve(lookup, outcome)


def _finish(
    lookup: _Lookup, *, outcome: Outcome | None = None, error: BaseException | None = None
) -> None:
    lookup.outcome, lookup.error = outcome, error
    lookup.done.set()


def _closed() -> RunStoppedError:
    return RunStoppedError(
        "the fetcher was closed before this lookup finished\n"
        "HINT: await describe() inside 'async with ModelPackageFetcher(...)'."
    )
