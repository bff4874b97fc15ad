"""``--format parquet``: typed rows read back by pyarrow and DuckDB, kills, torn files, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagefetch.cli._exits import UsageError
from sagefetch.cli._parquet import header
from sagefetch.cli._parquet_footer import footer_at
from sagefetch.cli._records import PARQUET_MISSING, open_output, writer_for
from sagefetch.testing import Faults
from tests.processes import FILE_SIZE_LIMIT, SAGEFETCH

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker


def _small_groups() -> dict[str, str]:
    """The environment, with small row groups so a short run has several checkpoints."""
    return {**os.environ, "SAGEFETCH_PARQUET_ROWS": "20"}


def _describe(
    server: LocalSageMaker, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SAGEFETCH, "describe", *args, "--format", "parquet",
         "--endpoint-url", server.endpoint_url, "--region", server.region],
        capture_output=True, text=True, timeout=120, check=False, env=env or _small_groups(),
    )  # fmt: skip


def _start(server: LocalSageMaker, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SAGEFETCH, "describe", *args, "--format", "parquet", "--quiet",
         "--endpoint-url", server.endpoint_url, "--region", server.region],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_small_groups(),
    )  # fmt: skip


def _write_arns(path: Path, arns: list[str]) -> Path:
    path.write_text("\n".join(arns) + "\n")
    return path


def _rows(path: Path) -> list[str]:
    """The ARNs of the file's rows, as DuckDB reads them (and pyarrow agrees)."""
    arns = [arn for (arn,) in duckdb.sql(f"select arn from read_parquet('{path}')").fetchall()]
    assert sorted(pq.read_table(path, columns=["arn"]).column("arn").to_pylist()) == sorted(arns)
    return arns


def _checkpoint_ends(data: bytes, body_start: int) -> list[tuple[int, int]]:
    """Every (end, rows) of a whole footer in ``data``: where each checkpoint ends."""

    def read(offset: int, size: int) -> bytes:
        return data[offset : offset + size]

    ends = []
    at = data.find(b"PAR1", body_start)
    while at >= 0:
        found = footer_at(read, at + 4, body_start=body_start)
        if found is not None:
            ends.append((found.end, found.rows))
        at = data.find(b"PAR1", at + 1)
    return ends


