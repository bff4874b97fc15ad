"""Peer 5: the sagefetch library, ModelPackageFetcher(max_concurrency=16).stream(arns).

``--client``: the application opens its own aiobotocore client (retries off,
as the README asks) and passes it in, instead of letting the fetcher open one.
``--tune-gc``: the application calls ``sagefetch.tune_gc()`` once the fetcher is open.
``--runs N --run-gap S`` (S10): N ``stream()`` runs over slices of the ARNs, one
after another, ``S`` seconds apart, on one fetcher (so one limiter).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
from contextlib import aclosing
from typing import TYPE_CHECKING

import anyio
import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

import sagefetch
from benchmarks.peers._io import (
    DescribeClock,
    OutcomeFile,
    add_run_options,
    argument_parser,
    read_arns,
    report,
    split_runs,
)
from sagefetch import Described, ModelPackageFetcher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from sagefetch._fetcher import Input

CONCURRENCY = 16


@contextlib.asynccontextmanager
async def open_fetcher(*, callers_client: bool) -> AsyncIterator[ModelPackageFetcher]:
    """A fetcher that opens its client, or one given the application's own client."""
    if not callers_client:
        async with ModelPackageFetcher(max_concurrency=CONCURRENCY) as fetcher:
            yield fetcher
        return
    # What the README tells a caller to pass: botocore's retries off (sagefetch
    # retries), and a pool as large as the fetcher's concurrency.
    config = AioConfig(retries={"total_max_attempts": 1}, max_pool_connections=CONCURRENCY)
    async with (
        get_session().create_client("sagemaker", config=config) as client,
        ModelPackageFetcher(client, max_concurrency=CONCURRENCY) as fetcher,
    ):
        yield fetcher


def report_stats(fetcher: ModelPackageFetcher) -> None:
    """Print the fetcher's counts and the collector's work for the harness's JSON."""
    stats = dataclasses.asdict(fetcher.stats)
    stats["rate"] = round(stats["rate"], 2)
    report(
        **{f"sagefetch_{name}": value for name, value in stats.items()},
        sagefetch_imported_from=sagefetch.__file__,
        gc_collections="/".join(str(generation["collections"]) for generation in gc.get_stats()),
        gc_threshold="/".join(map(str, gc.get_threshold())),
    )


async def run(
    out_file: Path,
    source: Callable[[ModelPackageFetcher], Input],
    *,
    callers_client: bool = False,
    tune_gc: bool = False,
    runs: int = 1,
    run_gap: float = 0.0,
) -> None:
    """Describe what ``source`` gives the fetcher (ARNs, or its own discovery).

    ``runs`` > 1: ``source`` must give a list of ARNs; its slices run one after
    another on the one fetcher, ``run_gap`` seconds apart.
    """
    with OutcomeFile(out_file) as out, DescribeClock():
        async with open_fetcher(callers_client=callers_client) as fetcher:
            if tune_gc:
                sagefetch.tune_gc()
            inputs = source(fetcher)
            parts = [inputs] if runs == 1 else split_runs(list(inputs), runs)  # type: ignore[arg-type]
            for index, part in enumerate(parts):
                if index:
                    await anyio.sleep(run_gap)
                async with aclosing(fetcher.stream(part)) as outcomes:
                    async for outcome in outcomes:
                        status = "described" if isinstance(outcome, Described) else "failed"
                        out.write(outcome.arn, status)
    report_stats(fetcher)


def quiet_structlog() -> None:
    """sagefetch never configures logging; an application keeps structlog to warnings."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def main() -> None:
    parser = argument_parser(__doc__ or "")
    parser.add_argument("--client", action="store_true", help="pass the application's client")
    parser.add_argument("--tune-gc", action="store_true", help="call sagefetch.tune_gc()")
    add_run_options(parser)
    args = parser.parse_args()
    quiet_structlog()
    arns = read_arns(args.arn_file)
    anyio.run(
        lambda: run(
            args.out_file,
            lambda _: arns,
            callers_client=args.client,
            tune_gc=args.tune_gc,
            runs=args.runs,
            run_gap=args.run_gap,
        )
    )


if __name__ == "__main__":
    main()
