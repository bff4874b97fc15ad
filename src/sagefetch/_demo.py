"""``sagefetch demo``: the main job on an embedded local SageMaker.

Starts the local SageMaker with a server-side rate limit and some faults,
seeds a registry, writes an ARN file (with unknown, malformed and duplicate
ARNs and a comment), and describes it through the same code path as
``sagefetch describe``.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from ._cli import UsageError, _describe_into, _exit_code, _fetcher_settings
from ._fetcher import ModelPackageFetcher
from ._progress import print_summary
from .testing import Faults, LocalSageMaker

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

__all__ = ["run_demo"]


def _input_arns(arns: list[str], sagemaker: LocalSageMaker, args: argparse.Namespace) -> list[str]:
    rng = random.Random(7)
    catalogue = sagemaker.catalogue
    unknown = [
        catalogue.arn(rng.randrange(max(catalogue.groups, 1)), args.versions + 1 + i)
        for i in range(args.unknown)
    ]
    malformed = [
        f"arn:aws:sagemaker:{sagemaker.region}:{sagemaker.account_id}:model-package-group/g{i}"
        for i in range(args.malformed)
    ]
    lines = arns + unknown + malformed + rng.sample(arns, min(len(arns) // 20, len(arns)))
    rng.shuffle(lines)
    return ["# sagefetch demo input: one ARN per line", *lines]


async def run_demo(args: argparse.Namespace, stderr: Console) -> int:
    """Run the demo; returns the exit code ``describe`` would give."""
    try:
        faults = Faults(
            rate=args.rate, burst=args.burst, latency=args.latency, jitter=args.jitter,
            internal_error=args.internal_error, drop=args.drop, omit=args.omit, seed=1,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        out = args.output.open("wb")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    with out, tempfile.TemporaryDirectory(prefix="sagefetch-demo-") as workdir:
        async with LocalSageMaker(backend=args.backend, faults=faults) as sagemaker:
            arns = sagemaker.seed(groups=args.groups, versions=args.versions)
            input_path = Path(workdir) / "arns.txt"
            lines = _input_arns(arns, sagemaker, args)
            input_path.write_text("\n".join(lines) + "\n")
            stderr.print(
                f"Local SageMaker ({args.backend}) at {sagemaker.endpoint_url}: "
                f"{len(arns):,} packages in {args.groups} groups; server limit "
                f"{args.rate:g} calls/s (burst {args.burst}), faults: "
                f"{args.internal_error:.0%} HTTP 500, {args.drop:.0%} dropped, "
                f"{args.omit:.0%} omitting\nDescribing {len(lines) - 1:,} input lines "
                f"into {args.output}"
            )
            config = AioConfig(
                retries={"mode": "standard", "total_max_attempts": 1},
                max_pool_connections=max(args.concurrency, 10),
                read_timeout=args.timeout,
            )
            async with get_session().create_client(
                "sagemaker",
                config=config,
                endpoint_url=sagemaker.endpoint_url,
                region_name=sagemaker.region,
                aws_access_key_id=sagemaker.credentials.access_key_id,
                aws_secret_access_key=sagemaker.credentials.secret_access_key,
            ) as client:
                fetcher = ModelPackageFetcher(client, **_fetcher_settings(args))
                with input_path.open("rb") as source:
                    report = await _describe_into(
                        fetcher, source, out, args.format, set(),
                        total=len(lines), header=True, progress=args.progress, stderr=stderr,
                    )  # fmt: skip
            counters = sagemaker.counters
    print_summary(stderr, report, title="sagefetch demo")
    stats = report.stats
    if stats is not None and report.elapsed > 0:
        achieved = stats.calls / report.elapsed
        share = stats.throttled / stats.calls if stats.calls else 0.0
        stderr.print(
            f"Against the server's limit of {args.rate:g} calls/s: {achieved:.1f} calls/s "
            f"achieved ({achieved / args.rate:.0%} of the limit), {share:.1%} of calls throttled; "
            f"the server saw {counters.internal_errors} HTTP 500, {counters.dropped} dropped "
            f"connections and {counters.omitted_arns} omitted ARNs, all retried.\n"
            f"Records: {args.output}"
        )
    return _exit_code(report)
