"""Audit peer: aiobotocore paginators one after another, then gather under a Semaphore(16)."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from benchmarks.peers._io import DescribeClock, OutcomeFile, batches, report
from benchmarks.peers.aiobotocore_gather import CONCURRENCY, describe

PAGE = {"PageSize": 100}


async def list_arns(client: Any) -> list[str]:
    """Every group, every version of each, and the packages outside any group."""
    names = [
        group["ModelPackageGroupName"]
        async for page in client.get_paginator("list_model_package_groups").paginate(
            PaginationConfig=PAGE
        )
        for group in page["ModelPackageGroupSummaryList"]
    ]
    packages = client.get_paginator("list_model_packages")
    listings = [{"ModelPackageGroupName": name} for name in names]
    listings.append({"ModelPackageType": "Unversioned"})
    return [
        package["ModelPackageArn"]
        for listing in listings
        async for page in packages.paginate(**listing, PaginationConfig=PAGE)
        for package in page["ModelPackageSummaryList"]
    ]


async def run(out_file: Path) -> None:
    config = AioConfig(retries={"mode": "standard"}, max_pool_connections=CONCURRENCY)
    semaphore = asyncio.Semaphore(CONCURRENCY)
    with OutcomeFile(out_file) as out, DescribeClock():
        started = time.perf_counter()
        async with get_session().create_client("sagemaker", config=config) as client:
            arns = await list_arns(client)
            report(list_seconds=round(time.perf_counter() - started, 3), listed=len(arns))
            await asyncio.gather(*(describe(client, semaphore, b, out) for b in batches(arns)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_file", type=Path)
    asyncio.run(run(parser.parse_args().out_file))


if __name__ == "__main__":
    main()
