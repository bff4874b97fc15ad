"""Coalescing lookups: ``describe`` and ``describe_many`` from many concurrent requests."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagefetch import (
    CredentialsError,
    Described,
    Failed,
    ModelPackageFetcher,
    Outcome,
    RunStoppedError,
)
from sagefetch.testing import Faults, LocalSageMaker
from tests.conftest import raw_client

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package"


def _fetcher(client: Any, **options: Any) -> AbstractAsyncContextManager[ModelPackageFetcher]:
    return ModelPackageFetcher(client, **options)


async def _describe_each(fetcher: ModelPackageFetcher, arns: list[str]) -> list[Outcome]:
    """Every ARN from its own task, all at once; outcomes in ``arns``' order."""
    outcomes: list[Outcome | None] = [None] * len(arns)

    async def one(index: int, arn: str) -> None:
        outcomes[index] = await fetcher.describe(arn)

    async with anyio.create_task_group() as requests:
        for index, arn in enumerate(arns):
            requests.start_soon(one, index, arn)
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


async def test_concurrent_requests_share_full_batches(synthetic_sagemaker: LocalSageMaker) -> None:
    """250 concurrent requests for 200 distinct ARNs make two calls, and each gets its own ARN."""
    arns = synthetic_sagemaker.seed(groups=4, versions=50)
    requests = arns + arns[:50]
    async with raw_client(synthetic_sagemaker) as client, _fetcher(client) as fetcher:
        outcomes = await _describe_each(fetcher, requests)
    assert [outcome.arn for outcome in outcomes] == requests
    assert all(isinstance(outcome, Described) for outcome in outcomes)
    assert synthetic_sagemaker.counters.calls == 2
    assert fetcher.stats.coalesced == 50
    assert fetcher.stats.described == 200


async def test_requests_for_one_arn_share_one_lookup(synthetic_sagemaker: LocalSageMaker) -> None:
    """Ten concurrent requests for one ARN make one call for one ARN (single flight)."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    synthetic_sagemaker.faults = Faults(latency=0.1)
    async with raw_client(synthetic_sagemaker) as client, _fetcher(client, linger=0) as fetcher:
        outcomes = await _describe_each(fetcher, [arn] * 10)
    assert {outcome.arn for outcome in outcomes} == {arn}
    assert synthetic_sagemaker.counters.calls == 1
    assert synthetic_sagemaker.counters.arns == 1
    assert fetcher.stats.coalesced == 9


async def test_requests_within_the_linger_go_in_one_call(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Requests arriving 20 ms apart within a 1 s linger are sent together."""
    arns = synthetic_sagemaker.seed(groups=1, versions=5)
    outcomes: dict[str, Outcome] = {}

    async def request(arn: str) -> None:
        outcomes[arn] = await fetcher.describe(arn)

    async with (
        raw_client(synthetic_sagemaker) as client,
        _fetcher(client, linger=1.0) as fetcher,
        anyio.create_task_group() as requests,
    ):
        for arn in arns:
            requests.start_soon(request, arn)
            await anyio.sleep(0.02)
    assert set(outcomes) == set(arns)
    assert synthetic_sagemaker.counters.calls == 1


async def test_a_full_batch_goes_without_waiting_for_the_linger(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A full batch is sent at once, even with a linger far longer than the test may take."""
    arns = synthetic_sagemaker.seed(groups=1, versions=100)
    async with raw_client(synthetic_sagemaker) as client, _fetcher(client, linger=3600) as fetcher:
        with anyio.fail_after(30):
            outcomes = await _describe_each(fetcher, arns)
    assert len(outcomes) == 100
    assert synthetic_sagemaker.counters.calls == 1


async def test_a_cached_outcome_answers_a_repeat_until_it_expires(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """With cache_ttl, a repeat is answered without a call; after the ttl it is asked again."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    async with (
        raw_client(synthetic_sagemaker) as client,
        _fetcher(client, linger=0, cache_ttl=0.3) as fetcher,
    ):
        first = await fetcher.describe(arn)
        again = await fetcher.describe(arn)
        assert again is first
        assert synthetic_sagemaker.counters.calls == 1
        assert fetcher.stats.cached == 1
        await anyio.sleep(0.4)
        await fetcher.describe(arn)
    assert synthetic_sagemaker.counters.calls == 2


