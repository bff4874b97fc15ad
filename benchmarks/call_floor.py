"""The CPU floor under S5: what one aiobotocore call costs before anything is decoded.

    .venv/bin/python -m benchmarks.call_floor [--calls 300] [--rounds 5]

S5 counts client CPU per 1,000 ARNs: ten calls of 100. This measures, in one
process against the synthetic local SageMaker in another, the CPU of one
sequential ``batch_describe_model_package`` call on a plain aiobotocore client
(retries off, parameter validation off, as sagefetch's own client), for an
answer of one unknown ARN (almost nothing to decode: the SDK's fixed cost of
building, signing, sending and reading a call) and for 100 described packages,
with botocore's parser and with sagefetch's checked decoder. Ten times the
fixed cost is the floor of any aiobotocore-based client's CPU per 1,000 ARNs.
Medians over ``--rounds`` rounds, min-max beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import time

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from benchmarks._processes import clean_environment
from sagefetch._decode import validated_answers
from sagefetch.testing import Credentials
from sagefetch.testing._catalogue import group_name

_ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package"
_UNKNOWN = [f"{_ACCOUNT_ARN}/no-such-group/1"]
_HUNDRED = [f"{_ACCOUNT_ARN}/{group_name(0)}/{version}" for version in range(1, 101)]


async def _cpu_per_call(endpoint: str, arns: list[str], *, decoder: bool, calls: int) -> float:
    """CPU milliseconds per sequential call (after 20 warm-up calls)."""
    credentials = Credentials()
    config = AioConfig(retries={"total_max_attempts": 1}, parameter_validation=False)
    async with get_session().create_client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=config,
    ) as client:
        with validated_answers(client) if decoder else contextlib.nullcontext():
            for _ in range(20):
                await client.batch_describe_model_package(ModelPackageArnList=arns)
            started = time.process_time()
            for _ in range(calls):
                await client.batch_describe_model_package(ModelPackageArnList=arns)
            return (time.process_time() - started) / calls * 1000


def main(argv: list[str] | None = None) -> int:
    """Print the floor table."""
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--calls", type=int, default=300)
    options.add_argument("--rounds", type=int, default=5)
    args = options.parse_args(argv)
    server = subprocess.Popen(
        [sys.executable, "-m", "sagefetch.cli", "local-server", "--backend", "synthetic"],
        stdout=subprocess.PIPE,
        text=True,
        env=clean_environment({"PYTHONUNBUFFERED": "1"}),
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        endpoint = banner.rsplit(" ", 1)[-1].strip()
        cells: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for label, arns, decoder in (
                ("1 unknown ARN, botocore's parser", _UNKNOWN, False),
                ("1 unknown ARN, sagefetch's decoder", _UNKNOWN, True),
                ("100 packages, botocore's parser", _HUNDRED, False),
                ("100 packages, sagefetch's decoder", _HUNDRED, True),
            ):
                cpu = asyncio.run(_cpu_per_call(endpoint, arns, decoder=decoder, calls=args.calls))
                cells.setdefault(label, []).append(cpu)
    finally:
        server.terminate()
        server.wait()
    print(
        f"| answer | CPU ms per call, median (min-max) of {args.rounds} | x 10 = ms per 1k ARNs |"
    )
    print("|---|---|---|")
    for label, values in cells.items():
        median = statistics.median(values)
        print(
            f"| {label} | {median:.2f} ({min(values):.2f}-{max(values):.2f}) | {median * 10:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
