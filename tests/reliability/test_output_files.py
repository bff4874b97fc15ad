"""The output file is sacred: through the real CLI, each way it could be lost or spoiled.

One test per class of failure: the output is a file the run reads; two runs
write one output; ``--resume`` in the other format; the disk fills up; CSV
fields that need quoting and summaries with nulls; resuming a large output in
bounded memory; the exit code of a resumed run.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from sagefetch.cli._records import CSV_COLUMNS
from sagefetch.testing import Faults
from tests.processes import FILE_SIZE_LIMIT, SAGEFETCH

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker


def _run(
    *args: str,
    stdin: Any = None,
    stdout: Any = subprocess.PIPE,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[bytes]:
    """``sagefetch ARGS`` to the end (``prefix``: a command that execs it)."""
    return subprocess.run(
        [*prefix, *SAGEFETCH, *args], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
        timeout=120, check=False,
    )  # fmt: skip


def _describe(
    server: LocalSageMaker, *args: str, **options: Any
) -> subprocess.CompletedProcess[bytes]:
    return _run(
        "describe", *args, "--endpoint-url", server.endpoint_url, "--region", server.region,
        "--quiet", **options,
    )  # fmt: skip


def _arn_file(path: Path, arns: list[str]) -> Path:
    path.write_text("\n".join(arns) + "\n")
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _error_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [line for line in result.stderr.decode().splitlines() if line.startswith("sagefetch")]


# -- the output is never a file the run reads ---------------------------------------


@pytest.mark.parametrize(
    "way",
    [
        pytest.param("same-path", id="same-path"),
        pytest.param("hard-link", id="hard-link"),
        pytest.param("symlink", id="symlink"),
        pytest.param("stdin-redirected", id="stdin-redirected-from-the-output"),
        pytest.param("stdin-redirected-resume", id="stdin-redirected-from-the-output-resume"),
        pytest.param("stdout-appends-to-input", id="stdout-appended-to-the-input"),
        pytest.param("audit-onto-aws-config", id="audit-onto-the-aws-config"),
    ],
)
def test_the_output_is_never_a_file_the_run_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """Output onto the input (path, link, stdin, stdout, AWS config): exit 2, nothing touched."""
    arns = [f"arn:aws:sagemaker:us-east-1:123456789012:model-package/g/{n}" for n in (1, 2)]
    source = _arn_file(tmp_path / "arns.txt", arns)
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    before = {path: path.read_bytes() for path in (source, config)}
    hard_link = tmp_path / "hard.jsonl"
    hard_link.hardlink_to(source)
    symlink = tmp_path / "link.jsonl"
    symlink.symlink_to(source)
    describe = ("describe", "--endpoint-url", "http://127.0.0.1:9")

    if way == "same-path":
        result = _run(*describe, str(source), "-o", str(tmp_path / "." / "arns.txt"))
    elif way == "hard-link":
        result = _run(*describe, str(source), "-o", str(hard_link))
    elif way == "symlink":
        result = _run(*describe, str(source), "-o", str(symlink))
    elif way.startswith("stdin-redirected"):
        resume = ("--resume",) if way.endswith("resume") else ()
        with source.open("rb") as stdin:
            result = _run(*describe, "-", "-o", str(source), *resume, stdin=stdin)
    elif way == "stdout-appends-to-input":
        with source.open("ab") as stdout:
            result = _run(*describe, str(source), stdout=stdout)
    else:
        result = _run("audit", "-o", str(config), "--endpoint-url", "http://127.0.0.1:9")

    assert result.returncode == 2, result.stderr.decode()
    [message] = _error_lines(result)
    assert (
        " is the input file" in message
        or " is standard input" in message
        or ("AWS file AWS_CONFIG_FILE" in message)
    ), message
    assert b"Traceback" not in result.stderr
    assert {path: path.read_bytes() for path in (source, config)} == before


# -- two runs, one output ----------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_second_run_onto_a_locked_output_exits_2_naming_the_holder(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """While one run writes OUT, another (fresh or --resume) exits 2 naming its pid; OUT intact."""
    arns = synthetic_sagemaker.seed(groups=3, versions=100)
    synthetic_sagemaker.faults = Faults(latency=0.05)
    source = _arn_file(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.jsonl"
    endpoint = ("--endpoint-url", synthetic_sagemaker.endpoint_url)
    first = subprocess.Popen(
        [*SAGEFETCH, "describe", str(source), "-o", str(out), "--quiet", "--batch-size", "5",
         "--concurrency", "1", *endpoint],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while first.poll() is None and time.monotonic() < deadline:
            if out.exists() and out.read_bytes().count(b"\n") >= 10:
                break
            time.sleep(0.02)
        written = out.read_bytes().count(b"\n")
        seconds = [
            subprocess.Popen(
                [*SAGEFETCH, "describe", str(source), "-o", str(out), *more, *endpoint],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for more in ((), ("--resume",))
        ]
        answers = [second.communicate(timeout=60)[1].decode() for second in seconds]

        assert first.poll() is None, "the first run ended before the others tried"
        for second, stderr in zip(seconds, answers, strict=True):
            assert second.returncode == 2, stderr
            assert f"is locked by process {first.pid}" in stderr
        assert out.read_bytes().count(b"\n") >= written  # not cut, not truncated
        _, stderr_bytes = first.communicate(timeout=90)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr_bytes.decode()
    assert Counter(record["arn"] for record in _records(out)) == Counter(arns)


# -- --resume in the other format -----------------------------------------------------


@pytest.mark.parametrize(
    ("written", "resumed", "says"),
    [
        pytest.param("jsonl", "csv", "is in JSON Lines (--format jsonl)", id="csv-onto-jsonl"),
        pytest.param("csv", "jsonl", "is in the CSV of sagefetch describe", id="jsonl-onto-csv"),
    ],
)
def test_resume_refuses_an_output_in_the_other_format(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, written: str, resumed: str, says: str
) -> None:
    """--resume --format X onto an output in format Y: exit 2 naming Y; the output unchanged."""
    arns = synthetic_sagemaker.seed(groups=1, versions=20)
    source = _arn_file(tmp_path / "arns.txt", arns)
    out = tmp_path / "out"
    partial = _arn_file(tmp_path / "partial.txt", arns[:10])
    assert (
        _describe(synthetic_sagemaker, str(partial), "-o", str(out), "--format", written).returncode
        == 0
    )
    before = out.read_bytes()

    result = _describe(
        synthetic_sagemaker, str(source), "-o", str(out), "--format", resumed, "--resume"
    )

    assert result.returncode == 2, result.stderr.decode()
    assert says in result.stderr.decode()
    assert f"HINT: resume with --format {written}" in result.stderr.decode()
    assert out.read_bytes() == before
    assert synthetic_sagemaker.counters.calls == 1  # the first run's, none since


# -- disk full, file too large ---------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and /dev/full are POSIX")
def test_a_full_disk_stops_with_exit_4_and_resume_completes_exactly_once(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """EFBIG mid-run: exit 4, one line, whole records; --resume then completes exactly once."""
    arns = synthetic_sagemaker.seed(groups=3, versions=100)
    unknown = arns[0].replace("/1", "/999")
    source = _arn_file(tmp_path / "arns.txt", [*arns, unknown])
    out = tmp_path / "out.jsonl"
    arguments = ("describe", str(source), "-o", str(out), "--quiet",
                 "--endpoint-url", synthetic_sagemaker.endpoint_url)  # fmt: skip

    full = _run(*arguments, prefix=(*FILE_SIZE_LIMIT, str(64 * 1024)))

    assert full.returncode == 4, full.stderr.decode()
    assert b"Traceback" not in full.stderr
    [message] = _error_lines(full)
    assert message.startswith(f"sagefetch describe: cannot write {out}: File too large (EFBIG)")
    assert "--resume" in message
    data = out.read_bytes()
    assert 0 < len(data) <= 64 * 1024
    assert data.endswith(b"\n")  # whole records only: the one cut short was cut off
    assert 0 < len(_records(out)) < len(arns)

    resumed = _describe(synthetic_sagemaker, str(source), "-o", str(out), "--resume")

    assert resumed.returncode == 3, resumed.stderr.decode()  # the unknown ARN
    assert Counter(record["arn"] for record in _records(out)) == Counter([*arns, unknown])

    no_space = _describe(synthetic_sagemaker, str(source), "-o", "/dev/full")
    assert no_space.returncode == 4, no_space.stderr.decode()
    assert b"Traceback" not in no_space.stderr
    [message] = _error_lines(no_space)
    assert "cannot write /dev/full: No space left on device (ENOSPC)" in message


# -- CSV: quoting, nulls ---------------------------------------------------------------


def _odd(version: int) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:model-package/odd/{version}"


def _summary(version: int, **fields: Any) -> dict[str, Any]:
    summary = {
        "ModelPackageGroupName": "odd",
        "ModelPackageVersion": version,
        "ModelPackageArn": _odd(version),
        "CreationTime": 1_700_000_000 + version,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved",
    }
    summary.update(fields)
    return summary


#: A message with every character CSV must quote: a bare CR, CRLF, LF, quotes, commas.
MESSAGE = 'bare\rCR, a "quoted" word,\r\nCRLF\nand LF\r'


def _odd_answer() -> str:
    return json.dumps(
        {
            "ModelPackageSummaries": {
                _odd(1): _summary(1, InferenceSpecification=None),
                _odd(2): _summary(2, InferenceSpecification={"Containers": []}),
                _odd(3): _summary(
                    3,
                    InferenceSpecification={
                        "Containers": [{"Image": "img:3", "ModelDataSource": None}]
                    },
                ),
                _odd(4): _summary(
                    4,
                    CreationTime=None,
                    ModelPackageVersion=None,
                    InferenceSpecification={
                        "Containers": [
                            {
                                "Image": None,
                                "ModelDataUrl": None,
                                "ModelDataSource": {"S3DataSource": None},
                            }
                        ]
                    },
                ),
                _odd(5): {"ModelPackageArn": _odd(5)},
                _odd(6): _summary(
                    6,
                    InferenceSpecification={
                        "Containers": [
                            {
                                "Image": 'img:6,\r"x"',
                                "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/6/"}},
                            }
                        ]
                    },
                ),
            },
            "BatchDescribeModelPackageErrorMap": {
                _odd(7): {"ErrorCode": "ResourceNotFound", "ErrorResponse": MESSAGE},
            },
        }
    )


def _csv_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    arns = [row[0] for row in rows[1:]]
    assert len(arns) == len(set(arns)), "an ARN was recorded twice"
    return {row[0]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}


def test_csv_quotes_what_it_must_and_writes_nulls_as_empty_cells(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """CR, CRLF, quotes, commas round-trip; null nested fields are empty cells; it resumes."""
    synthetic_sagemaker.faults = Faults(answer_body=_odd_answer())
    out = tmp_path / "out.csv"
    first = _arn_file(tmp_path / "first.txt", [_odd(n) for n in (1, 2, 3, 4, 5, 7)])

    result = _describe(synthetic_sagemaker, str(first), "-o", str(out), "--format", "csv")

    assert result.returncode == 3, result.stderr.decode()
    rows = _csv_rows(out)
    assert rows[_odd(7)]["error_message"] == MESSAGE
    assert rows[_odd(7)]["error_code"] == "ResourceNotFound"
    assert rows[_odd(1)]["image"] == rows[_odd(1)]["model_data_url"] == ""
    assert rows[_odd(1)]["version"] == "1"
    assert rows[_odd(2)]["image"] == ""
    assert (rows[_odd(3)]["image"], rows[_odd(3)]["model_data_url"]) == ("img:3", "")
    assert {rows[_odd(4)][column] for column in ("version", "creation_time", "image")} == {""}
    assert rows[_odd(5)] == {
        **dict.fromkeys(CSV_COLUMNS, ""),
        "arn": _odd(5),
        "status": "described",
    }

    everything = _arn_file(tmp_path / "all.txt", [_odd(n) for n in range(1, 8)])
    resumed = _describe(
        synthetic_sagemaker, str(everything), "-o", str(out), "--format", "csv", "--resume"
    )

    assert resumed.returncode == 3, resumed.stderr.decode()
    rows = _csv_rows(out)
    assert set(rows) == {_odd(n) for n in range(1, 8)}
    assert (rows[_odd(6)]["image"], rows[_odd(6)]["model_data_url"]) == ('img:6,\r"x"', "s3://b/6/")
    assert rows[_odd(7)]["error_message"] == MESSAGE

    # A CSV an earlier version wrote, with the CR of a message unquoted, resumes too.
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(
        ",".join(CSV_COLUMNS).encode() + b"\n"
        + _odd(7).encode() + b",failed,,,,,,,,ResourceNotFound,bare\rCR\n"
    )  # fmt: skip
    resumed = _describe(
        synthetic_sagemaker, str(everything), "-o", str(legacy), "--format", "csv", "--resume"
    )
    assert resumed.returncode == 3, resumed.stderr.decode()
    with legacy.open(newline="") as file:
        rows_read = list(csv.reader(file))[1:]
    recorded = [row[0] for row in rows_read if row != ["CR"]]  # the legacy row, split at its CR
    assert Counter(recorded) == Counter(_odd(n) for n in range(1, 8))


# -- --resume in bounded memory --------------------------------------------------------


def _peak_rss(args: list[str], stderr: Path) -> tuple[int, int]:
    """Run ``sagefetch ARGS``; its exit code and peak resident memory in bytes."""
    with stderr.open("wb") as errors:
        process = subprocess.Popen([*SAGEFETCH, *args], stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss: KiB on Linux, bytes on macOS.
    return process.returncode, usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def _big_output(path: Path, fmt: str, records: int) -> list[str]:
    """An output of ``records`` records of about 2.5 KiB, every 50th failed; their ARNs."""
    prefix = "arn:aws:sagemaker:us-east-1:123456789012:model-package/big-"
    arns = [f"{prefix}{n // 100:04d}/{n % 100 + 1}" for n in range(records)]
    padding = "x" * 2400
    with path.open("wb") as file:
        if fmt == "csv":
            file.write(",".join(CSV_COLUMNS).encode() + b"\n")
        for start in range(0, records, 5000):
            lines = []
            for n in range(start, min(start + 5000, records)):
                failed = n % 50 == 0
                if fmt == "jsonl":
                    record: dict[str, Any] = {
                        "arn": arns[n],
                        "status": "failed" if failed else "described",
                    }
                    if failed:
                        record["error"] = {
                            "code": "ResourceNotFound",
                            "message": padding,
                            "attempts": 1,
                        }
                    else:
                        record["summary"] = {"ModelPackageDescription": padding}
                    lines.append(json.dumps(record) + "\n")
                else:
                    status = "failed" if failed else "described"
                    lines.append(f'{arns[n]},{status},g,1,,,,img,"{padding},\r\n",,\n')
            file.write("".join(lines).encode())
        file.write(
            b'{"arn": "arn:aws:sagemaker:us-east-1:1234' if fmt == "jsonl" else b"arn:aws,fai"
        )
    return arns


@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="os.wait4's ru_maxrss as on Linux")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_reads_a_large_output_in_bounded_memory(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, fmt: str
) -> None:
    """Resuming a 100 MB output (torn at the end) peaks at far less memory than the file."""
    small, big = tmp_path / f"small.{fmt}", tmp_path / f"big.{fmt}"
    _big_output(small, fmt, 200)
    arns = _big_output(big, fmt, 40_000)
    size = big.stat().st_size
    source = _arn_file(tmp_path / "arns.txt", arns[:100])
    common = ["describe", str(source), "--resume", "--format", fmt, "--quiet",
              "--endpoint-url", synthetic_sagemaker.endpoint_url]  # fmt: skip

    small_code, small_peak = _peak_rss([*common, "-o", str(small)], tmp_path / "small.err")
    big_code, big_peak = _peak_rss([*common, "-o", str(big)], tmp_path / "big.err")

    assert (small_code, big_code) == (3, 3), (tmp_path / "big.err").read_text()
    assert big_peak - small_peak < size / 4, (size, small_peak, big_peak)
    with big.open("rb") as file:
        file.seek(-200, os.SEEK_END)
        end = file.read()
    assert end.endswith(b"\n")  # the torn record, cut off
    assert big.stat().st_size < size
    assert synthetic_sagemaker.counters.calls == 0


# -- the exit code after --resume --------------------------------------------------------


def test_the_exit_code_after_resume_speaks_for_the_whole_output(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """A failed record from an earlier run makes a resumed run exit 3, and the summary says so."""
    arns = synthetic_sagemaker.seed(groups=1, versions=30)
    unknown = arns[0].replace("/1", "/404")
    out = tmp_path / "out.jsonl"
    first = _arn_file(tmp_path / "first.txt", [*arns[:10], unknown])
    assert _describe(synthetic_sagemaker, str(first), "-o", str(out)).returncode == 3

    everything = _arn_file(tmp_path / "all.txt", [*arns, unknown])
    result = _run(
        "describe", str(everything), "-o", str(out), "--resume",
        "--endpoint-url", synthetic_sagemaker.endpoint_url,
    )  # fmt: skip

    assert result.returncode == 3, result.stderr.decode()
    summary = " ".join(result.stderr.decode().replace("│", " ").split())
    assert "described 20 " in summary
    assert "failed 0 " in summary
    assert "described in earlier runs 10 " in summary
    assert "failed in earlier runs 1 " in summary
    assert Counter(record["arn"] for record in _records(out)) == Counter([*arns, unknown])


# -- --resume cuts off only a record cut short --------------------------------------------

_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
_CSV_HEADER = ",".join(CSV_COLUMNS).encode() + b"\n"
_CSV_ROW = f"{_ARN},failed,,,,,,,,ResourceNotFound,gone\n".encode()
_JSON_RECORD = json.dumps({"arn": _ARN, "status": "described", "summary": {}}).encode() + b"\n"


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        pytest.param(
            "jsonl",
            json.dumps({"models": [_ARN], "owner": "me"}, separators=(",", ":")).encode(),
            id="minified-json",
        ),
        pytest.param(
            "jsonl",
            json.dumps({"arn": _ARN, "note": "not a record"}).encode(),
            id="minified-json-with-an-arn-key",
        ),
        pytest.param("jsonl", b"notes about the run", id="text-jsonl"),
        pytest.param("csv", b"notes about the run", id="text-csv"),
        pytest.param("jsonl", _JSON_RECORD + b"# exported by hand", id="records-then-text"),
        pytest.param("csv", _CSV_HEADER + _CSV_ROW + b"total,1", id="rows-then-text"),
        pytest.param(
            "csv", _CSV_HEADER + _CSV_ROW + b'note,"unclosed\nquote\n', id="rows-then-open-quote"
        ),
    ],
)
def test_resume_leaves_a_file_that_is_not_an_output_untouched(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, fmt: str, data: bytes
) -> None:
    """A last line that could not start a record (minified JSON, text): exit 2, byte-identical."""
    source = _arn_file(tmp_path / "arns.txt", [_ARN])
    out = tmp_path / "out"
    out.write_bytes(data)

    result = _describe(
        synthetic_sagemaker, str(source), "-o", str(out), "--format", fmt, "--resume"
    )

    assert result.returncode == 2, result.stderr.decode()
    [message] = _error_lines(result)
    assert f"{out} is not an output of sagefetch" in message
    assert "it was left as it is" in message
    assert out.read_bytes() == data
    assert synthetic_sagemaker.counters.calls == 0


@pytest.mark.parametrize(
    ("fmt", "torn"),
    [
        pytest.param("jsonl", b'{"ar', id="jsonl-opening"),
        pytest.param("jsonl", _JSON_RECORD[:-30], id="jsonl-record"),
        pytest.param("jsonl", _JSON_RECORD[:-1], id="jsonl-record-without-newline"),
        pytest.param("csv", b"arn:aws:sage", id="csv-arn"),
        pytest.param("csv", _CSV_ROW[:-20], id="csv-row"),
        pytest.param("csv", b'"not, an arn",fai', id="csv-quoted-input-line"),
        pytest.param("csv", _CSV_ROW[:-5] + b'"multi\nline', id="csv-open-quoted-message"),
    ],
)
def test_resume_cuts_off_a_record_cut_short(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, fmt: str, torn: bytes
) -> None:
    """A last record cut short (a killed run) is cut off and described again, exactly once."""
    arns = synthetic_sagemaker.seed(groups=1, versions=4)
    out = tmp_path / "out"
    first = _arn_file(tmp_path / "first.txt", arns[:2])
    assert (
        _describe(synthetic_sagemaker, str(first), "-o", str(out), "--format", fmt).returncode == 0
    )
    out.write_bytes(out.read_bytes() + torn)

    source = _arn_file(tmp_path / "arns.txt", arns)
    result = _describe(
        synthetic_sagemaker, str(source), "-o", str(out), "--format", fmt, "--resume"
    )

    assert result.returncode == 0, result.stderr.decode()
    if fmt == "jsonl":
        recorded = [record["arn"] for record in _records(out)]
    else:
        recorded = list(_csv_rows(out))
    assert Counter(recorded) == Counter(arns)


# -- the output is never where stderr goes --------------------------------------------------


@pytest.mark.parametrize(
    "idiom",
    [
        pytest.param("> out 2>&1", id="stdout-and-stderr-to-one-file"),
        pytest.param(">> out 2>&1", id="stdout-and-stderr-appended-to-one-file"),
        pytest.param("-o out 2>>out", id="output-and-stderr-appended"),
        pytest.param("-o out --resume 2>>out", id="resume-and-stderr-appended"),
    ],
)
def test_records_never_go_into_the_file_stderr_goes_to(
    synthetic_sagemaker: LocalSageMaker, tmp_path: Path, idiom: str
) -> None:
    """Output and stderr one regular file: exit 2 before any call; nothing cut, no record added."""
    arns = synthetic_sagemaker.seed(groups=1, versions=3)
    source = _arn_file(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.jsonl"
    out.write_bytes(_JSON_RECORD)
    before = b"" if idiom.startswith("> ") else out.read_bytes()  # ">" truncates: the shell's doing
    command = [*SAGEFETCH, "describe", str(source),
               "--endpoint-url", synthetic_sagemaker.endpoint_url]  # fmt: skip

    with out.open("wb" if idiom.startswith("> ") else "ab") as file:
        if idiom.startswith("-o"):
            more = ["-o", str(out), *(["--resume"] if "--resume" in idiom else [])]
            result = subprocess.run(
                [*command, *more], stdout=subprocess.PIPE, stderr=file, timeout=60, check=False
            )
        else:
            result = subprocess.run(command, stdout=file, stderr=file, timeout=60, check=False)

    assert result.returncode == 2
    data = out.read_bytes()
    assert data.startswith(before)
    message = data[len(before) :].decode()
    assert message.startswith("sagefetch describe: ")
    assert "is also where standard error goes" in message
    assert "HINT:" in message
    assert b'{"arn"' not in data[len(before) :]
    assert synthetic_sagemaker.counters.calls == 0
