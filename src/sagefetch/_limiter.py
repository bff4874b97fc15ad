"""A client-side rate limiter that finds the server's limit by itself.

Calls are paced one every ``1 / rate`` seconds, in the order they ask, with
no bursts. The rate adapts the way TCP's congestion window does:

- **Slow start**: from a careful ``initial_rate`` the rate grows by
  ``_SLOW_START_GAIN`` calls/s per success, doubling about every
  ``1 / _SLOW_START_GAIN`` seconds, until the first throttle (TCP's slow
  start, RFC 5681 section 3.1).
- **CUBIC** after that: a throttle cuts the rate to ``_BETA`` times the rate
  the server actually accepted over the last half second (at the first
  throttle, over the last few successes: slow start ramps so fast that a
  half-second average lags far behind the limit), then the rate climbs back
  along a cubic curve that is flat near that rate and probes beyond it later
  (Ha, Rhee and Xu, "CUBIC: A New TCP-Friendly High-Speed TCP Variant", 2008;
  the scale constant, and the cap at twice the accepted rate, as in botocore's
  adaptive retry mode, ``botocore/retries/throttling.py`` and ``adaptive.py``).

Only one decrease happens per window: throttles of calls sent before the last
decrease were sent at the old rate and say nothing new.
"""

from __future__ import annotations

import collections
import math
import time
from typing import TYPE_CHECKING, Final

import anyio

from . import _telemetry
from ._log import get_logger

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["AdaptiveRateLimiter"]

_log = get_logger()

_SCALE_CONSTANT: Final = 0.4  # botocore CubicCalculator._SCALE_CONSTANT
_BETA: Final = (
    0.9  # botocore uses 0.7; against a token bucket a gentler cut keeps more of the limit
)
_SLOW_START_GAIN: Final = 4.0  # calls/s added per success before the first throttle
_MAX_OVER_ACCEPTED: Final = 2.0  # botocore ClientRateLimiter._MAX_RATE_ADJUST_SCALE
_WINDOW: Final = 0.5  # seconds of successes the accepted rate is measured over
_RECENT: Final = 12  # successes the accepted rate is measured over at slow-start exit
_MIN_RECENT_SPAN: Final = 0.1  # seconds those successes span at least
#: The lowest rate any setting may name, in calls/s: one call every 100 s. Below it
#: a run would look hung; the command line refuses the same values (``_parser.py``).
_LOWEST_RATE: Final = 0.01


class AdaptiveRateLimiter:
    """Paces calls and adapts their rate to throttling; share one per account and region.

    Args:
        max_rate: Hard ceiling in calls per second; ``None`` for none. When
            given, the limiter also starts at this rate.
        initial_rate: Calls per second at the start, before anything is known.
        min_rate: The rate never drops below this, in calls per second.
        clock: Monotonic clock in seconds (tests pass a fake one).
        sleep: Coroutine that sleeps that clock's seconds.

    Raises:
        ValueError: A rate is NaN, infinite or below 0.01 calls/s (one call
            every 100 s), or ``min_rate`` is above ``initial_rate``.
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
        if max_rate is not None:
            _check_rate("max_rate", max_rate)
        _check_rate("initial_rate", initial_rate)
        _check_rate("min_rate", min_rate)
        if not min_rate <= initial_rate:
            raise ValueError(
                f"need min_rate <= initial_rate, got min_rate={min_rate!r}, "
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
        self._successes: collections.deque[float] = collections.deque()
        self._first_success = math.inf
        _telemetry.watch_limiter(self)  # held weakly: telemetry keeps no limiter alive

    @property
    def rate(self) -> float:
        """The current rate, in calls per second."""
        return self._rate

    @property
    def accepted_rate(self) -> float:
        """Calls per second the server accepted lately (0 before any)."""
        return self._accepted(self._clock())

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
        self._successes.append(now)
        self._first_success = min(self._first_success, now)
        if self._slow_start:
            self._rate = self._clamp(self._rate + _SLOW_START_GAIN)
            return
        cubic = _SCALE_CONSTANT * (now - self._last_decrease - self._k) ** 3 + self._w_max
        accepted = self._accepted(now)
        if accepted > 0:
            cubic = min(cubic, _MAX_OVER_ACCEPTED * accepted)
        self._rate = self._clamp(cubic)

    def on_throttle(self, ticket: float) -> None:
        """A call that went out at ``ticket`` (from :meth:`acquire`) was throttled: back off."""
        now = self._clock()
        if ticket <= self._last_decrease:
            return
        accepted = self._accepted(now)
        if self._slow_start:
            accepted = max(accepted, self._recently_accepted())
        achieved = min(self._rate, accepted) if accepted > 0 else self._rate
        self._w_max = achieved
        self._k = (achieved * (1 - _BETA) / _SCALE_CONSTANT) ** (1 / 3)
        self._last_decrease = now
        self._slow_start = False
        self._rate = self._clamp(achieved * _BETA)
        _log.info(
            "sagefetch.rate_decreased",
            rate=round(self._rate, 2),
            throttled_at=round(achieved, 2),
        )

    def _clamp(self, rate: float) -> float:
        rate = max(self.min_rate, rate)
        return rate if self.max_rate is None else min(self.max_rate, rate)

    def _recently_accepted(self) -> float:
        """Successes per second over the last ``_RECENT`` successes, or 0.1 s (0 with fewer)."""
        successes = self._successes
        if len(successes) < _RECENT:
            return 0.0
        # Answers that arrive together say little about the rate: look at least
        # _MIN_RECENT_SPAN back.
        last = successes[-1]
        span = max(last - successes[-_RECENT], _MIN_RECENT_SPAN)
        count = sum(1 for moment in successes if moment >= last - span)
        return (count - 1) / span

    def _accepted(self, now: float) -> float:
        # Successes in the window (or since the first one, early on).
        successes = self._successes
        while successes and successes[0] < now - _WINDOW:
            successes.popleft()
        span = min(_WINDOW, now - self._first_success)
        return len(successes) / span if span >= _WINDOW / 4 else 0.0


def _check_rate(name: str, rate: float) -> None:
    """Refuse a rate no run can use: NaN, infinite, or below :data:`_LOWEST_RATE`."""
    if not (math.isfinite(rate) and rate >= _LOWEST_RATE):
        raise ValueError(
            f"{name} must be a finite number of calls/s, at least {_LOWEST_RATE}, got {rate!r}"
        )
