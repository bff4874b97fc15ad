"""A shard entry point for distributed engines: one (account, region) in, one report out.

An engine (Ray, Step Functions, Airflow, ...) fans out over (account, region)
pairs and calls ``fetch_shard`` (a coroutine) or ``run_shard`` (a plain
function) once per pair. Each call opens its own fetcher, so its own client
and rate limiter: every (account, region) has service limits of its own. It
writes one JSON Lines record per package and returns a JSON-serialisable
report. A shard that stops (credentials, permissions, deadline) comes back as
a report with ``stopped`` set rather than an exception, so one bad account
does not fail the whole fan-out. docs/SHARDS.md shows the engines' side.

Run it against three embedded local SageMakers, one of which denies access:

    .venv/bin/python examples/fetch_shard.py
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import time
from collections import Counter
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import orjson
import structlog

from sagefetch import ApprovalStatus, Described, ModelPackageFetcher, Outcome, RunStoppedError
from sagefetch.testing import Faults, LocalSageMaker


async def fetch_shard(
    account: str,
    region: str,
    *,
    role_arn: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    output: Path,
    approval_status: ApprovalStatus | None = None,
) -> dict[str, Any]:
    """Discover and describe every package of one (account, region); write them to ``output``.

    Args:
        account: The shard's account; records whose ARN does not show one carry it.
        region: The shard's region.
        role_arn: A role in ``account`` to assume with ``profile``'s (or the chain's) credentials.
        profile: AWS profile of the credentials (default: the standard chain).
        endpoint_url: SageMaker endpoint (for example a local one).
        output: JSON Lines file, overwritten.
        approval_status: Only packages with this ``ModelApprovalStatus``.

    Returns:
        The shard's report: plain JSON types only, so any engine can ship it back.
    """
    started = time.monotonic()
    described = 0
    failed: Counter[str] = Counter()
    stopped: str | None = None
    fetcher = ModelPackageFetcher(
        region_name=region, role_arn=role_arn, profile_name=profile, endpoint_url=endpoint_url
    )
    try:
        async with (
            await anyio.open_file(output, "wb") as out,
            fetcher,
            aclosing(fetcher.stream(fetcher.discover(approval_status=approval_status))) as outcomes,
        ):
            async for outcome in outcomes:
                await out.write(
                    orjson.dumps(record(outcome, account, region), option=orjson.OPT_APPEND_NEWLINE)
                )
                if isinstance(outcome, Described):
                    described += 1
                else:
                    failed[outcome.code] += 1
    except RunStoppedError as exc:  # records already written are complete and true
        stopped = f"{type(exc).__name__}: {exc}"
    stats = fetcher.stats
    return {
        "account": account,
        "region": region,
        "output": str(output),
        "described": described,
        "failed": dict(failed),
        "calls": stats.calls,
        "throttled": stats.throttled,
        "elapsed": round(time.monotonic() - started, 3),
        "stopped": stopped,
    }


def run_shard(
    account: str,
    region: str,
    *,
    role_arn: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    output: Path,
    approval_status: ApprovalStatus | None = None,
) -> dict[str, Any]:
    """``fetch_shard`` for engines that call plain functions (a Lambda handler, an ECS task)."""
    return anyio.run(
        functools.partial(
            fetch_shard,
            account,
            region,
            role_arn=role_arn,
            profile=profile,
            endpoint_url=endpoint_url,
            output=output,
            approval_status=approval_status,
        )
    )


def record(outcome: Outcome, account: str, region: str) -> dict[str, Any]:
    """The JSON Lines record of one outcome, with where it came from.

    orjson writes the summary's datetimes as ISO 8601 with their UTC offset.
    """
    parts = outcome.arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        # The ARN is the truth: a profile can point at another account than the engine thinks.
        region, account = parts[3], parts[4]
    fields: dict[str, Any] = {"arn": outcome.arn, "account": account, "region": region}
    if isinstance(outcome, Described):
        fields |= {"status": "described", "summary": outcome.summary}
    else:
        error = {"code": outcome.code, "message": outcome.message, "attempts": outcome.attempts}
        fields |= {"status": "failed", "error": error}
    return fields


async def main() -> None:
    servers = [
        LocalSageMaker(account_id="111111111111", region="us-east-1"),
        LocalSageMaker(account_id="222222222222", region="eu-west-1", faults=Faults(rate=20)),
        # An account whose audit role lacks permissions: its shard stops, the others go on.
        LocalSageMaker(
            account_id="333333333333", faults=Faults(reject_with="AccessDeniedException")
        ),
    ]
    reports: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with servers[0], servers[1], servers[2]:
            servers[0].seed(groups=20, versions=30)
            servers[1].seed(groups=8, versions=25)
            # Every local server accepts the same fake credentials, found in the environment.
            os.environ["AWS_ACCESS_KEY_ID"] = servers[0].credentials.access_key_id
            os.environ["AWS_SECRET_ACCESS_KEY"] = servers[0].credentials.secret_access_key

            async def shard(server: LocalSageMaker) -> None:
                output = Path(tmp) / f"{server.account_id}-{server.region}.jsonl"
                reports.append(
                    await fetch_shard(
                        server.account_id,
                        server.region,
                        endpoint_url=server.endpoint_url,
                        output=output,
                    )
                )

            async with anyio.create_task_group() as shards:
                for server in servers:
                    shards.start_soon(shard, server)
        # Merging is concatenation: every record carries its account and region.
        merged = b"".join([await anyio.Path(report["output"]).read_bytes() for report in reports])
    for report in sorted(reports, key=lambda report: str(report["account"])):
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    first = orjson.loads(merged.splitlines()[0])
    print(f"merged: {len(merged.splitlines())} records, e.g. {first['arn']}")
    print(f"  created {first['summary']['CreationTime']} in {first['account']}/{first['region']}")


if __name__ == "__main__":
    # The library never configures logging; an engine's worker decides what it keeps.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    anyio.run(main)
