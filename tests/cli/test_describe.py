"""The sagefetch command in a subprocess against the local SageMaker."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from sagefetch.cli._records import CSV_COLUMNS
from sagefetch.testing import Faults

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker

SAGEFETCH = [sys.executable, "-m", "sagefetch.cli"]


def _sagefetch(
    *args: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*SAGEFETCH, *args], input=stdin, capture_output=True, timeout=timeout, check=False
    )


def _describe(
    server: LocalSageMaker, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return _sagefetch(
        "describe", *args, "--endpoint-url", server.endpoint_url, "--region", server.region,
        stdin=stdin,
    )  # fmt: skip


def _records(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines()]


def _write_arns(path: Path, arns: list[str]) -> Path:
    path.write_text("\n".join(arns) + "\n")
    return path


def test_records_follow_the_documented_format(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """One JSON line per distinct ARN: described with the summary, failed with the error."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    unknown = arns[0].replace("/1", "/77")
    source = _write_arns(tmp_path / "arns.txt", ["# audit", "", f"  {arns[0]}  ", *arns, unknown])

    result = _describe(local_sagemaker, str(source))

    assert result.returncode == 3, result.stderr.decode()
    records = {record["arn"]: record for record in _records(result.stdout)}
    assert len(_records(result.stdout)) == len(records) == 4
    described = records[arns[0]]
    assert list(described) == ["arn", "status", "summary"]
    assert described["status"] == "described"
    summary = described["summary"]
    assert summary["ModelPackageArn"] == arns[0]
    created = datetime.fromisoformat(summary["CreationTime"])
    assert created.utcoffset() is not None
    expected = local_sagemaker.catalogue.summary(0, 1)
    assert created == expected["CreationTime"]
    assert summary["InferenceSpecification"] == expected["InferenceSpecification"]
    assert records[unknown] == {
        "arn": unknown,
        "status": "failed",
        "error": {
            "code": "ResourceNotFound",
            "message": f"Model package {unknown} does not exist.",
            "attempts": 1,
        },
    }


def test_all_described_exits_0(local_sagemaker: LocalSageMaker, tmp_path: Path) -> None:
    """A run where every ARN is described exits 0 and prints a summary on stderr."""
    arns = local_sagemaker.seed(groups=2, versions=60)
    source = _write_arns(tmp_path / "arns.txt", arns)

    result = _describe(local_sagemaker, str(source), "-o", str(tmp_path / "out.jsonl"))

    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    assert len(_records((tmp_path / "out.jsonl").read_bytes())) == 120
    assert "described" in result.stderr.decode()


def test_csv_has_the_audit_columns(local_sagemaker: LocalSageMaker, tmp_path: Path) -> None:
    """--format csv writes a header and one flattened row per ARN."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    source = _write_arns(tmp_path / "arns.txt", [*arns, "nonsense"])

    result = _describe(local_sagemaker, str(source), "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    assert tuple(csv.reader(io.StringIO(result.stdout.decode())).__next__()) == CSV_COLUMNS
    by_arn = {row["arn"]: row for row in rows}
    expected = local_sagemaker.catalogue.summary(0, 1)
    container = expected["InferenceSpecification"]["Containers"][0]
    assert by_arn[arns[0]] == {
        "arn": arns[0],
        "status": "described",
        "group": "churn-0000",
        "version": "1",
        "approval_status": expected["ModelApprovalStatus"],
        "package_status": "Completed",
        "creation_time": expected["CreationTime"].isoformat(),
        "image": container["Image"],
        "model_data_url": container.get("ModelDataUrl")
        or container["ModelDataSource"]["S3DataSource"]["S3Uri"],
        "error_code": "",
        "error_message": "",
    }
    assert by_arn["nonsense"]["status"] == "failed"
    assert by_arn["nonsense"]["error_code"] == "InvalidArn"
    assert result.returncode == 3


def test_arns_can_come_from_stdin(local_sagemaker: LocalSageMaker) -> None:
    """'-' reads ARNs from standard input."""
    arns = local_sagemaker.seed(groups=1, versions=5)

    result = _describe(local_sagemaker, "-", stdin="\n".join(arns).encode())

    assert result.returncode == 0, result.stderr.decode()
    assert sorted(record["arn"] for record in _records(result.stdout)) == sorted(arns)


def test_torn_input_lines_become_failed_records(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Undecodable and overlong lines fail with their line number; the rest is described."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    data = (
        arns[0].encode() + b"\n"
        + b"arn:aws:sagemaker:us-east-1:123456789012:model-package/caf\xe9/1\n"
        + b"x" * 200_000 + b"\n"
        + arns[1].encode() + b"\r\n"
        + arns[2].encode()  # no final newline
    )  # fmt: skip
    source = tmp_path / "arns.txt"
    source.write_bytes(data)

    result = _describe(local_sagemaker, str(source))

    records = _records(result.stdout)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_status.setdefault(record["status"], []).append(record)
    assert sorted(r["arn"] for r in by_status["described"]) == sorted(arns)
    errors = sorted(r["error"]["message"] for r in by_status["failed"])
    assert len(records) == 5
    assert errors[0].startswith("line 2 is not valid UTF-8")
    assert errors[1].startswith("line 3 is longer than")
    assert {r["error"]["code"] for r in by_status["failed"]} == {"InvalidInput"}
    assert result.returncode == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["describe", "/no/such/file"], "cannot read", id="missing-file"),
        pytest.param(["describe", "/"], "is a directory", id="directory"),
        pytest.param(["describe", "-", "--resume"], "--resume needs --output", id="resume-stdout"),
        pytest.param(["describe", "-", "--batch-size", "101"], "--batch-size", id="batch-size"),
        pytest.param(["describe", "-", "--no-such-option"], "unrecognized", id="unknown-option"),
        pytest.param(["describe"], "required", id="no-input"),
    ],
)
def test_usage_and_input_errors_exit_2(args: list[str], message: str) -> None:
    """Bad command lines and unreadable inputs exit 2 with a message, no traceback."""
    result = _sagefetch(*args, stdin=b"")
    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_rejected_credentials_exit_4_with_a_hint(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Expired credentials stop the run at once: exit 4 and a HINT on stderr."""
    arns = local_sagemaker.seed(groups=5, versions=100)
    local_sagemaker.faults = Faults(reject_with="ExpiredTokenException")
    source = _write_arns(tmp_path / "arns.txt", arns)

    result = _describe(local_sagemaker, str(source), "--concurrency", "4")

    assert result.returncode == 4
    assert "ExpiredTokenException" in result.stderr.decode()
    assert "HINT:" in result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert local_sagemaker.counters.calls <= 4


