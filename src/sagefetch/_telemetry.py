"""Metrics and traces through the OpenTelemetry API, when it is installed (``sagefetch[otel]``).

As OpenTelemetry asks of instrumented libraries, sagefetch depends on the API
alone and records through the *global* providers: the application installs the
SDK and sets them, before or after sagefetch is imported (until it does, the
API's proxy meter and tracer hold on, and pass everything on once it has).
Without the ``opentelemetry`` package, every function here returns at once:
whether it imports is decided once, as this module loads.

Meter and tracer ``sagefetch`` (with sagefetch's version) record:

- ``sagefetch.calls``, ``sagefetch.throttles``, ``sagefetch.retries``
  (counters, ``{call}``): call attempts, those throttled (a throttling error, or
  throttled ARNs in an answer) and those that repeat an earlier attempt, by
  ``sagefetch.operation``.
- ``sagefetch.call.duration`` (histogram, ``s``): each attempt's latency, by
  ``sagefetch.operation`` and ``sagefetch.result`` (``ok``, ``throttled``, ``error``).
- ``sagefetch.outcomes`` (counter, ``{outcome}``): by ``sagefetch.status``
  (``described``, ``failed``) and, for a failed one, ``error.type`` (its code).
- ``sagefetch.limiter.rate`` (gauge, ``{call}/s``): each live limiter's rate, by
  ``sagefetch.limiter`` (1 for the first limiter made, 2 for the next, ...).
- Span ``sagefetch.run`` for each run of ``ModelPackageFetcher.stream``, and a
  span ``SageMaker.<operation>`` (kind CLIENT, the AWS SDK conventions' name)
  for each call attempt: the run's child when the call belongs to a run.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import Counter
from typing import TYPE_CHECKING, Final, Protocol, Self

from ._outcomes import Failed
from ._version import __version__

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
except ImportError:  # the otel extra is not installed: everything below is a no-op
    ENABLED = False
else:
    ENABLED = True

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from contextvars import Token
    from types import TracebackType

    from opentelemetry.context import Context
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

    from ._outcomes import Outcome

__all__ = [
    "ENABLED",
    "CallAttempt",
    "RunSpan",
    "call_attempt",
    "count_outcomes",
    "run_span",
    "watch_limiter",
]

_NAME: Final = "sagefetch"
#: Latency buckets, in seconds: OpenTelemetry's advice for ``http.client.request.duration``.
_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

# Attribute names.
_OPERATION: Final = "sagefetch.operation"
_RESULT: Final = "sagefetch.result"
_STATUS: Final = "sagefetch.status"
_BATCH_SIZE: Final = "sagefetch.batch_size"
_LIMITER: Final = "sagefetch.limiter"
_ERROR_TYPE: Final = "error.type"  # the semantic conventions' (stable) name for an error's class


class _Paced(Protocol):
    """What the rate gauge reads of a limiter."""

    @property
    def rate(self) -> float: ...


class _Instruments:
    """The meter's instruments and the tracer, made once."""

    def __init__(self) -> None:
        meter = otel_metrics.get_meter(_NAME, __version__)
        self.tracer = otel_trace.get_tracer(_NAME, __version__)
        self.calls = meter.create_counter(
            "sagefetch.calls", unit="{call}", description="API call attempts."
        )
        self.throttles = meter.create_counter(
            "sagefetch.throttles",
            unit="{call}",
            description="Call attempts throttled: a throttling error, or throttled ARNs inside.",
        )
        self.retries = meter.create_counter(
            "sagefetch.retries",
            unit="{call}",
            description="Call attempts that repeat an earlier attempt.",
        )
        self.outcomes = meter.create_counter(
            "sagefetch.outcomes", unit="{outcome}", description="ARNs described or failed."
        )
        description = "Latency of each API call attempt."
        try:
            self.duration = meter.create_histogram(
                "sagefetch.call.duration",
                unit="s",
                description=description,
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            )
        except TypeError:  # opentelemetry-api < 1.30 takes no advice: the SDK's buckets
            self.duration = meter.create_histogram(
                "sagefetch.call.duration", unit="s", description=description
            )
        meter.create_observable_gauge(
            "sagefetch.limiter.rate",
            callbacks=[_observe_rates],
            unit="{call}/s",
            description="The rate each rate limiter paces calls at.",
        )


#: Every limiter made, held weakly, and its number (the gauge's ``sagefetch.limiter``).
_limiters: weakref.WeakKeyDictionary[_Paced, int] = weakref.WeakKeyDictionary()
#: The gauge is read on the metric reader's thread while limiters are made.
_limiters_lock = threading.Lock()
_limiter_numbers = itertools.count(1)


def _observe_rates(options: CallbackOptions) -> Iterable[Observation]:
    with _limiters_lock:
        limiters = list(_limiters.items())
    return [
        otel_metrics.Observation(limiter.rate, {_LIMITER: number}) for limiter, number in limiters
    ]


_instruments: Final = _Instruments() if ENABLED else None


def watch_limiter(limiter: _Paced) -> None:
    """Report ``limiter``'s rate on the ``sagefetch.limiter.rate`` gauge while it lives."""
    if _instruments is None:
        return
    with _limiters_lock:
        _limiters[limiter] = next(_limiter_numbers)


