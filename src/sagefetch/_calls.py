"""One guarded API call: a limiter slot, a timeout, classification, tenacity retries.

Every call sagefetch makes goes through :class:`CallGuard`, whatever the
operation (``BatchDescribeModelPackage``, ``ListModelPackageGroups``,
``ListModelPackages``), so they all share one account's rate budget, one retry
policy and one error classification.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from . import _telemetry
from ._exceptions import ClassifiedError, ErrorKind, classify_error
from ._log import get_logger
from ._retry import RetryableCallError, retrying

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tenacity import RetryCallState

    from ._limiter import AdaptiveRateLimiter

__all__ = ["CallFailedError", "CallGuard"]

_log = get_logger()

T = TypeVar("T")


class CallFailedError(Exception):
    """A call failed for good (retries exhausted, or not retryable)."""

    def __init__(self, classified: ClassifiedError) -> None:
        super().__init__(classified.message)
        self.classified = classified


@dataclass
class CallGuard:
    """Makes calls under one limiter, timeout and retry policy, and counts them.

    Counts go to ``counts`` (by ``FetchStats`` field name) and to the ``counts``
    passed with each call (one run's own).
    """

    limiter: AdaptiveRateLimiter
    timeout: float
    max_attempts: int
    counts: Counter[str] = field(default_factory=Counter)

    async def call(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        name: str,
        operation: str,
        context: dict[str, Any],
        counts: Counter[str],
        on_attempt: Callable[[], None] | None = None,
        throttled_inside: Callable[[T], bool] | None = None,
    ) -> T:
        """Call ``call`` until it succeeds or cannot.

        Args:
            call: Makes the API call (a fresh coroutine each attempt).
            name: What is called, for event names: ``sagefetch.{name}_sent``, ...
            operation: The API operation, named in the error that stops a run.
            context: Fields of every event about this call (``batch=7``, ``group=...``);
                its ``arns``, the number of ARNs in the call, also goes on the call's span.
            counts: The run's own counts.
            on_attempt: Called as each attempt is sent.
            throttled_inside: Tells whether a successful answer throttled some of
                its items (per-ARN throttling codes): the limiter then hears a
                throttle instead of a success. The caller retries those items.

        Raises:
            CallFailedError: the call failed for good; the caller decides what fails.
            RunStoppedError: the error would fail every call (credentials,
                permissions, configuration), or the endpoint stayed unreachable.
        """

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            _log.info(
                "sagefetch.retry_scheduled",
                **context,
                attempt=state.attempt_number,
                wait=round(state.upcoming_sleep, 3),
                code=error.classified.code if isinstance(error, RetryableCallError) else None,
            )

        try:
            async for attempt in retrying(
                max_attempts=self.max_attempts, before_sleep=before_sleep
            ):
                with attempt:
                    retry = attempt.retry_state.attempt_number > 1
                    return await self._attempt(
                        call,
                        name=name,
                        operation=operation,
                        context=context,
                        counts=counts,
                        on_attempt=on_attempt,
                        throttled_inside=throttled_inside,
                        retry=retry,
                    )
        except RetryableCallError as exc:
            if exc.classified.kind is ErrorKind.UNREACHABLE:
                # Not chained: the cause's text is unmasked (a server may echo
                # the signed request); the masked code and message say it all.
                raise exc.classified.stop_error(operation) from None
            raise CallFailedError(exc.classified) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _attempt(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        name: str,
        operation: str,
        context: dict[str, Any],
        counts: Counter[str],
        on_attempt: Callable[[], None] | None,
        throttled_inside: Callable[[T], bool] | None,
        retry: bool,
    ) -> T:
        """One call under the limiter and the per-call timeout."""
        sent_at = await self.limiter.acquire()
        self.bump(counts, "calls")
        self.bump(counts, "retries", retry)
        total = self.counts
        total["in_flight"] += 1
        total["max_in_flight"] = max(total["max_in_flight"], total["in_flight"])
        if on_attempt is not None:
            on_attempt()
        _log.debug(f"sagefetch.{name}_sent", **context, retry=retry)
        with _telemetry.call_attempt(
            operation, retry=retry, batch_size=context.get("arns")
        ) as telemetry:
            try:
                with anyio.fail_after(self.timeout):
                    response = await call()
            except Exception as exc:
                error = classify_error(exc)
                if error.kind is ErrorKind.THROTTLED:
                    telemetry.throttled(error.code)
                    self._throttled(sent_at, name, context, counts, error.code)
                else:
                    telemetry.failed(error.code)
                if error.kind.stops_run:
                    raise error.stop_error(operation) from None  # unchained: as above
                if error.kind.retryable:
                    raise RetryableCallError(error) from exc
                raise CallFailedError(error) from exc
            finally:
                total["in_flight"] -= 1
            if throttled_inside is not None and throttled_inside(response):
                telemetry.throttled(None)
                self._throttled(sent_at, name, context, counts, "throttled inside the answer")
            else:
                self.limiter.on_success(sent_at)
        _log.debug(f"sagefetch.{name}_finished", **context, rate=round(self.limiter.rate, 2))
        return response

    def _throttled(
        self, sent_at: float, name: str, context: dict[str, Any], counts: Counter[str], code: str
    ) -> None:
        """Count a throttle and slow the limiter down."""
        self.bump(counts, "throttled")
        self.limiter.on_throttle(sent_at)
        _log.info(
            f"sagefetch.{name}_throttled",
            **context,
            code=code,
            rate=round(self.limiter.rate, 2),
        )

    def bump(self, counts: Counter[str], name: str, amount: int = 1) -> None:
        """Add to a count of one run (``counts``) and to the total."""
        counts[name] += amount
        self.counts[name] += amount
