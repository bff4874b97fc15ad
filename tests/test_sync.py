"""Blocking calls for scripts and notebooks, and sagefetch under event loops other than asyncio."""

from __future__ import annotations

import _thread
import asyncio
import inspect
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import pytest
from botocore.exceptions import HTTPClientError

import sagefetch._fetcher
from sagefetch import (
    AccessDeniedError,
    CredentialsError,
    Described,
    ModelPackageFetcher,
    Outcome,
    RunStoppedError,
    describe_all_sync,
    describe_outcomes_sync,
)
from sagefetch._sync import FetcherOptions
from sagefetch.testing import Faults, LocalSageMaker
from tests.checks import by_arn, check_outcomes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = TypeVar("T")

#: Where a test makes the blocking call: no event loop, inside asyncio, inside trio.
PLACES = [
    pytest.param("plain", id="no-loop"),
    pytest.param("asyncio", id="inside-asyncio"),
    pytest.param("trio", id="inside-trio"),
]


def _call_from(place: str, call: Callable[[], T]) -> T:
    """``call()`` made from a plain thread, or from a task of a running asyncio or trio loop."""
    if place == "plain":
        return call()

    async def inside() -> T:
        return call()

    return anyio.run(inside, backend=place)


def _options(server: LocalSageMaker) -> dict[str, Any]:
    """The local SageMaker's settings (credentials come from the environment)."""
    return {"endpoint_url": server.endpoint_url, "region_name": server.region}


def _threads() -> list[threading.Thread]:
    """The process's threads, less the local server's request handlers (which come and go)."""
    return [
        thread for thread in threading.enumerate() if "process_request_thread" not in thread.name
    ]


def _sync_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "sagefetch-sync"]


def _read_in(threads: list[str], arns: list[str]) -> Iterator[str]:
    """``arns``, noting the name of the thread that reads them."""
    threads.append(threading.current_thread().name)
    yield from arns


@pytest.mark.parametrize("place", PLACES)
def test_describe_all_sync_merges_like_one_response(
    synthetic_sagemaker: LocalSageMaker, place: str
) -> None:
    """The blocking describe_all returns both maps, with or without a running loop."""
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    unknown = arns[0].replace("/1", "/9")
    merged = _call_from(
        place,
        lambda: describe_all_sync([*arns, unknown, "bad"], **_options(synthetic_sagemaker)),
    )
    assert sorted(merged["ModelPackageSummaries"]) == sorted(arns)
    errors = merged["BatchDescribeModelPackageErrorMap"]
    assert errors["bad"]["ErrorCode"] == "InvalidArn"
    assert errors[unknown]["ErrorCode"] == "ResourceNotFound"


@pytest.mark.parametrize("place", PLACES)
def test_describe_outcomes_sync_returns_every_outcome(
    synthetic_sagemaker: LocalSageMaker, place: str
) -> None:
    """One right outcome per distinct ARN, duplicates skipped, in a few batches."""
    arns = synthetic_sagemaker.seed(groups=3, versions=100)
    catalogue = synthetic_sagemaker.catalogue
    unknown = [catalogue.arn(group, 500) for group in range(3)]
    malformed = ["arn:aws:s3:::bucket"]
    distinct = arns + unknown + malformed
    outcomes = _call_from(
        place,
        lambda: describe_outcomes_sync(
            distinct + arns[:50], max_concurrency=4, **_options(synthetic_sagemaker)
        ),
    )
    check_outcomes(outcomes, catalogue, distinct, malformed)
    assert synthetic_sagemaker.counters.calls == 4


@pytest.mark.parametrize(
    ("place", "reader"),
    [
        pytest.param("plain", "MainThread", id="no-loop"),
        pytest.param("asyncio", "sagefetch-sync", id="inside-asyncio"),
        pytest.param("trio", "sagefetch-sync", id="inside-trio"),
    ],
)
def test_the_run_moves_to_a_worker_thread_only_inside_a_loop(
    synthetic_sagemaker: LocalSageMaker, place: str, reader: str
) -> None:
    """No loop: asyncio.run in the caller's thread; in a loop: a worker thread, gone after."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    readers: list[str] = []
    before = _threads()
    outcomes = _call_from(
        place,
        lambda: describe_outcomes_sync(_read_in(readers, arns), **_options(synthetic_sagemaker)),
    )
    assert readers == [reader]
    assert all(isinstance(outcome, Described) for outcome in by_arn(outcomes).values())
    assert _threads() == before


async def test_a_call_from_async_code_works_and_leaves_no_thread(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A sync function called from a coroutine (a notebook cell) gets every outcome."""
    arns = synthetic_sagemaker.seed(groups=1, versions=5)
    before = _threads()
    outcomes = describe_outcomes_sync(arns, **_options(synthetic_sagemaker))
    assert sorted(by_arn(outcomes)) == sorted(arns)
    assert _threads() == before


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize(
    ("code", "error"),
    [
        pytest.param("UnrecognizedClientException", CredentialsError, id="credentials"),
        pytest.param("AccessDeniedException", AccessDeniedError, id="access-denied"),
    ],
)
def test_a_stop_error_reaches_the_caller_with_its_type(
    synthetic_sagemaker: LocalSageMaker, place: str, code: str, error: type[RunStoppedError]
) -> None:
    """A run stopped by the service's answer raises the same sagefetch error as the async API."""
    arns = synthetic_sagemaker.seed(groups=2, versions=100)
    synthetic_sagemaker.faults = Faults(reject_with=code)
    with pytest.raises(error) as caught:
        _call_from(
            place,
            lambda: describe_outcomes_sync(
                arns, max_concurrency=2, **_options(synthetic_sagemaker)
            ),
        )
    assert type(caught.value) is error
    assert caught.value.code == code
    assert "HINT:" in str(caught.value)
    assert _sync_threads() == []


