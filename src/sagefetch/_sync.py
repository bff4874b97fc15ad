"""Blocking calls for scripts and notebooks: a whole fetch from code that is not async.

    caller ──no event loop──────────▶ asyncio.run(work)                      (this thread)
           ──inside a running loop──▶ asyncio.run(work) in a worker thread, the caller
             (Jupyter, asyncio, trio)  blocks until it ends

In a running loop the work cannot run on that loop (the caller blocks it) nor
start a second loop in its thread, so it gets a private asyncio loop in a
thread of its own, as ``asyncio.to_thread`` and ``trio.to_thread`` hand work
over. The thread carries a copy of the caller's context variables (structlog's
bound fields reach its events) without the caller's async-library marker, as
``trio.to_thread.run_sync`` and ``anyio.to_thread.run_sync`` do. Everything the
run owns (its client, its loop) is made in that thread and closed there.

Interrupts: in the caller's thread, ``asyncio.run`` answers Ctrl-C by cancelling
the run and waiting for it to unwind. The worker path does the same: a
``KeyboardInterrupt`` (or any exception) while the caller waits cancels the
run, waits for it to close its client, and is raised again. A second Ctrl-C
stops that wait; the cancelled run finishes unwinding in its daemon thread,
which never keeps the interpreter from exiting. Two things cannot reach a
blocked caller: cancelling its task (asyncio and trio deliver cancellation at
an ``await``, so it lands once the call has returned), and the first Ctrl-C
under ``asyncio.run(main())``, which asyncio.run's own handler turns into such
a cancellation; a notebook kernel raises ``KeyboardInterrupt``, and so does a
second Ctrl-C under ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from contextlib import aclosing
from typing import TYPE_CHECKING, Final, Generic, TypedDict, TypeVar, Unpack

from ._fetcher import DescribeAllResult, ModelPackageFetcher

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterable, Mapping
    from typing import Any

    from ._limiter import AdaptiveRateLimiter
    from ._outcomes import Outcome

__all__ = ["FetcherOptions", "describe_all_sync", "describe_outcomes_sync"]

T = TypeVar("T")

#: Seconds between checks while the caller waits for the worker: a lock wait is
#: not interrupted by Ctrl-C on Windows (``threading.Lock.acquire``); short ones
#: let the interrupt through between them.
_POLL_SECONDS: Final = 0.1


class FetcherOptions(TypedDict, total=False):
    """The keyword arguments of :class:`~sagefetch.ModelPackageFetcher`, without ``client``.

    ``tests/test_sync.py`` checks that the names and types stay the fetcher's.
    """

    region_name: str | None
    profile_name: str | None
    role_arn: str | None
    endpoint_url: str | None
    max_concurrency: int
    max_rate: float | None
    batch_size: int
    timeout: float
    max_attempts: int
    deadline: float | None
    limiter: AdaptiveRateLimiter | None
    validate_arns: bool


def describe_all_sync(arns: Iterable[str], **options: Unpack[FetcherOptions]) -> DescribeAllResult:
    """Describe every ARN and merge the outcomes like one API response, blocking until done.

    :meth:`ModelPackageFetcher.describe_all <sagefetch.ModelPackageFetcher.describe_all>`
    for scripts and notebooks: it opens a fetcher with ``options`` and its own
    client, and works with or without a running event loop (Jupyter, asyncio,
    trio), which it blocks while it runs. From async code,
    ``async with ModelPackageFetcher(...)`` lets that loop go on working.

    Args:
        arns: The ARNs; read in a worker thread when a loop is running.
        **options: :class:`~sagefetch.ModelPackageFetcher`'s keyword arguments
            (``region_name``, ``max_concurrency``, ...), except ``client``. A
            ``limiter`` may be shared with calls made one after another, not
            with fetchers running at the same time on another loop (it is not
            thread-safe).

    Raises:
        RunStoppedError: as ``describe_all`` (credentials, permissions, deadline).
        ValueError: an option is out of range.
        TypeError: ``client`` was passed (the fetcher opens its own), or
            ``arns`` is a single string.
        KeyboardInterrupt: after the run was cancelled and has closed its client.
    """
    _refuse_client("describe_all_sync", options)

    async def describe_all() -> DescribeAllResult:
        async with ModelPackageFetcher(**options) as fetcher:
            return await fetcher.describe_all(arns)

    return _run(describe_all)


def describe_outcomes_sync(arns: Iterable[str], **options: Unpack[FetcherOptions]) -> list[Outcome]:
    """Every outcome of :meth:`ModelPackageFetcher.stream`, in the order produced, blocking.

    One outcome per distinct ARN, as ``stream`` yields them (batches complete
    in any order). Options, loops and errors as :func:`describe_all_sync`.

    Raises:
        RunStoppedError: as ``stream``; the outcomes produced before it are lost
            with it (use the async API, or the CLI's ``--resume``, to keep them).
        ValueError: an option is out of range.
        TypeError: ``client`` was passed, or ``arns`` is a single string.
        KeyboardInterrupt: after the run was cancelled and has closed its client.
    """
    _refuse_client("describe_outcomes_sync", options)

    async def collect() -> list[Outcome]:
        async with (
            ModelPackageFetcher(**options) as fetcher,
            aclosing(fetcher.stream(arns)) as outcomes,
        ):
            return [outcome async for outcome in outcomes]

    return _run(collect)


def _refuse_client(function: str, options: Mapping[str, object]) -> None:
    if "client" in options:
        raise TypeError(
            f"{function}() opens its own client, on its own event loop: "
            "a client belongs to the loop it was made on\n"
            "HINT: pass region_name/profile_name/role_arn/endpoint_url instead, or use "
            "'async with ModelPackageFetcher(client)' in the client's own async code."
        )


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on an asyncio loop: here when none runs, else in a worker thread."""
    if not _in_event_loop():
        return asyncio.run(work())
    worker = _Worker(work)
    worker.start()
    try:
        worker.wait()
    except BaseException:
        worker.cancel()
        worker.wait()  # a second interrupt ends this wait; the run still unwinds
        raise
    return worker.result()


def _in_event_loop() -> bool:
    """Whether this thread runs an event loop: asyncio's, or any library sniffio knows (trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    # Imported by every library that sets it (trio, anyio): not imported means not set.
    sniffio = sys.modules.get("sniffio")
    if sniffio is None:
        return False
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return True


def _clear_async_library() -> None:
    """Forget the caller's async library (``anyio.run`` sets sniffio's variable) in a context."""
    sniffio = sys.modules.get("sniffio")
    if sniffio is not None:
        sniffio.current_async_library_cvar.set(None)


class _Worker(Generic[T]):
    """Runs one coroutine on a private asyncio loop in a daemon thread; cancellable from outside."""

    def __init__(self, work: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self._work = work
        self._context = contextvars.copy_context()
        self._context.run(_clear_async_library)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelled = False
        self._outcome: tuple[T] | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, name="sagefetch-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        """Block until the thread has ended; Ctrl-C interrupts the wait."""
        # An event, not Thread.join: a join that Ctrl-C interrupts can mark a
        # thread that still runs as stopped (CPython 3.11's bpo-45274 handling).
        while not self._done.wait(_POLL_SECONDS):
            pass
        self._thread.join()

    def cancel(self) -> None:
        """Cancel the run (at once if it has not started); safe from any thread."""
        with self._lock:
            self._cancelled = True
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)

    def result(self) -> T:
        """The work's return value, or its exception raised unchanged."""
        if self._error is not None:
            raise self._error
        assert self._outcome is not None, "the thread has ended"
        return self._outcome[0]

    def _main(self) -> None:
        try:
            self._outcome = (self._context.run(asyncio.run, self._guarded()),)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = exc
        finally:
            self._done.set()

    async def _guarded(self) -> T:
        task = asyncio.current_task()
        assert task is not None, "asyncio.run runs this in a task"
        with self._lock:
            if self._cancelled:
                raise asyncio.CancelledError
            self._loop, self._task = asyncio.get_running_loop(), task
        try:
            return await self._work()
        finally:
            with self._lock:
                # The loop closes after this: nothing may be scheduled on it any more.
                self._loop = self._task = None