async def test_without_a_cache_every_request_after_an_answer_calls_again(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Off by default: a request after the first answer makes a new call."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    async with raw_client(synthetic_sagemaker) as client, _fetcher(client, linger=0) as fetcher:
        await fetcher.describe(arn)
        await fetcher.describe(arn)
    assert synthetic_sagemaker.counters.calls == 2
    assert fetcher.stats.cached == 0


async def test_the_cache_drops_the_least_recently_used_beyond_its_size(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """With cache_size=2, a third ARN pushes out the one used longest ago."""
    first, second, third = synthetic_sagemaker.seed(groups=1, versions=3)
    async with (
        raw_client(synthetic_sagemaker) as client,
        _fetcher(client, linger=0, cache_ttl=60, cache_size=2) as fetcher,
    ):
        for arn in (first, second, first, third):  # second is now the oldest used
            await fetcher.describe(arn)
        calls = synthetic_sagemaker.counters.calls
        await fetcher.describe(first)
        assert synthetic_sagemaker.counters.calls == calls
        await fetcher.describe(second)
        assert synthetic_sagemaker.counters.calls == calls + 1


async def test_a_cancelled_request_leaves_the_lookup_to_the_others(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Cancelling one of two requests for an ARN in flight: the other still gets its outcome."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    synthetic_sagemaker.faults = Faults(latency=0.3)
    got: list[Outcome] = []

    async def patient() -> None:
        got.append(await fetcher.describe(arn))

    async with (
        raw_client(synthetic_sagemaker) as client,
        _fetcher(client, linger=0) as fetcher,
        anyio.create_task_group() as requests,
    ):
        requests.start_soon(patient)
        with anyio.move_on_after(0.1) as impatient:
            await fetcher.describe(arn)
    assert impatient.cancelled_caught
    assert [outcome.arn for outcome in got] == [arn]
    assert isinstance(got[0], Described)
    assert synthetic_sagemaker.counters.calls == 1


async def test_a_lookup_every_request_left_before_it_was_sent_is_dropped(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A request cancelled during the linger takes its ARN out: no call is made for it."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    async with raw_client(synthetic_sagemaker) as client, _fetcher(client, linger=0.3) as fetcher:
        with anyio.move_on_after(0.05):
            await fetcher.describe(arn)
        await anyio.sleep(0.5)
    assert synthetic_sagemaker.counters.calls == 0


async def test_closing_the_fetcher_ends_every_waiting_request(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Requests still pending or in flight when the fetcher closes raise RunStoppedError."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    synthetic_sagemaker.faults = Faults(latency=5)
    errors: list[BaseException] = []

    async def request(arn: str) -> None:
        try:
            await fetcher.describe(arn)
        except RunStoppedError as exc:
            errors.append(exc)

    # Both requests end when the fetcher closes, long before the server would answer.
    with anyio.fail_after(3):
        async with (
            raw_client(synthetic_sagemaker) as client,
            anyio.create_task_group() as requests,
            _fetcher(client, linger=0, max_concurrency=1) as fetcher,
        ):
            requests.start_soon(request, arns[0])  # in flight (the only slot)
            await anyio.sleep(0.2)
            requests.start_soon(request, arns[1])  # pending, waiting for the slot
            await anyio.sleep(0.1)
    assert len(errors) == 2
    assert all("closed" in str(error) for error in errors)


async def test_a_stop_error_reaches_every_request_of_the_batch(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Rejected credentials: each concurrent request raises CredentialsError."""
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    synthetic_sagemaker.faults = Faults(reject_with="UnrecognizedClientException")
    errors: list[BaseException] = []

    async def request(arn: str) -> None:
        try:
            await fetcher.describe(arn)
        except CredentialsError as exc:
            errors.append(exc)

    async with (
        raw_client(synthetic_sagemaker) as client,
        _fetcher(client) as fetcher,
        anyio.create_task_group() as requests,
    ):
        for arn in arns:
            requests.start_soon(request, arn)
    assert len(errors) == 3


async def test_throttled_lookups_are_retried_through_the_limiter(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Under a server limit of 5 calls/s, 1,000 single requests all end described."""
    arns = synthetic_sagemaker.seed(groups=10, versions=100)
    synthetic_sagemaker.faults = Faults(rate=5, burst=1)
    async with raw_client(synthetic_sagemaker) as client, _fetcher(client, linger=0) as fetcher:
        outcomes = await _describe_each(fetcher, arns)
    assert all(isinstance(outcome, Described) for outcome in outcomes)
    assert [outcome.arn for outcome in outcomes] == arns
    assert fetcher.stats.calls == synthetic_sagemaker.counters.calls


async def test_describe_many_answers_in_the_callers_order(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Repeats, a missing package and a malformed ARN each get their outcome at their place."""
    first, second = synthetic_sagemaker.seed(groups=1, versions=2)
    missing = f"{ACCOUNT_ARN}/nobody/1"
    wanted = [second, "not-an-arn", first, missing, second]
    async with raw_client(synthetic_sagemaker) as client, _fetcher(client) as fetcher:
        outcomes = await fetcher.describe_many(wanted)
    assert [outcome.arn for outcome in outcomes] == wanted
    assert [type(outcome) for outcome in outcomes] == [
        Described,
        Failed,
        Described,
        Failed,
        Described,
    ]
    assert isinstance(outcomes[1], Failed)
    assert outcomes[1].code == "InvalidArn"
    assert synthetic_sagemaker.counters.calls == 1
    assert synthetic_sagemaker.counters.arns == 3


@pytest.mark.parametrize(
    "arns",
    [
        pytest.param("arn:aws:sagemaker:us-east-1:123456789012:model-package/a/1", id="a-string"),
        pytest.param([b"arn"], id="bytes-inside"),
        pytest.param([None], id="none-inside"),
    ],
)
async def test_describe_many_refuses_what_is_not_a_list_of_strings(
    synthetic_client: Any, arns: Any
) -> None:
    """A single string, or an item that is not a string, is a TypeError before any call."""
    async with _fetcher(synthetic_client) as fetcher:
        with pytest.raises(TypeError):
            await fetcher.describe_many(arns)


async def test_describe_needs_an_open_fetcher(synthetic_client: Any) -> None:
    """describe() outside 'async with' says how to open the fetcher."""
    fetcher = ModelPackageFetcher(synthetic_client)
    with pytest.raises(RuntimeError, match="async with"):
        await fetcher.describe(f"{ACCOUNT_ARN}/a/1")


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"linger": -0.001}, id="negative-linger"),
        pytest.param({"linger": math.inf}, id="infinite-linger"),
        pytest.param({"linger": math.nan}, id="nan-linger"),
        pytest.param({"cache_ttl": 0}, id="zero-ttl"),
        pytest.param({"cache_ttl": math.inf}, id="infinite-ttl"),
        pytest.param({"cache_size": 0}, id="empty-cache"),
    ],
)
def test_lookup_options_out_of_range_are_refused(options: dict[str, float]) -> None:
    """Linger >= 0 and finite, cache_ttl positive and finite, cache_size >= 1."""
    with pytest.raises(ValueError, match=next(iter(options))):
        ModelPackageFetcher(region_name="us-east-1", **options)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    requests=st.lists(
        st.tuples(st.integers(0, 14), st.booleans(), st.floats(0, 0.02)), min_size=1, max_size=40
    ),
    linger=st.sampled_from([0.0, 0.002, 0.01]),
)
async def test_every_request_that_stays_gets_the_outcome_of_its_own_arn(
    synthetic_sagemaker: LocalSageMaker,
    requests: list[tuple[int, bool, float]],
    linger: float,
) -> None:
    """Any mix of repeats, unknown ARNs and early cancels: the rest get their own ARN's outcome."""
    synthetic_sagemaker.reset()
    known = synthetic_sagemaker.seed(groups=1, versions=10)
    pool = [*known, *(f"{ACCOUNT_ARN}/unknown/{index}" for index in range(5))]
    answers: list[tuple[str, Outcome]] = []

    async def request(arn: str, cancel: bool, delay: float) -> None:
        await anyio.sleep(delay)
        with anyio.CancelScope() as scope:
            if cancel:
                scope.cancel()
            answers.append((arn, await fetcher.describe(arn)))

    async with (
        raw_client(synthetic_sagemaker) as client,
        _fetcher(client, linger=linger) as fetcher,
        anyio.create_task_group() as group,
    ):
        for index, cancel, delay in requests:
            group.start_soon(request, pool[index], cancel, delay)
    assert len(answers) == sum(not cancel for _, cancel, _ in requests)
    for arn, outcome in answers:
        assert outcome.arn == arn
        assert isinstance(outcome, Described) == (arn in known)
