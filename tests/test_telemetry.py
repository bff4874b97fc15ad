"""OpenTelemetry metrics and spans of real runs against the local SageMaker.

The SDK's global providers can be set once per process: a session fixture sets
them, with an in-memory metric reader (counters and histograms as deltas since
the last read) and an in-memory span exporter. sagefetch was imported (and made
its instruments) before that, so these tests also run on the API's proxies.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import weakref
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Counter as SdkCounter
from opentelemetry.sdk.metrics import Histogram as SdkHistogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import sagefetch
from sagefetch import AdaptiveRateLimiter, Described, ModelPackageFetcher, Outcome, _telemetry
from sagefetch.testing import Faults, LocalSageMaker
from tests.conftest import raw_client

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opentelemetry.sdk.trace import ReadableSpan

DESCRIBE = "BatchDescribeModelPackage"


@dataclass
class Telemetry:
    """The session's in-memory metric reader and span exporter."""

    reader: InMemoryMetricReader
    exporter: InMemorySpanExporter

    def read(self) -> dict[str, Any]:
        """The metrics sagefetch recorded since the last read, by instrument name."""
        found: dict[str, Any] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                if scope.scope.name == "sagefetch":
                    found.update({metric.name: metric for metric in scope.metrics})
        return found

    def spans(self) -> list[ReadableSpan]:
        """The spans ended since the last clear, and clear them."""
        spans = list(self.exporter.get_finished_spans())
        self.exporter.clear()
        return spans


@pytest.fixture(scope="session")
def session_telemetry() -> Telemetry:
    """The SDK as the global meter and tracer providers, set once for the session."""
    delta = AggregationTemporality.DELTA
    reader = InMemoryMetricReader(preferred_temporality={SdkCounter: delta, SdkHistogram: delta})
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    trace.set_tracer_provider(tracer_provider)
    return Telemetry(reader, exporter)


@pytest.fixture
def telemetry(session_telemetry: Telemetry) -> Iterator[Telemetry]:
    """The session's telemetry, with what earlier tests recorded read away."""
    session_telemetry.read()
    session_telemetry.spans()
    yield session_telemetry
    session_telemetry.spans()


def _version_of(distribution: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(distribution).split(".")[:2])


def _sum(metric: Any, **attributes: Any) -> float:
    """The sum of ``metric``'s points whose attributes include ``attributes``."""
    wanted = {f"sagefetch.{key}": value for key, value in attributes.items()}
    return sum(
        point.value
        for point in metric.data.data_points
        if wanted.items() <= dict(point.attributes).items()
    )


@dataclass
class ThrottledRun:
    """What one throttled run against the synthetic SageMaker left behind."""

    outcomes: list[Outcome]
    stats: sagefetch.FetchStats
    server_calls: int
    server_throttled: int
    metrics: dict[str, Any]
    spans: list[ReadableSpan]
    limiter: AdaptiveRateLimiter
    limiter_rate: float
    valid_arns: int


@pytest.fixture(scope="module")
def throttled_run(
    session_telemetry: Telemetry, synthetic_sagemaker_server: LocalSageMaker
) -> ThrottledRun:
    """One run under a caller's span: 60 packages, 5 unknown, 2 malformed, throttled at 4/s."""
    server = synthetic_sagemaker_server
    server.reset()
    known = server.seed(groups=1, versions=60)
    unknown = [server.catalogue.arn(0, 1000 + index) for index in range(5)]
    malformed = ["not an arn", "arn:aws:s3:::bucket"]
    server.faults = Faults(rate=4, burst=1)  # the limiter starts at 5 calls/s: throttles
    session_telemetry.read()
    session_telemetry.spans()

    async def run() -> tuple[list[Outcome], ModelPackageFetcher]:
        caller = trace.get_tracer("tests").start_as_current_span("caller")
        async with raw_client(server) as client, ModelPackageFetcher(client, batch_size=10) as f:
            with caller:
                outcomes = [outcome async for outcome in f.stream([*known, *unknown, *malformed])]
        return outcomes, f

    outcomes, fetcher = asyncio.run(run())
    counters = server.counters
    return ThrottledRun(
        outcomes=outcomes,
        stats=fetcher.stats,
        server_calls=counters.calls,
        server_throttled=counters.throttled,
        metrics=session_telemetry.read(),
        spans=session_telemetry.spans(),
        limiter=fetcher.limiter,
        limiter_rate=fetcher.limiter.rate,
        valid_arns=len(known) + len(unknown),
    )


