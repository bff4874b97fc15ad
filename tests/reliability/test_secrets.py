"""No credential reaches stdout, stderr or the output file, even at the most verbose level."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from sagefetch.testing import Faults
from tests.processes import run_cli

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from sagefetch.testing import LocalSageMaker

ACCESS_KEY = "AKIAQWERTYUIOPASDFGH"
SECRET_KEY = "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"
SESSION_TOKEN = "FwoGZXIvYXdzEJr//////////wEaDN" + "k" * 200 + "Q=="


def test_cli_debug_run_prints_no_credential(
    local_sagemaker: LocalSageMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debug logs (sagefetch's and botocore's), errors and records never show the credentials."""
    assert len(SECRET_KEY) == 40
    arns = local_sagemaker.seed(groups=2, versions=100)
    local_sagemaker.faults = Faults(rate=5, burst=1, internal_error=0.2, drop=0.1, seed=9)
    source = tmp_path / "arns.txt"
    source.write_text("\n".join([*arns, "bad-arn"]) + "\n")
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)

    result = run_cli(
        "describe", str(source), "-o", str(out), "--endpoint-url", local_sagemaker.endpoint_url,
        "--region", "us-east-1", "--log-level", "debug", "--progress",
    )  # fmt: skip

    everything = result.stdout + result.stderr + out.read_bytes()
    assert result.returncode == 3, result.stderr.decode()
    assert b"sagefetch.batch_sent" in result.stderr  # debug logs were on
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, SESSION_TOKEN[:40]):
        assert secret.encode() not in everything, secret
    assert b"Signature=" not in everything or b"Signature=****" in everything
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY


def test_audit_with_an_assumed_role_prints_no_credential(
    local_sagemaker: LocalSageMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STS AssumeRole's answer (session credentials) never reaches a log line, at debug level."""
    local_sagemaker.seed(groups=2, versions=3)
    out = tmp_path / "audit.jsonl"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", local_sagemaker.endpoint_url)

    result = run_cli(
        "audit", "-o", str(out), "--endpoint-url", local_sagemaker.endpoint_url,
        "--region", "us-east-1", "--role-arn", "arn:aws:iam::123456789012:role/audit",
        "--log-level", "debug",
    )  # fmt: skip

    everything = result.stdout + result.stderr + out.read_bytes()
    assert result.returncode == 0, result.stderr.decode()
    assert b"sagefetch.list_sent" in result.stderr  # debug logs were on
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert secret.encode() not in everything, secret
    # Session access key ids (ASIA...) only ever appear masked.
    assert re.search(rb"ASIA[A-Z0-9]{16}", everything) is None
    assert re.search(rb"SessionToken[^\n]{0,40}[A-Za-z0-9/+=]{40}", everything) is None
