"""The adaptive limiter, on a fake clock: pacing, start, measuring the limit, probing, sharing."""

from __future__ import annotations

import heapq
import itertools
import math

import anyio
import anyio.lowlevel
import pytest

from sagefetch import AdaptiveRateLimiter


class FakeClock:
    """A clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now = max(self.now, self.now + seconds)
        await anyio.lowlevel.checkpoint()


class VirtualClock(FakeClock):
    """A fake clock for several tasks: time jumps to the earliest sleeper once all are blocked."""

    def __init__(self) -> None:
        super().__init__()
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), event))
        await event.wait()

    async def drive(self) -> None:
        """Run in the background: wake sleepers in time order."""
        while True:
            await anyio.wait_all_tasks_blocked()
            if self._sleepers:
                target, _, event = heapq.heappop(self._sleepers)
                self.now = max(self.now, target)
                event.set()
            else:
                await anyio.sleep(0.001)


class SteppedClock(FakeClock):
    """A fake clock whose sleeps wait until the test releases them."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[float] = []
        self._pending: tuple[float, anyio.Event] | None = None

    async def sleep(self, seconds: float) -> None:
        self.requests.append(seconds)
        self._pending = (seconds, anyio.Event())
        await self._pending[1].wait()

    def release(self) -> None:
        assert self._pending is not None
        seconds, event = self._pending
        self._pending = None
        self.now += seconds
        event.set()


def _limiter(clock: FakeClock, **settings: float) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(clock=clock, sleep=clock.sleep, **settings)


class LateClock(FakeClock):
    """A fake clock whose sleeps end ``lag`` seconds late, as on a busy event loop."""

    def __init__(self, lag: float) -> None:
        super().__init__()
        self.lag = lag

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + self.lag)


async def test_a_busy_loop_waking_callers_late_does_not_slow_the_pace() -> None:
    """Every wake-up 30% of an interval late: 11 calls still span 10 intervals, plus one lag.

    Counted from when each call went out, the lateness would add up: 13 intervals.
    """
    clock = LateClock(lag=0.06)
    limiter = _limiter(clock, initial_rate=5)
    sent = [await limiter.acquire() for _ in range(11)]

    assert sent[-1] - sent[0] == pytest.approx(10 * 0.2 + 0.06)
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.2 - 1e-9  # never closer


async def test_a_caller_woken_later_than_an_interval_counts_from_now() -> None:
    """A wake-up more than an interval late (a blocked loop) does not let the next call catch up."""
    clock = LateClock(lag=0.5)
    limiter = _limiter(clock, initial_rate=5)
    sent = [await limiter.acquire() for _ in range(4)]

    assert [round(b - a, 6) for a, b in itertools.pairwise(sent)] == [0.7, 0.7, 0.7]


async def test_calls_are_paced_one_slot_per_interval() -> None:
    """At 5 calls/s, consecutive acquires are 0.2 s apart, with no burst."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=5)
    times = []
    for _ in range(4):
        await limiter.acquire()
        times.append(clock.now)
    assert [round(t - times[0], 6) for t in times] == [0.0, 0.2, 0.4, 0.6]


async def _measure(limiter: AdaptiveRateLimiter, clock: FakeClock, accepted: int) -> float:
    """Send ``accepted`` answered calls 0.1 s apart, then one more that is throttled; its ticket."""
    for _ in range(accepted):
        clock.now += 0.1
        limiter.on_success(await limiter.acquire())
    clock.now += 0.1
    ticket = await limiter.acquire()
    limiter.on_throttle(ticket)
    return ticket


async def _measured_limiter(clock: FakeClock) -> AdaptiveRateLimiter:
    """A limiter whose first throttle (at 1000.0) ended the start, and the next measured 9.5/s.

    Its ceiling of 30 calls/s keeps calls 0.1 s apart from looking like pauses.
    """
    limiter = _limiter(clock, max_rate=30)
    limiter.on_throttle(await limiter.acquire())
    await _measure(limiter, clock, 19)
    return limiter


def test_the_default_start_is_20_calls_per_second() -> None:
    """With no initial_rate the limiter starts at 20 calls/s, measuring nothing yet."""
    limiter = AdaptiveRateLimiter()
    assert limiter.rate == 20
    assert limiter.measured_limit is None


def test_the_start_adds_4_calls_per_second_per_success() -> None:
    """Before any throttle, each success raises the rate by 4 calls/s."""
    limiter = _limiter(FakeClock(), initial_rate=5)
    for _ in range(10):
        limiter.on_success()
    assert limiter.rate == 45


async def test_the_first_throttle_halves_the_rate_that_call_went_out_at() -> None:
    """The start ends at the first throttle: the guess is half the rate that call went out at."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=5)
    for _ in range(10):
        limiter.on_success()
    limiter.on_throttle(await limiter.acquire())  # went out at 45 calls/s
    assert limiter.rate == 22.5
    assert limiter.measured_limit is None