def test_instruments_have_namespaced_names_and_units(throttled_run: ThrottledRun) -> None:
    """Each instrument has its documented name and unit, in the meter 'sagefetch'."""
    units = {name: metric.unit for name, metric in throttled_run.metrics.items()}
    assert units == {
        "sagefetch.calls": "{call}",
        "sagefetch.throttles": "{call}",
        "sagefetch.retries": "{call}",
        "sagefetch.outcomes": "{outcome}",
        "sagefetch.call.duration": "s",
        "sagefetch.limiter.rate": "{call}/s",
    }


def test_calls_are_counted_as_the_server_received_them(throttled_run: ThrottledRun) -> None:
    """The calls counter, by operation, equals the calls the server received."""
    calls = throttled_run.metrics["sagefetch.calls"]
    assert _sum(calls, operation=DESCRIBE) == _sum(calls) == throttled_run.server_calls
    assert throttled_run.server_calls == throttled_run.stats.calls


def test_throttles_and_retries_are_counted(throttled_run: ThrottledRun) -> None:
    """The throttles and retries counters equal the server's throttles and the run's retries."""
    run = throttled_run
    assert _sum(run.metrics["sagefetch.throttles"], operation=DESCRIBE) == run.server_throttled
    assert run.server_throttled == run.stats.throttled > 0
    assert _sum(run.metrics["sagefetch.retries"], operation=DESCRIBE) == run.stats.retries > 0


def test_outcomes_are_counted_by_status_and_code(throttled_run: ThrottledRun) -> None:
    """The outcomes counter holds each (status, code) as often as the run yielded it."""
    expected = Counter(
        ("described", None) if isinstance(outcome, Described) else ("failed", outcome.code)
        for outcome in throttled_run.outcomes
    )
    counted = {
        (point.attributes["sagefetch.status"], point.attributes.get("error.type")): point.value
        for point in throttled_run.metrics["sagefetch.outcomes"].data.data_points
    }
    assert counted == dict(expected)
    assert expected == {
        ("described", None): 60,
        ("failed", "ResourceNotFound"): 5,
        ("failed", "InvalidArn"): 2,
    }


def test_the_latency_histogram_has_one_point_per_call(throttled_run: ThrottledRun) -> None:
    """The call duration histogram counts each call once, by result, in seconds."""
    run = throttled_run
    points = run.metrics["sagefetch.call.duration"].data.data_points
    counts = Counter()
    for point in points:
        assert point.attributes["sagefetch.operation"] == DESCRIBE
        counts[point.attributes["sagefetch.result"]] += point.count
        assert 0 < point.min <= point.max < 5  # seconds, not milliseconds
    assert counts == {
        "ok": run.server_calls - run.server_throttled,
        "throttled": run.server_throttled,
    }


@pytest.mark.skipif(
    _version_of("opentelemetry-sdk") < (1, 30),
    reason="histogram bucket advice needs opentelemetry 1.30: older SDKs use their own buckets",
)
def test_the_latency_histogram_has_buckets_for_seconds(throttled_run: ThrottledRun) -> None:
    """The call duration histogram advises buckets from 5 ms to 10 s."""
    for point in throttled_run.metrics["sagefetch.call.duration"].data.data_points:
        assert point.explicit_bounds[0] == 0.005
        assert point.explicit_bounds[-1] == 10.0


def test_the_rate_gauge_reports_the_limiters_rate(throttled_run: ThrottledRun) -> None:
    """The limiter rate gauge reports the run's limiter at its current rate."""
    number = _telemetry._limiters[throttled_run.limiter]
    rates = {
        point.attributes["sagefetch.limiter"]: point.value
        for point in throttled_run.metrics["sagefetch.limiter.rate"].data.data_points
    }
    assert rates[number] == throttled_run.limiter_rate


def test_the_run_span_is_the_callers_child_and_carries_the_counts(
    throttled_run: ThrottledRun,
) -> None:
    """One run span, a child of the span current where stream() ran, ends with the run's counts."""
    spans = {
        span.name: span for span in throttled_run.spans if span.name != f"SageMaker.{DESCRIBE}"
    }
    assert sorted(spans) == ["caller", "sagefetch.run"]
    run_span, stats = spans["sagefetch.run"], throttled_run.stats
    assert run_span.parent is not None
    assert run_span.parent.span_id == spans["caller"].context.span_id
    assert dict(run_span.attributes or {}) == {
        "sagefetch.described": stats.described,
        "sagefetch.failed": stats.failed,
        "sagefetch.calls": stats.calls,
    }
    assert run_span.status.status_code is StatusCode.UNSET


