"""When the service said nothing (connection, proxy, TLS, timeout), no ARN gets a record.

Each cause is retried; when it lasts through the retry budget the run stops
with EndpointUnreachableError (the CLI: exit 4) whose hint names the cause, and
a resumed run, once the trouble is gone, describes every ARN exactly once.
"""

from __future__ import annotations

import socket
from collections import Counter
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from sagefetch import EndpointUnreachableError, ModelPackageFetcher, Outcome
from sagefetch.testing import Faults
from tests.processes import run_cli

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _no_answer(kind: str, server: LocalSageMaker, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the service say nothing in the way ``kind`` names; return the endpoint to use."""
    if kind == "proxy":
        proxy = f"http://127.0.0.1:{_closed_port()}"
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
    elif kind == "tls":
        return server.endpoint_url.replace("http://", "https://")
    elif kind == "timeout":
        server.faults = Faults(stall=1.0, stall_seconds=30)
    elif kind == "reset":
        server.faults = Faults(drop=1.0)
    elif kind == "refused":
        return f"http://127.0.0.1:{_closed_port()}"
    elif kind == "dns":
        return "http://sagemaker.does-not-exist.invalid"
    elif kind in _PAGES:
        # What a proxy, firewall or gateway answers: an HTML page, no AWS error code.
        status = _PAGES[kind]
        server.faults = Faults(
            answer_body=f"<html><h1>{status}</h1></html>",
            answer_status=status,
            answer_content_type="text/html",
        )
    return server.endpoint_url


_PAGES = {"gateway-502": 502, "gateway-504": 504, "firewall-403": 403, "proxy-auth-407": 407}

_CAUSES = [
    pytest.param("proxy", "HTTPS_PROXY", id="proxy"),
    pytest.param("tls", "AWS_CA_BUNDLE", id="tls"),
    pytest.param("timeout", "--timeout", id="timeout"),
    pytest.param("reset", "--endpoint-url", id="reset"),
    pytest.param("refused", "--endpoint-url", id="refused"),
    pytest.param("dns", "--endpoint-url", id="dns"),
    *(pytest.param(page, "HTTPS_PROXY", id=page) for page in _PAGES),
]


@pytest.mark.parametrize(("kind", "hint"), _CAUSES)
async def test_no_answer_stops_the_run_and_fails_no_arn(
    kind: str, hint: str, local_sagemaker: LocalSageMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an answer through every retry: EndpointUnreachableError naming why, no Failed."""
    arns = local_sagemaker.seed(groups=1, versions=5)
    endpoint = _no_answer(kind, local_sagemaker, monkeypatch)
    outcomes: list[Outcome] = []
    fetcher = ModelPackageFetcher(
        endpoint_url=endpoint, region_name="us-east-1", timeout=0.5, max_attempts=2
    )

    async with fetcher:
        with pytest.raises(EndpointUnreachableError) as caught:
            outcomes.extend([outcome async for outcome in fetcher.stream(arns)])

    assert outcomes == []
    assert hint in str(caught.value)
    assert "--resume" in str(caught.value)
    assert fetcher.stats.failed == 0


@pytest.mark.parametrize(("kind", "hint"), [_CAUSES[0], _CAUSES[1], _CAUSES[2], _CAUSES[3]])
def test_cli_stops_with_exit_4_and_resumes_exactly_once(
    kind: str,
    hint: str,
    local_sagemaker: LocalSageMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The CLI writes no record for an ARN the service said nothing about; --resume completes."""
    arns = local_sagemaker.seed(groups=2, versions=60)
    source = tmp_path / "arns.txt"
    source.write_text("\n".join(arns) + "\n")
    out = tmp_path / "out.jsonl"
    # Half the ARNs are described before the trouble starts.
    first = tmp_path / "first.txt"
    first.write_text("\n".join(arns[:60]) + "\n")
    common = ("--region", "us-east-1", "--max-attempts", "2", "--timeout", "0.5", "-o", str(out))
    done = run_cli("describe", str(first), "--endpoint-url", local_sagemaker.endpoint_url, *common)
    assert done.returncode == 0, done.stderr.decode()

    with monkeypatch.context() as trouble:
        endpoint = _no_answer(kind, local_sagemaker, trouble)
        stopped = run_cli("describe", str(source), "--endpoint-url", endpoint, *common, "--resume")
    local_sagemaker.faults = Faults()

    assert stopped.returncode == 4, stopped.stderr.decode()
    assert hint in stopped.stderr.decode()
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [record["status"] for record in records] == ["described"] * 60

    resumed = run_cli(
        "describe", str(source), "--endpoint-url", local_sagemaker.endpoint_url, *common,
        "--resume",
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    counts: Counter[Any] = Counter(record["arn"] for record in records)
    assert set(counts) == set(arns)
    assert set(counts.values()) == {1}
    assert {record["status"] for record in records} == {"described"}