async def test_two_throttles_measure_accepted_calls_over_the_seconds_between() -> None:
    """19 calls accepted between throttles 2 s apart: the limit is 9.5/s, paced at 9.5 + 1/2."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    assert limiter.measured_limit == pytest.approx(9.5)
    assert limiter.rate == pytest.approx(10.0)


async def test_spans_of_one_limit_pool() -> None:
    """29 more calls in 3 s more: (19 + 29) calls over 5 s, 9.6/s, paced at 9.6 + 1/5."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    await _measure(limiter, clock, 29)
    assert limiter.measured_limit == pytest.approx(9.6)
    assert limiter.rate == pytest.approx(9.8)


async def test_a_short_span_adds_at_most_a_quarter_of_the_estimate() -> None:
    """3 calls over 0.4 s measure 7.5/s; 1/span would add 2.5, the cap allows 7.5 / 4."""
    clock = FakeClock()
    limiter = _limiter(clock, max_rate=30)
    limiter.on_throttle(await limiter.acquire())
    await _measure(limiter, clock, 3)
    assert limiter.measured_limit == pytest.approx(7.5)
    assert limiter.rate == pytest.approx(7.5 * 1.25)


async def test_a_throttle_is_no_cut_below_the_estimate() -> None:
    """A throttle sets the rate to the estimate plus its uncertainty, never below the estimate."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    clock.now += 1.0
    limiter.on_success()  # the probe climbs for a second: 9.5 + 0.5 + 2.5 x 1^3
    assert limiter.rate == pytest.approx(12.5)
    await _measure(limiter, clock, 29)
    assert limiter.rate >= limiter.measured_limit  # type: ignore[operator]


async def test_throttles_sent_before_the_reaction_cause_no_second_reaction() -> None:
    """Calls that went out before the limiter heard of a throttle neither halve nor delay it."""
    clock = FakeClock()
    limiter = _limiter(clock, max_rate=30)
    limiter.on_throttle(await limiter.acquire())
    for _ in range(19):
        clock.now += 0.1
        limiter.on_success(await limiter.acquire())
    in_flight = []
    for _ in range(3):
        clock.now += 0.1
        in_flight.append(await limiter.acquire())
    clock.now += 0.05  # the first throttle's answer arrives after the others went out
    limiter.on_throttle(in_flight[0])
    rate = limiter.rate
    for ticket in in_flight[1:]:
        limiter.on_throttle(ticket)
    assert limiter.rate == rate == pytest.approx(10.0)


async def test_the_probe_grows_as_the_cube_of_the_time_since_the_reaction() -> None:
    """Between throttles the rate is 9.5 + 1/2 + 2.5 t^3, the cubic capped at half the estimate."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    rates = []
    for _ in range(3):
        clock.now += 0.5
        limiter.on_success()
        rates.append(limiter.rate)
    assert rates == pytest.approx([10.3125, 12.5, 14.75])


