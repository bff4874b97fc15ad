"""``sagefetch demo`` runs the main job and checks every outcome against its plan."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections import Counter
from typing import TYPE_CHECKING

from sagefetch.cli._demo import Plan

if TYPE_CHECKING:
    from pathlib import Path


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagefetch.cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_exits_0_when_every_planted_outcome_came_out(tmp_path: Path) -> None:
    """Seeded packages described once, planted unknown and malformed ARNs failed: exit 0."""
    out = tmp_path / "demo.jsonl"

    result = _demo(
        "--groups", "3", "--versions", "20", "--unknown", "4", "--malformed", "2",
        "--rate", "50", "-o", str(out),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    outcomes = Counter(
        record["status"] if record["status"] == "described" else record["error"]["code"]
        for record in records
    )
    assert outcomes == {"described": 60, "ResourceNotFound": 4, "InvalidArn": 2}
    assert len({record["arn"] for record in records}) == 66
    assert "calls/s achieved" in result.stderr
    assert "Checked: 60 packages described once each" in result.stderr
    assert str(out) in result.stderr


def test_demo_writes_to_stdout_with_dash() -> None:
    """``-o -`` puts the records on stdout, the summary stays on stderr."""
    result = _demo(
        "--groups", "1", "--versions", "5", "--unknown", "1", "--malformed", "1",
        "--backend", "synthetic", "--rate", "100", "-o", "-",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 7
    assert "Checked:" in result.stderr


def test_demo_leaves_an_output_another_process_writes_alone(tmp_path: Path) -> None:
    """The demo's output locked by another process: exit 2 naming it, the file untouched."""
    out = tmp_path / "demo.jsonl"
    out.write_bytes(b"someone else's records\n")

    with out.open("r+b") as held:
        fcntl.lockf(held, fcntl.LOCK_EX)
        result = _demo("--backend", "synthetic", "-o", str(out))

    assert result.returncode == 2, result.stderr
    assert f"is locked by process {os.getpid()}" in result.stderr
    assert out.read_bytes() == b"someone else's records\n"


def _plan() -> Plan:
    return Plan(
        lines=[],
        described=frozenset({"a1", "a2", "a3"}),
        not_found=frozenset({"n1"}),
        malformed=frozenset({"m1"}),
    )


def test_the_check_passes_exactly_the_planned_outcomes() -> None:
    """Each ARN once, with its planned outcome: no problem reported."""
    written = Counter(
        {
            ("a1", "described"): 1,
            ("a2", "described"): 1,
            ("a3", "described"): 1,
            ("n1", "failed ResourceNotFound"): 1,
            ("m1", "failed InvalidArn"): 1,
        }
    )

    assert _plan().check(written) == []


def test_the_check_names_every_way_an_outcome_can_differ() -> None:
    """Lost, written twice, the wrong outcome and an ARN nobody asked for are each named."""
    written = Counter(
        {
            ("a2", "described"): 2,
            ("a3", "failed InternalFailure"): 1,
            ("n1", "described"): 1,
            ("m1", "failed InvalidArn"): 1,
            ("x9", "described"): 1,
        }
    )

    problems = _plan().check(written)

    assert problems == [
        "1 ARN expected described, got failed InternalFailure, e.g. a3",
        "1 ARN expected failed ResourceNotFound, got described, e.g. n1",
        "1 ARN lost (no record), e.g. a1",
        "1 ARN not in the input, e.g. x9",
        "1 ARN written more than once, e.g. a2",
    ]
