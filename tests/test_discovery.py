"""Discovery against moto's SageMaker: every package listed once, lazily, through the limiter."""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack, aclosing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from sagefetch import (
    AccessDeniedError,
    AdaptiveRateLimiter,
    Described,
    Failed,
    ModelPackageFetcher,
    RunStoppedError,
)
from sagefetch.testing import Faults
from tests.conftest import raw_client

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker


async def _discover(fetcher: ModelPackageFetcher, **selection: Any) -> list[str | Failed]:
    async with aclosing(fetcher.discover(**selection)) as found:
        return [item async for item in found]


def _approved(server: LocalSageMaker) -> set[str]:
    catalogue = server.catalogue
    return {
        catalogue.arn(group, version)
        for group in range(catalogue.groups)
        for version in range(1, catalogue.versions + 1)
        if catalogue.summary(group, version)["ModelApprovalStatus"] == "Approved"
    }


@pytest.mark.timeout(120)
async def test_discovery_pages_past_every_boundary(local_sagemaker: LocalSageMaker) -> None:
    """130 groups (two pages) and a group of 250 versions (three pages): each ARN once."""
    local_sagemaker.seed(groups=130, versions=2)
    local_sagemaker.seed(groups=1, versions=250)
    expected = set(local_sagemaker.catalogue.arns()) - {
        local_sagemaker.catalogue.arn(group, version)
        for group in range(1, 130)
        for version in range(3, 251)
    }
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_concurrency=8) as fetcher,
    ):
        found = await _discover(fetcher)
    assert len(expected) == 129 * 2 + 250
    assert Counter(found) == Counter(expected)
    # 2 pages of groups, 1 page for each of 129 groups, 3 for the big one, 1 of unversioned.
    assert fetcher.stats.list_calls == 2 + 129 + 3 + 1
    assert fetcher.stats.listed == len(expected)


async def test_unversioned_packages_are_listed_too(local_sagemaker: LocalSageMaker) -> None:
    """Packages outside any group are found unless turned off."""
    arns = local_sagemaker.seed(groups=2, versions=3)
    async with raw_client(local_sagemaker) as client:
        created = await client.create_model_package(
            ModelPackageName="standalone",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )
        async with ModelPackageFetcher(client) as fetcher:
            everything = await _discover(fetcher)
            versioned = await _discover(fetcher, unversioned=False)
    assert sorted(everything) == sorted([*arns, created["ModelPackageArn"]])
    assert sorted(versioned) == sorted(arns)


async def test_approval_filter_is_the_apis(local_sagemaker: LocalSageMaker) -> None:
    """approval_status lists exactly the approved packages, filtered by the service."""
    local_sagemaker.seed(groups=6, versions=40)
    expected = _approved(local_sagemaker)
    async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        found = await _discover(fetcher, approval_status="Approved")
    assert 0 < len(expected) < 240
    assert sorted(found) == sorted(expected)


async def test_creation_window_filters_versions_not_groups(
    local_sagemaker: LocalSageMaker,
) -> None:
    """The window applies to packages: a group created before it still yields its new versions."""
    local_sagemaker.seed(groups=3, versions=200)
    catalogue = local_sagemaker.catalogue
    # Group g's version v was created at 2024-01-01 + g days + v minutes.
    after = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=150)
    before = datetime(2024, 1, 2, tzinfo=UTC) + timedelta(minutes=20)
    expected = {catalogue.arn(0, version) for version in range(151, 201)} | {
        catalogue.arn(1, version) for version in range(1, 20)
    }
    async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        found = await _discover(fetcher, created_after=after, created_before=before)
    assert sorted(found) == sorted(expected)


async def test_chosen_groups_and_a_missing_one(local_sagemaker: LocalSageMaker) -> None:
    """Chosen groups are listed alone; a group that does not exist is a Failed item, not silence."""
    local_sagemaker.seed(groups=4, versions=5)
    catalogue = local_sagemaker.catalogue
    chosen = ["fraud-0001", "no-such-group", "fraud-0001"]
    async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        found = await _discover(fetcher, groups=chosen)
    arns = [item for item in found if isinstance(item, str)]
    failed = [item for item in found if isinstance(item, Failed)]
    assert sorted(arns) == sorted(catalogue.arn(1, version) for version in range(1, 6))
    assert [(item.arn, item.code) for item in failed] == [("no-such-group", "ValidationException")]
    assert "could not list" in failed[0].message


