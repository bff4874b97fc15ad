"""Every throttling signal is throttling: it slows the limiter down and the call is retried.

Whole-call signals (HTTP 429 with any body, busy 503s, the throttling codes)
and per-ARN throttling codes inside ``BatchDescribeModelPackageErrorMap``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import pytest

from sagefetch import Described, Failed, ModelPackageFetcher, Outcome
from sagefetch.testing import Faults
from tests.conftest import raw_client

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker


def _json_error(code: str) -> str:
    return orjson.dumps({"__type": code, "message": "Rate exceeded"}).decode()


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        pytest.param(429, "text/html", "<html><h1>429 Too Many Requests</h1></html>",
                     id="429-proxy-html"),
        pytest.param(429, "application/x-amz-json-1.1", "", id="429-empty"),
        pytest.param(429, "application/x-amz-json-1.1", _json_error("TooManyRequestsException"),
                     id="429-typed"),
        pytest.param(503, "application/x-amz-json-1.1", _json_error("SlowDown"), id="503-slowdown"),
        pytest.param(503, "application/x-amz-json-1.1", _json_error("ServiceUnavailable"),
                     id="503-unavailable"),
        pytest.param(400, "application/x-amz-json-1.1", _json_error("RequestThrottled"),
                     id="request-throttled"),
        pytest.param(400, "application/x-amz-json-1.1",
                     _json_error("ProvisionedThroughputExceededException"),
                     id="provisioned-throughput"),
    ],
)  # fmt: skip
async def test_whole_call_throttling_signals_slow_down_and_lose_nothing(
    local_sagemaker: LocalSageMaker, status: int, content_type: str, body: str
) -> None:
    """Each signal counts as a throttle (the limiter hears it) and the call is retried."""
    arns = local_sagemaker.seed(groups=2, versions=50)
    local_sagemaker.faults = Faults(
        answer_body=body,
        answer_status=status,
        answer_content_type=content_type,
        answer=0.4,
        seed=5,
    )
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, batch_size=10, max_attempts=20) as fetcher,
    ):
        outcomes = [outcome async for outcome in fetcher.stream(arns)]

    assert sorted(outcome.arn for outcome in outcomes) == sorted(arns)
    assert all(isinstance(outcome, Described) for outcome in outcomes)
    served = local_sagemaker.counters.answered
    assert served > 0
    assert fetcher.stats.throttled == served
    assert fetcher.stats.retries == served


def _throttled_inside(arn: str) -> str:
    return orjson.dumps({
        "BatchDescribeModelPackageErrorMap": {
            arn: {"ErrorCode": "ThrottlingException", "ErrorResponse": "Rate exceeded"}
        }
    }).decode()  # fmt: skip


async def test_per_arn_throttles_slow_down_and_are_asked_for_again(
    local_sagemaker: LocalSageMaker,
) -> None:
    """A throttling code inside the error map: the limiter hears a throttle; the ARN is retried."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(answer_body=_throttled_inside(arn), answer=0.6, seed=2)
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=30) as fetcher,
    ):
        # Asked for in several runs: some answers throttle it, some describe it.
        outcomes: list[Outcome] = []
        for _ in range(8):
            outcomes += [outcome async for outcome in fetcher.stream([arn])]

    assert [type(outcome) for outcome in outcomes] == [Described] * 8
    served = local_sagemaker.counters.answered
    assert served > 0
    assert fetcher.stats.throttled == served
    assert fetcher.stats.rerequested == served


async def test_per_arn_throttles_that_never_end_fail_with_the_services_code(
    local_sagemaker: LocalSageMaker,
) -> None:
    """The service kept saying "throttled" for this ARN: after the budget, that is its record."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(answer_body=_throttled_inside(arn))
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=3) as fetcher,
    ):
        outcomes = [outcome async for outcome in fetcher.stream([arn])]

    assert outcomes == [Failed(arn, "ThrottlingException", "Rate exceeded", 3)]
    assert fetcher.stats.throttled == 3


@pytest.mark.parametrize(
    "code",
    ["com.amazonaws.sagemaker#ThrottlingException", "ServiceUnavailable", "SlowDown"],
)
async def test_per_arn_busy_and_namespaced_throttles_are_throttles(
    local_sagemaker: LocalSageMaker, code: str
) -> None:
    """Per-ARN codes are read as botocore reads whole-call ones; busy codes are throttles."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    body = orjson.dumps({
        "BatchDescribeModelPackageErrorMap": {arn: {"ErrorCode": code, "ErrorResponse": "busy"}}
    }).decode()  # fmt: skip
    local_sagemaker.faults = Faults(answer_body=body)
    async with (
        raw_client(local_sagemaker) as client,
        ModelPackageFetcher(client, max_attempts=3) as fetcher,
    ):
        outcomes = [outcome async for outcome in fetcher.stream([arn])]

    assert outcomes == [Failed(arn, code.rpartition("#")[2], "busy", 3)]
    assert fetcher.stats.throttled == 3
