"""The one retry layer: tenacity around each call, exponential backoff with full jitter.

The aiobotocore client makes no retries of its own, so every attempt is counted
here and every throttle reaches the limiter. A throttled call is retried with
no backoff: the limiter has already slowed down, and the call goes straight back
into its queue, paced with the others (a backoff would only leave the server's
tokens unused). Other retryable failures (5xx, dropped connections, timeouts)
back off.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Final

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from ._exceptions import ErrorKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._exceptions import ClassifiedError

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "RetryableCallError",
    "backoff",
    "retry_wait",
    "retrying",
    "set_testing",
]

#: First backoff ceiling, in seconds; it doubles with each attempt.
BACKOFF_BASE: Final = 0.1
#: Longest backoff, in seconds (botocore's standard mode caps at 20).
BACKOFF_CAP: Final = 20.0

_testing = False


def set_testing(testing: bool) -> None:
    """Turn backoff waits off (``True``) or back on, as stamina's ``set_testing`` does.

    The rate limiter still paces calls: only the sleeps between attempts go.
    """
    global _testing  # noqa: PLW0603 - one process-wide switch, by design
    _testing = testing


class RetryableCallError(Exception):
    """A call failed in a way another attempt may fix."""

    def __init__(self, classified: ClassifiedError) -> None:
        super().__init__(f"{classified.code}: {classified.message}")
        self.classified = classified


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (from 1).

    "Full Jitter" from https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/:
    uniform in ``[0, min(cap, base * 2 ** (attempt - 1))]``. A service's
    ``x-amz-retry-after`` raises the wait to at least that long (capped too).
    """
    if _testing:
        return 0.0
    delay = random.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_CAP))
    return delay


def retry_wait(attempt: int, kind: ErrorKind | None, retry_after: float | None = None) -> float:
    """Seconds to wait before retrying after failed attempt number ``attempt`` (from 1).

    After a throttle, none: the limiter paces the retry (a service's
    ``x-amz-retry-after`` is still waited for, capped). After anything else
    (``kind`` ``None`` included), :func:`backoff`.
    """
    if kind is ErrorKind.THROTTLED:
        if _testing or retry_after is None:
            return 0.0
        return min(retry_after, BACKOFF_CAP)
    return backoff(attempt, retry_after)


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome is not None else None
    if isinstance(error, RetryableCallError):
        classified = error.classified
        return retry_wait(state.attempt_number, classified.kind, classified.retry_after)
    return retry_wait(state.attempt_number, None)


def retrying(
    *, max_attempts: int, before_sleep: Callable[[RetryCallState], None] | None = None
) -> AsyncRetrying:
    """A tenacity loop that retries :class:`RetryableCallError` up to ``max_attempts`` calls."""
    return AsyncRetrying(
        stop=stop_after_attempt(max_attempts),
        wait=_wait,
        retry=retry_if_exception_type(RetryableCallError),
        sleep=anyio.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