class CountingLimiter(AdaptiveRateLimiter):
    """A limiter that counts the calls drawing from it and the throttles it hears."""

    def __init__(self) -> None:
        super().__init__()
        self.acquired = 0
        self.throttles = 0

    async def acquire(self) -> float:
        self.acquired += 1
        return await super().acquire()

    def on_throttle(self, ticket: float) -> None:
        self.throttles += 1
        super().on_throttle(ticket)


#: A whole-call throttle, as the service answers one (HTTP 400).
THROTTLE = '{"__type": "ThrottlingException", "message": "Rate exceeded"}'


@pytest.mark.timeout(120)
async def test_listing_shares_the_limiter_and_retries(local_sagemaker: LocalSageMaker) -> None:
    """List and describe calls all draw from the fetcher's one limiter, which hears every throttle.

    Throttles, 500s and drops (seeded: each within the first 64 calls, the
    fewest this takes; few throttles, so the rate stays up) are retried; every
    package is listed and described once.
    """
    arns = local_sagemaker.seed(groups=60, versions=3)
    local_sagemaker.faults = Faults(
        answer_body=THROTTLE, answer_status=400, answer=0.03, internal_error=0.1, drop=0.05, seed=6
    )
    limiter = CountingLimiter()
    async with (
        raw_client(local_sagemaker, read_timeout=5) as client,
        ModelPackageFetcher(client, limiter=limiter, max_concurrency=8, max_attempts=12) as fetcher,
        aclosing(fetcher.discover(concurrency=8)) as found,
        aclosing(fetcher.stream(found)) as outcomes,
    ):
        results = [outcome async for outcome in outcomes]
    assert all(isinstance(outcome, Described) for outcome in results)
    assert Counter(outcome.arn for outcome in results) == Counter(arns)
    stats, server = fetcher.stats, local_sagemaker.counters
    assert stats.list_calls >= 62  # the groups, each group's versions, unversioned packages
    assert stats.calls - stats.list_calls >= 2  # 180 ARNs: at least two describe calls
    assert limiter.acquired == stats.calls == server.calls
    assert limiter.throttles == stats.throttled == server.answered > 0
    assert server.internal_errors > 0
    assert server.dropped > 0
    assert stats.retries > 0


async def test_discovery_feeds_describe_exactly_once(local_sagemaker: LocalSageMaker) -> None:
    """discover() into stream(): every package described once, list and describe calls counted."""
    arns = local_sagemaker.seed(groups=12, versions=30)
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client) as fetcher,
        aclosing(fetcher.discover()) as found,
        aclosing(fetcher.stream(found)) as outcomes,
    ):
        results = [outcome async for outcome in outcomes]
    assert all(isinstance(outcome, Described) for outcome in results)
    assert Counter(outcome.arn for outcome in results) == Counter(arns)
    stats = fetcher.stats
    assert stats.calls == stats.list_calls + 4  # 360 ARNs: four describe calls
    assert stats.described == 360


async def test_a_group_that_cannot_be_listed_fails_as_a_record(
    local_sagemaker: LocalSageMaker,
) -> None:
    """The Failed item of an unlistable group passes through stream() as an outcome."""
    local_sagemaker.seed(groups=2, versions=2)
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client) as fetcher,
        aclosing(fetcher.discover(groups=["churn-0000", "gone"])) as found,
        aclosing(fetcher.stream(found)) as outcomes,
    ):
        results = {outcome.arn: outcome async for outcome in outcomes}
    assert isinstance(results.pop("gone"), Failed)
    assert sorted(results) == sorted(local_sagemaker.catalogue.arns()[:2])
    assert fetcher.stats.failed == 1


async def test_groups_that_cannot_be_listed_fail_as_records(
    local_sagemaker: LocalSageMaker,
) -> None:
    """ListModelPackages failing past its retries: each group is a Failed item; the rest go on."""
    local_sagemaker.seed(groups=3, versions=2)
    local_sagemaker.faults = Faults(internal_error=1.0, operations=("ListModelPackages",))
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=2) as fetcher,
    ):
        found = await _discover(fetcher, unversioned=False)
    assert all(isinstance(item, Failed) for item in found)
    failed = [item for item in found if isinstance(item, Failed)]
    assert sorted(item.arn.rsplit("/", 1)[-1] for item in failed) == [
        "churn-0000",
        "fraud-0001",
        "ranking-0002",
    ]
    assert {item.code for item in failed} == {"InternalFailure"}
    assert all(":model-package-group/" in item.arn for item in failed)
    assert fetcher.stats.list_calls == 1 + 3 * 2


