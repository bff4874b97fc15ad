"""Property: for any input, every distinct ARN gets exactly one outcome, and the right one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagefetch import Described, Failed, ModelPackageFetcher
from sagefetch.testing._catalogue import group_name
from tests.conftest import raw_client

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker

GROUPS, VERSIONS = 5, 40

existing = st.builds(
    lambda arn: ("existing", arn),
    st.builds(
        lambda g, v: f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group_name(g)}/{v}",
        st.integers(0, GROUPS - 1),
        st.integers(1, VERSIONS),
    ),
)
unknown = st.builds(
    lambda arn: ("unknown", arn),
    st.builds(
        lambda g, v: f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group_name(g)}/{v}",
        st.integers(0, GROUPS - 1),
        st.integers(VERSIONS + 1, 10_000),
    ),
)
malformed = st.builds(
    lambda arn: ("malformed", arn),
    st.one_of(
        st.text(max_size=30).map(lambda s: "x" + s),
        st.builds(
            lambda s: f"arn:aws:sagemaker:us-east-1:123:model-package/{s}", st.text(max_size=5)
        ),
        st.just("arn:aws:sagemaker:us-east-1:123456789012:model-package/"),
    ),
)
inputs = st.lists(st.one_of(existing, existing, unknown, malformed), max_size=400).flatmap(
    lambda arns: st.permutations(arns + arns[: len(arns) // 3])  # and some duplicates
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=inputs, batch_size=st.integers(1, 100), concurrency=st.integers(1, 8))
def test_exactly_one_correct_outcome_per_distinct_arn(
    synthetic_sagemaker: LocalSageMaker,
    items: list[tuple[str, str]],
    batch_size: int,
    concurrency: int,
) -> None:
    """Outcomes match distinct inputs one to one; stats add up; content is right."""
    server = synthetic_sagemaker  # reset (no faults) once for all examples
    if server.catalogue.groups != GROUPS:
        server.seed(groups=GROUPS, versions=VERSIONS)
    catalogue = server.catalogue
    arns = [arn for _, arn in items]
    expected = {arn: kind for kind, arn in items}

    async def run() -> tuple[list[Described | Failed], ModelPackageFetcher]:
        async with (
            raw_client(server) as client,
            ModelPackageFetcher(
                client, batch_size=batch_size, max_concurrency=concurrency, max_rate=1000
            ) as fetcher,
        ):
            return [outcome async for outcome in fetcher.stream(arns)], fetcher

    outcomes, fetcher = anyio.run(run)

    distinct = list(dict.fromkeys(arns))
    assert sorted(o.arn for o in outcomes) == sorted(distinct)
    for outcome in outcomes:
        kind = expected[outcome.arn]
        if kind == "existing":
            assert isinstance(outcome, Described), outcome
            assert outcome.summary == catalogue.summary(*catalogue.locate(outcome.arn))  # type: ignore[misc]
        elif kind == "unknown":
            assert isinstance(outcome, Failed), outcome
            assert (outcome.code, outcome.attempts) == ("ResourceNotFound", 1)
        else:
            assert isinstance(outcome, Failed), outcome
            assert (outcome.code, outcome.attempts) == ("InvalidArn", 0)
    stats = fetcher.stats
    assert stats.duplicates == len(arns) - len(distinct)
    assert stats.described + stats.failed == len(distinct)
    assert stats.described == sum(expected[arn] == "existing" for arn in distinct)
    assert stats.calls == len(
        range(0, sum(expected[arn] != "malformed" for arn in distinct), batch_size)
    )