def test_logs_go_to_stderr_never_to_the_data(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """At debug level with JSON logs, stdout holds only records and stderr holds the logs."""
    arns = local_sagemaker.seed(groups=1, versions=5)
    source = _write_arns(tmp_path / "arns.txt", arns)

    result = _describe(local_sagemaker, str(source), "--log-level", "debug", "--log-format", "json")

    assert result.returncode == 0, result.stderr.decode()
    records = _records(result.stdout)
    assert all(set(record) == {"arn", "status", "summary"} for record in records), records
    assert sorted(record["arn"] for record in records) == sorted(arns)
    stderr = result.stderr.decode().splitlines()
    events = [json.loads(line)["event"] for line in stderr if line.startswith("{")]
    assert {"sagefetch.batch_sent", "sagefetch.batch_finished", "sagefetch.run_finished"} <= set(
        events
    )
    assert b"sagefetch." not in result.stdout


def test_json_logs_are_one_object_per_line(local_sagemaker: LocalSageMaker, tmp_path: Path) -> None:
    """--log-format json writes one JSON event per stderr line."""
    arns = local_sagemaker.seed(groups=1, versions=5)
    source = _write_arns(tmp_path / "arns.txt", arns)

    result = _describe(
        local_sagemaker, str(source), "--log-level", "debug", "--log-format", "json",
        "-o", str(tmp_path / "out.jsonl"),
    )  # fmt: skip

    log_lines = [line for line in result.stderr.decode().splitlines() if line.startswith("{")]
    events = {json.loads(line)["event"] for line in log_lines}
    assert {"sagefetch.batch_sent", "sagefetch.run_finished"} <= events


def _start(server: LocalSageMaker, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SAGEFETCH, "describe", *args, "--endpoint-url", server.endpoint_url,
         "--region", server.region, "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _wait_for_records(path: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)


@pytest.mark.timeout(180)
def test_sigkill_then_resume_records_every_arn_exactly_once(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Killed with SIGKILL twice mid-run, resumed runs end with each ARN once in the output."""
    arns = local_sagemaker.seed(groups=30, versions=100)
    unknown = [arn.replace("/1", "/500") for arn in arns[::100]]
    source = _write_arns(tmp_path / "arns.txt", [*arns, *unknown, "bad-1", arns[5]])
    out = tmp_path / "out.jsonl"
    local_sagemaker.faults = Faults(latency=0.05, jitter=0.05)

    for kill_after in (300, 1500):
        process = _start(local_sagemaker, str(source), "-o", str(out), "--resume",
                         "--concurrency", "2", "--max-rate", "8")  # fmt: skip
        _wait_for_records(out, kill_after, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
    with out.open("ab") as torn:  # a write cut in half, as a kill can leave
        torn.write(b'{"arn": "arn:aws:sagemaker:us-east-1:1234')

    result = _describe(local_sagemaker, str(source), "-o", str(out), "--resume")

    records = _records(out.read_bytes())
    seen = [record["arn"] for record in records]
    assert result.returncode == 3, result.stderr.decode()
    assert len(seen) == len(set(seen))
    assert set(seen) == {*arns, *unknown, "bad-1"}
    assert all(r["status"] == "described" for r in records if r["arn"] in set(arns))


def test_sigint_stops_promptly_with_valid_output(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Ctrl-C exits 130 and leaves only whole records."""
    arns = local_sagemaker.seed(groups=20, versions=100)
    source = _write_arns(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.jsonl"
    local_sagemaker.faults = Faults(latency=0.2)
    process = _start(local_sagemaker, str(source), "-o", str(out), "--max-rate", "5")
    _wait_for_records(out, 100, process)

    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)

    assert process.returncode == 130
    data = out.read_bytes()
    assert data.endswith(b"\n")
    assert 100 <= len(_records(data)) < 2000


def test_dash_output_is_stdout(local_sagemaker: LocalSageMaker, tmp_path: Path) -> None:
    """``-o -`` writes the records to standard output, as ``-`` reads standard input."""
    arns = local_sagemaker.seed(groups=1, versions=2)

    result = _describe(local_sagemaker, "-", "-o", "-", stdin="\n".join(arns).encode())

    assert result.returncode == 0, result.stderr.decode()
    assert sorted(record["arn"] for record in _records(result.stdout)) == sorted(arns)
    assert not (tmp_path / "-").exists()


def test_the_input_file_is_never_the_output(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """``-o`` naming the ARN file itself is a usage error, and the ARN file is left whole."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    source = _write_arns(tmp_path / "arns.txt", arns)
    before = source.read_bytes()

    result = _describe(local_sagemaker, str(source), "-o", str(tmp_path / "." / "arns.txt"))

    assert result.returncode == 2
    assert "is the input file" in result.stderr.decode()
    assert source.read_bytes() == before


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_message_with_a_lone_surrogate_is_written_escaped(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, fmt: str
) -> None:
    """A service message with a lone surrogate (JSON allows it) is written escaped; it resumes."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    synthetic_sagemaker.faults = Faults(
        answer_body='{"__type": "ValidationException", "message": "bad \\ud800 ARN"}',
        answer_status=400,
    )
    source = _write_arns(tmp_path / "arns.txt", arns)
    out = tmp_path / "out"

    result = _describe(synthetic_sagemaker, str(source), "-o", str(out), "--format", fmt)
    resumed = _describe(
        synthetic_sagemaker, str(source), "-o", str(out), "--format", fmt, "--resume"
    )

    assert result.returncode == 3, result.stderr.decode()
    assert resumed.returncode == 3, resumed.stderr.decode()
    text = out.read_text()  # valid UTF-8
    if fmt == "jsonl":
        messages = {r["arn"]: r["error"]["message"] for r in _records(text.encode())}
    else:
        messages = {row["arn"]: row["error_message"] for row in csv.DictReader(io.StringIO(text))}
    assert messages == dict.fromkeys(arns, "bad \\ud800 ARN")
    assert len(text.splitlines()) == 2 + (fmt == "csv")


def test_an_output_another_process_locks_is_left_alone(tmp_path: Path) -> None:
    """An output locked by another process (a run writing it): exit 2 naming it, file untouched."""
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"arn": "a", "status": "described", "summary": {}}\n')
    before = out.read_bytes()

    with out.open("r+b") as held:
        fcntl.lockf(held, fcntl.LOCK_EX)
        fresh = _sagefetch("describe", "-", "-o", str(out), stdin=b"")
        resumed = _sagefetch("describe", "-", "-o", str(out), "--resume", stdin=b"")

    for result in (fresh, resumed):
        assert result.returncode == 2
        assert f"{out} is locked by process {os.getpid()}" in result.stderr.decode()
        assert b"Traceback" not in result.stderr
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    ("environment", "works"),
    [
        pytest.param({"AWS_REGION": "us-east-1"}, True, id="AWS_REGION"),
        pytest.param({}, False, id="no-region"),
    ],
)
def test_aws_region_is_honoured_without_aws_default_region(
    local_sagemaker: LocalSageMaker, environment: dict[str, str], *, works: bool
) -> None:
    """With AWS_DEFAULT_REGION unset, AWS_REGION picks the region (as AWS CLI v2 does)."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_DEFAULT_REGION", "AWS_REGION"}}

    result = subprocess.run(
        [*SAGEFETCH, "describe", "-", "--endpoint-url", local_sagemaker.endpoint_url],
        input="\n".join(arns).encode(),
        capture_output=True,
        timeout=60,
        check=False,
        env={**env, **environment},
    )

    if works:
        assert result.returncode == 0, result.stderr.decode()
        assert len(_records(result.stdout)) == 2
    else:
        assert result.returncode in {2, 4}
        assert b"region" in result.stderr.lower()


#: Service text that would act on a terminal or on rich if shown as it came: rich
#: markup (a bad closing tag crashed the summary), an emoji code, ANSI and OSC 8
#: escape sequences, a bell and a bidirectional override.
HOSTILE = (
    "[/] [bold red]X[/bold red] :pile_of_poo: \x1b[2J "
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ \x07 \u202eexe.txt [/bold]"
)
#: An error code: no ``:`` or ``#`` (botocore cuts a code there), the rest as hostile.
HOSTILE_CODE = (
    "[/][bold red]Bad\x1b[2J\x1b]8;;evil.example\x1b\\link\x1b]8;;\x1b\\\u202eCode[/bold]"
)


def _shown(text: str) -> str:
    r"""How stderr shows service text: as it is, control characters as escapes (``\x1b``)."""
    return text.replace("\x1b", "\\x1b").replace("\x07", "\\x07").replace("\u202e", "\\u202e")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(
            "per-arn",
            200,
            3,
            id="per-arn-error-code",
        ),
        pytest.param(
            json.dumps({"__type": "UnrecognizedClientException", "message": HOSTILE}),
            400,
            4,
            id="stopped-early-message",
        ),
    ],
)
def test_service_text_is_shown_as_plain_text(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, body: str, status: int, code: int
) -> None:
    """Markup, emoji codes and escape sequences from the service reach stderr literally, inert."""
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    if body == "per-arn":
        body = json.dumps(
            {
                "ModelPackageSummaries": {},
                "BatchDescribeModelPackageErrorMap": {
                    arn: {"ErrorCode": HOSTILE_CODE, "ErrorResponse": HOSTILE} for arn in arns
                },
            }
        )
    synthetic_sagemaker.faults = Faults(answer_body=body, answer_status=status)
    source = _write_arns(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.jsonl"

    result = subprocess.run(
        [*SAGEFETCH, "describe", str(source), "-o", str(out), "--endpoint-url",
         synthetic_sagemaker.endpoint_url, "--region", synthetic_sagemaker.region],
        capture_output=True, timeout=60, check=False,
        env={**os.environ, "COLUMNS": "400"},  # a summary row on one line
    )  # fmt: skip

    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr
    for control in ("\x1b", "\x07", "\u202e"):
        assert control not in stderr
    if code == 3:
        recorded = {record["error"]["code"] for record in _records(out.read_bytes())}
        assert recorded == {HOSTILE_CODE}  # the record keeps what the service said
        assert f"  {_shown(HOSTILE_CODE)} " in stderr  # the summary's row of that code
    else:
        shown = (
            f"UnrecognizedClientException: {_shown(HOSTILE)} (calling BatchDescribeModelPackage)"
        )
        assert stderr.count(shown) == 2, stderr  # the summary's row and the stop line
        assert f"sagefetch describe: {shown}\nHINT: check which credentials" in stderr
        assert out.read_bytes() == b""


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_log_lines_show_service_text_inert(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, log_format: str
) -> None:
    """An error code logged as it is retried reaches stderr escaped (both log renderers)."""
    arns = synthetic_sagemaker.seed(groups=1, versions=2)
    # No space or quote in it: structlog's console renderer shows such values bare.
    body = json.dumps({"__type": "Bad\x1b[2J\x07\u202eCode", "message": HOSTILE})
    synthetic_sagemaker.faults = Faults(answer_body=body, answer_status=500)
    source = _write_arns(tmp_path / "arns.txt", arns)

    result = subprocess.run(
        [*SAGEFETCH, "describe", str(source), "-o", str(tmp_path / "out.jsonl"),
         "--endpoint-url", synthetic_sagemaker.endpoint_url, "--region",
         synthetic_sagemaker.region, "--max-attempts", "2", "--log-level", "info",
         "--log-format", log_format],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip

    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert "sagefetch.retry_scheduled" in stderr
    for control in ("\x1b", "\x07", "\u202e"):
        assert control not in stderr


@pytest.mark.parametrize(
    "suffix",
    [
        pytest.param("new/", id="trailing-slash"),
        pytest.param("new/.", id="trailing-dot"),
        pytest.param("existing/", id="existing-directory"),
    ],
)
def test_an_output_ending_in_a_slash_names_a_directory(tmp_path: Path, suffix: str) -> None:
    """``-o dir/new/`` means a directory: exit 2, and no file named ``new`` is written."""
    (tmp_path / "existing").mkdir()
    before = sorted(tmp_path.rglob("*"))

    result = _sagefetch("describe", "-", "-o", f"{tmp_path}/{suffix}", stdin=b"")

    assert result.returncode == 2
    assert "names a directory" in result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert sorted(tmp_path.rglob("*")) == before