@pytest.mark.parametrize("place", PLACES)
def test_bad_options_are_a_value_error(synthetic_sagemaker: LocalSageMaker, place: str) -> None:
    """An option out of range is the fetcher's own ValueError, before any call."""
    with pytest.raises(ValueError, match="max_concurrency must be at least 1"):
        _call_from(
            place,
            lambda: describe_all_sync(["x"], max_concurrency=0, **_options(synthetic_sagemaker)),
        )
    assert synthetic_sagemaker.counters.calls == 0


@pytest.mark.parametrize("call", [describe_all_sync, describe_outcomes_sync])
def test_a_client_is_refused(synthetic_sagemaker: LocalSageMaker, call: Any) -> None:
    """A client belongs to its own loop: passing one is a TypeError that says what to pass."""
    with pytest.raises(TypeError, match="own client") as caught:
        call(["x"], client=object(), **_options(synthetic_sagemaker))
    assert "HINT: pass region_name" in str(caught.value)
    assert synthetic_sagemaker.counters.calls == 0


#: Fetcher keywords the blocking calls do not take, and why.
NOT_FOR_SYNC = {
    "client": "a client belongs to the loop it was made on",
    # describe()'s coalescing and cache: a whole run never uses them.
    "linger": "describe() only",
    "cache_ttl": "describe() only",
    "cache_size": "describe() only",
}


def test_the_options_are_the_fetchers_keywords() -> None:
    """FetcherOptions names the fetcher's keywords with the same types; none is forgotten."""
    parameters = inspect.signature(ModelPackageFetcher).parameters
    options = {name: hint.__forward_arg__ for name, hint in FetcherOptions.__annotations__.items()}
    assert options == {name: parameters[name].annotation for name in options}
    assert set(parameters) - set(options) <= set(NOT_FOR_SYNC)
    assert not FetcherOptions.__required_keys__


def test_ctrl_c_inside_a_running_loop_cancels_the_run_and_ends_its_thread(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A KeyboardInterrupt while the caller waits cancels the run, waits for it, and is raised.

    The loop is driven as a notebook kernel drives it (run_until_complete, no
    SIGINT handler of asyncio.run's), and the call stalls far past the test's
    timeout: only the cancellation can end the run in time.
    """
    arns = synthetic_sagemaker.seed(groups=1, versions=1)
    synthetic_sagemaker.faults = Faults(stall=1.0, stall_seconds=300)

    def interrupt_once_stalled() -> None:
        while synthetic_sagemaker.counters.stalled == 0:
            time.sleep(0.01)
        _thread.interrupt_main()

    interrupter = threading.Thread(target=interrupt_once_stalled)

    async def cell() -> None:
        interrupter.start()
        describe_outcomes_sync(arns, timeout=300, max_attempts=1, **_options(synthetic_sagemaker))

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(cell())
    finally:
        loop.close()
        interrupter.join()
    assert _sync_threads() == []
    assert synthetic_sagemaker.counters.calls == 1


def test_from_trio_a_worker_thread_runs_asyncio_there_and_trio_goes_on(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Through trio's to_thread the call is a plain one in that thread: asyncio.run, no more."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    readers: list[str] = []

    def call() -> list[Outcome]:
        return describe_outcomes_sync(_read_in(readers, arns), **_options(synthetic_sagemaker))

    async def main() -> list[Outcome]:
        return await anyio.to_thread.run_sync(call)

    outcomes = anyio.run(main, backend="trio")
    assert sorted(by_arn(outcomes)) == sorted(arns)
    [reader] = readers
    assert reader not in {"MainThread", "sagefetch-sync"}


def test_opening_a_fetcher_under_trio_says_to_use_asyncio() -> None:
    """Under trio, opening a fetcher is a RuntimeError that names asyncio (aiobotocore's loop)."""

    async def open_fetcher() -> None:
        async with ModelPackageFetcher(region_name="us-east-1"):
            pass  # pragma: no cover - refused on the way in

    with pytest.raises(RuntimeError, match=r"needs the asyncio event loop") as caught:
        anyio.run(open_fetcher, backend="trio")
    assert "HINT:" in str(caught.value)


def test_without_the_guard_a_call_under_trio_is_a_bug_raised_at_once(
    synthetic_sagemaker: LocalSageMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the guard, trio's failure is raised: one attempt, no retry, no record, no reach.

    aiobotocore wraps the RuntimeError ("no running event loop") in a bare
    HTTPClientError, which reads as a network error; the classifier looks inside.
    """
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    monkeypatch.setattr(sagefetch._fetcher, "_require_asyncio", lambda: None)
    fetchers: list[ModelPackageFetcher] = []

    async def run() -> None:
        fetchers.append(ModelPackageFetcher(max_attempts=5, **_options(synthetic_sagemaker)))
        async with fetchers[0] as fetcher:
            async for _ in fetcher.stream(arns):
                pass  # pragma: no cover - no outcome is produced

    with pytest.raises(HTTPClientError) as caught:
        anyio.run(run, backend="trio")
    assert isinstance(caught.value.kwargs["error"], RuntimeError)
    stats = fetchers[0].stats
    assert (stats.calls, stats.retries, stats.described, stats.failed) == (1, 0, 0, 0)
    assert synthetic_sagemaker.counters.calls == 0
