"""Describe a registry on the embedded local SageMaker with smfetch.

The main job until ``smfetch demo`` lands: start the local SageMaker with a
server-side rate limit and a few faults, seed a registry, then describe every
package plus some unknown, malformed and duplicate ARNs with
``ModelPackageFetcher``, printing what came back and how the run went.

    python3 scripts/dev.py demo [--groups 12] [--versions 25] [--rate 20]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import time
from collections import Counter

import anyio
import structlog

from smfetch import Described, ModelPackageFetcher
from smfetch.testing import Faults, LocalSageMaker


async def run(args: argparse.Namespace) -> None:
    faults = Faults(rate=args.rate, burst=5, latency=0.02, jitter=0.02, internal_error=0.02,
                    omit=0.02, seed=1)  # fmt: skip
    async with LocalSageMaker(faults=faults) as sagemaker:
        arns = sagemaker.seed(groups=args.groups, versions=args.versions)
        # smfetch finds credentials through the standard chain: give it the server's fake ones.
        os.environ.update(sagemaker.environment())
        unknown = [arn.rsplit("/", 1)[0] + "/9999" for arn in arns[:: args.versions][:3]]
        malformed = ["arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-0001"]
        asked = arns + unknown + malformed + random.Random(0).sample(arns, min(20, len(arns)))
        print(f"Local SageMaker at {sagemaker.endpoint_url}: {len(arns)} packages seeded, "
              f"server limit {args.rate} calls/s; asking for {len(asked)} ARNs\n")  # fmt: skip

        started = time.monotonic()
        approvals: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        async with ModelPackageFetcher() as fetcher:
            async for outcome in fetcher.stream(asked):
                if isinstance(outcome, Described):
                    summary = outcome.summary
                    image = summary["InferenceSpecification"]["Containers"][0]["Image"]
                    approvals[summary.get("ModelApprovalStatus", "-")] += 1
                    print(f"{outcome.arn}  {summary.get('ModelApprovalStatus', '-'):<22} {image}")
                else:
                    failures[outcome.code] += 1
                    print(f"{outcome.arn}  FAILED {outcome.code}: {outcome.message}")
        elapsed = time.monotonic() - started
        stats, counters = fetcher.stats, sagemaker.counters

    by_approval = ", ".join(f"{k}: {v}" for k, v in sorted(approvals.items()))
    by_code = ", ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    print(
        f"\n{stats.described} described ({by_approval}); {stats.failed} failed ({by_code}); "
        f"{stats.duplicates} duplicates skipped"
    )
    print(
        f"{stats.calls} calls in {elapsed:.1f} s ({stats.calls / elapsed:.1f} calls/s against a "
        f"limit of {args.rate}); {stats.throttled} throttled, {stats.retries} retries, "
        f"{counters.internal_errors} server errors, {stats.rerequested} ARNs re-requested"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=12)
    parser.add_argument("--versions", type=int, default=25)
    parser.add_argument("--rate", type=float, default=20.0, help="server limit, calls/s")
    args = parser.parse_args()
    # The library never configures logging; this script shows warnings only.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    anyio.run(run, args)


if __name__ == "__main__":
    main()
