"""Peer 1: boto3, one batch of 100 after another, botocore's standard retries."""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs in the lock
from botocore.config import Config

from benchmarks.peers._io import DescribeClock, OutcomeFile, batches, parse_args, read_arns


def describe_in_order(client: Any, arns: list[str], out: OutcomeFile) -> None:
    """One batch of 100 after another; a batch whose retries run out fails whole."""
    for batch in batches(arns):
        try:
            response = client.batch_describe_model_package(ModelPackageArnList=batch)
        except Exception:  # noqa: BLE001 - retries exhausted: the batch failed, carry on
            out.write_all(batch, "failed")
            continue
        out.write_response(response)


def main() -> None:
    args = parse_args(__doc__ or "")
    arns = read_arns(args.arn_file)
    with OutcomeFile(args.out_file) as out, DescribeClock():
        client = boto3.client("sagemaker", config=Config(retries={"mode": "standard"}))
        describe_in_order(client, arns, out)


if __name__ == "__main__":
    main()
