"""smfetch against a rate-limited synthetic SageMaker in its own process: wall time vs ideal.

    .venv/bin/python benchmarks/throttled_run.py [--arns 20000] [--rate 20] [--burst 5]

The ideal is max(0, calls - burst) / rate + one latency: what a client that
knew the server's limit and never got throttled would need. Scenario S1 of the
benchmark plan; the full harness with peers is still to come.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import subprocess
import sys
import time

import anyio
import structlog

from smfetch import Described, ModelPackageFetcher
from smfetch.testing import Catalogue


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[str], dict[str, str]]:
    groups = math.ceil(args.arns / 100)
    process = subprocess.Popen(
        [sys.executable, "-m", "smfetch.testing", "--backend", "synthetic",
         "--groups", str(groups), "--versions", "100", "--rate", str(args.rate),
         "--burst", str(args.burst), "--latency", str(args.latency), "--jitter", str(args.jitter)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    environment = {}
    for line in process.stdout:
        if line.strip().startswith("export "):
            name, _, value = line.strip().removeprefix("export ").partition("=")
            environment[name] = value
        if line.startswith("Press Ctrl-C"):
            return process, environment
    raise RuntimeError("the server did not start")


async def run(args: argparse.Namespace) -> None:
    catalogue = Catalogue("123456789012", "us-east-1", math.ceil(args.arns / 100), 100)
    arns = catalogue.arns()[: args.arns]
    calls = math.ceil(len(arns) / 100)
    ideal = max(0, calls - args.burst) / args.rate + args.latency
    started = time.monotonic()
    async with ModelPackageFetcher(max_concurrency=16) as fetcher:
        described = sum([isinstance(o, Described) async for o in fetcher.stream(arns)])
    wall = time.monotonic() - started
    stats = fetcher.stats
    print(f"ARNs {len(arns)}, described {described}, calls {stats.calls} (needed {calls})")
    print(f"wall {wall:.2f} s, ideal {ideal:.2f} s, ratio {wall / ideal:.3f}")
    print(f"throttled {stats.throttled} = {stats.throttled / stats.calls:.1%} of calls; "
          f"final limiter rate {stats.rate:.1f} calls/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arns", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--jitter", type=float, default=0.01)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    process, environment = start_server(args)
    try:
        os.environ.update(environment)
        anyio.run(run, args)
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
