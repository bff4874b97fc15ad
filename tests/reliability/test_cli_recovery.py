"""The CLI after a lost server, SIGTERM or SIGINT: a clear exit, output that resumes once."""

from __future__ import annotations

import json
import signal
import subprocess
from typing import TYPE_CHECKING

import pytest

from sagefetch.testing import Catalogue
from tests.processes import SageMakerProcess, interrupt, run_cli, start_cli, wait_for_lines

if TYPE_CHECKING:
    from pathlib import Path

CATALOGUE = Catalogue("123456789012", "us-east-1", 30, 100)


def _arn_file(tmp_path: Path) -> tuple[Path, set[str]]:
    arns = CATALOGUE.arns()
    unknown = [arn.replace("/1", "/404") for arn in arns[::100]]
    path = tmp_path / "arns.txt"
    path.write_text("\n".join(["# audit", *arns, *unknown, "oops", arns[0]]) + "\n")
    return path, {*arns, *unknown, "oops"}


def _describe_args(server: SageMakerProcess, source: Path, out: Path, *more: str) -> list[str]:
    return [
        "describe", str(source), "-o", str(out), "--endpoint-url", server.endpoint_url,
        "--region", "us-east-1", "--quiet", *more,
    ]  # fmt: skip


def _check_exactly_once(out: Path, expected: set[str]) -> None:
    records = [json.loads(line) for line in out.read_bytes().splitlines()]
    arns = [record["arn"] for record in records]
    assert len(arns) == len(set(arns)), "an ARN was recorded twice"
    assert set(arns) == expected
    for record in records:
        place = CATALOGUE.locate(record["arn"])
        assert (record["status"] == "described") == (place is not None), record


@pytest.mark.timeout(120)
def test_lost_server_exits_4_and_the_output_resumes(tmp_path: Path) -> None:
    """The server dies mid-run: exit 4 with a hint; --resume against a new one completes."""
    source, expected = _arn_file(tmp_path)
    out = tmp_path / "out.jsonl"
    with SageMakerProcess("--groups", "30", "--versions", "100", "--latency", "0.05") as server:
        process = start_cli(
            *_describe_args(server, source, out, "--concurrency", "2"), stderr=subprocess.PIPE
        )
        wait_for_lines(out, 500, process)
        server.kill()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 4, stderr.decode()
    assert "Could not connect to the endpoint" in stderr.decode()
    assert "resume with --resume" in stderr.decode()

    with SageMakerProcess("--groups", "30", "--versions", "100") as server:
        resumed = run_cli(*_describe_args(server, source, out, "--resume"))

    assert resumed.returncode == 3, resumed.stderr.decode()
    _check_exactly_once(out, expected)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGINT, 130, id="sigint"),
        pytest.param(signal.SIGTERM, 143, id="sigterm"),
    ],
)
def test_a_signal_stops_promptly_and_the_output_resumes(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    """SIGINT/SIGTERM mid-run exit 130/143 with whole records; --resume completes exactly once."""
    source, expected = _arn_file(tmp_path)
    out = tmp_path / "out.jsonl"
    with SageMakerProcess("--groups", "30", "--versions", "100", "--latency", "0.05") as server:
        process = start_cli(*_describe_args(server, source, out, "--concurrency", "2"))
        wait_for_lines(out, 300, process)
        assert interrupt(process, signum) == code
        assert out.read_bytes().endswith(b"\n")
        resumed = run_cli(*_describe_args(server, source, out, "--resume"))

    assert resumed.returncode == 3, resumed.stderr.decode()
    _check_exactly_once(out, expected)
