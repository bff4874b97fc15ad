"""Audit peer: the smfetch library, fetcher.discover() fed into fetcher.stream()."""

from __future__ import annotations

import argparse
import logging
from contextlib import aclosing
from pathlib import Path

import anyio
import structlog

import smfetch
from benchmarks.peers._io import DescribeClock, OutcomeFile, report
from smfetch import Described, ModelPackageFetcher


async def run(out_file: Path) -> None:
    with OutcomeFile(out_file) as out, DescribeClock():
        async with (
            ModelPackageFetcher(max_concurrency=16) as fetcher,
            aclosing(fetcher.stream(fetcher.discover())) as outcomes,
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_file", type=Path)
    out_file = parser.parse_args().out_file
    # smfetch never configures logging; an application keeps structlog to warnings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    anyio.run(run, out_file)


if __name__ == "__main__":
    main()
