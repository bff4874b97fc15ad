"""A client-side rate limiter that reads the server's token bucket.

Calls are paced one every ``1 / rate`` seconds, in the order they ask, with
no bursts. The rate follows what throttles say about the server's limit, taking
the server for a token bucket, as AWS services are (tokens refill at the limit,
at most a burst of them is held, a call that finds none is throttled:
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html).

- **A throttle means the bucket was empty** when that call arrived. Between two
  throttles the calls the server accepted used every token that refilled, so
  ``accepted / seconds between them`` is the refill rate to within one call
  over that span, however the calls were spaced (provided the bucket never
  filled up in between). Spans of one limit pool (their sums telescope), so
  the estimate firms up as ``1 / span``, with no lagging window. Counting uses
  each call's ticket (when it went out), so calls still in flight count as
  accepted until they say otherwise.
- **After a throttle** the rate is that estimate, with no multiplicative cut
  below it, and the next call waits one interval, so a token refills first (a
  margin for jitter). Throttles of calls sent before the limiter reacted were
  sent at the old rate: they refine the estimate but cause no second reaction
  (as TCP NewReno cuts its window once per window of data, RFC 6582).
- **Probing upward**: on top of the estimate, one call per second of span
  (``_PROBE_SPAN / span``: the estimate's own uncertainty, shrinking as it
  firms up; at most a quarter of the estimate) and a cubic term in the time
  since the last reaction, as CUBIC grows its window (Ha, Rhee and Xu,
  "CUBIC: A New TCP-Friendly High-Speed TCP Variant", 2008; the same curve
  drives botocore's adaptive retry mode, ``botocore/retries/throttling.py``).
  Each throttle that confirms the estimate stretches the cubic's time scale
  (``_CYCLE_GROWTH``), so a steady limit is probed less and less often.
- **A raised limit**: when more calls were accepted since the last throttle than
  the estimate's upper bound allows (``1 + upper * seconds + _RAISED_CALLS``),
  the limit went up: the rate ramps up again and is measured afresh.
- **A sharp drop**: when a firm estimate (``_ESTABLISHED_CALLS`` calls over its
  span) meets a throttle again within ``_DROP_CALLS`` accepted calls of the
  last one, the limit fell far below the rate: halve at once (TCP's
  multiplicative decrease, RFC 5681 section 3.1), then measure afresh.
- **Guesses**: a halved rate is a guess until a throttle measures it; meanwhile
  it grows by ``_GUESS_GAIN`` calls/s per success, so a guess below the limit
  cannot stand (tokens the server refills and nobody takes are lost).
- **Start**: from ``initial_rate`` (20 calls/s) the rate grows by
  ``_START_GAIN`` calls/s per success, exponentially as TCP's slow start does
  (RFC 5681 section 3.1), until the first throttle; then half the rate that
  throttled call went out at is the guess (the ramp overshoots by the calls
  sent while the bucket's burst ran out and the throttle's answer travelled).
- **Pauses**: a gap of ``_IDLE_INTERVALS`` intervals lets the bucket refill,
  which says nothing of the limit: the measurement keeps its pooled spans and
  resumes at the next throttle.

The constants were tuned with the virtual-time simulator in
``benchmarks/simulation.py`` (steady, falling, rising and changing limits,
bursty servers, small runs sharing a limiter).
"""

from __future__ import annotations

import bisect
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

