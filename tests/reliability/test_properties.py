"""Property: random inputs under random fault schedules get exactly-once, correct outcomes."""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

import anyio
from hypothesis import HealthCheck, example, given, settings
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
MAX_ATTEMPTS = 10
#: The code a fault leaves an ARN with once retries run out, and the server's counter of it.
FAULT_CODES = {
    "ThrottlingException": "throttled",
    "InternalFailure": "internal_errors",
    "ServiceUnavailable": "unavailable",
    "MissingFromResponse": "omitted_calls",
}
#: Counters of calls that failed as a whole (each one attempt used up).
CALL_FAULTS = ("throttled", "internal_errors", "unavailable", "dropped")

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
#: Every run checks this case too: faults on about 3 calls in 10, which retries
#: always get past (10 failed calls in a row: about one batch in 300,000).
EVERY_RUN = (
    [("existing", f"{PREFIX}/{group_name(group)}/{version}")
     for group in range(5) for version in range(1, VERSIONS + 1)]
    + [("unknown", f"{PREFIX}/{group_name(0)}/{VERSIONS + 1}"), ("malformed", "bad-0")]
)  # fmt: skip
EVERY_RUN_FAULTS = Faults(internal_error=0.2, unavailable=0.1, omit=0.2, seed=5)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=inputs, schedule=schedules, concurrency=st.integers(1, 16))
@example(items=EVERY_RUN, schedule=[(0.0, EVERY_RUN_FAULTS)], concurrency=4)
def test_exactly_once_under_random_fault_schedules(
    synthetic_sagemaker: LocalSageMaker,
    items: list[tuple[str, str]],
    schedule: list[tuple[float, Faults]],
    concurrency: int,
) -> None:
    """Each distinct ARN: one outcome; described ones true; failures only where faults allow.

    An ARN (existing or not) may fail with a fault's code only once retries ran
    out: after MAX_ATTEMPTS calls, with the server counting at least that many
    faulted calls, that fault among them.
    """
    server = synthetic_sagemaker
    if server.catalogue.groups != GROUPS:
        server.seed(groups=GROUPS, versions=VERSIONS)
    kinds = {arn: kind for kind, arn in items}
    before = dataclasses.asdict(server.counters)
    server.faults = schedule[0][1]
    timers = [
        threading.Timer(delay, setattr, (server, "faults", later)) for delay, later in schedule[1:]
    ]

    async def run() -> list[Outcome]:
        async with (
            raw_client(server, max_pool_connections=16) as client,
            ModelPackageFetcher(
                client, max_concurrency=concurrency, max_attempts=MAX_ATTEMPTS
            ) as fetcher,
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

    after = dataclasses.asdict(server.counters)
    faults = {name: after[name] - before[name] for name in (*FAULT_CODES.values(), *CALL_FAULTS)}
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
        elif kind == "unknown" and outcome.code == "ResourceNotFound":
            assert outcome.attempts >= 1
        else:
            _check_fault_failure(outcome, faults)


def _check_fault_failure(outcome: Outcome, faults: dict[str, int]) -> None:
    """A failure a fault caused: its code, after every attempt, the server counting the faults."""
    assert isinstance(outcome, Failed), outcome
    assert outcome.code in FAULT_CODES, outcome
    assert outcome.attempts >= MAX_ATTEMPTS, outcome
    assert faults[FAULT_CODES[outcome.code]] >= 1, (outcome, faults)
    if outcome.code == "MissingFromResponse":
        assert faults["omitted_calls"] >= MAX_ATTEMPTS, (outcome, faults)
    else:
        assert sum(faults[name] for name in CALL_FAULTS) >= MAX_ATTEMPTS, (outcome, faults)
