"""ModelPackageFetcher against the local SageMaker: exactly one correct outcome per ARN."""

from __future__ import annotations

import asyncio
import itertools
import random
import warnings
from collections import Counter
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import pytest
import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from sagefetch import (
    AccessDeniedError,
    AdaptiveRateLimiter,
    ClientRetriesWarning,
    ConfigurationError,
    CredentialsError,
    DeadlineExceededError,
    Described,
    EndpointUnreachableError,
    Failed,
    ModelPackageFetcher,
    Outcome,
)
from sagefetch.testing import Faults, LocalSageMaker
from tests.checks import by_arn, check_outcomes
from tests.conftest import raw_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


async def _collect(fetcher: ModelPackageFetcher, arns: Any) -> list[Outcome]:
    return [outcome async for outcome in fetcher.stream(arns)]


@pytest.mark.timeout(180)
async def test_every_arn_gets_one_correct_outcome_under_faults(
    local_sagemaker: LocalSageMaker,
) -> None:
    """Throttling, 5% HTTP 500, 2% drops, 2% omissions: 10,000 ARNs, one right outcome each."""
    existing = local_sagemaker.seed(groups=96, versions=100)
    catalogue = local_sagemaker.catalogue
    unknown = [catalogue.arn(group, 1000 + group) for group in range(300)]
    malformed = [f"arn:aws:sagemaker:us-east-1:123456789012:model-group/x-{i}" for i in range(100)]
    distinct = existing + unknown + malformed
    rng = random.Random(2)
    arns = distinct + rng.sample(distinct, 1500)
    rng.shuffle(arns)
    local_sagemaker.faults = Faults(
        rate=20, burst=5, internal_error=0.05, drop=0.02, omit=0.02, seed=5
    )

    async with (
        raw_client(local_sagemaker, max_pool_connections=16) as client,
        ModelPackageFetcher(client, max_concurrency=16) as fetcher,
    ):
        outcomes = await _collect(fetcher, arns)

    assert len(distinct) == 10_000
    check_outcomes(outcomes, catalogue, distinct, malformed)
    stats, counters = fetcher.stats, local_sagemaker.counters
    assert stats.duplicates == 1500
    assert (stats.described, stats.failed, stats.invalid) == (9600, 400, 100)
    assert stats.calls == counters.calls
    assert counters.internal_errors + counters.dropped > 0
    assert stats.rerequested >= counters.omitted_arns > 0


async def test_batches_hold_at_most_batch_size_arns(synthetic_sagemaker: LocalSageMaker) -> None:
    """With batch_size=7, 50 ARNs take 8 calls."""
    arns = synthetic_sagemaker.seed(groups=1, versions=50)
    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, batch_size=7) as fetcher,
    ):
        outcomes = await _collect(fetcher, arns)
    assert len(outcomes) == 50
    assert (synthetic_sagemaker.counters.calls, synthetic_sagemaker.counters.arns) == (8, 50)


@pytest.mark.parametrize("batch_size", [0, 101])
def test_batch_size_outside_the_api_limit_is_refused(batch_size: int) -> None:
    """A batch size the API cannot take is a ValueError at construction."""
    with pytest.raises(ValueError, match="batch_size"):
        ModelPackageFetcher(region_name="us-east-1", batch_size=batch_size)


