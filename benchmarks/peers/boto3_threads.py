"""Peer 2: boto3 in a ThreadPoolExecutor(16), botocore's adaptive retry mode."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs in the lock
from botocore.config import Config

from benchmarks.peers._io import DescribeClock, OutcomeFile, batches, parse_args, read_arns

WORKERS = 16


def describe(client: Any, batch: list[str]) -> dict[str, Any] | None:
    """One call; ``None`` once botocore's retries are exhausted."""
    try:
        response: dict[str, Any] = client.batch_describe_model_package(ModelPackageArnList=batch)
    except Exception:  # noqa: BLE001 - the batch failed; the caller records it
        return None
    return response


def main() -> None:
    args = parse_args(__doc__ or "")
    arns = read_arns(args.arn_file)
    config = Config(retries={"mode": "adaptive"}, max_pool_connections=WORKERS)
    with OutcomeFile(args.out_file) as out, DescribeClock():
        client = boto3.client("sagemaker", config=config)
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = {pool.submit(describe, client, batch): batch for batch in batches(arns)}
            for future in as_completed(futures):
                # Let go of each finished future, or every response stays in memory.
                batch, response = futures.pop(future), future.result()
                if response is None:
                    out.write_all(batch, "failed")
                else:
                    out.write_response(response)


if __name__ == "__main__":
    main()
