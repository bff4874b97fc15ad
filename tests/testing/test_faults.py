"""Each fault knob acts, is counted, and can change while the server runs."""

from __future__ import annotations

import socket
import time
import urllib.error
from typing import Any

import anyio
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from sagefetch.testing import Faults, LocalSageMaker, ServerControl
from sagefetch.testing._faults import _TokenBucket
from tests.conftest import raw_client


async def _describe(client: Any, arns: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = await client.batch_describe_model_package(ModelPackageArnList=arns)
    return response


def _error_code(exc: ClientError) -> tuple[str, int]:
    return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]


async def test_an_empty_token_bucket_throttles(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """At 2 calls/s with a burst of 1, two immediate calls give one success and one throttle."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    local_sagemaker.faults = Faults(rate=2, burst=1)

    first = await _describe(sagemaker_client, arns)
    with pytest.raises(ClientError) as caught:
        await _describe(sagemaker_client, arns)

    assert sorted(first["ModelPackageSummaries"]) == sorted(arns)
    assert _error_code(caught.value) == ("ThrottlingException", 400)
    assert caught.value.response["Error"]["Message"] == "Rate exceeded"
    assert local_sagemaker.counters.throttled == 1


def test_the_token_bucket_refills_at_its_rate() -> None:
    """The bucket holds at most ``burst`` tokens and refills ``rate`` a second."""
    bucket = _TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.05) is False
    assert bucket.take(0.1) is True
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    bucket.retune(rate=1, burst=1, now=100.0)
    assert bucket.take(100.5) is False
    assert bucket.take(101.0) is True


async def test_latency_delays_every_answer(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """A fixed latency holds each answer back at least that long."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(latency=0.3)

    started = time.monotonic()
    await _describe(sagemaker_client, arns)

    assert time.monotonic() - started >= 0.3


async def test_jitter_adds_a_random_part_to_latency(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """Jitter adds between 0 and ``jitter`` seconds, different from call to call."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(latency=0.05, jitter=0.2, seed=7)

    for _ in range(6):
        await _describe(sagemaker_client, arns)

    total = local_sagemaker.counters.delay_seconds
    assert 6 * 0.05 < total < 6 * 0.25


@pytest.mark.parametrize(
    ("faults", "expected", "counter"),
    [
        pytest.param(
            Faults(internal_error=1.0), ("InternalFailure", 500), "internal_errors", id="http-500"
        ),
        pytest.param(
            Faults(unavailable=1.0), ("ServiceUnavailable", 503), "unavailable", id="http-503"
        ),
    ],
)
async def test_server_errors_answer_with_their_status(
    local_sagemaker: LocalSageMaker,
    sagemaker_client: Any,
    faults: Faults,
    expected: tuple[str, int],
    counter: str,
) -> None:
    """HTTP 500 and 503 faults reach aiobotocore as ClientErrors with their codes."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = faults

    with pytest.raises(ClientError) as caught:
        await _describe(sagemaker_client, arns)

    assert _error_code(caught.value) == expected
    assert getattr(local_sagemaker.counters, counter) == 1
    assert local_sagemaker.counters.forwarded == 0


async def test_a_dropped_connection_gets_no_response(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """A drop closes the connection without a byte of response."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(drop=1.0)

    with pytest.raises(ConnectionClosedError):
        await _describe(sagemaker_client, arns)

    assert local_sagemaker.counters.dropped == 1


def test_a_dropped_connection_sends_nothing_on_the_wire(local_sagemaker: LocalSageMaker) -> None:
    """Seen from a raw socket, a dropped call reads end-of-stream with no bytes."""
    local_sagemaker.faults = Faults(drop=1.0)
    host, port = local_sagemaker.endpoint_url.removeprefix("http://").split(":")
    body = b'{"ModelPackageArnList": []}'
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.BatchDescribeModelPackage\r\n"
        b"Content-Type: application/x-amz-json-1.1\r\n"
        b"Authorization: AWS4-HMAC-SHA256 Credential=AKIALOCALSAGEMAKER00/20260101/us-east-1/"
        b"sagemaker/aws4_request, SignedHeaders=host, Signature=0\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        assert sock.recv(1024) == b""


async def test_omission_leaves_arns_out_of_both_maps(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """An omitting answer succeeds but some requested ARNs are in neither map."""
    arns = local_sagemaker.seed(groups=1, versions=50)
    asked = [*arns, arns[0].replace("/1", "/77")]
    local_sagemaker.faults = Faults(omit=1.0, seed=3)

    response = await _describe(sagemaker_client, asked)

    answered = set(response["ModelPackageSummaries"]) | set(
        response["BatchDescribeModelPackageErrorMap"]
    )
    left_out = set(asked) - answered
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert left_out
    assert answered <= set(asked)
    assert local_sagemaker.counters.omitted_calls == 1
    assert local_sagemaker.counters.omitted_arns == len(left_out)


async def test_a_stall_outlasts_the_client_timeout(local_sagemaker: LocalSageMaker) -> None:
    """A stall longer than the read timeout is a ReadTimeoutError for the client."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(stall=1.0, stall_seconds=30)

    async with raw_client(local_sagemaker, read_timeout=0.5) as client:
        with pytest.raises(ReadTimeoutError):
            await _describe(client, arns)

    assert local_sagemaker.counters.stalled == 1


async def test_a_short_stall_still_answers(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """A stall shorter than the timeout only delays the answer."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(stall=1.0, stall_seconds=0.3)

    started = time.monotonic()
    response = await _describe(sagemaker_client, arns)

    assert time.monotonic() - started >= 0.3
    assert list(response["ModelPackageSummaries"]) == arns


async def test_counters_track_calls_arns_and_concurrency(local_sagemaker: LocalSageMaker) -> None:
    """Counters add up calls and ARNs, and see every call that was in flight at once."""
    arns = local_sagemaker.seed(groups=1, versions=10)
    local_sagemaker.faults = Faults(latency=1.0)

    async with (
        raw_client(local_sagemaker, max_pool_connections=8) as client,
        anyio.create_task_group() as group,
    ):
        for _ in range(8):
            group.start_soon(_describe, client, arns)

    counters = local_sagemaker.counters
    assert (counters.calls, counters.arns, counters.forwarded) == (8, 80, 8)
    assert counters.max_in_flight == 8
    assert counters.in_flight == 0


async def test_faults_change_while_the_server_runs(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """Assigning new faults takes effect on the next call; update_faults keeps the rest."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(internal_error=1.0, latency=0.01)
    with pytest.raises(ClientError):
        await _describe(sagemaker_client, arns)

    updated = local_sagemaker.update_faults(internal_error=0.0)
    response = await _describe(sagemaker_client, arns)

    assert updated == Faults(latency=0.01)
    assert list(response["ModelPackageSummaries"]) == arns


async def test_other_operations_pass_through_the_fault_layer(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """Faults apply to every SageMaker call, not only BatchDescribeModelPackage."""
    local_sagemaker.faults = Faults(unavailable=1.0)

    with pytest.raises(ClientError) as caught:
        await sagemaker_client.list_model_package_groups()

    assert _error_code(caught.value) == ("ServiceUnavailable", 503)
    assert local_sagemaker.counters.arns == 0


async def test_faults_can_target_some_operations(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """With operations=, errors hit those operations only; the rest are answered."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    local_sagemaker.faults = Faults(
        internal_error=1.0, reject_with=None, operations=("ListModelPackages",)
    )

    with pytest.raises(ClientError) as caught:
        await sagemaker_client.list_model_packages(ModelPackageGroupName="churn-0000")
    answer = await _describe(sagemaker_client, arns)
    groups = await sagemaker_client.list_model_package_groups()

    assert _error_code(caught.value) == ("InternalFailure", 500)
    assert sorted(answer["ModelPackageSummaries"]) == sorted(arns)
    assert len(groups["ModelPackageGroupSummaryList"]) == 1
    assert local_sagemaker.counters.internal_errors == 1


async def test_rejection_can_target_some_operations(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """reject_with with operations= denies only those operations (a partial IAM policy)."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    local_sagemaker.faults = Faults(
        reject_with="AccessDeniedException", operations=("BatchDescribeModelPackage",)
    )

    groups = await sagemaker_client.list_model_package_groups()
    with pytest.raises(ClientError) as caught:
        await _describe(sagemaker_client, arns)

    assert len(groups["ModelPackageGroupSummaryList"]) == 1
    assert _error_code(caught.value) == ("AccessDeniedException", 403)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"rate": 0}, id="zero-rate"),
        pytest.param({"burst": 0}, id="zero-burst"),
        pytest.param({"latency": -1}, id="negative-latency"),
        pytest.param({"drop": 1.5}, id="probability-above-1"),
        pytest.param({"omit": -0.1}, id="negative-probability"),
    ],
)
def test_nonsense_settings_are_refused(settings: dict[str, float]) -> None:
    """Faults that cannot be applied are a ValueError naming the setting."""
    with pytest.raises(ValueError, match=next(iter(settings))):
        Faults(**settings)  # type: ignore[arg-type]


async def test_the_control_api_reads_counters_and_changes_faults(
    synthetic_sagemaker: LocalSageMaker, synthetic_client: Any
) -> None:
    """Another process can read counters and a per-second timeline, and set faults, over HTTP."""
    arns = synthetic_sagemaker.seed(groups=1, versions=1)
    control = ServerControl(synthetic_sagemaker.endpoint_url)
    await _describe(synthetic_client, arns)

    await anyio.to_thread.run_sync(control.set_faults, Faults(rate=1, burst=1))
    await _describe(synthetic_client, arns)
    with pytest.raises(ClientError):
        await _describe(synthetic_client, arns)
    counters = await anyio.to_thread.run_sync(control.counters)
    timeline = await anyio.to_thread.run_sync(control.timeline)
    await anyio.to_thread.run_sync(control.reset)

    assert synthetic_sagemaker.faults == Faults(rate=1, burst=1)
    assert (counters.calls, counters.throttled) == (3, 1)
    assert sum(calls for _, calls, _ in timeline) == 3
    assert sum(throttled for _, _, throttled in timeline) == 1
    assert synthetic_sagemaker.counters.calls == 0


def test_the_control_api_refuses_bad_faults(synthetic_sagemaker: LocalSageMaker) -> None:
    """Nonsense fault settings over HTTP are a 400 with the reason; the faults stay."""
    control = ServerControl(synthetic_sagemaker.endpoint_url)
    with pytest.raises(urllib.error.HTTPError) as caught:
        control._call("PUT", "faults", {"drop": 7})
    assert caught.value.code == 400
    caught.value.close()
    assert synthetic_sagemaker.faults == Faults()


async def test_a_served_answer_replaces_the_backends(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """answer_body is served with its status, type and headers; request headers can be echoed."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(
        answer_body="<html>Too Many Requests $REQUEST_HEADERS</html>",
        answer_status=429,
        answer_content_type="text/html",
        answer_headers=(("x-amz-retry-after", "1500"),),
    )

    with pytest.raises(ClientError) as caught:
        await _describe(sagemaker_client, arns)

    metadata = caught.value.response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 429
    assert metadata["HTTPHeaders"]["x-amz-retry-after"] == "1500"
    assert metadata["HTTPHeaders"]["content-type"] == "text/html"
    assert local_sagemaker.counters.answered == 1
    assert local_sagemaker.counters.forwarded == 0
