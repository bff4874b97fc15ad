"""Fault matrix: under each fault, every distinct ARN gets exactly one correct outcome.

Each case runs a real aiobotocore client against the local SageMaker and
checks every ARN, not counts.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from sagefetch import Described, EndpointUnreachableError, ModelPackageFetcher, Outcome
from sagefetch.testing import Catalogue, Faults, LocalSageMaker, ServerControl, set_testing
from tests.checks import by_arn, check_outcomes
from tests.conftest import raw_client
from tests.processes import SageMakerProcess

if TYPE_CHECKING:
    from collections.abc import Iterator


async def _run(server: LocalSageMaker, arns: list[str], **settings: Any) -> list[Outcome]:
    async with (
        raw_client(server, max_pool_connections=16, read_timeout=30) as client,
        ModelPackageFetcher(client, **settings) as fetcher,
    ):
        return [outcome async for outcome in fetcher.stream(arns)]


def _later(seconds: float, action: Any) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


@pytest.fixture
def real_backoff() -> Iterator[None]:
    """Backoff sleeps as in production, for faults that last a while."""
    set_testing(False)
    yield
    set_testing(True)


async def test_throttling_storm(synthetic_sagemaker: LocalSageMaker) -> None:
    """A server limit far below demand (3 calls/s for 16 workers) loses nothing."""
    arns = synthetic_sagemaker.seed(groups=25, versions=100)
    synthetic_sagemaker.faults = Faults(rate=3, burst=1)
    outcomes = await _run(synthetic_sagemaker, arns, max_concurrency=16)
    check_outcomes(outcomes, synthetic_sagemaker.catalogue, arns)
    assert synthetic_sagemaker.counters.throttled > 0


async def test_limit_falls_and_recovers_mid_run(synthetic_sagemaker: LocalSageMaker) -> None:
    """The limit drops from 30 to 3 calls/s after 1 s and comes back 2 s later."""
    arns = synthetic_sagemaker.seed(groups=60, versions=100)
    synthetic_sagemaker.faults = Faults(rate=30, burst=5)
    timers = [
        _later(1.0, lambda: synthetic_sagemaker.update_faults(rate=3)),
        _later(3.0, lambda: synthetic_sagemaker.update_faults(rate=30)),
    ]
    outcomes = await _run(synthetic_sagemaker, arns, max_concurrency=16)
    for timer in timers:
        timer.join()
    check_outcomes(outcomes, synthetic_sagemaker.catalogue, arns)
    assert synthetic_sagemaker.counters.throttled > 0


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("real_backoff")
async def test_server_error_burst_then_recovery(synthetic_sagemaker: LocalSageMaker) -> None:
    """Every call fails (HTTP 500/503) for 2 s, then the server recovers: nothing is lost."""
    arns = synthetic_sagemaker.seed(groups=10, versions=100)
    # Seeded: the first two calls answer 503, then 500.
    synthetic_sagemaker.faults = Faults(internal_error=0.5, unavailable=1.0, seed=1)
    timer = _later(2.0, lambda: setattr(synthetic_sagemaker, "faults", Faults()))
    outcomes = await _run(synthetic_sagemaker, arns, max_concurrency=4, max_attempts=12)
    timer.join()
    check_outcomes(outcomes, synthetic_sagemaker.catalogue, arns)
    counters = synthetic_sagemaker.counters
    assert counters.internal_errors > 0
    assert counters.unavailable > 0


# Each seed puts every fault of its case among the first 10 calls, and the
# draws for the first calls do not depend on timing (omissions draw again,
# so an omission comes last), while 1010 ARNs take at least 11 calls: each
# case's faults are sure to be injected.
@pytest.mark.parametrize(
    ("faults", "settings", "injected"),
    [
        pytest.param(Faults(drop=0.3, seed=1), {}, {"dropped"}, id="dropped-connections"),
        pytest.param(Faults(stall=0.2, stall_seconds=30, seed=7), {"timeout": 0.5}, {"stalled"},
                     id="stalls-past-timeout"),
        pytest.param(Faults(omit=0.2, seed=3), {}, {"omitted_calls"}, id="omitted-arns"),
        pytest.param(Faults(internal_error=0.2, unavailable=0.1, drop=0.1, omit=0.1, seed=1), {},
                     {"internal_errors", "unavailable", "dropped", "omitted_calls"},
                     id="everything-at-once"),
    ],
)  # fmt: skip
async def test_faults_lose_nothing(
    local_sagemaker: LocalSageMaker,
    faults: Faults,
    settings: dict[str, Any],
    injected: set[str],
) -> None:
    """Drops, stalls and omissions are retried until every ARN has its true outcome."""
    arns = local_sagemaker.seed(groups=10, versions=100)
    unknown = [arn.replace("/1", "/999") for arn in arns[::100]]
    local_sagemaker.faults = faults
    outcomes = await _run(local_sagemaker, [*arns, *unknown], max_attempts=12, **settings)
    check_outcomes(outcomes, local_sagemaker.catalogue, [*arns, *unknown])
    counters = dataclasses.asdict(local_sagemaker.counters)
    assert {name for name in injected if counters[name] == 0} == set(), counters


async def test_malformed_arns_hidden_among_good_ones(local_sagemaker: LocalSageMaker) -> None:
    """Whole-call ValidationExceptions are split down to the bad ARNs (local checks off)."""
    arns = local_sagemaker.seed(groups=3, versions=100)
    malformed = [f"arn:aws:sagemaker:us-east-1:123456789012:model-group/x{i}" for i in range(5)]
    mixed = list(arns)
    for position, bad in zip((7, 99, 150, 151, 290), malformed, strict=True):
        mixed.insert(position, bad)
    outcomes = await _run(local_sagemaker, mixed, validate_arns=False)
    check_outcomes(
        outcomes, local_sagemaker.catalogue, mixed, malformed, malformed_code="ValidationException"
    )


async def test_server_gone_mid_run_stops_with_a_clear_error() -> None:
    """A server killed mid-run: EndpointUnreachableError; every outcome given is correct."""
    with SageMakerProcess("--groups", "100", "--versions", "100", "--latency", "0.02") as server:
        catalogue = Catalogue("123456789012", "us-east-1", 100, 100)
        arns = catalogue.arns()
        ServerControl(server.endpoint_url).set_faults(Faults(latency=0.02))
        outcomes: list[Outcome] = []
        with pytest.raises(EndpointUnreachableError, match="HINT"):
            await _collect_until_killed(server, arns, outcomes)

    keyed = by_arn(outcomes)
    assert 1000 <= len(keyed) < len(arns)
    for arn, outcome in keyed.items():
        assert isinstance(outcome, Described), outcome
        assert outcome.summary == catalogue.summary(*catalogue.locate(arn))  # type: ignore[misc]


async def _collect_until_killed(
    server: SageMakerProcess, arns: list[str], outcomes: list[Outcome]
) -> None:
    async with ModelPackageFetcher(
        endpoint_url=server.endpoint_url, region_name="us-east-1", max_concurrency=4
    ) as fetcher:
        async for outcome in fetcher.stream(arns):
            outcomes.append(outcome)
            if len(outcomes) == 1000:
                await anyio.to_thread.run_sync(server.kill)
