"""Peer 4: aiometer.amap, 16 at once, max_per_second = the server's true limit (an oracle)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import aiometer
import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from benchmarks.peers._io import DescribeClock, OutcomeFile, batches, parse_args, read_arns

if TYPE_CHECKING:
    from pathlib import Path

CONCURRENCY = 16


async def describe(client: Any, batch: list[str]) -> tuple[list[str], dict[str, Any] | None]:
    """One call; ``None`` once botocore's retries are exhausted."""
    try:
        return batch, await client.batch_describe_model_package(ModelPackageArnList=batch)
    except Exception:  # noqa: BLE001 - the batch failed; the caller records it
        return batch, None


async def run(arns: list[str], out_file: Path, max_per_second: float | None) -> None:
    config = AioConfig(retries={"mode": "standard"}, max_pool_connections=CONCURRENCY)
    with OutcomeFile(out_file) as out, DescribeClock():
        async with get_session().create_client("sagemaker", config=config) as client:
            amap = aiometer.amap(
                functools.partial(describe, client),
                list(batches(arns)),
                max_at_once=CONCURRENCY,
                max_per_second=max_per_second,
            )
            async with amap as results:
                async for batch, response in results:
                    if response is None:
                        out.write_all(batch, "failed")
                    else:
                        out.write_response(response)


def main() -> None:
    args = parse_args(__doc__ or "", rate_option=True)
    anyio.run(run, read_arns(args.arn_file), args.out_file, args.max_per_second)


if __name__ == "__main__":
    main()
