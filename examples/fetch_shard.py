"""A shard entry point for distributed engines: one (account, region) in, one report out.

``sagefetch.fetch_shard`` is what ``sagefetch audit`` runs for every shard, in
this process or on Ray (``--engine ray``). Here it is called by hand, as an
engine's worker would (Dask, Step Functions, AWS Batch, ...): ``shard_to_file``
(a coroutine) or ``run_shard_to_file`` (a plain function) once per
(account, region). Each call opens its own fetcher, so its own client and rate
limiter: every (account, region) has service limits of its own. It writes one
JSON Lines record per package and returns a JSON-serialisable report. A shard
that stops (credentials, permissions, deadline) comes back as a report with
``stopped`` set rather than an exception, so one bad account does not fail the
whole fan-out. docs/SHARDS.md shows the engines' side.

Run it against three embedded local SageMakers, one of which denies access:

    .venv/bin/python examples/fetch_shard.py
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import orjson
import structlog

from sagefetch import Described, Outcome, ShardChunk, ShardResult, ShardSpec, fetch_shard
from sagefetch.testing import Faults, LocalSageMaker


async def shard_to_file(spec: ShardSpec, output: Path) -> dict[str, Any]:
    """Discover and describe every package of one shard; write them to ``output`` (overwritten).

    Returns:
        The shard's report: plain JSON types only, so any engine can ship it back.
    """
    result: ShardResult | None = None
    async with await anyio.open_file(output, "wb") as out, aclosing(fetch_shard(spec)) as items:
        async for item in items:
            if isinstance(item, ShardChunk):
                await out.write(b"".join(record(outcome, spec) for outcome in item.outcomes))
            else:
                result = item
    assert result is not None, "fetch_shard always ends with its result"
    return result.to_json() | {"output": str(output)}


def run_shard_to_file(spec: ShardSpec, output: Path) -> dict[str, Any]:
    """``shard_to_file`` for engines that call plain functions (a Lambda handler, a Batch job)."""
    return anyio.run(functools.partial(shard_to_file, spec, output))


def record(outcome: Outcome, spec: ShardSpec) -> bytes:
    """The JSON Lines record of one outcome, with its account and region (from its ARN).

    orjson writes the summary's datetimes as ISO 8601 with their UTC offset.
    """
    parts = outcome.arn.split(":", 5)
    account, region = (parts[4], parts[3]) if len(parts) == 6 else (None, spec.region)
    fields: dict[str, Any] = {"arn": outcome.arn, "account": account, "region": region}
    if isinstance(outcome, Described):
        fields |= {"status": "described", "summary": outcome.summary}
    else:
        error = {"code": outcome.code, "message": outcome.message, "attempts": outcome.attempts}
        fields |= {"status": "failed", "error": error}
    return orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)


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
                spec = ShardSpec(region=server.region, endpoint_url=server.endpoint_url)
                output = Path(tmp) / f"{server.account_id}-{server.region}.jsonl"
                reports.append(await shard_to_file(spec, output))

            async with anyio.create_task_group() as shards:
                for server in servers:
                    shards.start_soon(shard, server)
        # Merging is concatenation: every record carries its account and region.
        merged = b"".join([await anyio.Path(report["output"]).read_bytes() for report in reports])
    for report in sorted(reports, key=lambda report: str(report["output"])):
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    first = orjson.loads(merged.splitlines()[0])
    print(f"merged: {len(merged.splitlines())} records, e.g. {first['arn']}")
    print(f"  created {first['summary']['CreationTime']} in {first['account']}/{first['region']}")


if __name__ == "__main__":
    # The library never configures logging; an engine's worker decides what it keeps.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    anyio.run(main)