async def test_each_confirming_throttle_stretches_the_probe() -> None:
    """After a throttle that confirms the estimate, the cubic runs 1.3 times slower."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    await _measure(limiter, clock, 29)
    clock.now += 1.3
    limiter.on_success()
    assert limiter.rate == pytest.approx(9.6 + 0.2 + 2.5)


async def test_a_throttle_leaves_one_interval_before_the_next_call() -> None:
    """A call waiting when a throttle arrives goes out one interval at the new rate after it."""
    clock = SteppedClock()
    limiter = _limiter(clock, initial_rate=10)
    sent: list[float] = []

    async def call() -> None:
        sent.append(await limiter.acquire())

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        group.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        clock.now += 0.05  # the first call's throttle arrives while the second waits
        limiter.on_throttle(sent[0])  # 10/s halves to 5/s
        clock.release()
        await anyio.wait_all_tasks_blocked()
        clock.release()

    assert sent == pytest.approx([1000.0, 1000.25])


async def test_a_firm_estimate_throttled_again_at_once_halves() -> None:
    """With 48 calls over 5 s measured, a throttle two calls after the last one halves the rate."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    await _measure(limiter, clock, 29)
    await _measure(limiter, clock, 2)
    assert limiter.measured_limit is None
    assert limiter.rate == pytest.approx(4.9, abs=0.01)


async def test_a_guess_grows_by_1_per_success_until_measured() -> None:
    """After halving, each success adds 1 call/s to the guess, under the cubic: +3 + 2.5 x 0.9^3."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    await _measure(limiter, clock, 29)
    await _measure(limiter, clock, 2)
    halved = limiter.rate
    for _ in range(3):
        clock.now += 0.3
        limiter.on_success(await limiter.acquire())
    assert limiter.rate == pytest.approx(halved + 3 + 2.5 * 0.9**3)


async def test_more_calls_accepted_than_the_limit_allows_start_a_ramp() -> None:
    """Once the probe's calls beyond 1 + 10/s x t + 1 are all accepted, the rate ramps by 4/s."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    rates = []
    for _ in range(30):  # every call answered: the limit went up
        limiter.on_success(await limiter.acquire())
        rates.append(limiter.rate)
    steps = [round(later - earlier, 6) for earlier, later in itertools.pairwise(rates)]
    assert max(steps[:10]) < 1  # the probe: 9.5 + 1/2 + 2.5 t^3, capped at 14.75
    assert steps[15:19] == [4.0, 4.0, 4.0, 3.25]  # a ramp, up to the ceiling of 30


async def test_a_low_estimate_on_a_short_span_is_outgrown_when_nothing_throttles() -> None:
    """1 call over 0.2 s says 5/s; when every later call passes, the rate ramps to the ceiling."""
    clock = FakeClock()
    limiter = _limiter(clock, max_rate=30)
    limiter.on_throttle(await limiter.acquire())
    await _measure(limiter, clock, 1)
    assert limiter.measured_limit == pytest.approx(5.0)
    for _ in range(100):  # the server's limit is well above 5/s: nothing throttles
        limiter.on_success(await limiter.acquire())
    assert limiter.rate == 30


async def test_after_a_pause_the_estimate_stands_and_measuring_resumes() -> None:
    """A 10 s pause keeps the 9.5/s estimate; the next throttle starts a new span, pooled."""
    clock = FakeClock()
    limiter = await _measured_limiter(clock)
    clock.now += 10
    limiter.on_success(await limiter.acquire())
    assert limiter.measured_limit == pytest.approx(9.5)
    ticket = await limiter.acquire()
    limiter.on_throttle(ticket)  # a new span begins here
    await _measure(limiter, clock, 29)  # 29 calls in 3 s more: (19 + 29) / 5
    assert limiter.measured_limit == pytest.approx(9.6)