_INITIAL_RATE: Final = 20.0
"""Calls/s at the start when no ``initial_rate`` is given."""
_START_GAIN: Final = 4.0
"""Calls/s added per success while ramping (at the start, and after a raised limit).

Faster ramps (8) reach high limits sooner but overshoot more: more throttles at
the start of every run (simulated: S1 5.2% vs 4.3%, S4 1.034 vs 1.038)."""
_GUESS_GAIN: Final = 1.0
"""Calls/s added to a guess (not yet measured) per success, until a throttle measures."""
_MARGIN: Final = 1
"""Intervals left free after a throttle before the next call (tokens refilled meanwhile)."""
_DROP_CALLS: Final = 2
"""A fresh throttle within this many accepted calls of the last one is a sharp drop."""
_ESTABLISHED_CALLS: Final = 20
"""An estimate over this many accepted calls is firm enough to call a fast throttle a drop."""
_RAISED_CALLS: Final = 1.0
"""Calls accepted beyond the estimate (and the margin) that say the limit went up."""
_PROBE_SPAN: Final = 1.0
"""The probe's first term is this many calls over the measured span, per second."""
_MIN_SPAN: Final = 0.05
"""Seconds: a shorter span says little; the probe's first term counts at least this."""
_UNCERTAIN_CAP: Final = 0.25
"""The probe's first term adds at most this share of the estimate.

A span of a few calls says little, and 1/span on it would pace far above the
estimate: without the cap (simulated, 20 seeds) a 2 calls/s server without a
burst took 1.44 x ideal, with it 1.38. The raised-limit bound uses the same
capped term (``_uncertainty``)."""
_PROBE_CUBIC: Final = 2.5
"""The probe's cubic term: calls/s per second cubed since the last reaction.

It sets how soon a raised limit is seen, each probe costing a throttle when the
limit has not moved; when the rise comes in the probing cycle decides too.
Simulated S8 (10 -> 30 calls/s) with its rise moved from 2.5 to 4 s, 20 seeds
each, takes 1.086 x ideal (1.027-1.154). A faster probe (3.0, stretching 1.25)
said 1.075 for one more throttle per ~200 calls on S1, but real runs side by side
did not bear it out (traced, 8 rounds each: 1.094 now, 1.097 with it; the
benchmark, 5 each: 1.063, 1.102), so the extra probing bought nothing."""
_CYCLE_GROWTH: Final = 1.3
"""Each throttle that confirms the estimate stretches the cubic's time scale this much."""
_MAX_CONFIRMED: Final = 4
"""Confirmations counted at most (the time scale grows at most 1.3**4, about 2.9 times)."""
_PROBE_CAP: Final = 0.5
"""The cubic term adds at most this share of the estimate."""
_IDLE_INTERVALS: Final = 4
"""A pause this many intervals long lets the bucket refill: measure afresh."""
_HISTORY: Final = 4096
"""Tickets of recent calls kept to count calls between two throttles."""
_WINDOW: Final = 0.5  # seconds of successes ``accepted_rate`` is measured over
#: The lowest rate any setting may name, in calls/s: one call every 100 s. Below it
#: a run would look hung; the command line refuses the same values (``_parser.py``).
_LOWEST_RATE: Final = 0.01


