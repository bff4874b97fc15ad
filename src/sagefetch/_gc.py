"""Garbage-collector settings for long bulk runs: fewer scans of long-lived objects."""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["tune_gc"]

#: The youngest generation's threshold (Python's default is 700 or 2,000).
DEFAULT_THRESHOLD: Final = 50_000


def tune_gc(threshold: int = DEFAULT_THRESHOLD) -> None:
    """Freeze what exists now and collect young objects less often; process-wide.

    A bulk run allocates millions of short-lived dictionaries (the decoded
    summaries). With the default thresholds the collector scans every
    long-lived object (modules, the client, botocore's service model) again
    and again; that was about a third of sagefetch's CPU per ARN. Call this
    once, after the client or fetcher is open (so those move out of the
    collector's sight, ``gc.freeze``), in a process that spends its time
    fetching: a script, a job, a worker. The ``sagefetch`` command does.

    It changes the whole interpreter's collector, so a service whose other
    work makes reference cycles should measure before adopting it.

    Args:
        threshold: Allocations between collections of the youngest generation.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold!r}")
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(threshold, max(second, 20), max(third, 100))
