"""Audit baseline: boto3 paginators one listing after another, then one batch of 100 after
another, adaptive retries (botocore's default 3 attempts). Sequential on purpose: the floor
a user gets with no concurrency at all, not how a competent async user lists.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs in the lock
from botocore.config import Config

from benchmarks.peers._io import DescribeClock, OutcomeFile, report
from benchmarks.peers.boto3_sequential import describe_in_order

PAGE = {"PageSize": 100}


def list_arns(client: Any) -> list[str]:
    """Every group, every version of each, and the packages outside any group."""
    names = [
        group["ModelPackageGroupName"]
        for page in client.get_paginator("list_model_package_groups").paginate(
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
        for page in packages.paginate(**listing, PaginationConfig=PAGE)
        for package in page["ModelPackageSummaryList"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_file", type=Path)
    args = parser.parse_args()
    with OutcomeFile(args.out_file) as out, DescribeClock():
        started = time.perf_counter()
        client = boto3.client("sagemaker", config=Config(retries={"mode": "adaptive"}))
        arns = list_arns(client)
        report(list_seconds=round(time.perf_counter() - started, 3), listed=len(arns))
        describe_in_order(client, arns, out)


if __name__ == "__main__":
    main()
