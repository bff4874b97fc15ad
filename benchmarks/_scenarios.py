"""Scenarios S1-S7, the ideal wall time a perfect client would need in S1-S4, S7's requests."""

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
    def switch_after(self) -> float | None:
        """S4: seconds after the first call at which the limit drops."""
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
        to_pace = max(0, self.calls_needed - self.faults.burst)
        latency = self.faults.latency + self.faults.jitter / 2
        switch = self.switch_after
        if switch is None or self.lowered_rate is None or to_pace <= rate * switch:
            return to_pace / rate + latency
        return switch + (to_pace - rate * switch) / self.lowered_rate + latency

    def limit_at(self, seconds_after_first_call: float) -> float | None:
        """The server's limit at a moment of a run (for the plots)."""
        switch = self.switch_after
        if switch is not None and seconds_after_first_call >= switch:
            return self.lowered_rate
        return self.faults.rate

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
            "faults": {k: getattr(self.faults, k) for k in self.faults.__slots__},
            "service": None if self.service is None else dataclasses.asdict(self.service),
            "distinct_arns": self.distinct_arns,
        }


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
    )
}
