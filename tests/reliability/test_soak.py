"""Soak (opt-in, ``-m soak``): 200,000 ARNs through the CLI under mixed faults."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sagefetch.testing import Catalogue
from tests.processes import SageMakerProcess, start_cli

ARNS = 200_000


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_nothing_lost_memory_flat(tmp_path: Path) -> None:
    """Every ARN exactly once; memory grows by little more than the set of seen ARNs."""
    catalogue = Catalogue("123456789012", "us-east-1", ARNS // 100, 100)
    arns = catalogue.arns()
    unknown = [arn.replace("/1", "/777") for arn in arns[::1000]]
    source = tmp_path / "arns.txt"
    source.write_text("\n".join([*arns, *unknown, *arns[:1000]]) + "\n")
    out = tmp_path / "out.jsonl"
    samples: list[tuple[int, float]] = []
    with SageMakerProcess(
        "--groups", str(ARNS // 100), "--versions", "100", "--latency", "0.005",
        "--internal-error", "0.02", "--drop", "0.01", "--omit", "0.01", "--seed", "3",
    ) as server:  # fmt: skip
        process = start_cli(
            "describe", str(source), "-o", str(out), "--endpoint-url", server.endpoint_url,
            "--region", "us-east-1", "--quiet",
        )  # fmt: skip
        while process.poll() is None:
            rss = _rss_mb(process.pid)
            if rss is not None and out.exists():
                samples.append((out.stat().st_size, rss))
            time.sleep(0.5)
    assert process.returncode == 3

    records = [json.loads(line) for line in out.read_bytes().splitlines()]
    seen = [record["arn"] for record in records]
    assert len(seen) == len(set(seen)) == len(arns) + len(unknown)
    described = {r["arn"] for r in records if r["status"] == "described"}
    assert described == set(arns)
    early = [rss for size, rss in samples if size > 0][: max(1, len(samples) // 10)]
    assert early, "the run was too quick to sample"
    # The set of seen ARNs grows with the input (~40 MB for 200,000); outcomes must not.
    assert max(rss for _, rss in samples) - max(early) < 80
