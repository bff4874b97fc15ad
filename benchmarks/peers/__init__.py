"""Benchmark peers: one script per client, each run in its own process by the harness.

Every peer is ``python -m benchmarks.peers.NAME ARN_FILE OUT_FILE``. It reads the
endpoint, region and credentials from the environment, writes one JSON line
``{"arn": ..., "status": "described" | "failed"}`` per outcome it got, and prints
``describe_seconds=S`` (client creation, every call and every outcome written).
"""