async def test_counting_stays_right_over_thousands_of_calls() -> None:
    """The record of tickets is trimmed, yet 9,000 calls over 900 s still measure 10 calls/s."""
    clock = FakeClock()
    limiter = _limiter(clock, max_rate=30)
    limiter.on_throttle(await limiter.acquire())
    await _measure(limiter, clock, 9_000 - 1)
    assert limiter.measured_limit == pytest.approx(9_000 / 900.0 * (8_999 / 9_000))


def test_max_rate_is_a_ceiling_and_the_start() -> None:
    """With max_rate the limiter starts at it and never goes above it."""
    limiter = _limiter(FakeClock(), max_rate=3)
    assert limiter.rate == 3
    for _ in range(50):
        limiter.on_success()
    assert limiter.rate == 3


async def test_the_rate_never_falls_below_min_rate() -> None:
    """Throttles 10 s apart with nothing accepted halve the rate down to min_rate, 1 call/s."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=4, min_rate=1)
    rates = []
    for _ in range(4):
        clock.now += 10
        limiter.on_throttle(await limiter.acquire())
        rates.append(limiter.rate)
    assert rates == [2, 1, 1, 1]


async def test_one_limiter_paces_all_its_users_together() -> None:
    """Two users of one limiter share its slots: together they get the limiter's rate."""
    clock = VirtualClock()
    limiter = _limiter(clock, initial_rate=10)
    sent: list[tuple[str, float]] = []

    async def user(name: str) -> None:
        for _ in range(5):
            await limiter.acquire()
            sent.append((name, clock.now))

    async with anyio.create_task_group() as outer:
        outer.start_soon(clock.drive)
        async with anyio.create_task_group() as users:
            users.start_soon(user, "a")
            users.start_soon(user, "b")
        outer.cancel_scope.cancel()
    times = sorted(t for _, t in sent)
    assert {name for name, _ in sent} == {"a", "b"}
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [0.1] * 9


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"max_rate": 0}, id="zero-ceiling"),
        pytest.param({"max_rate": -5}, id="negative-ceiling"),
        pytest.param({"max_rate": 0.009}, id="ceiling-below-a-call-per-100s"),
        pytest.param({"max_rate": math.nan}, id="nan-ceiling"),
        pytest.param({"max_rate": math.inf}, id="infinite-ceiling"),
        pytest.param({"min_rate": 0}, id="zero-floor"),
        pytest.param({"min_rate": 0.001}, id="floor-below-a-call-per-100s"),
        pytest.param({"min_rate": math.nan}, id="nan-floor"),
        pytest.param({"initial_rate": math.inf}, id="infinite-start"),
        pytest.param({"initial_rate": math.nan}, id="nan-start"),
        pytest.param({"initial_rate": 0.1, "min_rate": 1}, id="start-below-floor"),
    ],
)
def test_nonsense_settings_are_refused(settings: dict[str, float]) -> None:
    """Rates that cannot work (NaN, infinite, below 0.01 calls/s) are a ValueError."""
    with pytest.raises(ValueError, match="rate"):
        AdaptiveRateLimiter(**settings)


def test_the_lowest_rate_is_allowed() -> None:
    """0.01 calls/s, one call every 100 s, is slow but a rate: the limiter starts there."""
    limiter = AdaptiveRateLimiter(max_rate=0.01)
    assert limiter.rate == limiter.min_rate == 0.01


async def test_late_waiters_do_not_burst() -> None:
    """A waiter woken long after its slot takes a fresh one, so the next call is spaced again."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=10)
    await limiter.acquire()

    async def stalled_sleep(seconds: float) -> None:
        clock.now += seconds + 0.5  # the event loop was blocked well past the slot
        await anyio.lowlevel.checkpoint()

    limiter._sleep = stalled_sleep  # type: ignore[method-assign]
    await limiter.acquire()
    woke = clock.now
    limiter._sleep = clock.sleep  # type: ignore[method-assign]
    await limiter.acquire()
    assert clock.now - woke == pytest.approx(0.1)
