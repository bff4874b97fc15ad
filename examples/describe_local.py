"""Describe a few hundred model packages on the embedded local SageMaker.

The main job until ``smfetch demo`` lands: start the local SageMaker, seed a
registry, ask for every package (plus a few unknown ARNs) 100 ARNs per call,
several calls at once, and print what came back.

    python3 scripts/dev.py demo [--groups 12] [--versions 25]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from smfetch._arns import MAX_ARNS_PER_CALL
from smfetch.testing import LocalSageMaker


async def describe(arns: list[str], sagemaker: LocalSageMaker) -> dict[str, Any]:
    """Describe ``arns`` in batches of 100, four calls at a time; merge the answers."""
    merged: dict[str, Any] = {"ModelPackageSummaries": {}, "BatchDescribeModelPackageErrorMap": {}}
    batches = [arns[i : i + MAX_ARNS_PER_CALL] for i in range(0, len(arns), MAX_ARNS_PER_CALL)]
    config = AioConfig(max_pool_connections=4, retries={"mode": "standard", "max_attempts": 5})
    async with get_session().create_client(
        "sagemaker", config=config, **sagemaker.client_kwargs()
    ) as client:
        answers = await asyncio.gather(
            *(client.batch_describe_model_package(ModelPackageArnList=batch) for batch in batches)
        )
    for answer in answers:
        for key, entries in merged.items():
            entries.update(answer.get(key, {}))
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=12)
    parser.add_argument("--versions", type=int, default=25)
    args = parser.parse_args()

    with LocalSageMaker() as sagemaker:
        arns = sagemaker.seed(groups=args.groups, versions=args.versions)
        unknown = [arn.rsplit("/", 1)[0] + "/9999" for arn in arns[:: args.versions][:3]]
        print(f"Local SageMaker at {sagemaker.endpoint_url}: {len(arns)} packages seeded")
        result = asyncio.run(describe(arns + unknown, sagemaker))

    summaries = result["ModelPackageSummaries"]
    errors = result["BatchDescribeModelPackageErrorMap"]
    for arn, summary in sorted(summaries.items()):
        image = summary["InferenceSpecification"]["Containers"][0]["Image"]
        print(f"{arn}  {summary['ModelApprovalStatus']:<22} {image}")
    for arn, error in sorted(errors.items()):
        print(f"{arn}  FAILED {error['ErrorCode']}: {error['ErrorResponse']}")
    approvals = Counter(summary["ModelApprovalStatus"] for summary in summaries.values())
    print(
        f"\n{len(summaries)} described, {len(errors)} failed; "
        + ", ".join(f"{status}: {count}" for status, count in sorted(approvals.items()))
    )


if __name__ == "__main__":
    main()
