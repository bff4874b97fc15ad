"""Peer 3: aiobotocore, asyncio.gather under a Semaphore(16), standard retries."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from benchmarks.peers._io import DescribeClock, OutcomeFile, batches, parse_args, read_arns

if TYPE_CHECKING:
    from pathlib import Path

CONCURRENCY = 16


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


async def run(arns: list[str], out_file: Path) -> None:
    config = AioConfig(retries={"mode": "standard"}, max_pool_connections=CONCURRENCY)
    semaphore = asyncio.Semaphore(CONCURRENCY)
    with OutcomeFile(out_file) as out, DescribeClock():
        async with get_session().create_client("sagemaker", config=config) as client:
            await asyncio.gather(*(describe(client, semaphore, b, out) for b in batches(arns)))


def main() -> None:
    args = parse_args(__doc__ or "")
    asyncio.run(run(read_arns(args.arn_file), args.out_file))


if __name__ == "__main__":
    main()
