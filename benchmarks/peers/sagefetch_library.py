"""Peer 5: the sagefetch library, ModelPackageFetcher(max_concurrency=16).stream(arns)."""

from __future__ import annotations

import logging
from contextlib import aclosing
from typing import TYPE_CHECKING

import anyio
import structlog

import sagefetch
from benchmarks.peers._io import DescribeClock, OutcomeFile, parse_args, read_arns, report
from sagefetch import Described, ModelPackageFetcher

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from sagefetch._fetcher import Input


async def run(out_file: Path, source: Callable[[ModelPackageFetcher], Input]) -> None:
    """Describe what ``source`` gives the fetcher (ARNs, or its own discovery)."""
    with OutcomeFile(out_file) as out, DescribeClock():
        async with (
            ModelPackageFetcher(max_concurrency=16) as fetcher,
            aclosing(fetcher.stream(source(fetcher))) as outcomes,
        ):
            async for outcome in outcomes:
                out.write(outcome.arn, "described" if isinstance(outcome, Described) else "failed")
    stats = fetcher.stats
    report(
        sagefetch_calls=stats.calls,
        sagefetch_list_calls=stats.list_calls,
        sagefetch_listed=stats.listed,
        sagefetch_throttled=stats.throttled,
        sagefetch_retries=stats.retries,
        sagefetch_rerequested=stats.rerequested,
        sagefetch_final_rate=round(stats.rate, 2),
        sagefetch_imported_from=sagefetch.__file__,
    )


def main() -> None:
    args = parse_args(__doc__ or "")
    # sagefetch never configures logging; an application keeps structlog to warnings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    arns = read_arns(args.arn_file)
    anyio.run(run, args.out_file, lambda _: arns)


if __name__ == "__main__":
    main()