async def test_duplicates_are_skipped_and_invalid_arns_fail_without_a_call(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Repeated ARNs are described once; malformed ones fail locally and cost no call."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    bad = ["", " " + arn, arn + "/" + "x" * 2048, "arn:aws:s3:::bucket"]
    async with raw_client(synthetic_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        only_bad = await _collect(fetcher, bad)
        calls_for_bad = synthetic_sagemaker.counters.calls
        outcomes = await _collect(fetcher, [arn, arn, *bad, arn])

    assert calls_for_bad == 0
    assert [o.code for o in only_bad if isinstance(o, Failed)] == ["InvalidArn"] * 4
    assert "whitespace" in next(o.message for o in only_bad if o.arn == " " + arn)  # type: ignore[union-attr]
    assert "2048" in next(o.message for o in only_bad if o.arn.endswith("x"))  # type: ignore[union-attr]
    keyed = by_arn(outcomes)
    assert isinstance(keyed[arn], Described)
    assert fetcher.stats.duplicates == 2


async def test_non_string_items_fail_instead_of_crashing(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """An item that is not a string becomes a Failed outcome; the rest still runs."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    async with raw_client(synthetic_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        outcomes = await _collect(fetcher, [42, arn, None])
    keyed = by_arn(outcomes)
    assert isinstance(keyed[arn], Described)
    assert {o.code for o in outcomes if isinstance(o, Failed)} == {"InvalidArn"}
    assert len(outcomes) == 3


async def test_non_string_items_are_deduplicated_by_their_repr(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Repeated non-string items get one outcome each, like repeated ARNs."""
    async with raw_client(synthetic_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        outcomes = await _collect(fetcher, [None, None, 42, 42, b"x", b"x", 4.5, "None"])
    assert sorted(o.arn for o in outcomes) == sorted(["None", "42", "b'x'", "4.5", "None"])
    assert fetcher.stats.duplicates == 3
    # The string "None" is an ARN of its own (invalid), not a repeat of the item None.
    assert fetcher.stats.invalid == 5


async def test_a_single_string_is_refused(synthetic_sagemaker: LocalSageMaker) -> None:
    """Passing one ARN string (an iterable of characters) is a TypeError."""
    async with raw_client(synthetic_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        with pytest.raises(TypeError, match="not a single string"):
            await _collect(fetcher, "arn:aws:sagemaker:us-east-1:123456789012:model-package/a/1")


async def test_stream_needs_an_open_fetcher() -> None:
    """Using a fetcher outside 'async with' says how to use it."""
    fetcher = ModelPackageFetcher(region_name="us-east-1")
    with pytest.raises(RuntimeError, match="async with"):
        await _collect(fetcher, [])


async def test_input_is_read_lazily_with_backpressure(synthetic_sagemaker: LocalSageMaker) -> None:
    """First outcomes come after a few batches of a million ARNs; a paused reader stops input."""
    synthetic_sagemaker.seed(groups=10_000, versions=100)
    catalogue = synthetic_sagemaker.catalogue
    consumed = 0

    async def million() -> AsyncIterator[str]:
        nonlocal consumed
        for group, version in itertools.product(range(10_000), range(1, 101)):
            consumed += 1
            yield catalogue.arn(group, version)

    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, max_concurrency=4, max_rate=1000) as fetcher,
    ):
        stream = fetcher.stream(million())
        first = await anext(stream)
        at_first = consumed
        await anyio.sleep(0.5)  # the caller is busy and reads nothing
        while_paused = consumed
        await stream.aclose()

    assert isinstance(first, Described)
    # 4 workers x 100 in flight, 400 buffered outcomes, one batch being read
    window = 4 * 100 + 4 * 100 + 100 + 100
    assert at_first <= window
    assert while_paused <= window


async def test_at_most_max_concurrency_calls_are_in_flight(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """With 3 workers and slow answers, the server sees exactly 3 calls at once at most."""
    arns = synthetic_sagemaker.seed(groups=20, versions=100)
    synthetic_sagemaker.faults = Faults(latency=0.2)
    async with (
        raw_client(synthetic_sagemaker, max_pool_connections=10) as client,
        ModelPackageFetcher(client, max_concurrency=3, max_rate=100) as fetcher,
    ):
        outcomes = await _collect(fetcher, arns)
    assert len(outcomes) == 2000
    assert synthetic_sagemaker.counters.max_in_flight == 3
    assert fetcher.stats.max_in_flight == 3


async def test_a_whole_call_validation_error_is_split_to_the_bad_arns(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """With local checks off, halving isolates the ARNs the service rejects."""
    arns = synthetic_sagemaker.seed(groups=1, versions=40)
    bad = ["arn:aws:sagemaker:us-east-1:123456789012:model-package", "nonsense"]
    mixed = [*arns[:13], bad[0], *arns[13:30], bad[1], *arns[30:]]
    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, validate_arns=False) as fetcher,
    ):
        outcomes = await _collect(fetcher, mixed)

    keyed = by_arn(outcomes)
    assert all(isinstance(keyed[arn], Described) for arn in arns)
    for arn in bad:
        outcome = keyed[arn]
        assert isinstance(outcome, Failed)
        assert outcome.code == "ValidationException"
        assert "'modelPackageArnList.1.member'" in outcome.message
    assert fetcher.stats.splits >= 2


async def test_arns_left_out_of_answers_are_asked_for_again_then_fail(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """An ARN every answer omits is asked for max_attempts times, then MissingFromResponse."""
    [arn] = synthetic_sagemaker.seed(groups=1, versions=1)
    synthetic_sagemaker.faults = Faults(omit=1.0)
    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=4) as fetcher,
    ):
        [outcome] = await _collect(fetcher, [arn])
    assert isinstance(outcome, Failed)
    assert (outcome.code, outcome.attempts) == ("MissingFromResponse", 4)
    assert fetcher.stats.rerequested == 3


async def test_omitted_arns_are_recovered(synthetic_sagemaker: LocalSageMaker) -> None:
    """With occasional omissions, every ARN is still described."""
    arns = synthetic_sagemaker.seed(groups=10, versions=100)
    synthetic_sagemaker.faults = Faults(omit=0.3, seed=1)
    async with raw_client(synthetic_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        outcomes = await _collect(fetcher, arns)
    assert all(isinstance(o, Described) for o in outcomes)
    assert len(by_arn(outcomes)) == 1000
    assert fetcher.stats.rerequested == synthetic_sagemaker.counters.omitted_arns > 0


async def test_exhausted_retries_fail_the_batch_with_the_last_error(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """After max_attempts failed calls each ARN fails with the code and attempt count."""
    arns = synthetic_sagemaker.seed(groups=1, versions=5)
    synthetic_sagemaker.faults = Faults(internal_error=1.0)
    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=3) as fetcher,
    ):
        outcomes = await _collect(fetcher, arns)
    assert {(o.code, o.attempts) for o in outcomes if isinstance(o, Failed)} == {
        ("InternalFailure", 3)
    }
    assert len(outcomes) == 5
    assert (fetcher.stats.calls, fetcher.stats.retries) == (3, 2)


async def test_the_owned_client_makes_no_retries_of_its_own(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """One HTTP request reaches the server per attempt the pipeline counts."""
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    synthetic_sagemaker.faults = Faults(internal_error=1.0, unavailable=1.0)
    async with ModelPackageFetcher(
        endpoint_url=synthetic_sagemaker.endpoint_url, region_name="us-east-1", max_attempts=4
    ) as fetcher:
        outcomes = await _collect(fetcher, arns)
    assert len(outcomes) == 3
    assert synthetic_sagemaker.counters.calls == fetcher.stats.calls == 4


async def test_a_client_with_its_own_retries_is_warned_about(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A caller's client that retries by itself gets a ClientRetriesWarning at its own line."""
    async with get_session().create_client(
        "sagemaker", **synthetic_sagemaker.client_kwargs()
    ) as client:
        with pytest.warns(ClientRetriesWarning, match="total_max_attempts") as caught:
            async with ModelPackageFetcher(client):
                pass
    [warning] = caught.list
    assert warning.filename == __file__
    assert "5 attempts" in str(warning.message)


async def test_a_client_without_retries_gets_no_warning(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A client made with total_max_attempts=1 opens a fetcher without any warning."""
    async with get_session().create_client(
        "sagemaker",
        **synthetic_sagemaker.client_kwargs(),
        config=AioConfig(retries={"total_max_attempts": 1}),
    ) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            async with ModelPackageFetcher(client):
                pass


@pytest.mark.parametrize(
    ("code", "error"),
    [
        pytest.param("UnrecognizedClientException", CredentialsError, id="unknown-key"),
        pytest.param("ExpiredTokenException", CredentialsError, id="expired-token"),
        pytest.param("AccessDeniedException", AccessDeniedError, id="access-denied"),
    ],
)
async def test_rejected_credentials_stop_the_run_at_once(
    synthetic_sagemaker: LocalSageMaker, code: str, error: type[Exception]
) -> None:
    """The run stops with a clear sagefetch error after at most one call per worker."""
    arns = synthetic_sagemaker.seed(groups=30, versions=100)
    synthetic_sagemaker.faults = Faults(reject_with=code)
    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, max_concurrency=4) as fetcher,
    ):
        with pytest.raises(error) as caught:
            await _collect(fetcher, arns)
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert "HINT:" in str(caught.value)
    assert synthetic_sagemaker.counters.calls <= 4


async def test_missing_credentials_stop_the_run_before_any_call(
    synthetic_sagemaker: LocalSageMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials anywhere in the chain is a CredentialsError, with no call made."""
    arns = synthetic_sagemaker.seed(groups=1, versions=1)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    async with ModelPackageFetcher(
        endpoint_url=synthetic_sagemaker.endpoint_url, region_name="us-east-1"
    ) as fetcher:
        with pytest.raises(CredentialsError, match="NoCredentialsError"):
            await _collect(fetcher, arns)
    assert synthetic_sagemaker.counters.calls == 0


async def test_a_missing_region_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a fetcher with no region anywhere says to pass one."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigurationError, match="region"):
        async with ModelPackageFetcher():
            pass


async def test_a_call_past_the_timeout_is_retried_then_stops_the_run(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A stalled call is given up after ``timeout`` seconds and retried; no ARN fails for it."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    synthetic_sagemaker.faults = Faults(stall=1.0, stall_seconds=30)
    outcomes: list[Outcome] = []
    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, timeout=0.3, max_attempts=2) as fetcher,
    ):
        with pytest.raises(EndpointUnreachableError, match="--timeout"):
            outcomes.extend([outcome async for outcome in fetcher.stream(arns)])
        assert outcomes == []
        assert fetcher.stats.calls == 2


async def test_the_deadline_stops_the_run(synthetic_sagemaker: LocalSageMaker) -> None:
    """Past the deadline the run stops with DeadlineExceededError."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    synthetic_sagemaker.faults = Faults(latency=5)
    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, deadline=0.3) as fetcher,
    ):
        with pytest.raises(DeadlineExceededError, match="deadline"):
            await _collect(fetcher, arns)


def _other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


async def test_leaving_the_loop_early_leaves_no_task(synthetic_sagemaker: LocalSageMaker) -> None:
    """Breaking out of ``async for`` stops the run; nothing is left running."""
    arns = synthetic_sagemaker.seed(groups=50, versions=100)
    async with raw_client(synthetic_sagemaker) as client:
        async with ModelPackageFetcher(client, max_concurrency=8) as fetcher:
            async for _ in fetcher.stream(arns):
                break
        await anyio.lowlevel.checkpoint()
        assert _other_tasks() == set()


async def test_cancelling_the_caller_leaves_no_task(synthetic_sagemaker: LocalSageMaker) -> None:
    """A caller cancelled mid-run stops in-flight calls promptly."""
    arns = synthetic_sagemaker.seed(groups=50, versions=100)
    synthetic_sagemaker.faults = Faults(latency=10)
    async with raw_client(synthetic_sagemaker) as client:
        with anyio.move_on_after(0.5) as scope:
            async with ModelPackageFetcher(client, max_concurrency=8) as fetcher:
                await fetcher.describe_all(arns)
        assert scope.cancelled_caught
        await anyio.lowlevel.checkpoint()
        assert _other_tasks() == set()


async def test_an_error_in_the_consumer_propagates_unwrapped(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """The caller's own exception comes out as itself, and the run is stopped."""
    arns = synthetic_sagemaker.seed(groups=10, versions=100)
    async with raw_client(synthetic_sagemaker) as client:
        with pytest.raises(LookupError, match="consumer"):
            await _consume_and_fail(client, arns)
        assert _other_tasks() == set()


async def _consume_and_fail(client: Any, arns: list[str]) -> None:
    async with ModelPackageFetcher(client) as fetcher:
        async for _ in fetcher.stream(arns):
            raise LookupError("consumer failed")


async def test_describe_all_merges_like_one_response(synthetic_sagemaker: LocalSageMaker) -> None:
    """describe_all returns both maps keyed by ARN, failures with their code and message."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    unknown = arns[0].replace("/1", "/9")
    async with raw_client(synthetic_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        merged = await fetcher.describe_all([*arns, unknown, "bad"])
    assert sorted(merged["ModelPackageSummaries"]) == sorted(arns)
    assert merged["BatchDescribeModelPackageErrorMap"]["bad"]["ErrorCode"] == "InvalidArn"
    assert merged["BatchDescribeModelPackageErrorMap"][unknown] == {
        "ErrorCode": "ResourceNotFound",
        "ErrorResponse": f"Model package {unknown} does not exist.",
    }


async def test_fetchers_can_share_one_limiter(synthetic_sagemaker: LocalSageMaker) -> None:
    """Throttles seen by one fetcher slow down another that shares its limiter."""
    arns = synthetic_sagemaker.seed(groups=5, versions=100)
    synthetic_sagemaker.faults = Faults(rate=2, burst=1)
    shared = AdaptiveRateLimiter(initial_rate=50)
    async with raw_client(synthetic_sagemaker) as client:
        async with ModelPackageFetcher(client, limiter=shared) as first:
            await _collect(first, arns)
        async with ModelPackageFetcher(client, limiter=shared) as second:
            assert second.stats.rate == first.stats.rate == shared.rate
    assert first.stats.throttled > 0
    assert shared.rate < 50


async def test_logs_are_namespaced_and_carry_no_secret(local_sagemaker: LocalSageMaker) -> None:
    """Every event is 'sagefetch.*' with key/value fields, and no credential appears."""
    arns = local_sagemaker.seed(groups=2, versions=100)
    local_sagemaker.faults = Faults(rate=5, burst=1, internal_error=0.2, seed=3)
    with structlog.testing.capture_logs() as logs:
        async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
            await _collect(fetcher, arns)
    events = Counter(log["event"] for log in logs)
    assert all(event.startswith("sagefetch.") for event in events)
    assert events["sagefetch.run_finished"] == 1
    assert events["sagefetch.batch_sent"] >= 2
    text = repr(logs)
    credentials = local_sagemaker.credentials
    assert credentials.secret_access_key not in text
    assert credentials.access_key_id not in text
    assert "Signature=" not in text


async def test_an_unknown_profile_is_a_configuration_error() -> None:
    """A profile that does not exist stops before any call, naming the profile."""
    with pytest.raises(ConfigurationError, match="no-such-profile"):
        async with ModelPackageFetcher(region_name="us-east-1", profile_name="no-such-profile"):
            pass


async def test_a_fresh_run_does_not_open_with_a_burst_of_throttles(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Against a 10 calls/s server, 16 idle workers do not fire at once: few throttles."""
    arns = synthetic_sagemaker.seed(groups=30, versions=100)
    synthetic_sagemaker.faults = Faults(rate=10, burst=1)
    with structlog.testing.capture_logs() as logs:
        async with (
            raw_client(synthetic_sagemaker, max_pool_connections=16) as client,
            ModelPackageFetcher(client, max_concurrency=16) as fetcher,
        ):
            outcomes = await _collect(fetcher, arns)
    events = [
        log["event"]
        for log in logs
        if log["event"] in {"sagefetch.batch_sent", "sagefetch.batch_throttled"}
    ]
    assert len(outcomes) == 3000
    # 16 calls at once against a bucket of 1 would see about 15 throttles. The
    # bounds leave room for a loaded machine, where the server's thread may read
    # two well-spaced calls back to back.
    opening = events[:16]  # as many calls as a naive client would fire at once
    assert opening[:2] == ["sagefetch.batch_sent"] * 2
    assert opening.count("sagefetch.batch_throttled") <= 4
    assert synthetic_sagemaker.counters.throttled == fetcher.stats.throttled <= 8
