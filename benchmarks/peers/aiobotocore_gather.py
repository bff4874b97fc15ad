"""Peer 3: aiobotocore, asyncio.gather under a Semaphore(16), botocore's own retries.

``--retry-mode adaptive --attempts 20`` is what a careful SDK user writes
against a throttling API (the ``aiobotocore-adaptive`` peer): botocore's
client-side rate limiter backs off on throttles, with attempts enough to get
through. Without options: ``standard`` retries, botocore's default 3 attempts.
``--runs N --run-gap S`` (S10): N gathers over slices of the ARNs, one after
another, ``S`` seconds apart, on one client (so one adaptive limiter).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from benchmarks.peers._io import (
    DescribeClock,
    OutcomeFile,
    add_run_options,
    argument_parser,
    batches,
    read_arns,
    split_runs,
)

if TYPE_CHECKING:
    from pathlib import Path

CONCURRENCY = 16
#: botocore's default total attempts in ``standard`` and ``adaptive`` mode.
DEFAULT_ATTEMPTS = 3


def client_config(mode: str, attempts: int) -> AioConfig:
    """The peers' client: ``mode`` retries, ``attempts`` in all, a pool of 16 connections."""
    return AioConfig(
        retries={"mode": mode, "total_max_attempts": attempts},
        max_pool_connections=CONCURRENCY,
    )


async def describe(
    client: Any, semaphore: asyncio.Semaphore, batch: list[str], out: OutcomeFile
) -> None:
    """One call under the semaphore; its outcomes go straight to ``out``."""
    async with semaphore:
        try:
            response = await client.batch_describe_model_package(ModelPackageArnList=batch)
        except Exception:  # noqa: BLE001 - retries exhausted: the batch failed, carry on
            out.write_all(batch, "failed")
            return
    out.write_response(response)


async def run(
    arns: list[str], out_file: Path, config: AioConfig, runs: int = 1, run_gap: float = 0.0
) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)
    with OutcomeFile(out_file) as out, DescribeClock():
        async with get_session().create_client("sagemaker", config=config) as client:
            for index, part in enumerate(split_runs(arns, runs)):
                if index:
                    await asyncio.sleep(run_gap)
                await asyncio.gather(*(describe(client, semaphore, b, out) for b in batches(part)))


def main() -> None:
    parser = argument_parser(__doc__ or "")
    parser.add_argument("--retry-mode", choices=("standard", "adaptive"), default="standard")
    parser.add_argument("--attempts", type=int, default=DEFAULT_ATTEMPTS)
    add_run_options(parser)
    args = parser.parse_args()
    config = client_config(args.retry_mode, args.attempts)
    asyncio.run(run(read_arns(args.arn_file), args.out_file, config, args.runs, args.run_gap))


if __name__ == "__main__":
    main()
