"""Scenarios S1-S11, the ideal wall time a perfect client would need, S7's requests.

S8-S11 are issue 14's limiter scenarios (rising limit, bursty server, small runs
sharing one limiter, a limit that changes every 10 s); ``benchmarks/simulation.py``
simulates the same ones (``simulation.from_benchmark``).
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagefetch.testing import Catalogue, Faults

if TYPE_CHECKING:
    from pathlib import Path

ARNS_PER_CALL = 100
SEED = 5
ACCOUNT, REGION = "123456789012", "us-east-1"
#: S6's ARN file also holds this many repeated ARNs (plus a comment and a blank line).
S6_DUPLICATES = 1_000
#: S4's limit drops from 40 to this many calls/s a third of the way through the ideal.
S4_LOWER_RATE = 10.0
#: Tokens a float sum may miss by: a token due at a moment is there at that moment.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class ServiceLoad:
    """S7: single-ARN requests to a service, arriving at random, some for earlier ARNs."""

    window: float = 2.0
    """Seconds over which the requests arrive (uniformly at random: Poisson arrivals)."""
    repeat_share: float = 0.2
    """Share of requests that repeat the ARN of an earlier request."""
    linger: float = 0.005
    """sagefetch's default ``linger``: the windows of the calls reference."""

    def distinct(self, requests: int) -> int:
        """Distinct ARNs among ``requests`` requests."""
        return requests - round(requests * self.repeat_share)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One server set-up and one ARN list, run against every peer in turn."""

    key: str
    title: str
    arns: int
    faults: Faults
    lowered_rate: float | None = None
    """S4: the limit the harness switches to, a third of the way through the ideal."""
    cli_only: bool = False
    """S6: only the sagefetch CLI takes part."""
    extra_lines: bool = False
    """S6: the ARN file also holds duplicates, blank lines and comments."""
    headline: str = "wall / ideal"
    listing_calls: int = 0
    """Audit: the List calls that find the ARNs, on top of the describe calls."""
    service: ServiceLoad | None = None
    """S7: ``arns`` is the number of single-ARN requests, arriving as this says."""
    limit_changes: tuple[tuple[float, float], ...] = ()
    """``(seconds after the first call, calls/s)``: the limit from then on (S8, S11).

    The harness puts each in force at its moment (``FirstCallWatcher``); S4's
    single drop is ``lowered_rate`` instead, at a moment derived from the ideal.
    """
    runs: int = 1
    """S10: the ARNs are split into this many runs, one after another, on one limiter."""
    run_gap: float = 0.0
    """S10: seconds between the end of one run and the start of the next."""

    @property
    def distinct_arns(self) -> int:
        """Distinct ARNs asked for."""
        return self.arns if self.service is None else self.service.distinct(self.arns)

    @property
    def calls_needed(self) -> int:
        """Calls a perfect client makes: one per 100 distinct ARNs, plus any listing."""
        return math.ceil(self.distinct_arns / ARNS_PER_CALL) + self.listing_calls

    @property
    def limited(self) -> bool:
        """Whether the server has a rate limit (otherwise there is no ideal)."""
        return self.faults.rate is not None

    @property
    def calls_per_run(self) -> int:
        """Calls a perfect client makes in each of the ``runs`` (all of them when one run)."""
        if self.runs == 1:
            return self.calls_needed
        return math.ceil(math.ceil(self.distinct_arns / self.runs) / ARNS_PER_CALL)

    @property
    def limits(self) -> tuple[tuple[float, float], ...]:
        """``(seconds after the first call, calls/s)`` steps of the limit; () if unlimited."""
        rate = self.faults.rate
        if rate is None:
            return ()
        switch = self.switch_after if self.lowered_rate is not None else None
        if switch is not None and self.lowered_rate is not None:
            return ((0.0, rate), (switch, self.lowered_rate))
        return ((0.0, rate), *self.limit_changes)

    @property
    def switch_after(self) -> float | None:
        """Seconds after the first call at which the limit first changes (S4: drops)."""
        if self.limit_changes and self.lowered_rate is None:
            return self.limit_changes[0][0]
        if self.lowered_rate is None or self.faults.rate is None:
            return None
        # Pacing time P with the switch at P/3: (calls - burst) = r1 P/3 + r2 2P/3.
        pacing = max(0, self.calls_needed - self.faults.burst) / (
            self.faults.rate / 3 + 2 * self.lowered_rate / 3
        )
        return pacing / 3

    @property
    def ideal_seconds(self) -> float | None:
        """max(0, calls - burst) / limit + one latency (piecewise for S4); None if unlimited.

        None for S7 too: its requests arrive over ``ServiceLoad.window``, and
        what counts there is each request's latency.
        """
        rate = self.faults.rate
        if rate is None or self.service is not None:
            return None
        latency = self.faults.latency + self.faults.jitter / 2
        if self.runs == 1 and len(self.limits) == 1:
            return max(0, self.calls_needed - self.faults.burst) / rate + latency
        return (
            token_bucket_ideal(
                self.limits,
                self.faults.burst,
                calls=self.calls_per_run,
                runs=self.runs,
                between_runs=latency + self.run_gap,
            )
            + latency
        )

    def limit_at(self, seconds_after_first_call: float) -> float | None:
        """The server's limit at a moment of a run (for the plots)."""
        current = self.faults.rate
        for start, rate in self.limits:
            if seconds_after_first_call >= start:
                current = rate
        return current

    def scaled(self, factor: float) -> Scenario:
        """The same scenario with ``factor`` times the ARNs (rates unchanged)."""
        return dataclasses.replace(self, arns=max(ARNS_PER_CALL, round(self.arns * factor)))

    def to_json(self) -> dict[str, object]:
        """What the results' JSON says of the scenario."""
        return {
            "key": self.key,
            "title": self.title,
            "arns": self.arns,
            "calls_needed": self.calls_needed,
            "ideal_seconds": self.ideal_seconds,
            "switch_after_seconds": self.switch_after,
            "limits": [list(step) for step in self.limits],
            "runs": self.runs,
            "run_gap": self.run_gap,
            "faults": {k: getattr(self.faults, k) for k in self.faults.__slots__},
            "service": None if self.service is None else dataclasses.asdict(self.service),
            "distinct_arns": self.distinct_arns,
        }


