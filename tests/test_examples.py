"""The examples in examples/ run to completion against the embedded local SageMaker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "async_service.py", "200 single-package requests: 200 summaries", id="async-service"
        ),
        pytest.param("audit_allowlist.py", "outside the allow-list", id="audit-allowlist"),
        pytest.param("fetch_shard.py", '"stopped": null', id="fetch-shard"),
    ],
)
def test_example_runs(name: str, expected: str) -> None:
    """Each example exits 0 and prints its report."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
