"""``sagefetch local-server`` serves until Ctrl-C and tells users how to reach it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import IO, Any

import pytest
from aiobotocore.session import get_session

from sagefetch.cli import main


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sagefetch.cli", "local-server", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _read_until_ready(stdout: IO[str]) -> dict[str, str]:
    exports: dict[str, str] = {}
    for line in stdout:
        if line.strip().startswith("export "):
            name, _, value = line.strip().removeprefix("export ").partition("=")
            exports[name] = value
        if line.startswith("Press Ctrl-C"):
            return exports
    raise AssertionError("the server never said it was ready")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
async def test_local_server_prints_its_environment_and_stops_on_signal(
    monkeypatch: pytest.MonkeyPatch, stop_signal: signal.Signals
) -> None:
    """The printed exports reach a seeded server; SIGINT/SIGTERM stop it with exit code 0."""
    process = _start("--backend", "synthetic", "--groups", "2", "--versions", "3")
    try:
        assert process.stdout is not None
        exports = _read_until_ready(process.stdout)
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-0001/3"
        client: Any
        async with get_session().create_client("sagemaker") as client:
            response = await client.batch_describe_model_package(ModelPackageArnList=[arn])
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert exports["AWS_ENDPOINT_URL_SAGEMAKER"].startswith("http://127.0.0.1:")
    assert list(response["ModelPackageSummaries"]) == [arn]
    assert process.returncode == 0, err
    assert "Stopped." in out


def test_bad_fault_settings_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A probability above 1 exits 2 with a message, before any server starts."""
    assert main(["local-server", "--drop", "2"]) == 2
    assert "drop is a probability" in capsys.readouterr().err


def test_local_server_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` documents the seeding and fault options."""
    with pytest.raises(SystemExit) as exited:
        main(["local-server", "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--groups", "--versions", "--rate", "--burst", "--drop", "--omit", "--stall"):
        assert option in help_text