def count_outcomes(chunk: Sequence[Outcome], described: int) -> None:
    """Count ``chunk``'s outcomes, of which ``described`` are ``Described``.

    One measurement per status and code, not one per outcome.
    """
    if _instruments is None:
        return
    outcomes = _instruments.outcomes
    if described:
        outcomes.add(described, {_STATUS: "described"})
    if len(chunk) > described:
        codes = Counter(outcome.code for outcome in chunk if isinstance(outcome, Failed))
        for code, count in codes.items():
            outcomes.add(count, {_STATUS: "failed", _ERROR_TYPE: code})


class CallAttempt:
    """One call attempt's span and measurements, from entry to exit; this one records nothing."""

    __slots__ = ()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def throttled(self, code: str | None) -> None:
        """The attempt was throttled: an error ``code``, or ``None`` for throttled ARNs inside."""

    def failed(self, code: str) -> None:
        """The attempt failed with the error ``code`` (not a throttle)."""


_NO_CALL_ATTEMPT: Final = CallAttempt()


def call_attempt(operation: str, *, retry: bool, batch_size: int | None) -> CallAttempt:
    """The span and measurements of one attempt at ``operation``; enter it as the call is sent.

    Args:
        operation: The API operation (``BatchDescribeModelPackage``, ...).
        retry: The attempt repeats an earlier one.
        batch_size: ARNs in the call, when it has any.
    """
    if _instruments is None:
        return _NO_CALL_ATTEMPT
    return _RecordedCallAttempt(_instruments, operation, retry, batch_size)


class _RecordedCallAttempt(CallAttempt):
    __slots__ = (
        "_attributes",
        "_batch_size",
        "_code",
        "_instruments",
        "_result",
        "_retry",
        "_span",
        "_started",
        "_token",
    )

    _span: Span
    _started: float
    _token: Token[Context]

    def __init__(
        self, instruments: _Instruments, operation: str, retry: bool, batch_size: int | None
    ) -> None:
        self._instruments = instruments
        self._attributes = {_OPERATION: operation}
        self._retry = retry
        self._batch_size = batch_size
        self._result = "ok"
        self._code: str | None = None

    def __enter__(self) -> Self:
        instruments, attributes = self._instruments, self._attributes
        instruments.calls.add(1, attributes)
        if self._retry:
            instruments.retries.add(1, attributes)
        span_attributes: dict[str, AttributeValue] = {**attributes}
        if self._batch_size is not None:
            span_attributes[_BATCH_SIZE] = self._batch_size
        self._span = span = instruments.tracer.start_span(
            f"SageMaker.{attributes[_OPERATION]}",
            kind=otel_trace.SpanKind.CLIENT,
            attributes=span_attributes,
        )
        # Current while the call runs: spans of an HTTP instrumentation nest under it.
        self._token = otel_context.attach(otel_trace.set_span_in_context(span))
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        otel_context.detach(self._token)
        if exc is not None and self._result == "ok":
            # Not a classified error: cancelled (the run stopped), or a bug.
            self.failed(type(exc).__qualname__)
        self._instruments.duration.record(elapsed, {**self._attributes, _RESULT: self._result})
        span = self._span
        span.set_attribute(_RESULT, self._result)
        if self._code is not None:
            span.set_attribute(_ERROR_TYPE, self._code)
            span.set_status(otel_trace.StatusCode.ERROR)
        span.end()

    def throttled(self, code: str | None) -> None:
        self._instruments.throttles.add(1, self._attributes)
        self._result = "throttled"
        self._code = code

    def failed(self, code: str) -> None:
        self._result = "error"
        self._code = code


class RunSpan:
    """The span of one run, current from entry to exit; this one records nothing."""

    __slots__ = ()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def stopped_by(self, error: BaseException | None) -> None:
        """The run ended with ``error`` (``None``: it did not fail)."""


_NO_RUN_SPAN: Final = RunSpan()


def run_span(counts: Mapping[str, int]) -> RunSpan:
    """The span of one run; ``counts`` (the run's, live) are read as it ends.

    Enter it before the run starts its tasks: they inherit it as their context,
    so the spans of their calls are its children.
    """
    if _instruments is None:
        return _NO_RUN_SPAN
    return _RecordedRunSpan(_instruments, counts)


class _RecordedRunSpan(RunSpan):
    __slots__ = ("_counts", "_instruments", "_span", "_token")

    _span: Span
    _token: Token[Context]

    def __init__(self, instruments: _Instruments, counts: Mapping[str, int]) -> None:
        self._instruments = instruments
        self._counts = counts

    def __enter__(self) -> Self:
        self._span = span = self._instruments.tracer.start_span("sagefetch.run")
        self._token = otel_context.attach(otel_trace.set_span_in_context(span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        otel_context.detach(self._token)
        if exc is not None:
            self.stopped_by(exc)  # cancelled from outside (the fetcher closed), or a bug
        counts, span = self._counts, self._span
        span.set_attributes(
            {
                "sagefetch.described": counts.get("described", 0),
                "sagefetch.failed": counts.get("failed", 0),
                "sagefetch.calls": counts.get("calls", 0),
            }
        )
        span.end()

    def stopped_by(self, error: BaseException | None) -> None:
        if error is not None:
            self._span.set_attribute(_ERROR_TYPE, type(error).__qualname__)
            self._span.set_status(otel_trace.StatusCode.ERROR)
