"""S7 peer: aiobotocore, one BatchDescribeModelPackage call per request, adaptive retries.

What a careful SDK user writes for a service: one client for the service's
life, botocore's adaptive retry mode (its client-side rate limiter backs off
on throttles) with attempts enough to get through, a pool of 16 connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from benchmarks.peers._io import argument_parser
from benchmarks.peers._service import read_requests, serve

if TYPE_CHECKING:
    from pathlib import Path

CONCURRENCY = 16
#: Attempts per call: botocore's adaptive default is 3, too few when 2,000 requests
#: meet a 20 calls/s limit.
ATTEMPTS = 30


async def run(requests: list[tuple[float, str]], out_file: Path) -> None:
    config = AioConfig(
        retries={"mode": "adaptive", "total_max_attempts": ATTEMPTS},
        max_pool_connections=CONCURRENCY,
    )
    async with get_session().create_client("sagemaker", config=config) as client:

        async def describe(arn: str) -> str:
            response = await client.batch_describe_model_package(ModelPackageArnList=[arn])
            return "described" if arn in response.get("ModelPackageSummaries", {}) else "failed"

        await serve(requests, out_file, describe)


def main() -> None:
    args = argument_parser(__doc__ or "").parse_args()
    requests = read_requests(args.arn_file)
    anyio.run(run, requests, args.out_file)


if __name__ == "__main__":
    main()
