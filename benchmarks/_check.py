"""Checking a peer's output against the ARNs it was given: lost and duplicated ARNs.

S7 (service) peers answer request by request: ``check_service_output``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from benchmarks._scenarios import ARNS_PER_CALL, linger_windows

if TYPE_CHECKING:
    from pathlib import Path

# Both the peers' compact lines and the CLI's records start this way; anything
# else is parsed in full.
_PREFIX = re.compile(rb'\{"arn":\s*"([^"\\]*)",\s*"status":\s*"([a-z]+)"')


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """What a peer's output file says, against the expected distinct ARNs.

    ``described``, ``failed`` and ``lost`` count distinct expected ARNs, not
    lines, and add up to the ARNs expected.
    """

    records: int
    """Non-blank lines, readable or not."""
    described: int
    """Expected ARNs with at least one ``described`` outcome."""
    failed: int
    """Expected ARNs with outcomes, none of them ``described``."""
    lost: int
    """Expected ARNs with no outcome at all."""
    duplicated: int
    """ARNs with more than one outcome."""
    unexpected: int
    """Outcomes for ARNs that were not asked for (or unreadable lines)."""

    @property
    def incomplete(self) -> bool:
        """Whether some expected ARN ended failed or without an outcome."""
        return self.failed > 0 or self.lost > 0


def _parse(line: bytes) -> tuple[str, str] | None:
    match = _PREFIX.match(line)
    if match is not None:
        return match.group(1).decode(), match.group(2).decode()
    try:
        record = orjson.loads(line)
        return str(record["arn"]), str(record["status"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def check_output(path: Path, expected: set[str]) -> OutputCheck:
    """Read ``path`` line by line (it may be large) and count what matters, by ARN."""
    seen: Counter[str] = Counter()
    described: set[str] = set()
    lines = unreadable = 0
    if path.exists():
        with path.open("rb") as file:
            for line in file:
                if not line.strip():
                    continue
                lines += 1
                parsed = _parse(line)
                if parsed is None:
                    unreadable += 1
                    continue
                arn, status = parsed
                seen[arn] += 1
                if status == "described":
                    described.add(arn)
    answered = sum(1 for arn in expected if arn in seen)
    described_expected = len(described & expected)
    return OutputCheck(
        records=lines,
        described=described_expected,
        failed=answered - described_expected,
        lost=len(expected) - answered,
        duplicated=sum(1 for count in seen.values() if count > 1),
        unexpected=unreadable + sum(1 for arn in seen if arn not in expected),
    )


@dataclass(frozen=True, slots=True)
class ServiceCheck:
    """S7: what a service peer's answers say, request by request."""

    requests: int
    answered: int
    """Requests with an answer line (described or failed)."""
    described: int
    failed: int
    unanswered: int
    """Requests with no answer line at all."""
    lost: int
    """Distinct ARNs asked for that no request got described or failed."""
    latency_p50: float | None
    latency_p99: float | None
    latency_max: float | None
    """Seconds from a request's scheduled arrival to its answer, over the answered ones."""
    distinct: int
    """Distinct ARNs among the requests."""
    linger_windows: int
    linger_underfull: int
    """Windows of ``linger`` over the arrival times, and those closed under-full
    (``benchmarks._scenarios.linger_windows``)."""

    @property
    def full_calls(self) -> int:
        """ceil(distinct / 100): the calls a client needs if every batch is full."""
        return math.ceil(self.distinct / ARNS_PER_CALL)

    @property
    def derived_reference(self) -> int:
        """ceil(distinct / 100) + the under-full windows of the arrival times."""
        return self.full_calls + self.linger_underfull


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of ``values`` (``share`` in (0, 1]); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def check_service_output(
    path: Path, requests: list[tuple[float, str]], *, linger: float
) -> ServiceCheck:
    """Read a service peer's answer lines against the requests it was sent."""
    answered: dict[int, tuple[str, str, float]] = {}
    if path.exists():
        with path.open("rb") as file:
            for line in file:
                try:
                    record = orjson.loads(line)
                    index = int(record["request"])
                    answered[index] = (record["arn"], record["status"], float(record["latency"]))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue
    valid = {
        index: answer
        for index, answer in answered.items()
        if 0 <= index < len(requests) and requests[index][1] == answer[0]
    }
    statuses = Counter(status for _, status, _ in valid.values())
    latencies = [latency for _, _, latency in valid.values()]
    seen = {arn for arn, _, _ in valid.values()}
    windows, underfull = linger_windows(requests, linger)
    return ServiceCheck(
        requests=len(requests),
        answered=len(valid),
        described=statuses["described"],
        failed=len(valid) - statuses["described"],
        unanswered=len(requests) - len(valid),
        lost=len({arn for _, arn in requests} - seen),
        latency_p50=percentile(latencies, 0.50),
        latency_p99=percentile(latencies, 0.99),
        latency_max=max(latencies, default=None),
        distinct=len({arn for _, arn in requests}),
        linger_windows=windows,
        linger_underfull=underfull,
    )
