"""The peers: scripts under ``benchmarks/peers/`` and the sagefetch CLI.

Batch peers (S1-S6) read an ARN file; service peers (S7) read a file of
timed single-ARN requests. Some peers are variants of another that only S5
runs unless named with ``--peers``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from benchmarks._scenarios import Scenario


def sagefetch_command() -> list[str]:
    """The ``sagefetch`` console script next to this interpreter, or ``-m sagefetch.cli``."""
    script = Path(sys.executable).with_name("sagefetch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sagefetch.cli"]


@dataclass(frozen=True, slots=True)
class Peer:
    """A client under test, run as its own process."""

    key: str
    label: str
    module: str | None
    """``benchmarks.peers.<module>``; ``None`` for the sagefetch CLI."""
    oracle: bool = False
    """Told the server's true (initial) limit on its command line."""
    options: tuple[str, ...] = ()
    """More arguments for the script."""
    service: bool = False
    """An S7 peer: one request per ARN as they arrive, rather than an ARN file."""
    only: frozenset[str] | None = None
    """The scenarios it runs in unless ``--peers`` names it; ``None``: every one of its kind."""
    client: Literal["fetcher's", "caller's"] | None = None
    """sagefetch peers: who opens the aiobotocore client."""
    tunes_gc: bool = False
    """sagefetch peers: whether ``sagefetch.tune_gc()`` runs (the CLI always calls it)."""
    several_runs: bool = False
    """Takes ``--runs N --run-gap S`` (S10: runs one after another on one client/limiter)."""

    @property
    def is_cli(self) -> bool:
        """Whether this is ``sagefetch describe`` itself."""
        return self.module is None

    def takes_part(self, scenario: Scenario, *, named: bool) -> bool:
        """Whether it runs in ``scenario``; ``named``: ``--peers`` asked for it."""
        if self.service != (scenario.service is not None):
            return False
        if scenario.cli_only and not self.is_cli:
            return False
        if scenario.runs > 1 and not self.several_runs:
            return False
        return named or self.only is None or scenario.key in self.only

    def command(self, arn_file: Path, out_file: Path, scenario: Scenario) -> list[str]:
        """The command line that runs this peer over ``arn_file`` (S7: the requests file)."""
        if self.module is None:
            return [
                *sagefetch_command(), "describe", str(arn_file), "-o", str(out_file),
                "--no-progress", "--quiet",
            ]  # fmt: skip
        command = [sys.executable, "-m", f"benchmarks.peers.{self.module}", str(arn_file)]
        command += [str(out_file), *self.options]
        if self.oracle and scenario.faults.rate is not None:
            command += ["--max-per-second", str(scenario.faults.rate)]
        if scenario.runs > 1:
            command += ["--runs", str(scenario.runs), "--run-gap", str(scenario.run_gap)]
        return command


_S5 = frozenset({"S5"})
#: ``aiobotocore-adaptive``'s total attempts per call: botocore's default of 3
#: fails thousands of ARNs at these limits; 20 lets the adaptive mode's own rate
#: limiter settle (botocore's retry quota still bounds the retries: see README).
ADAPTIVE_ATTEMPTS = 20

PEERS: dict[str, Peer] = {
    peer.key: peer
    for peer in (
        Peer("boto3-seq", "boto3, sequential (standard retries)", "boto3_sequential"),
        Peer("boto3-threads", "boto3 + 16 threads (adaptive retries)", "boto3_threads"),
        Peer(
            "aiobotocore",
            "aiobotocore gather, Semaphore(16), standard retries (3 attempts)",
            "aiobotocore_gather",
        ),
        Peer(
            "aiobotocore-adaptive",
            f"aiobotocore gather, Semaphore(16), adaptive retries ({ADAPTIVE_ATTEMPTS} attempts)",
            "aiobotocore_gather",
            options=("--retry-mode", "adaptive", "--attempts", str(ADAPTIVE_ATTEMPTS)),
            several_runs=True,
        ),
        Peer("aiometer", "aiometer.amap, 16 at once, oracle rate", "aiometer_amap", oracle=True),
        Peer(
            "sagefetch-lib",
            "sagefetch library, stream()",
            "sagefetch_library",
            client="fetcher's",
            several_runs=True,
        ),
        Peer(
            "sagefetch-lib-gc",
            "sagefetch library, stream(), tune_gc()",
            "sagefetch_library",
            options=("--tune-gc",),
            only=_S5,
            client="fetcher's",
            tunes_gc=True,
        ),
        Peer(
            "sagefetch-lib-client",
            "sagefetch library, stream(), the caller's client",
            "sagefetch_library",
            options=("--client",),
            only=_S5,
            client="caller's",
        ),
        Peer(
            "sagefetch-lib-client-gc",
            "sagefetch library, stream(), the caller's client, tune_gc()",
            "sagefetch_library",
            options=("--client", "--tune-gc"),
            only=_S5,
            client="caller's",
            tunes_gc=True,
        ),
        Peer(
            "sagefetch-cli",
            "sagefetch describe (CLI, file to file)",
            None,
            client="fetcher's",
            tunes_gc=True,
        ),
        Peer(
            "sagefetch-describe",
            "sagefetch: await fetcher.describe(arn), one fetcher",
            "service_sagefetch",
            service=True,
        ),
        Peer(
            "sagefetch-describe-cache",
            "sagefetch: await fetcher.describe(arn), one fetcher, cache_ttl=60",
            "service_sagefetch",
            options=("--cache-ttl", "60"),
            service=True,
        ),
        Peer(
            "sagefetch-stream-each",
            "sagefetch: fetcher.stream([arn]) per request, one fetcher",
            "service_sagefetch",
            options=("--stream",),
            service=True,
        ),
        Peer(
            "aiobotocore-each",
            "aiobotocore: one call per request, adaptive retries",
            "service_aiobotocore",
            service=True,
        ),
    )
}
