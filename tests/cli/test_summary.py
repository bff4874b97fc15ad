"""``--summary-json``: the run's summary as one JSON document, through the real command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from sagefetch.cli._summary import SUMMARY_VERSION, RunSummary
from sagefetch.testing import Faults
from tests.processes import interrupt, run_cli, start_cli, wait_for_lines

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker


def _describe(server: LocalSageMaker, *args: str) -> tuple[int, str]:
    result = run_cli(
        "describe", *args, "--endpoint-url", server.endpoint_url, "--region", server.region
    )
    return result.returncode, result.stderr.decode()


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _summary(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    assert isinstance(document, dict)
    return document


def test_describe_summary_counts_what_the_records_hold(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Totals by status and code, calls, the exit code and its name; no temporary file left."""
    arns = local_sagemaker.seed(groups=2, versions=30)
    unknown = [f"{arns[0].rpartition('/')[0]}/{version}" for version in (901, 902, 903)]
    source = tmp_path / "arns.txt"
    source.write_text("\n".join([*arns, *unknown, "not-an-arn"]) + "\n")
    output, path = tmp_path / "out.jsonl", tmp_path / "summary.json"

    code, stderr = _describe(
        local_sagemaker, str(source), "-o", str(output), "--summary-json", str(path)
    )

    assert code == 3, stderr
    summary = _summary(path)
    assert summary["summary_version"] == SUMMARY_VERSION
    assert (summary["command"], summary["exit_code"], summary["result"]) == (
        "describe", 3, "failures"
    )  # fmt: skip
    assert (summary["output"], summary["format"], summary["error"]) == (str(output), "jsonl", None)
    totals = summary["totals"]
    records = _records(output)
    assert totals["described"] == sum(r["status"] == "described" for r in records) == 60
    assert totals["failed"] == 4
    assert totals["failures"] == {"InvalidArn": 1, "ResourceNotFound": 3}
    assert totals["calls"] == local_sagemaker.counters.calls
    assert summary["stopped"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arns.txt", "out.jsonl", "summary.json"]


def test_the_summary_replaces_the_file_in_one_rename(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """An earlier summary is replaced, not rewritten in place: a hard link to it keeps it."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    source = tmp_path / "arns.txt"
    source.write_text("\n".join(arns) + "\n")
    path, earlier = tmp_path / "summary.json", tmp_path / "earlier.json"
    path.write_text('{"exit_code": 3}\n')
    earlier.hardlink_to(path)

    code, stderr = _describe(
        local_sagemaker, str(source), "-o", str(tmp_path / "out.jsonl"), "--summary-json", str(path)
    )

    assert code == 0, stderr
    assert _summary(path)["exit_code"] == 0
    assert earlier.read_text() == '{"exit_code": 3}\n'


def test_a_stopped_run_says_why_in_its_summary(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Credentials rejected: exit 4, and the summary names the error, its code and the hint."""
    arns = local_sagemaker.seed(groups=1, versions=5)
    local_sagemaker.faults = Faults(reject_with="UnrecognizedClientException")
    source = tmp_path / "arns.txt"
    source.write_text("\n".join(arns) + "\n")
    path = tmp_path / "summary.json"

    code, stderr = _describe(
        local_sagemaker, str(source), "-o", str(tmp_path / "out.jsonl"), "--summary-json", str(path)
    )

    assert code == 4, stderr
    summary = _summary(path)
    assert (summary["exit_code"], summary["result"]) == (4, "stopped")
    stopped = summary["stopped"]
    assert (stopped["error"], stopped["code"]) == (
        "CredentialsError",
        "UnrecognizedClientException",
    )
    assert stopped["message"].startswith("UnrecognizedClientException: ")
    assert stopped["hint"].startswith("check which credentials are in use")
    assert summary["totals"]["described"] == 0


def test_sigterm_writes_the_summary_of_what_was_written(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Terminated mid-run: exit 143, and the summary counts exactly the records written."""
    arns = local_sagemaker.seed(groups=4, versions=100)
    local_sagemaker.faults = Faults(latency=0.1)
    source = tmp_path / "arns.txt"
    source.write_text("\n".join(arns) + "\n")
    output, path = tmp_path / "out.jsonl", tmp_path / "summary.json"
    process = start_cli(
        "describe", str(source), "-o", str(output), "--summary-json", str(path),
        "--endpoint-url", local_sagemaker.endpoint_url, "--region", local_sagemaker.region,
        "--batch-size", "5", "--max-rate", "10", "--concurrency", "2",
    )  # fmt: skip
    wait_for_lines(output, 20, process)

    assert interrupt(process, signal.SIGTERM) == 143

    summary = _summary(path)
    assert (summary["exit_code"], summary["result"]) == (143, "terminated")
    written = len(_records(output))
    assert 20 <= written < len(arns)
    assert summary["totals"]["described"] == written
    assert summary["totals"]["calls"] >= written // 5


#: Runs ``sagefetch ARGV[3:]``, sending itself signal ARGV[1] when module ARGV[2] starts to
#: load: a signal at a known moment of start-up, before the event loop takes signals over.
_SIGNAL_WHILE_LOADING = (
    "import os, runpy, sys\n"
    "signum, module = int(sys.argv[1]), sys.argv[2]\n"
    "def hook(event, args):\n"
    "    if event == 'import' and args[0] == module:\n"
    "        os.kill(os.getpid(), signum)\n"
    "sys.addaudithook(hook)\n"
    "sys.argv = ['sagefetch', *sys.argv[3:]]\n"
    "runpy.run_module('sagefetch.cli', run_name='__main__')\n"
)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize(
    ("module", "summarised"),
    [
        ("sagefetch.cli._run", False),  # before the summary exists
        ("sagefetch.cli._describe", True),  # the command's modules: heavy, seconds on a busy host
        ("aiobotocore.session", True),
    ],
)
def test_a_signal_during_start_up_exits_with_its_code_and_no_traceback(
    tmp_path: Path, signum: int, code: int, module: str, *, summarised: bool
) -> None:
    """SIGINT or SIGTERM while the CLI still loads: 130 or 143, one summary, the output untouched.

    Before, SIGTERM killed the process outright (-15, no summary) and SIGINT
    printed a KeyboardInterrupt traceback.
    """
    source, output, path = tmp_path / "arns.txt", tmp_path / "out.jsonl", tmp_path / "s.json"
    source.write_text("arn:aws:sagemaker:us-east-1:123456789012:model-package/a/1\n")
    output.write_bytes(b'{"partial": "from an earlier run"}\n')

    result = subprocess.run(
        [sys.executable, "-c", _SIGNAL_WHILE_LOADING, str(int(signum)), module,
         "describe", str(source), "-o", str(output), "--resume", "--summary-json", str(path),
         "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == code, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert output.read_bytes() == b'{"partial": "from an earlier run"}\n'
    if summarised:
        assert _summary(path)["exit_code"] == code
    else:
        assert not path.exists()


def test_a_refused_command_replaces_an_earlier_summary(tmp_path: Path) -> None:
    """Exit 2 before the run starts still writes a summary: the error, no figures."""
    path = tmp_path / "summary.json"
    path.write_text('{"exit_code": 0}\n')

    result = run_cli(
        "audit", "--regions", "a,b", "--region", "c", "-o", str(tmp_path / "out.jsonl"),
        "--summary-json", str(path),
    )  # fmt: skip

    assert result.returncode == 2
    summary = _summary(path)
    assert (summary["exit_code"], summary["result"]) == (2, "usage_error")
    assert "not both" in summary["error"]
    assert "shards" not in summary


@pytest.mark.parametrize(
    ("where", "message"),
    [
        pytest.param("out.jsonl", "is also --output", id="the-output"),
        pytest.param("arns.txt", "is the input file", id="the-input"),
        pytest.param("missing/summary.json", "no directory", id="no-directory"),
        pytest.param(".", "not a file's path", id="a-directory-name"),
        pytest.param("sub", "is a directory", id="an-existing-directory"),
        pytest.param("-", "not a file's path", id="stdout"),
    ],
)
def test_a_summary_path_the_run_cannot_use_is_refused(
    tmp_path: Path, where: str, message: str
) -> None:
    """Exit 2 before anything is read or written; the output and the input are untouched."""
    source, output = tmp_path / "arns.txt", tmp_path / "out.jsonl"
    source.write_text("arn\n")
    output.write_text("records of an earlier run\n")
    (tmp_path / "sub").mkdir()
    target = where if where in {"-", "."} else str(tmp_path / where)

    result = run_cli("describe", str(source), "-o", str(output), "--summary-json", target)

    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert output.read_text() == "records of an earlier run\n"
    assert source.read_text() == "arn\n"


def test_a_summary_that_cannot_be_written_turns_success_into_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run ended well (0 or 3) but its summary is missing: exit 4, and a message."""
    (tmp_path / "file").write_text("")
    summary = RunSummary(tmp_path / "file" / "summary.json", command="describe")

    assert summary.finish(0) == 4
    assert summary.finish(3) == 4
    assert summary.finish(143) == 143
    assert "cannot write the summary" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_without_summary_json_nothing_is_written(tmp_path: Path) -> None:
    """No path, no file: finish only hands the exit code back."""
    summary = RunSummary(None, command="audit")
    summary.follow(lambda: {"totals": {}})

    assert summary.finish(3) == 3
    assert list(tmp_path.iterdir()) == []
