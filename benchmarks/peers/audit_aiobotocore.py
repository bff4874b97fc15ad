"""Audit peer: aiobotocore, every group's versions listed concurrently, then gather to describe.

What a competent async user writes: the group pages through the paginator,
then each group's versions (and the unversioned packages) listed at once
under a ``Semaphore(16)``, then every batch of 100 described with
``asyncio.gather`` under the same bound. One client, botocore's adaptive retry
mode with 20 attempts (``benchmarks.peers.aiobotocore_gather.client_config``);
``--retry-mode standard``: standard retries, the same 20 attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session

from benchmarks.peers._io import DescribeClock, OutcomeFile, batches, report
from benchmarks.peers.aiobotocore_gather import CONCURRENCY, client_config, describe

PAGE = {"PageSize": 100}
ATTEMPTS = 20


async def list_packages(
    client: Any, semaphore: asyncio.Semaphore, listing: dict[str, str]
) -> list[str]:
    """Every page of one listing (a group's versions, or the unversioned packages)."""
    async with semaphore:
        paginator = client.get_paginator("list_model_packages")
        return [
            package["ModelPackageArn"]
            async for page in paginator.paginate(**listing, PaginationConfig=PAGE)
            for package in page["ModelPackageSummaryList"]
        ]


async def list_arns(client: Any, semaphore: asyncio.Semaphore) -> list[str]:
    """Every group, then every group's versions and the unversioned packages, concurrently."""
    names = [
        group["ModelPackageGroupName"]
        async for page in client.get_paginator("list_model_package_groups").paginate(
            PaginationConfig=PAGE
        )
        for group in page["ModelPackageGroupSummaryList"]
    ]
    listings = [{"ModelPackageGroupName": name} for name in names]
    listings.append({"ModelPackageType": "Unversioned"})
    pages = await asyncio.gather(*(list_packages(client, semaphore, lst) for lst in listings))
    return [arn for arns in pages for arn in arns]


async def run(out_file: Path, retry_mode: str) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)
    config = client_config(retry_mode, ATTEMPTS)
    with OutcomeFile(out_file) as out, DescribeClock():
        started = time.perf_counter()
        async with get_session().create_client("sagemaker", config=config) as client:
            arns = await list_arns(client, semaphore)
            report(list_seconds=round(time.perf_counter() - started, 3), listed=len(arns))
            await asyncio.gather(*(describe(client, semaphore, b, out) for b in batches(arns)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_file", type=Path)
    parser.add_argument("--retry-mode", choices=("standard", "adaptive"), default="adaptive")
    args = parser.parse_args()
    asyncio.run(run(args.out_file, args.retry_mode))


if __name__ == "__main__":
    main()