class AdaptiveRateLimiter:
    """Paces calls and adapts their rate to throttling; share one per account and region.

    Args:
        max_rate: Hard ceiling in calls per second; ``None`` for none. When
            given, the limiter also starts at this rate.
        initial_rate: Calls per second at the start, before anything is known
            (default 20, or ``min_rate`` if higher).
        min_rate: The rate never drops below this, in calls per second.
        clock: Monotonic clock in seconds (tests and the simulator pass their own).
        sleep: Coroutine that sleeps that clock's seconds.

    Raises:
        ValueError: A rate is NaN, infinite or below 0.01 calls/s (one call
            every 100 s), or ``min_rate`` is above ``initial_rate``.
    """

    def __init__(
        self,
        *,
        max_rate: float | None = None,
        initial_rate: float | None = None,
        min_rate: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if max_rate is not None:
            _check_rate("max_rate", max_rate)
        if initial_rate is None:
            initial_rate = max(_INITIAL_RATE, min_rate)
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
        # Recent calls: their tickets (in order) and the rate each went out at.
        self._sent: list[float] = []
        self._sent_rates: list[float] = []
        self._forgotten = 0  # tickets dropped from the front of ``_sent``
        self._ramping = True
        self._floor = self.min_rate  # a ramp's known lower bound on the limit
        self._base = self._rate  # the limit as the limiter believes it
        self._measured = False  # ``_base`` is measured, not a guess
        # The measurement: the current segment, from the throttle at ``_anchor`` to
        # the one at ``_last``, plus earlier segments of the same limit (``_pooled_*``).
        self._anchor: float | None = None
        self._anchor_index = 0
        self._last = -math.inf
        self._last_index = 0
        self._throttles = 0  # throttled calls sent after the anchor, up to ``_last``
        self._pooled_accepted = 0
        self._pooled_seconds = 0.0
        self._reacted = -math.inf  # throttles of calls sent before this are echoes
        self._probe_from = -math.inf  # the cubic probe's time origin
        self._accepted_since = 0  # successes of calls sent after ``_last``
        self._confirmed = 0  # throttles in a row that found the limit where it was
        self._paused_index = 0  # calls sent before the last pause ended
        self._successes: collections.deque[float] = collections.deque()
        self._first_success = math.inf
        _telemetry.watch_limiter(self)  # held weakly: telemetry keeps no limiter alive

    @property
    def rate(self) -> float:
        """The current rate, in calls per second."""
        return self._rate

    @property
    def accepted_rate(self) -> float:
        """Calls per second the server accepted over the last half second (0 before any)."""
        return self._accepted(self._clock())

    @property
    def measured_limit(self) -> float | None:
        """The server's limit as measured between throttles, in calls/s; ``None`` until then."""
        return self._base if self._measured else None

    async def acquire(self) -> float:
        """Wait for this call's turn; return its ticket for :meth:`on_success`/:meth:`on_throttle`.

        Callers go one at a time, in order: each waits until one interval at the
        *current* rate has passed since the previous call went out, so a rate
        change applies at once and calls never go out in a burst (not even after
        the event loop was blocked for a while). The ticket is the time the call
        goes out.
        """
        async with self._turn:
            woke_for: float | None = None
            while True:
                now = self._clock()
                due = self._last_sent + 1.0 / self._rate
                if now >= due:
                    if now - self._last_sent > _IDLE_INTERVALS / self._rate:
                        self._pause(now)
                    # Woken late by less than an interval (a busy event loop): the
                    # next turn counts from the time this one slept for, so lateness
                    # does not add up and the pace is the rate. A call that came
                    # after its turn (none was waiting), or woke later than that,
                    # counts from now: never a burst.
                    if woke_for is not None and 0 <= now - woke_for < 1.0 / self._rate:
                        self._last_sent = woke_for
                    else:
                        self._last_sent = now
                    self._record(now)
                    return now
                await self._sleep(due - now)
                woke_for = due

    def on_success(self, ticket: float | None = None) -> None:
        """The call that went out at ``ticket`` was answered without throttling: probe upward."""
        now = self._clock()
        self._successes.append(now)
        self._first_success = min(self._first_success, now)
        if self._ramping:
            self._rate = self._clamp(self._rate + _START_GAIN)
            return
        if ticket is not None and self._anchor is not None:
            since = max(self._last, self._anchor)
            if ticket > since:
                self._accepted_since += 1
                if self._accepted_since > self._allowed(ticket - since):
                    self._raised(now)
                    return
            if not self._measured and ticket > self._reacted:
                # A guess is tested by growing it until the next throttle measures.
                self._base = self._clamp(self._base + _GUESS_GAIN)
        self._rate = self._pace(now)

    def on_throttle(self, ticket: float) -> None:
        """The call that went out at ``ticket`` (from :meth:`acquire`) was throttled."""
        now = self._clock()
        previous_index = self._last_index
        if self._anchor is not None and ticket > self._anchor:
            self._throttles += 1
            if ticket > self._last:
                self._last, self._last_index = ticket, self._index(ticket)
                self._accepted_since = 0
        if ticket <= self._reacted:
            # Sent before the last reaction: news already acted on, but the bucket
            # was empty then too, which refines the estimate.
            if self._measured and self._anchor is not None:
                self._base = self._estimate()
            return
        if self._ramping:
            self._ramping = False
            self._start_measuring(ticket, max(self._rate_at(ticket) / 2, self._floor))
            self._react(now, "ramp_ended")
            return
        if self._anchor is None:
            if self._index(ticket) <= self._paused_index:
                # The first call after a pause throttled: not even one token refilled.
                self._start_measuring(ticket, self._rate / 2)
                self._react(now, "sharp_drop")
                return
            # The first throttle after a pause: a new segment of the same limit.
            self._anchor, self._anchor_index = ticket, self._index(ticket)
            self._last, self._last_index = ticket, self._anchor_index
            self._throttles = 0
            self._accepted_since = 0
            self._react(now, "measuring")
            return
        accepted = self._index(ticket) - previous_index - 1
        estimate = self._estimate()
        if accepted <= _DROP_CALLS:
            if self._measured and estimate * self._span() >= _ESTABLISHED_CALLS:
                # A firm estimate, and yet the bucket ran dry at once: the limit fell.
                self._start_measuring(ticket, self._rate / 2)
                self._react(now, "sharp_drop")
                return
            # A young estimate: trust it, unless it says more than the rate the
            # bucket just ran dry at (too short a span to count).
            if estimate >= self._rate:
                estimate = self._rate / 2
        self._base = estimate
        if self._measured:
            self._confirmed = min(self._confirmed + 1, _MAX_CONFIRMED)
        self._measured = True
        self._react(now, "measured")

    # -- state changes -------------------------------------------------------------

    def _start_measuring(self, ticket: float, guess: float) -> None:
        """Measure a new limit from the throttle at ``ticket``, pacing at ``guess`` meanwhile."""
        self._anchor, self._anchor_index = ticket, self._index(ticket)
        self._last, self._last_index = ticket, self._anchor_index
        self._throttles = 0
        self._accepted_since = 0
        self._pooled_accepted, self._pooled_seconds = 0, 0.0
        self._confirmed = 0
        self._base = self._clamp(guess)
        self._measured = False

    def _react(self, now: float, why: str) -> None:
        """Pace at the new estimate, leaving one interval from now for a token to refill."""
        self._reacted = self._probe_from = now
        self._rate = self._pace(now)
        self._last_sent = max(self._last_sent, now + (_MARGIN - 1) / self._rate)
        _log.info(
            "sagefetch.rate_changed",
            rate=round(self._rate, 2),
            limit=round(self._base, 2),
            measured=self._measured,
            why=why,
        )

    def _raised(self, now: float) -> None:
        """More calls went through than the estimate allows: ramp up again from here."""
        self._confirmed = 0
        self._floor = self._base
        self._ramping = True
        self._anchor = None
        self._measured = False
        self._rate = self._clamp(max(self._rate, self._base))
        _log.info("sagefetch.rate_changed", rate=round(self._rate, 2), why="limit_raised")

    def _pause(self, now: float) -> None:
        """A pause let the bucket refill: keep the measurement, resume it at the next throttle."""
        self._paused_index = self._forgotten + len(self._sent)
        if self._ramping or self._anchor is None:
            return
        if self._measured:
            self._pooled_accepted += self._segment_accepted()
            self._pooled_seconds += self._last - self._anchor
        self._anchor = None
        self._probe_from = now

    # -- arithmetic ------------------------------------------------------------------

    def _segment_accepted(self) -> int:
        """Calls accepted between the anchor and the latest throttle (both throttled)."""
        sent = self._last_index - self._anchor_index - 1
        return sent - max(self._throttles - 1, 0)

    def _span(self) -> float:
        """Seconds the measurement covers."""
        segment = self._last - self._anchor if self._anchor is not None else 0.0
        return self._pooled_seconds + segment

    def _estimate(self) -> float:
        """Calls accepted per second over the measurement."""
        span = self._span()
        if span <= 0:
            return self._base
        accepted = self._pooled_accepted + self._segment_accepted()
        return self._clamp(max(accepted, 1) / span)

    def _allowed(self, seconds: float) -> float:
        """Successes since the last throttle that the estimate explains, with a margin.

        The bucket held less than a token at that throttle, so ``seconds`` later
        at most ``1 + limit * seconds`` calls can have been accepted, and the
        limit is taken to be at most the estimate plus its uncertainty. The
        bound must be the one the probe paces at (capped alike): the cubic term
        on top of it is then what carries more calls through than it allows when
        the limit is higher. With an uncapped bound, a low estimate on a short
        span (one call over 0.2 s: 5/s, +5) was never outgrown: the rate, at most
        1.75 x the estimate, stayed under it while nothing throttled.
        """
        upper = self._base + self._uncertainty()
        return 1.0 + upper * seconds + _RAISED_CALLS

    def _uncertainty(self) -> float:
        """One call over the measured span, at most a quarter of the estimate; 0 for a guess."""
        if not self._measured:
            return 0.0
        return min(_PROBE_SPAN / max(self._span(), _MIN_SPAN), _UNCERTAIN_CAP * self._base)

    def _pace(self, now: float) -> float:
        """The estimate plus the probe."""
        base = self._base
        # Each throttle that confirms the limit stretches the probe's time scale.
        stretch = _CYCLE_GROWTH**self._confirmed
        cubic = min(_PROBE_CUBIC * ((now - self._probe_from) / stretch) ** 3, _PROBE_CAP * base)
        return self._clamp(base + self._uncertainty() + cubic)

    def _record(self, ticket: float) -> None:
        self._sent.append(ticket)
        self._sent_rates.append(self._rate)
        if len(self._sent) > 2 * _HISTORY:
            del self._sent[:_HISTORY]
            del self._sent_rates[:_HISTORY]
            self._forgotten += _HISTORY

    def _index(self, ticket: float) -> int:
        """How many calls went out before the one at ``ticket``."""
        return self._forgotten + bisect.bisect_left(self._sent, ticket)

    def _rate_at(self, ticket: float) -> float:
        """The rate the call at ``ticket`` went out at."""
        position = bisect.bisect_left(self._sent, ticket)
        if position < len(self._sent_rates):
            return self._sent_rates[position]
        return self._rate

    def _clamp(self, rate: float) -> float:
        rate = max(self.min_rate, rate)
        return rate if self.max_rate is None else min(self.max_rate, rate)

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