def token_bucket_ideal(
    limits: tuple[tuple[float, float], ...],
    burst: int,
    *,
    calls: int,
    runs: int = 1,
    between_runs: float = 0.0,
) -> float:
    """When a perfect client sends its last call: each call the instant the bucket has a token.

    The bucket starts full (``burst`` tokens) and refills at the limit of the
    moment (``limits``: ``(second, calls/s)`` steps from the first call). A run
    starts ``between_runs`` seconds after the previous one's last call (its
    answer's latency and any pause). Add one latency for the last answer.
    """

    def limit_at(moment: float) -> float:
        current = limits[0][1]
        for start, rate in limits:
            if moment >= start:
                current = rate
        return current

    def refill(level: float, start: float, end: float) -> float:
        while start < end:
            later = [at for at, _ in limits if at > start]
            step_end = min([end, *later])
            level = min(float(burst), level + limit_at(start) * (step_end - start))
            start = step_end
        return level

    def next_token(level: float, moment: float) -> float:
        while level < 1.0 - _EPSILON:
            rate = limit_at(moment)
            later = [at for at, _ in limits if at > moment]
            needed = (1.0 - level) / rate
            if not later or moment + needed <= later[0]:
                return moment + needed
            level += rate * (later[0] - moment)
            moment = later[0]
        return moment

    level, moment = float(burst), 0.0
    for run in range(runs):
        if run:
            level = refill(level, moment, moment + between_runs)
            moment += between_runs
        for _ in range(calls):
            sent = next_token(level, moment)
            level = refill(level, moment, sent) - 1.0
            level = max(0.0, level)
            moment = sent
    return moment


