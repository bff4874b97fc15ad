"""The adaptive limiter, on a fake clock: pacing, slow start, CUBIC, ceiling, sharing."""

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


async def test_calls_are_paced_one_slot_per_interval() -> None:
    """At 5 calls/s, consecutive acquires are 0.2 s apart, with no burst."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=5)
    times = []
    for _ in range(4):
        await limiter.acquire()
        times.append(clock.now)
    assert [round(t - times[0], 6) for t in times] == [0.0, 0.2, 0.4, 0.6]


def test_slow_start_adds_a_fixed_gain_per_success() -> None:
    """Before any throttle, each success raises the rate by 4 calls/s (the slow-start gain)."""
    limiter = _limiter(FakeClock(), initial_rate=5)
    for _ in range(10):
        limiter.on_success()
    assert limiter.rate == 45


async def test_a_throttle_cuts_the_rate_to_beta_of_what_was_achieved() -> None:
    """After slow start, a throttle sets the rate to 0.9 x min(rate, rate accepted over 0.5 s)."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=50)
    limiter.on_throttle(await limiter.acquire())  # leave slow start
    for _ in range(20):  # the server answers 20 calls/s for a second
        clock.now += 0.05
        limiter.on_success()
    before, accepted = limiter.rate, limiter.accepted_rate
    limiter.on_throttle(clock.now)
    assert accepted == pytest.approx(20.0, rel=0.15)
    assert before > accepted
    assert limiter.rate == pytest.approx(0.9 * accepted)


async def test_slow_start_exit_trusts_the_latest_successes_over_the_ramp() -> None:
    """At the first throttle the limit is taken from the last successes, not the 0.5 s average.

    Slow start doubles the rate in a fraction of a second, so successes over the
    last half second average far below the rate the server was accepting at the end.
    """
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=5)
    for step in range(60):  # answers arriving ever faster: 20/s ramping to 100/s
        clock.now += 1.0 / (20 + step * 80 / 59)
        limiter.on_success()
    half_second_average = limiter.accepted_rate
    limiter.on_throttle(clock.now)
    assert half_second_average < 80
    assert 76.5 < limiter.rate <= 90  # 0.9 x the 85-100 calls/s accepted at the end


async def test_only_one_decrease_per_window() -> None:
    """Throttles of calls sent before the last decrease do not cut the rate again."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=20)
    old_tickets = [await limiter.acquire() for _ in range(5)]
    limiter.on_throttle(old_tickets[-1])
    after_first = limiter.rate
    for ticket in old_tickets[:-1]:
        limiter.on_throttle(ticket)
    assert limiter.rate == after_first
    clock.now += 1
    limiter.on_throttle(await limiter.acquire())
    assert limiter.rate < after_first


async def test_rate_recovers_along_the_cubic_curve() -> None:
    """After a cut the rate climbs back to the throttled rate within K seconds, then beyond."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=20)
    limiter.on_throttle(await limiter.acquire())
    assert limiter.rate == 18  # 0.9 x 20: nothing accepted yet, so the rate it had
    throttled_at = 20
    k = 5 ** (1 / 3)  # CUBIC's K = (20 x (1 - 0.9) / 0.4) ** (1/3), about 1.71 s
    rates = []
    while clock.now < 1000.0 + 2 * k:
        await limiter.acquire()
        limiter.on_success()
        rates.append((clock.now - 1000.0, limiter.rate))
    assert all(later >= earlier - 1e-9 for (_, earlier), (_, later) in itertools.pairwise(rates))
    near_k = min(rates, key=lambda point: abs(point[0] - k))[1]
    assert near_k == pytest.approx(throttled_at, rel=0.05)
    assert rates[-1][1] > throttled_at


async def test_a_waiting_call_goes_out_at_the_new_rate_after_a_decrease() -> None:
    """A call already waiting when the rate drops is spaced at the new rate."""
    clock = SteppedClock()
    limiter = _limiter(clock, initial_rate=10)
    sent: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        sent.append(clock.now)

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        group.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        limiter.on_throttle(clock.now)  # 10/s -> 9/s while the second call waits
        clock.release()
        await anyio.wait_all_tasks_blocked()
        clock.release()

    assert clock.requests == pytest.approx([0.1, 1 / 9 - 0.1])
    assert sent == pytest.approx([1000.0, 1000.0 + 1 / 9])


def test_max_rate_is_a_ceiling_and_the_start() -> None:
    """With max_rate the limiter starts there and never goes above it."""
    limiter = _limiter(FakeClock(), max_rate=3)
    assert limiter.rate == 3
    for _ in range(50):
        limiter.on_success()
    assert limiter.rate == 3


async def test_the_rate_never_falls_below_min_rate() -> None:
    """Repeated throttles stop at min_rate."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=4, min_rate=1)
    for _ in range(20):
        clock.now += 10
        limiter.on_throttle(await limiter.acquire())
    assert limiter.rate == 1


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


def test_answers_arriving_together_do_not_look_like_an_infinite_rate() -> None:
    """Twelve answers within a millisecond count over 0.1 s, not as thousands of calls/s."""
    clock = FakeClock()
    limiter = _limiter(clock, initial_rate=5)
    for _ in range(100):  # answers at 20/s; slow start runs the rate up to 405 calls/s
        clock.now += 0.05
        limiter.on_success()
    for _ in range(12):
        clock.now += 0.0001
        limiter.on_success()
    limiter.on_throttle(clock.now)
    assert limiter.rate <= 126  # 0.9 x (12 + 2) answers / 0.1 s


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