def _wait_for_size(path: Path, size: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.stat().st_size >= size:
            return
        time.sleep(0.02)


def test_describe_rows_are_typed_one_per_arn_with_failures(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """One row per distinct ARN, described or failed; typed columns; pyarrow and DuckDB agree."""
    arns = local_sagemaker.seed(groups=2, versions=30)
    unknown = arns[0].replace("/1", "/77")
    source = _write_arns(tmp_path / "arns.txt", [*arns, arns[3], unknown, "not-an-arn"])
    out = tmp_path / "out.parquet"

    result = _describe(local_sagemaker, str(source), "-o", str(out))

    assert result.returncode == 3, result.stderr
    assert sorted(_rows(out)) == sorted({*arns, unknown, "not-an-arn"})
    assert pq.ParquetFile(out).metadata.num_row_groups >= 3  # written as outcomes came
    table = pq.read_table(out)
    types = {field.name: field.type for field in table.schema}
    assert types["version"] == pa.int64()
    assert types["creation_time"] == pa.timestamp("us", tz="UTC")
    assert pa.types.is_list(types["containers"])
    assert pa.types.is_struct(types["containers"].value_type)
    rows = {row["arn"]: row for row in table.to_pylist()}
    expected = local_sagemaker.catalogue.summary(1, 4)
    row = rows[arns[33]]
    assert row["status"] == "described"
    assert (row["group_name"], row["version"]) == (expected["ModelPackageGroupName"], 4)
    assert row["approval_status"] == expected["ModelApprovalStatus"]
    assert row["creation_time"] == expected["CreationTime"]
    containers = expected["InferenceSpecification"]["Containers"]
    assert [c["image"] for c in row["containers"]] == [c["Image"] for c in containers]
    assert dict(row["containers"][0]["environment"]) == containers[0]["Environment"]
    assert row["error_code"] is None
    assert (rows[unknown]["status"], rows[unknown]["version"]) == ("failed", None)
    assert rows[unknown]["error_code"]
    assert rows[unknown]["error_message"]
    assert rows["not-an-arn"]["error_code"] == "InvalidArn"
    counts = duckdb.sql(
        f"select status, count(*), count(distinct arn) from read_parquet('{out}') group by all"
    ).fetchall()
    assert sorted(counts) == [("described", 60, 60), ("failed", 2, 2)]


def test_audit_rows_carry_their_origin(local_sagemaker: LocalSageMaker, tmp_path: Path) -> None:
    """An audit to Parquet: account, region and account name beside each package, once."""
    arns = local_sagemaker.seed(groups=3, versions=15)
    out = tmp_path / "audit.parquet"

    result = subprocess.run(
        [*SAGEFETCH, "audit", "-o", str(out), "--format", "parquet",
         "--endpoint-url", local_sagemaker.endpoint_url, "--region", local_sagemaker.region],
        capture_output=True, text=True, timeout=120, check=False, env=_small_groups(),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert sorted(_rows(out)) == sorted(arns)
    names = pq.read_schema(out).names
    assert names[:5] == ["arn", "account", "region", "account_name", "status"]
    origins = duckdb.sql(
        f"select account, region, count(*) from read_parquet('{out}') group by all"
    ).fetchall()
    assert origins == [(local_sagemaker.account_id, local_sagemaker.region, len(arns))]


def test_an_audit_whose_last_rows_do_not_fit_stops_resumable(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """The last row group, written at the end, fails (EFBIG): exit 4 as a stop, then resume."""
    arns = local_sagemaker.seed(groups=3, versions=15)
    out = tmp_path / "audit.parquet"
    server = ["--endpoint-url", local_sagemaker.endpoint_url, "--region", local_sagemaker.region]
    audit = [*SAGEFETCH, "audit", "-o", str(out), "--format", "parquet", *server]

    limited = subprocess.run(
        [*FILE_SIZE_LIMIT, "200", *audit],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert limited.returncode == 4, limited.stderr
    assert "--resume" in limited.stderr
    assert "Traceback" not in limited.stderr
    assert out.stat().st_size <= 200
    resumed = subprocess.run(
        [*audit, "--resume"], capture_output=True, text=True, timeout=120, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(_rows(out)) == sorted(arns)


@pytest.mark.timeout(180)
def test_sigkill_then_resume_records_every_arn_exactly_once(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Killed twice mid-run, then a torn tail: the resumed file has each ARN once, readable."""
    arns = local_sagemaker.seed(groups=6, versions=50)
    unknown = [arn.replace("/1", "/500") for arn in arns[::50]]
    source = _write_arns(tmp_path / "arns.txt", [*arns, *unknown, "bad-1"])
    out = tmp_path / "out.parquet"
    local_sagemaker.faults = Faults(latency=0.05, jitter=0.05)

    for size in (6_000, 30_000):
        process = _start(local_sagemaker, str(source), "-o", str(out), "--resume",
                         "--concurrency", "2", "--max-rate", "8", "--batch-size", "10")  # fmt: skip
        _wait_for_size(out, size, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
    kept = len(_rows(out))
    assert 0 < kept < len(arns)
    with out.open("ab") as torn:  # a checkpoint cut short, as a kill can leave
        torn.write(os.urandom(3000) + b"PAR1")

    result = _describe(local_sagemaker, str(source), "-o", str(out), "--resume")

    assert result.returncode == 3, result.stderr
    seen = _rows(out)
    assert len(seen) == len(set(seen))
    assert set(seen) == {*arns, *unknown, "bad-1"}
    assert f"{kept:,}" in result.stderr  # resumed: what the killed runs had written


@pytest.mark.timeout(180)
def test_sigint_and_sigterm_leave_a_readable_resumable_file(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Ctrl-C and SIGTERM write the buffered rows: the file reads, and --resume completes it."""
    arns = local_sagemaker.seed(groups=4, versions=50)
    source = _write_arns(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.parquet"
    local_sagemaker.faults = Faults(latency=0.1)

    for signum, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        process = _start(local_sagemaker, str(source), "-o", str(out), "--resume",
                         "--max-rate", "5", "--batch-size", "7")  # fmt: skip
        _wait_for_size(out, out.stat().st_size + 2000 if out.exists() else 2000, process)
        process.send_signal(signum)
        assert process.wait(timeout=20) == code
        written = _rows(out)
        assert len(written) == len(set(written)) < len(arns)
    local_sagemaker.faults = Faults()

    assert _describe(local_sagemaker, str(source), "-o", str(out), "--resume").returncode == 0
    assert sorted(_rows(out)) == sorted(arns)


def test_disk_full_stops_the_run_and_leaves_whole_checkpoints(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """A checkpoint that does not fit (EFBIG) stops the run (4); --resume finishes the file."""
    arns = local_sagemaker.seed(groups=4, versions=50)
    source = _write_arns(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.parquet"

    limited = subprocess.run(
        [*FILE_SIZE_LIMIT, "20000", *SAGEFETCH, "describe", str(source), "-o", str(out),
         "--format", "parquet", "--endpoint-url", local_sagemaker.endpoint_url,
         "--region", local_sagemaker.region],
        capture_output=True, text=True, timeout=120, check=False, env=_small_groups(),
    )  # fmt: skip

    assert limited.returncode == 4, limited.stderr
    assert "--resume" in limited.stderr
    assert "Traceback" not in limited.stderr
    assert 0 < len(_rows(out)) < len(arns)
    assert out.stat().st_size <= 20000
    assert _describe(local_sagemaker, str(source), "-o", str(out), "--resume").returncode == 0
    assert sorted(_rows(out)) == sorted(arns)


@pytest.fixture(scope="module")
def finished_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bytes of a finished describe output with several checkpoints (its own server)."""
    from sagefetch.testing import LocalSageMaker  # noqa: PLC0415

    path = tmp_path_factory.mktemp("finished")
    with LocalSageMaker(backend="synthetic") as server:
        arns = server.seed(groups=3, versions=40)
        source = _write_arns(path / "arns.txt", [*arns, "bad-1"])
        result = _describe(
            server, str(source), "-o", str(path / "out.parquet"),
            env={**_small_groups(), **server.environment()},
        )  # fmt: skip
        assert result.returncode == 3, result.stderr
    return path / "out.parquet"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cut=st.integers(min_value=0, max_value=1 << 30))
def test_a_file_cut_anywhere_is_repaired_to_its_last_whole_checkpoint(
    finished_file: Path, tmp_path: Path, cut: int
) -> None:
    """--resume keeps every row of every whole checkpoint before the cut, and nothing after."""
    finished = finished_file.read_bytes()
    cut %= len(finished) + 1
    body_start = len(header(origin=False))
    ends = _checkpoint_ends(finished, body_start)
    assert len(ends) >= 4  # several checkpoints, each after row groups that outweigh it
    path = tmp_path / f"cut-{cut}.parquet"
    path.write_bytes(finished[:cut])

    with ExitStack() as files:  # as the CLI does: a writer, closed with the output
        out, recorded = open_output(path, "parquet", resume=True, reads=[], files=files)
        writer = writer_for("parquet", out)
        if out.empty:
            writer.header()

    kept = [(end, rows) for end, rows in ends if end <= cut]
    size = path.stat().st_size
    if kept:
        end, rows = kept[-1]
        assert size == end
        assert recorded.described + recorded.failed == rows == len(_rows(path))
    else:  # no whole checkpoint: what there was is cut, and the closed file has no rows
        assert recorded.described + recorded.failed == 0
        assert _rows(path) == []


def test_a_torn_file_is_resumed_to_each_arn_once(
    finished_file: Path, local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """Files cut at several places, resumed for real: every ARN once, whatever the cut."""
    finished = finished_file.read_bytes()
    body_start = len(header(origin=False))
    ends = [end for end, _ in _checkpoint_ends(finished, body_start)]
    arns = local_sagemaker.seed(groups=3, versions=40)
    source = _write_arns(tmp_path / "arns.txt", [*arns, "bad-1"])
    for cut in (5, body_start, ends[1] - 1, ends[2] + 17, len(finished) - 3):
        out = tmp_path / f"cut-{cut}.parquet"
        out.write_bytes(finished[:cut])

        result = _describe(local_sagemaker, str(source), "-o", str(out), "--resume")

        assert result.returncode == 3, result.stderr
        assert sorted(_rows(out)) == sorted([*arns, "bad-1"])


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("foreign-parquet", id="a-parquet-file-sagefetch-did-not-write"),
        pytest.param("jsonl", id="json-lines"),
        pytest.param("audit", id="an-audit-parquet-resumed-by-describe"),
        pytest.param("text", id="text"),
    ],
)
def test_resume_refuses_a_file_that_is_not_its_parquet(
    local_sagemaker: LocalSageMaker, tmp_path: Path, content: str
) -> None:
    """--resume into a file that is not this command's Parquet: exit 2, the file untouched."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    source = _write_arns(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.parquet"
    if content == "foreign-parquet":
        pq.write_table(pa.table({"arn": arns, "status": ["described"] * 3}), out)
        with out.open("ab") as torn:
            torn.write(b"tail")
    elif content == "jsonl":
        out.write_text('{"arn": "x", "status": "described"}\n')
    elif content == "audit":
        out.write_bytes(header(origin=True))
    else:
        out.write_text("my notes\n")
    before = out.read_bytes()

    result = _describe(local_sagemaker, str(source), "-o", str(out), "--resume")

    assert result.returncode == 2, result.stderr
    assert "not a Parquet output of sagefetch" in result.stderr
    assert out.read_bytes() == before


def test_json_lines_resume_refuses_a_parquet_file(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """--format jsonl --resume into our Parquet: exit 2, with the format to resume with."""
    source = _write_arns(tmp_path / "arns.txt", local_sagemaker.seed(groups=1, versions=2))
    out = tmp_path / "out.parquet"
    assert _describe(local_sagemaker, str(source), "-o", str(out)).returncode == 0
    before = out.read_bytes()

    result = subprocess.run(
        [*SAGEFETCH, "describe", str(source), "-o", str(out), "--resume",
         "--endpoint-url", local_sagemaker.endpoint_url, "--region", local_sagemaker.region],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert "--format parquet" in result.stderr
    assert out.read_bytes() == before


def test_two_runs_never_write_one_parquet_file(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """A second run on the output of a running one is refused (the lock holds for Parquet)."""
    arns = local_sagemaker.seed(groups=2, versions=50)
    source = _write_arns(tmp_path / "arns.txt", arns)
    out = tmp_path / "out.parquet"
    local_sagemaker.faults = Faults(latency=0.2)
    process = _start(local_sagemaker, str(source), "-o", str(out), "--max-rate", "1",
                     "--batch-size", "5")  # fmt: skip
    try:
        _wait_for_size(out, 1, process)

        result = _describe(local_sagemaker, str(source), "-o", str(out), "--resume")

        assert result.returncode == 2, result.stderr
        assert "locked by process" in result.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert len(set(_rows(out))) == len(_rows(out))


def test_standard_output_is_refused(local_sagemaker: LocalSageMaker, tmp_path: Path) -> None:
    """--format parquet without -o FILE: a usage error, nothing written."""
    source = _write_arns(tmp_path / "arns.txt", local_sagemaker.seed(groups=1, versions=1))

    result = _describe(local_sagemaker, str(source))

    assert result.returncode == 2
    assert "writes a file, not standard output" in result.stderr
    assert result.stdout == ""


def test_without_pyarrow_a_one_line_hint_and_nothing_written(tmp_path: Path) -> None:
    """No pyarrow: exit 2 with the install hint on one line, before the output is created."""
    source = _write_arns(tmp_path / "arns.txt", ["arn:aws:sagemaker:us-east-1:1:x"])
    out = tmp_path / "out.parquet"
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from sagefetch.cli._main import main\n"
        f"sys.exit(main(['describe', {str(source)!r}, '-o', {str(out)!r}, '--format', 'parquet']))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 2
    assert result.stderr == f"sagefetch describe: {PARQUET_MISSING}\n"
    assert "pip install 'sagefetch[parquet]'" in result.stderr
    assert not out.exists()


def test_other_formats_never_import_pyarrow(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """A JSON Lines or CSV run does not load pyarrow (start-up time)."""
    source = _write_arns(tmp_path / "arns.txt", local_sagemaker.seed(groups=1, versions=2))
    for fmt in ("jsonl", "csv"):
        args = ["describe", str(source), "-o", str(tmp_path / f"out.{fmt}"), "--format", fmt,
                "--endpoint-url", local_sagemaker.endpoint_url,
                "--region", local_sagemaker.region]  # fmt: skip
        code = (
            "import sys\nfrom sagefetch.cli._main import main\n"
            f"code = main({args!r})\n"
            "assert 'pyarrow' not in sys.modules, 'pyarrow was imported'\nsys.exit(code)"
        )

        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )

        assert result.returncode == 0, result.stderr


def test_open_output_refuses_parquet_to_stdout_before_opening_anything() -> None:
    """In process: parquet with no path is a usage error (the CLI's message)."""
    with ExitStack() as files, pytest.raises(UsageError, match="not standard output"):
        open_output(None, "parquet", resume=False, reads=[], files=files)


def test_an_empty_run_writes_a_valid_empty_file(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """No ARN at all: a Parquet file with the columns and no rows, and resumable."""
    source = _write_arns(tmp_path / "arns.txt", ["# nothing"])
    out = tmp_path / "out.parquet"

    assert _describe(local_sagemaker, str(source), "-o", str(out)).returncode == 0

    assert _rows(out) == []
    assert pq.read_schema(out).field("creation_time").type == pa.timestamp("us", tz="UTC")
    assert _describe(local_sagemaker, str(source), "-o", str(out), "--resume").returncode == 0
    assert _rows(out) == []


def test_service_text_that_is_not_utf8_is_kept_escaped(tmp_path: Path) -> None:
    """A lone surrogate in a service message (JSON allows it) is written escaped, not a crash."""
    from sagefetch._outcomes import Failed  # noqa: PLC0415

    out_path = tmp_path / "out.parquet"
    with ExitStack() as files:
        out, _ = open_output(out_path, "parquet", resume=False, reads=[], files=files)
        writer = writer_for("parquet", out)
        writer.header()
        writer.write(Failed("arn:x", "Odd", "bad \ud800 text", 1))
    [row] = pq.read_table(out_path).to_pylist()
    assert row["error_message"] == "bad \\ud800 text"


def test_footer_copies_stay_smaller_than_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many row groups: the footers written along the way add less than the row groups hold.

    A footer after every row group would repeat the growing footer 300 times
    (177 MB, about 70 times the data and last footer here).
    """
    from sagefetch import Described  # noqa: PLC0415
    from sagefetch.testing._catalogue import Catalogue  # noqa: PLC0415

    monkeypatch.setenv("SAGEFETCH_PARQUET_ROWS", "10")
    catalogue = Catalogue("123456789012", "us-east-1", groups=30, versions=100)
    path = tmp_path / "many.parquet"
    with ExitStack() as files:
        out, _ = open_output(path, "parquet", resume=False, reads=[], files=files)
        writer = writer_for("parquet", out)
        writer.header()
        for group in range(30):
            for version in range(1, 101):
                summary: Any = catalogue.summary(group, version)
                writer.write(Described(catalogue.arn(group, version), summary))

    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_rows == 3_000
    assert metadata.num_row_groups == 300
    data = sum(
        metadata.row_group(i).column(j).total_compressed_size
        for i in range(metadata.num_row_groups)
        for j in range(metadata.num_columns)
    )
    # Row groups take more bytes in the file than their pages (pyarrow before 17
    # also writes each column chunk's metadata after it): about 1.7x here at most.
    last_footer = metadata.serialized_size
    assert path.stat().st_size < 3 * (data + last_footer)
