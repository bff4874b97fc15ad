"""Peer 1: boto3, one batch of 100 after another, botocore's standard retries."""

from __future__ import annotations

import boto3
from botocore.config import Config

from benchmarks.peers._io import DescribeClock, OutcomeFile, batches, parse_args, read_arns


def main() -> None:
    args = parse_args(__doc__ or "")
    arns = read_arns(args.arn_file)
    with OutcomeFile(args.out_file) as out, DescribeClock():
        client = boto3.client("sagemaker", config=Config(retries={"mode": "standard"}))
        for batch in batches(arns):
            try:
                response = client.batch_describe_model_package(ModelPackageArnList=batch)
            except Exception:  # noqa: BLE001 - retries exhausted: the batch failed, carry on
                out.write_all(batch, "failed")
                continue
            out.write_response(response)


if __name__ == "__main__":
    main()
