"""Property: random inputs under random fault schedules get exactly-once, correct outcomes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagefetch import Described, Failed, ModelPackageFetcher, Outcome
from sagefetch.testing import Faults
from sagefetch.testing._catalogue import group_name
from tests.checks import by_arn
from tests.conftest import raw_client

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker

GROUPS, VERSIONS = 20, 100
PREFIX = "arn:aws:sagemaker:us-east-1:123456789012:model-package"
#: What a fault may leave an ARN with, once retries run out.
FAULT_CODES = {"InternalFailure", "ServiceUnavailable",
               "MissingFromResponse", "ThrottlingException"}  # fmt: skip

arns = st.one_of(
    st.tuples(st.just("existing"), st.integers(0, GROUPS - 1), st.integers(1, VERSIONS)),
    st.tuples(st.just("unknown"), st.integers(0, GROUPS - 1), st.integers(VERSIONS + 1, 999)),
    st.tuples(st.just("malformed"), st.integers(0, 50), st.just(0)),
).map(
    lambda item: (
        item[0],
        f"{PREFIX}/{group_name(item[1])}/{item[2]}" if item[0] != "malformed" else f"bad-{item[1]}",
    )
)
inputs = st.lists(arns, max_size=2000).flatmap(
    lambda items: st.permutations(items + items[: len(items) // 4])
)
faults = st.builds(
    Faults,
    rate=st.one_of(st.none(), st.floats(20, 200)),
    burst=st.integers(1, 10),
    internal_error=st.floats(0, 0.3),
    unavailable=st.floats(0, 0.2),
    drop=st.floats(0, 0.15),
    omit=st.floats(0, 0.3),
    seed=st.integers(0, 1000),
)
schedules = st.lists(st.tuples(st.floats(0.0, 0.5), faults), min_size=1, max_size=3)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=inputs, schedule=schedules, concurrency=st.integers(1, 16))
def test_exactly_once_under_random_fault_schedules(
    synthetic_sagemaker: LocalSageMaker,
    items: list[tuple[str, str]],
    schedule: list[tuple[float, Faults]],
    concurrency: int,
) -> None:
    """Each distinct ARN: one outcome; described ones true; failures carry a fitting code."""
    server = synthetic_sagemaker
    if server.catalogue.groups != GROUPS:
        server.seed(groups=GROUPS, versions=VERSIONS)
    kinds = {arn: kind for kind, arn in items}
    server.faults = schedule[0][1]
    timers = [
        threading.Timer(delay, setattr, (server, "faults", later)) for delay, later in schedule[1:]
    ]

    async def run() -> list[Outcome]:
        async with (
            raw_client(server, max_pool_connections=16) as client,
            ModelPackageFetcher(client, max_concurrency=concurrency, max_attempts=10) as fetcher,
        ):
            for timer in timers:
                timer.start()
            return [outcome async for outcome in fetcher.stream([arn for _, arn in items])]

    try:
        outcomes = anyio.run(run)
    finally:
        for timer in timers:
            timer.cancel()
        server.faults = Faults()

    keyed = by_arn(outcomes)
    assert set(keyed) == set(kinds)
    catalogue = server.catalogue
    for arn, outcome in keyed.items():
        kind = kinds[arn]
        if kind == "malformed":
            assert isinstance(outcome, Failed)
            assert (outcome.code, outcome.attempts) == ("InvalidArn", 0)
        elif isinstance(outcome, Described):
            assert kind == "existing"
            assert outcome.summary == catalogue.summary(*catalogue.locate(arn))  # type: ignore[misc]
        else:
            expected = FAULT_CODES | ({"ResourceNotFound"} if kind == "unknown" else set())
            assert outcome.code in expected, outcome
            assert outcome.attempts >= 1
