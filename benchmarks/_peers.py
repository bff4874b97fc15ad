"""The six peers: five scripts under ``benchmarks/peers/`` and the sagefetch CLI."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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

    @property
    def is_cli(self) -> bool:
        """Whether this is ``sagefetch describe`` itself."""
        return self.module is None

    def command(self, arn_file: Path, out_file: Path, scenario: Scenario) -> list[str]:
        """The command line that runs this peer over ``arn_file``."""
        if self.module is None:
            return [
                *sagefetch_command(), "describe", str(arn_file), "-o", str(out_file),
                "--no-progress", "--quiet",
            ]  # fmt: skip
        command = [sys.executable, "-m", f"benchmarks.peers.{self.module}", str(arn_file)]
        command.append(str(out_file))
        if self.oracle and scenario.faults.rate is not None:
            command += ["--max-per-second", str(scenario.faults.rate)]
        return command


PEERS: dict[str, Peer] = {
    peer.key: peer
    for peer in (
        Peer("boto3-seq", "boto3, sequential (standard retries)", "boto3_sequential"),
        Peer("boto3-threads", "boto3 + 16 threads (adaptive retries)", "boto3_threads"),
        Peer("aiobotocore", "aiobotocore gather, Semaphore(16)", "aiobotocore_gather"),
        Peer("aiometer", "aiometer.amap, 16 at once, oracle rate", "aiometer_amap", oracle=True),
        Peer("sagefetch-lib", "sagefetch library, stream()", "sagefetch_library"),
        Peer("sagefetch-cli", "sagefetch describe (CLI, file to file)", None),
    )
}
