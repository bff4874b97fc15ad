"""No credential reaches stdout, stderr or the output file, even at the most verbose level."""

from __future__ import annotations

import io
import logging
import os
import re
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from sagefetch import Failed, ModelPackageFetcher, RedactingFilter
from sagefetch.testing import Faults
from tests.processes import run_cli
from tests.sts import assumed_roles

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker

ACCESS_KEY = "AKIAQWERTYUIOPASDFGH"
SECRET_KEY = "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"
SESSION_TOKEN = "FwoGZXIvYXdzEJr//////////wEaDN" + "k" * 200 + "Q=="


def test_cli_debug_run_prints_no_credential(
    local_sagemaker: LocalSageMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At debug level, events, retried errors and records never show the credentials.

    botocore's DEBUG lines, which hold the signed request, are not printed at all
    (the library test below shows them masked for applications that do print them).
    """
    assert len(SECRET_KEY) == 40
    arns = local_sagemaker.seed(groups=2, versions=100)
    local_sagemaker.faults = Faults(internal_error=0.5, seed=9)
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
    assert local_sagemaker.counters.internal_errors > 0
    assert b"sagefetch.retry_scheduled" in result.stderr  # errors were logged
    assert b"Sending http request" not in result.stderr  # botocore's DEBUG lines stay off
    assert b"[DEBUG] botocore" not in result.stderr
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, SESSION_TOKEN[:40]):
        assert secret.encode() not in everything, secret
    assert re.search(rb"Signature=[0-9a-f]{8}", everything) is None
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
    role = "arn:aws:iam::123456789012:role/audit"
    earlier = len(assumed_roles("123456789012"))

    result = run_cli(
        "audit", "-o", str(out), "--endpoint-url", local_sagemaker.endpoint_url,
        "--region", "us-east-1", "--role-arn", role, "--log-level", "debug",
    )  # fmt: skip

    everything = result.stdout + result.stderr + out.read_bytes()
    assert result.returncode == 0, result.stderr.decode()
    [(assumed, session_key)] = assumed_roles("123456789012")[earlier:]
    assert assumed == role  # STS did answer with session credentials
    assert session_key.encode() not in everything
    assert b"sagefetch.list_sent" in result.stderr  # debug logs were on
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert secret.encode() not in everything, secret
    # Session access key ids (ASIA...) only ever appear masked.
    assert re.search(rb"ASIA[A-Z0-9]{16}", everything) is None
    assert re.search(rb"SessionToken[^\n]{0,40}[A-Za-z0-9/+=]{40}", everything) is None


#: A server (or proxy) that echoes the signed request it got in its error message.
ECHO = orjson.dumps({"__type": "BadRequest", "message": "you sent: $REQUEST_HEADERS"}).decode()


def _no_secret_in(data: bytes) -> None:
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN[:40], SESSION_TOKEN[-60:]):
        assert secret.encode() not in data, secret
    assert re.search(rb"Signature=[0-9a-f]{8}", data) is None


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param(Faults(answer_body=ECHO, answer_status=400), id="whole-call-error"),
        pytest.param(Faults(answer_body=ECHO, answer_status=500), id="server-error-retried"),
    ],
)
def test_a_server_that_echoes_the_request_puts_no_secret_in_any_record(
    local_sagemaker: LocalSageMaker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    faults: Faults,
) -> None:
    """Echoed Authorization and X-Amz-Security-Token headers are masked in records and logs."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    local_sagemaker.faults = faults
    source = tmp_path / "arns.txt"
    source.write_text("\n".join(arns) + "\n")
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)

    result = run_cli(
        "describe", str(source), "-o", str(out), "--endpoint-url", local_sagemaker.endpoint_url,
        "--region", "us-east-1", "--log-level", "debug", "--max-attempts", "2",
    )  # fmt: skip

    assert result.returncode == 3, result.stderr.decode()
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {record["status"] for record in records} == {"failed"}
    assert all("you sent: " in record["error"]["message"] for record in records)
    assert all("Authorization: " in record["error"]["message"] for record in records)
    _no_secret_in(result.stdout + result.stderr + out.read_bytes())


async def test_a_per_arn_message_that_echoes_the_request_is_masked(
    local_sagemaker: LocalSageMaker,
) -> None:
    """An error-map message holding the signed headers reaches the Failed outcome masked."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    body = orjson.dumps({
        "BatchDescribeModelPackageErrorMap": {
            arn: {"ErrorCode": "ResourceNotFound", "ErrorResponse": "$REQUEST_HEADERS"}
        }
    }).decode()  # fmt: skip
    local_sagemaker.faults = Faults(answer_body=body)
    kwargs: dict[str, Any] = {**local_sagemaker.client_kwargs(), "aws_session_token": SESSION_TOKEN}
    async with (
        get_session().create_client(
            "sagemaker", config=AioConfig(retries={"total_max_attempts": 1}), **kwargs
        ) as client,
        ModelPackageFetcher(client) as fetcher,
    ):
        [outcome] = [outcome async for outcome in fetcher.stream([arn])]

    assert isinstance(outcome, Failed)
    assert "Authorization: ****" in outcome.message
    _no_secret_in(outcome.message.encode())
    assert local_sagemaker.credentials.access_key_id not in outcome.message


async def test_a_library_user_at_debug_level_gets_botocore_lines_masked_by_the_filter(
    local_sagemaker: LocalSageMaker,
) -> None:
    """With sagefetch.RedactingFilter on a handler, botocore's DEBUG lines show no credential.

    The same lines through a handler without the filter do hold the signature and
    the session token, so the check can fail.
    """
    arns = local_sagemaker.seed(groups=1, versions=3)
    masked, raw = io.StringIO(), io.StringIO()
    masked_handler, raw_handler = logging.StreamHandler(masked), logging.StreamHandler(raw)
    masked_handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(raw_handler)  # first: the filter masks the record itself
    root.addHandler(masked_handler)
    root.setLevel(logging.DEBUG)
    kwargs: dict[str, Any] = {**local_sagemaker.client_kwargs(), "aws_session_token": SESSION_TOKEN}
    try:
        async with (
            get_session().create_client(
                "sagemaker", config=AioConfig(retries={"total_max_attempts": 1}), **kwargs
            ) as client,
            ModelPackageFetcher(client) as fetcher,
        ):
            outcomes = [outcome async for outcome in fetcher.stream(arns)]
    finally:
        root.removeHandler(masked_handler)
        root.removeHandler(raw_handler)
        root.setLevel(level)

    assert len(outcomes) == 3
    assert "Sending http request" in masked.getvalue()  # botocore's own debug line
    assert SESSION_TOKEN[:40] in raw.getvalue()
    assert re.search(r"Signature=[0-9a-f]{8}", raw.getvalue())
    _no_secret_in(masked.getvalue().encode())
    assert local_sagemaker.credentials.secret_access_key not in masked.getvalue()