async def test_groups_that_cannot_be_listed_at_all_stop_the_run(
    local_sagemaker: LocalSageMaker,
) -> None:
    """ListModelPackageGroups failing past its retries stops the run: nothing to list from."""
    local_sagemaker.seed(groups=2, versions=2)
    local_sagemaker.faults = Faults(internal_error=1.0, operations=("ListModelPackageGroups",))
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=2) as fetcher,
    ):
        with pytest.raises(RunStoppedError, match=r"InternalFailure.*ListModelPackageGroups"):
            await _discover(fetcher, unversioned=False)


async def test_unversioned_listing_that_fails_stops_the_run(
    local_sagemaker: LocalSageMaker,
) -> None:
    """Packages outside groups have no group to fail under: failing to list them stops the run."""
    local_sagemaker.seed(groups=1, versions=2)
    local_sagemaker.faults = Faults(internal_error=1.0, operations=("ListModelPackages",))
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=2) as fetcher,
    ):
        with pytest.raises(RunStoppedError, match="InternalFailure"):
            await _discover(fetcher)


async def test_permission_to_list_but_not_describe_stops_at_describe(
    local_sagemaker: LocalSageMaker,
) -> None:
    """A policy allowing listing but not BatchDescribeModelPackage names the missing permission."""
    local_sagemaker.seed(groups=2, versions=2)
    local_sagemaker.faults = Faults(
        reject_with="AccessDeniedException", operations=("BatchDescribeModelPackage",)
    )
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client) as fetcher,
        aclosing(fetcher.discover()) as found,
        aclosing(fetcher.stream(found)) as outcomes,
    ):
        with pytest.raises(AccessDeniedError, match="sagemaker:BatchDescribeModelPackage "):
            [outcome async for outcome in outcomes]


async def test_access_denied_stops_discovery(local_sagemaker: LocalSageMaker) -> None:
    """Listing that no call can do stops with AccessDeniedError, with the permission hint."""
    local_sagemaker.seed(groups=2, versions=2)
    local_sagemaker.faults = Faults(reject_with="AccessDeniedException")
    async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        with pytest.raises(AccessDeniedError, match="ListModelPackages"):
            await _discover(fetcher)


async def test_leaving_discovery_early_stops_listing(local_sagemaker: LocalSageMaker) -> None:
    """Closing discover() after one ARN stops its listing task: no more list calls."""
    local_sagemaker.seed(groups=40, versions=2)
    async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        async with aclosing(fetcher.discover(concurrency=1)) as found:
            first = await anext(found)
        calls = fetcher.stats.list_calls
        assert first.startswith("arn:aws:sagemaker:")
        await _discover(fetcher, groups=["churn-0000"])
        # The abandoned listing made no calls after it was closed: 2 = describe + list one group.
        assert fetcher.stats.list_calls == calls + 2
    assert calls < 40


@pytest.mark.parametrize("close_discovery_too", [False, True], ids=["stream-only", "both"])
async def test_leaving_the_loop_while_listing_is_slow_raises_the_callers_error(
    local_sagemaker: LocalSageMaker, close_discovery_too: bool
) -> None:
    """An error in the caller's loop comes out as it is, even with listing mid-call."""
    local_sagemaker.seed(groups=30, versions=2)
    local_sagemaker.faults = Faults(latency=0.2, operations=("ListModelPackages",))

    class ConsumerError(Exception):
        pass

    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_concurrency=2, batch_size=2) as fetcher,
    ):
        found = fetcher.discover(concurrency=1)

        async def consume() -> None:
            async with AsyncExitStack() as stack:
                if close_discovery_too:
                    await stack.enter_async_context(aclosing(found))
                outcomes = await stack.enter_async_context(aclosing(fetcher.stream(found)))
                async for _ in outcomes:
                    raise ConsumerError

        with pytest.raises(ConsumerError):
            await consume()
        assert fetcher.stats.in_flight == 0


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        pytest.param({"approval_status": "approved"}, "approval_status", id="approval-case"),
        pytest.param({"groups": "churn-0000"}, "not a single string", id="groups-string"),
        pytest.param(
            {
                "created_after": datetime(2025, 1, 2, tzinfo=UTC),
                "created_before": datetime(2025, 1, 1, tzinfo=UTC),
            },
            "earlier",
            id="empty-window",
        ),
        pytest.param({"created_after": "2025-01-01"}, "datetime", id="time-as-string"),
        pytest.param({"concurrency": 0}, "concurrency", id="no-concurrency"),
    ],
)
async def test_bad_selections_are_refused_at_once(
    local_sagemaker: LocalSageMaker, selection: dict[str, Any], message: str
) -> None:
    """A selection the API would refuse is a ValueError/TypeError before any call."""
    async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        with pytest.raises((ValueError, TypeError), match=message):
            fetcher.discover(**selection)
        assert fetcher.stats.calls == 0
