"""A client-side rate limiter that finds the server's limit by itself.

Calls are paced one every ``1 / rate`` seconds, in the order they ask, with
no bursts. The rate adapts the way TCP's congestion window does:

- **Slow start**: from a careful ``initial_rate`` the rate grows by one call/s
  per success, doubling about once a second, until the first throttle (TCP's
  slow start, RFC 5681 section 3.1).
- **CUBIC** after that: a throttle cuts the rate to ``beta`` times the rate
  that was actually achieved, then the rate climbs back along a cubic curve
  that is flat near the rate that was throttled and probes beyond it later
  (Ha, Rhee and Xu, "CUBIC: A New TCP-Friendly High-Speed TCP Variant", 2008;
  constants and the measured-rate cap as in botocore's adaptive retry mode,
  ``botocore/retries/throttling.py`` and ``adaptive.py``).

Only one decrease happens per window: throttles of calls sent before the last
decrease were sent at the old rate and say nothing new.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Final

import anyio
import structlog

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["AdaptiveRateLimiter"]

_log = structlog.get_logger("smfetch")

_SCALE_CONSTANT: Final = 0.4  # botocore CubicCalculator._SCALE_CONSTANT
_BETA: Final = 0.7  # botocore CubicCalculator._BETA
_MEASURE_BUCKET: Final = 0.5  # seconds; botocore RateClocker
_MEASURE_SMOOTHING: Final = 0.8
_MAX_OVER_MEASURED: Final = 2.0  # botocore ClientRateLimiter._MAX_RATE_ADJUST_SCALE


class AdaptiveRateLimiter:
    """Paces calls and adapts their rate to throttling; share one per account and region.

    Args:
        max_rate: Hard ceiling in calls per second; ``None`` for none. When
            given, the limiter also starts at this rate.
        initial_rate: Calls per second at the start, before anything is known.
        min_rate: The rate never drops below this, in calls per second.
        clock: Monotonic clock in seconds (tests pass a fake one).
        sleep: Coroutine that sleeps that clock's seconds.
    """

    def __init__(
        self,
        *,
        max_rate: float | None = None,
        initial_rate: float = 5.0,
        min_rate: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if max_rate is not None and not max_rate > 0:
            raise ValueError(f"max_rate must be a positive number of calls/s, got {max_rate!r}")
        if not 0 < min_rate <= initial_rate:
            raise ValueError(
                f"need 0 < min_rate <= initial_rate, got min_rate={min_rate!r}, "
                f"initial_rate={initial_rate!r}"
            )
        self.max_rate = max_rate
        self.min_rate = min_rate if max_rate is None else min(min_rate, max_rate)
        self._clock = clock
        self._sleep = sleep
        self._rate = self._clamp(max_rate if max_rate is not None else initial_rate)
        self._last_sent = -math.inf
        self._turn = anyio.Lock()  # FIFO: callers go out in the order they asked
        self._slow_start = True
        self._w_max = self._rate
        self._k = 0.0
        self._last_decrease = -math.inf
        self._measured = 0.0
        self._bucket_start = math.floor(clock() / _MEASURE_BUCKET) * _MEASURE_BUCKET
        self._bucket_count = 0

    @property
    def rate(self) -> float:
        """The current rate, in calls per second."""
        return self._rate

    @property
    def measured_rate(self) -> float:
        """Answers per second recently received (smoothed)."""
        return self._measured

    async def acquire(self) -> float:
        """Wait for this call's turn; return a ticket to pass to :meth:`on_throttle`.

        Callers go one at a time, in order: each waits until one interval at the
        *current* rate has passed since the previous call went out, so a rate
        change applies at once and calls never go out in a burst (not even after
        the event loop was blocked for a while). The ticket is the time the call
        goes out.
        """
        async with self._turn:
            while True:
                now = self._clock()
                due = self._last_sent + 1.0 / self._rate
                if now >= due:
                    self._last_sent = now
                    return now
                await self._sleep(due - now)

    def on_success(self) -> None:
        """A call was answered without throttling: probe upward."""
        now = self._clock()
        self._measure(now)
        if self._slow_start:
            self._rate = self._clamp(self._rate + 1.0)
            return
        cubic = _SCALE_CONSTANT * (now - self._last_decrease - self._k) ** 3 + self._w_max
        if self._measured > 0:
            cubic = min(cubic, _MAX_OVER_MEASURED * self._measured)
        self._rate = self._clamp(cubic)

    def on_throttle(self, ticket: float) -> None:
        """A call that went out at ``ticket`` (from :meth:`acquire`) was throttled: back off."""
        now = self._clock()
        self._measure(now)
        if ticket < self._last_decrease:
            return
        achieved = min(self._rate, self._measured) if self._measured > 0 else self._rate
        self._w_max = achieved
        self._k = (achieved * (1 - _BETA) / _SCALE_CONSTANT) ** (1 / 3)
        self._last_decrease = now
        self._slow_start = False
        self._rate = self._clamp(achieved * _BETA)
        _log.info(
            "smfetch.rate_decreased",
            rate=round(self._rate, 2),
            throttled_at=round(achieved, 2),
        )

    def _clamp(self, rate: float) -> float:
        rate = max(self.min_rate, rate)
        return rate if self.max_rate is None else min(self.max_rate, rate)

    def _measure(self, now: float) -> None:
        # botocore's RateClocker: count answers in half-second buckets, smooth the rate.
        bucket = math.floor(now / _MEASURE_BUCKET) * _MEASURE_BUCKET
        if bucket > self._bucket_start:
            current = self._bucket_count / (bucket - self._bucket_start)
            self._measured = current * _MEASURE_SMOOTHING + self._measured * (
                1 - _MEASURE_SMOOTHING
            )
            self._bucket_count = 0
            self._bucket_start = bucket
        self._bucket_count += 1