def write_arn_file(scenario: Scenario, path: Path) -> set[str]:
    """The scenario's ARN file; returns the distinct ARNs every peer must account for."""
    groups = -(-scenario.arns // 100)
    arns = Catalogue(ACCOUNT, REGION, groups, 100).arns()[: scenario.arns]
    with path.open("w", encoding="utf-8") as file:
        if scenario.extra_lines:
            file.write("# sagefetch benchmark S6: the catalogue, then some repeats\n\n")
        file.write("\n".join(arns))
        file.write("\n")
        if scenario.extra_lines:
            step = max(1, len(arns) // S6_DUPLICATES)
            file.write("\n".join(arns[::step]) + "\n")
    return set(arns)


Request = tuple[float, str]
"""S7: (seconds after the start at which the request arrives, its ARN)."""


def service_requests(scenario: Scenario) -> list[Request]:
    """S7's requests, in arrival order: the same for every peer and every run (seeded).

    Arrival times are ``arns`` uniform draws over the window, sorted: a Poisson
    process conditioned on its count. ``repeat_share`` of the requests (any but
    the first) ask again for the ARN of an earlier request, picked uniformly.
    """
    load = scenario.service
    assert load is not None, "only a service scenario has requests"
    rng = random.Random(scenario.faults.seed)
    requests = scenario.arns
    catalogue = Catalogue(ACCOUNT, REGION, -(-requests // 100), 100).arns()
    fresh = iter(rng.sample(catalogue, load.distinct(requests)))
    repeats = set(rng.sample(range(1, requests), requests - load.distinct(requests)))
    times = sorted(rng.uniform(0.0, load.window) for _ in range(requests))
    arns: list[str] = []
    for index in range(requests):
        arns.append(rng.choice(arns) if index in repeats else next(fresh))
    return list(zip(times, arns, strict=True))


def write_requests(scenario: Scenario, path: Path) -> list[Request]:
    """S7's request file: one ``SECONDS ARN`` line per request, in arrival order."""
    requests = service_requests(scenario)
    path.write_text("".join(f"{at:.6f} {arn}\n" for at, arn in requests), encoding="utf-8")
    return requests


def linger_windows(requests: list[Request], linger: float) -> tuple[int, int]:
    """(windows, windows closed under-full) of a coalescer that lingers ``linger`` seconds.

    A window opens with the first request that arrives while none is open and
    closes ``linger`` seconds later, or at once when it holds 100 distinct ARNs.
    It sees neither the server's limit nor the calls in flight: a client that
    holds a closed window back until it may send lets later requests join it,
    and makes fewer calls than this.
    """
    windows = underfull = 0
    opened: float | None = None
    held: set[str] = set()
    for at, arn in requests:
        if opened is not None and at > opened + linger:
            underfull += 1
            opened = None
        if opened is None:
            windows += 1
            opened, held = at, set()
        held.add(arn)
        if len(held) == ARNS_PER_CALL:
            opened = None
    if opened is not None:
        underfull += 1
    return windows, underfull


_THROTTLED = Faults(rate=20.0, burst=5, latency=0.05, jitter=0.01, seed=SEED)

SCENARIOS: dict[str, Scenario] = {
    scenario.key: scenario
    for scenario in (
        Scenario("S1", "throttled: 20 calls/s, burst 5, 50 ms (+0-10 ms)", 20_000, _THROTTLED),
        Scenario(
            "S2",
            "larger: 50 calls/s, burst 5, 50 ms (+0-10 ms)",
            100_000,
            dataclasses.replace(_THROTTLED, rate=50.0),
        ),
        Scenario(
            "S3",
            "faulty: S1 plus 3% HTTP 500, 1% dropped connections, 1% answers omitting ARNs",
            20_000,
            dataclasses.replace(_THROTTLED, internal_error=0.03, drop=0.01, omit=0.01),
        ),
        Scenario(
            "S4",
            "shifting limit: 40 calls/s, then 10 calls/s from a third of the ideal",
            30_000,
            dataclasses.replace(_THROTTLED, rate=40.0),
            lowered_rate=S4_LOWER_RATE,
        ),
        Scenario(
            "S5",
            "unlimited: no server limit, 5 ms latency",
            200_000,
            Faults(latency=0.005, seed=SEED),
            headline="client CPU ms / 1,000 described ARNs",
        ),
        Scenario(
            "S6",
            "memory: a big ARN file (with repeats and comments) to JSONL through the sagefetch CLI",
            1_000_000,
            Faults(latency=0.002, seed=SEED),
            cli_only=True,
            extra_lines=True,
            headline="peak RSS and time to the first output line",
        ),
        Scenario(
            "S7",
            "service: single-ARN requests arriving over 2 s, 20% repeats; S1's server",
            2_000,
            _THROTTLED,
            service=ServiceLoad(),
            headline="calls against the linger reference; p50/p99 latency per request",
        ),
        Scenario(
            "S8",
            "rising limit: 10 calls/s, then 30 calls/s from 3 s after the first call",
            30_000,
            dataclasses.replace(_THROTTLED, rate=10.0),
            limit_changes=((3.0, 30.0),),
        ),
        Scenario(
            "S9",
            "bursty server: 20 calls/s, burst 20, 50 ms (+0-10 ms)",
            20_000,
            dataclasses.replace(_THROTTLED, burst=20),
        ),
        Scenario(
            "S10",
            "small runs sharing one limiter: 10 runs of 2,000 ARNs, 0.2 s apart; S1's server",
            20_000,
            _THROTTLED,
            runs=10,
            run_gap=0.2,
        ),
        Scenario(
            "S11",
            "a limit that changes every 10 s: 20, 35, 12, then 28 calls/s",
            80_000,
            _THROTTLED,
            limit_changes=((10.0, 35.0), (20.0, 12.0), (30.0, 28.0)),
        ),
    )
}
