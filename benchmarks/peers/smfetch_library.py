"""Peer 5: the smfetch library, ModelPackageFetcher(max_concurrency=16).stream(arns)."""

from __future__ import annotations

import logging
from contextlib import aclosing
from typing import TYPE_CHECKING

import anyio
import structlog

import smfetch
from benchmarks.peers._io import DescribeClock, OutcomeFile, parse_args, read_arns, report
from smfetch import Described, ModelPackageFetcher

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from smfetch._fetcher import Input


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
        smfetch_calls=stats.calls,
        smfetch_list_calls=stats.list_calls,
        smfetch_listed=stats.listed,
        smfetch_throttled=stats.throttled,
        smfetch_retries=stats.retries,
        smfetch_rerequested=stats.rerequested,
        smfetch_final_rate=round(stats.rate, 2),
        smfetch_imported_from=smfetch.__file__,
    )


def main() -> None:
    args = parse_args(__doc__ or "")
    # smfetch never configures logging; an application keeps structlog to warnings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    arns = read_arns(args.arn_file)
    anyio.run(run, args.out_file, lambda _: arns)


if __name__ == "__main__":
    main()