def test_call_spans_are_the_run_spans_children_with_the_batch_size(
    throttled_run: ThrottledRun,
) -> None:
    """Each call attempt has a CLIENT span under the run span, with its batch size and result."""
    [run_span] = [span for span in throttled_run.spans if span.name == "sagefetch.run"]
    calls = [span for span in throttled_run.spans if span.name == f"SageMaker.{DESCRIBE}"]
    assert len(calls) == throttled_run.server_calls
    sent: Counter[str] = Counter()
    for span in calls:
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == run_span.context.span_id
        attributes = dict(span.attributes or {})
        result = attributes["sagefetch.result"]
        sent[result] += attributes["sagefetch.batch_size"]
        if result == "throttled":
            assert attributes["error.type"] == "ThrottlingException"
            assert span.status.status_code is StatusCode.ERROR
        else:
            assert "error.type" not in attributes
    assert sent["ok"] == throttled_run.valid_arns  # each valid ARN answered once


async def test_listing_calls_are_children_of_the_run_they_feed(
    telemetry: Telemetry, local_sagemaker: LocalSageMaker
) -> None:
    """stream(discover()): every listing call's span is under the run span, without a batch size."""
    arns = local_sagemaker.seed(groups=2, versions=3)
    async with raw_client(local_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        outcomes = [outcome async for outcome in fetcher.stream(fetcher.discover())]
    assert sorted(outcome.arn for outcome in outcomes) == sorted(arns)
    spans = telemetry.spans()
    [run_span] = [span for span in spans if span.name == "sagefetch.run"]
    calls = [span for span in spans if span is not run_span]
    operations = Counter(dict(span.attributes or {})["sagefetch.operation"] for span in calls)
    assert set(operations) == {"ListModelPackageGroups", "ListModelPackages", DESCRIBE}
    assert all(span.parent is not None for span in calls)
    assert {span.parent.span_id for span in calls if span.parent} == {run_span.context.span_id}
    sizes = [dict(span.attributes or {}).get("sagefetch.batch_size") for span in calls]
    assert sorted(size for size in sizes if size is not None) == [6]
    counted = telemetry.read()["sagefetch.calls"]
    assert {op: _sum(counted, operation=op) for op in operations} == operations
    assert operations.total() == local_sagemaker.counters.calls


def test_a_dropped_limiter_is_neither_kept_alive_nor_reported(telemetry: Telemetry) -> None:
    """The rate gauge holds limiters weakly: one dropped is collected and no longer reported."""
    limiter = AdaptiveRateLimiter(initial_rate=7)
    number = _telemetry._limiters[limiter]
    gauge = telemetry.read()["sagefetch.limiter.rate"]
    assert {p.attributes["sagefetch.limiter"]: p.value for p in gauge.data.data_points}[number] == 7
    alive = weakref.ref(limiter)
    del limiter
    gc.collect()
    assert alive() is None
    gauge = telemetry.read()["sagefetch.limiter.rate"]
    assert number not in {point.attributes["sagefetch.limiter"] for point in gauge.data.data_points}


_NO_OPENTELEMETRY = """
import sys
sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
"""

_SDK_AFTER_SAGEFETCH = """
import sagefetch._telemetry  # its instruments are made now, on the API's proxies
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

reader, exporter = InMemoryMetricReader(), InMemorySpanExporter()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
"""

_FETCH = """
import asyncio, json, sys
from sagefetch import ModelPackageFetcher, _telemetry

async def fetch(endpoint_url, arns):
    async with ModelPackageFetcher(endpoint_url=endpoint_url, region_name="us-east-1") as fetcher:
        outcomes = [outcome async for outcome in fetcher.stream(arns)]
    return len(outcomes), fetcher.stats.calls

outcomes, calls = asyncio.run(fetch(sys.argv[1], json.loads(sys.argv[2])))
"""

_REPORT_NO_OP = """
print(json.dumps({
    "enabled": _telemetry.ENABLED,
    "outcomes": outcomes,
    "calls": calls,
    "no_op": (
        _telemetry.call_attempt("X", retry=False, batch_size=1) is _telemetry._NO_CALL_ATTEMPT
        and _telemetry.run_span({}) is _telemetry._NO_RUN_SPAN
    ),
    "limiters": len(_telemetry._limiters),
    "loaded": sorted(name for name in sys.modules if name.startswith("opentelemetry.")),
}))
"""

_REPORT_SDK = """
[counted] = [
    metric
    for resource in reader.get_metrics_data().resource_metrics
    for scope in resource.scope_metrics
    for metric in scope.metrics
    if metric.name == "sagefetch.calls"
]
print(json.dumps({
    "counted": sum(point.value for point in counted.data.data_points),
    "calls": calls,
    "spans": sorted(span.name for span in exporter.get_finished_spans()),
}))
"""


def _run_python(server: LocalSageMaker, arns: list[str], *parts: str) -> dict[str, Any]:
    """Run the script ``parts`` make (the last prints a JSON line) with the server and ARNs."""
    result = subprocess.run(
        [sys.executable, "-c", "".join(parts), server.endpoint_url, json.dumps(arns)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
        env={**os.environ, **server.environment()},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.timeout(90)
def test_without_opentelemetry_a_fetch_runs_with_telemetry_off(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Where opentelemetry cannot be imported, a fetch runs and telemetry does nothing."""
    arns = synthetic_sagemaker.seed(groups=1, versions=30)
    found = _run_python(synthetic_sagemaker, arns, _NO_OPENTELEMETRY, _FETCH, _REPORT_NO_OP)
    assert found == {
        "enabled": False,
        "outcomes": 30,
        "calls": 1,
        "no_op": True,
        "limiters": 0,
        "loaded": [],
    }


@pytest.mark.timeout(90)
def test_an_sdk_set_up_after_sagefetch_was_imported_receives_its_telemetry(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """Providers set after sagefetch made its instruments still get its metrics and spans."""
    arns = synthetic_sagemaker.seed(groups=1, versions=30)
    found = _run_python(synthetic_sagemaker, arns, _SDK_AFTER_SAGEFETCH, _FETCH, _REPORT_SDK)
    assert found == {
        "counted": 1,
        "calls": 1,
        "spans": [f"SageMaker.{DESCRIBE}", "sagefetch.run"],
    }


async def test_a_run_stopped_by_an_error_marks_its_span(
    telemetry: Telemetry, synthetic_sagemaker: LocalSageMaker
) -> None:
    """A run that access denial stops ends its span with an error status and the error's type."""
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    synthetic_sagemaker.faults = Faults(reject_with="AccessDeniedException")
    async with raw_client(synthetic_sagemaker) as client, ModelPackageFetcher(client) as fetcher:
        with pytest.raises(sagefetch.AccessDeniedError):
            async for _ in fetcher.stream(arns):
                pass
    spans = {span.name: span for span in telemetry.spans()}
    run_span, call_span = spans["sagefetch.run"], spans[f"SageMaker.{DESCRIBE}"]
    assert run_span.status.status_code is StatusCode.ERROR
    assert dict(run_span.attributes or {})["error.type"] == "AccessDeniedError"
    assert call_span.status.status_code is StatusCode.ERROR
    assert dict(call_span.attributes or {})["error.type"] == "AccessDeniedException"
    assert dict(call_span.attributes or {})["sagefetch.result"] == "error"


async def test_describe_calls_are_not_children_of_the_first_request(
    telemetry: Telemetry, synthetic_sagemaker: LocalSageMaker
) -> None:
    """Coalesced calls serve every request: none is filed under the request that came first."""
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    tracer = trace.get_tracer("tests")

    async def request(arn: str) -> None:
        with tracer.start_as_current_span(f"request {arn}"):
            await fetcher.describe(arn)

    async with (
        raw_client(synthetic_sagemaker) as client,
        ModelPackageFetcher(client, linger=0) as fetcher,
    ):
        for arn in arns:  # one after another: each makes its own call
            await request(arn)
        outcomes = await fetcher.describe_many(["not-an-arn"])
    spans = telemetry.spans()
    requests = {span.context.span_id for span in spans if span.name.startswith("request ")}
    calls = [span for span in spans if span.name == f"SageMaker.{DESCRIBE}"]
    assert len(requests) == len(calls) == 3
    assert all(span.parent is None or span.parent.span_id not in requests for span in calls)
    assert outcomes[0].code == "InvalidArn"  # type: ignore[union-attr]
    points = telemetry.read()["sagefetch.outcomes"].data.data_points
    counted = {tuple(sorted(dict(point.attributes).items())): point.value for point in points}
    assert counted == {
        (("sagefetch.status", "described"),): 3,
        (("error.type", "InvalidArn"), ("sagefetch.status", "failed")): 1,
    }
