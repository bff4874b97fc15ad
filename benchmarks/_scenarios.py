"""Scenarios S1-S6 and the ideal wall time a perfect client would need in each."""

from __future__ import annotations

import dataclasses
import math
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

    @property
    def calls_needed(self) -> int:
        """Calls a perfect client makes: one per 100 distinct ARNs, plus any listing."""
        return math.ceil(self.arns / ARNS_PER_CALL) + self.listing_calls

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
        """max(0, calls - burst) / limit + one latency (piecewise for S4); None if unlimited."""
        rate = self.faults.rate
        if rate is None:
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
    )
}
