"""Checking a peer's output against the ARNs it was given: lost and duplicated ARNs."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from pathlib import Path

# Both the peers' compact lines and the CLI's records start this way; anything
# else is parsed in full.
_PREFIX = re.compile(rb'\{"arn":\s*"([^"\\]*)",\s*"status":\s*"([a-z]+)"')


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """What a peer's output file says, against the expected distinct ARNs."""

    records: int
    described: int
    failed: int
    lost: int
    """Expected ARNs with no outcome at all."""
    duplicated: int
    """ARNs with more than one outcome."""
    unexpected: int
    """Outcomes for ARNs that were not asked for (or unreadable lines)."""


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
    """Read ``path`` line by line (it may be large) and count what matters."""
    seen: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    unreadable = 0
    if path.exists():
        with path.open("rb") as file:
            for line in file:
                if not line.strip():
                    continue
                parsed = _parse(line)
                if parsed is None:
                    unreadable += 1
                    continue
                seen[parsed[0]] += 1
                statuses[parsed[1]] += 1
    return OutputCheck(
        records=seen.total() + unreadable,
        described=statuses["described"],
        failed=statuses["failed"],
        lost=sum(1 for arn in expected if arn not in seen),
        duplicated=sum(1 for count in seen.values() if count > 1),
        unexpected=unreadable + sum(1 for arn in seen if arn not in expected),
    )
