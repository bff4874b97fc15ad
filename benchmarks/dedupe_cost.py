"""CPU and memory of the run's dedupe set (``sagefetch._seen.SeenArns``) against a set of strings.

Run from the repository root::

    .venv/bin/python -m benchmarks.dedupe_cost            # 20k, 200k and 1M distinct ARNs

CPU is process time per ARN (median of 3 rounds, each ARN added once, then 1%
of them again); memory is what ``tracemalloc`` sees held by each structure
after a million fresh ARN strings (strings a set keeps alive count, as they do
in a run), and its peak.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from typing import TYPE_CHECKING

from sagefetch._seen import SeenArns

if TYPE_CHECKING:
    from collections.abc import Callable


def _arn(number: int) -> str:
    group, version = divmod(number, 100)
    return f"arn:aws:sagemaker:us-east-1:123456789012:model-package/group-{group:07d}/{version + 1}"


def _with_strings(arns: list[str]) -> None:
    seen: set[str] = set()
    for arn in arns:
        if arn in seen:
            continue
        seen.add(arn)


def _with_seen(arns: list[str]) -> None:
    add = SeenArns().add
    for arn in arns:
        add(arn)


def _cpu(dedupe: Callable[[list[str]], None], arns: list[str]) -> float:
    """Median process seconds per ARN over 3 rounds."""
    rounds = []
    for _ in range(3):
        gc.collect()
        started = time.process_time()
        dedupe(arns)
        rounds.append(time.process_time() - started)
    return statistics.median(rounds) / len(arns)


def _memory(strings: bool, count: int) -> tuple[float, float]:
    """MB held after ``count`` fresh ARNs, and the peak, as tracemalloc sees them."""
    gc.collect()
    tracemalloc.start()
    if strings:
        held: object = {_arn(number) for number in range(count)}
    else:
        seen = SeenArns()
        for number in range(count):
            seen.add(_arn(number))
        held = seen
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    return current / 2**20, peak / 2**20


def main() -> None:
    for count in (20_000, 200_000, 1_000_000):
        arns = [_arn(number) for number in range(count)]
        arns += arns[::100]
        strings, seen = _cpu(_with_strings, arns), _cpu(_with_seen, arns)
        print(
            f"{count:>9,} ARNs: set of strings {strings * 1e6:.2f} us/ARN, "
            f"SeenArns {seen * 1e6:.2f} us/ARN "
            f"({(seen - strings) * 1e6:+.2f} ms per 1,000 ARNs)"
        )
    for strings in (True, False):
        current, peak = _memory(strings, 1_000_000)
        name = "set of strings" if strings else "SeenArns"
        print(f"1,000,000 ARNs, {name}: {current:.1f} MB held, peak {peak:.1f} MB")


if __name__ == "__main__":
    main()
