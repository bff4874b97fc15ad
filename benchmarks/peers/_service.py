"""What every S7 (service) peer shares: the timed requests, and one line per answer.

A service peer opens its client first (a service does that at start-up), then
replays the requests file: an acceptor sleeps until each request's arrival
time and starts a task for it, as a server hands each connection to a task.
Each task awaits the peer's ``request(arn)`` and writes
``{"arn": ..., "status": ..., "request": N, "latency": S}``, the latency
counted from the request's scheduled arrival (so a late acceptor counts too).
``describe_seconds`` runs from the first arrival to the last answer.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import anyio

from benchmarks.peers._io import DescribeClock, report

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    Request = Callable[[str], Awaitable[str]]
    """One request: the ARN's status, ``"described"`` or ``"failed"``."""


def read_requests(path: Path) -> list[tuple[float, str]]:
    """``SECONDS ARN`` lines, in arrival order."""
    with path.open(encoding="utf-8") as file:
        return [(float(at), arn) for at, arn in (line.split() for line in file if line.strip())]


def _error_name(exc: Exception) -> str:
    """botocore's error code when there is one (and why it stopped retrying), else the class."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return type(exc).__name__
    code = str(response.get("Error", {}).get("Code") or type(exc).__name__)
    metadata = response.get("ResponseMetadata", {})
    if metadata.get("RetryQuotaReached"):
        return f"{code}(retry quota reached)"
    if metadata.get("MaxAttemptsReached"):
        return f"{code}(attempts used up)"
    return code


async def serve(requests: list[tuple[float, str]], out_file: Path, request: Request) -> None:
    """Replay ``requests`` against ``request``; one line per answer in ``out_file``."""
    errors: Counter[str] = Counter()
    with out_file.open("w", encoding="utf-8") as out:

        async def handle(index: int, arn: str, due: float) -> None:
            try:
                status = await request(arn)
            except Exception as exc:  # noqa: BLE001 - a failed request is a result here
                errors[_error_name(exc)] += 1
                status = "failed"
            latency = anyio.current_time() - due
            line = {"arn": arn, "status": status, "request": index, "latency": round(latency, 6)}
            out.write(json.dumps(line, separators=(",", ":")) + "\n")

        with DescribeClock():
            start = anyio.current_time()
            async with anyio.create_task_group() as task_group:
                for index, (at, arn) in enumerate(requests):
                    await anyio.sleep_until(start + at)
                    task_group.start_soon(handle, index, arn, start + at)
    report(request_errors=",".join(f"{name}:{count}" for name, count in errors.items()) or "-")
