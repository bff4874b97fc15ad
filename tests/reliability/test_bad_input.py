"""Bad input gives a clear message or a failed record: never a traceback, never a lost ARN."""

from __future__ import annotations

import codecs
import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.processes import SAGEFETCH, run_cli

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker


def _describe(
    server: LocalSageMaker, *args: str, stdin: bytes | None = None
) -> tuple[int, list[dict[str, object]], str]:
    result = run_cli(
        "describe", *args, "--endpoint-url", server.endpoint_url, "--region", server.region,
        stdin=stdin,
    )  # fmt: skip
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return result.returncode, records, result.stderr.decode()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"# only\n# comments\n\n   \n", id="only-comments"),
    ],
)
def test_input_without_arns_is_a_clean_empty_run(
    local_sagemaker: LocalSageMaker, data: bytes
) -> None:
    """No ARNs: exit 0, no records, no call."""
    code, records, _ = _describe(local_sagemaker, "-", stdin=data)
    assert (code, records) == (0, [])
    assert local_sagemaker.counters.calls == 0


def test_every_odd_line_gets_exactly_one_record(local_sagemaker: LocalSageMaker) -> None:
    """NUL, non-UTF-8, 10,000-character lines, partitions, case variants: one record each."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    lines = {
        "nul": arn.replace("churn", "ch\x00urn").encode(),
        "latin1": "arn:aws:sagemaker:us-east-1:123456789012:model-package/café/1".encode("latin-1"),
        "long": b"arn:aws:sagemaker:us-east-1:123456789012:model-package/" + b"x" * 10_000,
        "china": arn.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1").encode(),
        "govcloud": arn.replace("arn:aws:", "arn:aws-us-gov:")
        .replace("us-east-1", "us-gov-west-1")
        .encode(),
        "upper": arn.upper().encode(),
        "mixed-name": arn.replace("churn-0000", "Churn-0000").encode(),
        "good": arn.encode(),
    }  # fmt: skip
    code, records, _ = _describe(local_sagemaker, "-", stdin=b"\n".join(lines.values()))

    assert code == 3
    assert len(records) == len(lines)
    by_arn = {record["arn"]: record for record in records}
    assert len(by_arn) == len(lines)

    def error(name: str) -> str:
        key = lines[name].decode("utf-8", "backslashreplace").replace("\0", "\\x00")
        return by_arn[key]["error"]["code"]  # type: ignore[index]

    assert by_arn[arn]["status"] == "described"
    assert error("latin1") == "InvalidInput"
    # A text file holds no NUL: the reader refuses the line (the library would ask for it,
    # as Java's \S in the service's pattern takes NUL, and get "not found").
    assert error("nul") == "InvalidInput"
    assert error("long") == "InvalidArn"
    assert error("upper") == "InvalidArn"
    for name in ("china", "govcloud", "mixed-name"):
        assert error(name) == "ResourceNotFound", name


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda tmp: tmp, "is a directory", id="directory"),
        pytest.param(lambda tmp: tmp / "missing.txt", "cannot read", id="missing"),
        pytest.param(
            lambda tmp: (tmp / "link").symlink_to(tmp / "nowhere") or tmp / "link",
            "cannot read", id="dangling-symlink",
        ),
    ],
)  # fmt: skip
def test_unusable_input_paths_exit_2_with_a_message(
    local_sagemaker: LocalSageMaker, tmp_path: Path, make: object, message: str
) -> None:
    """A directory or unreadable path as input: exit 2, one line saying why."""
    path = make(tmp_path)  # type: ignore[operator]
    code, records, stderr = _describe(local_sagemaker, str(path))
    assert (code, records) == (2, [])
    assert message in stderr


# Input that looks right but is not: line ends, byte order marks, UTF-16/32, invisible
# characters. Each is a test through the real command.


@pytest.mark.parametrize(
    "newline",
    [
        pytest.param("\r", id="cr-only"),
        pytest.param("\r\n", id="crlf"),
        pytest.param("\n", id="lf"),
    ],
)
def test_old_mac_and_windows_line_ends_are_line_breaks(
    local_sagemaker: LocalSageMaker, tmp_path: Path, newline: str
) -> None:
    """A file with CR-only or CRLF line ends: every ARN described, none glued to the next."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    path = tmp_path / "arns.txt"
    path.write_bytes(newline.join(["# exported", *arns]).encode() + newline.encode())
    code, records, _ = _describe(local_sagemaker, str(path), "--progress")
    assert code == 0
    assert sorted(record["arn"] for record in records) == sorted(arns)
    assert {record["status"] for record in records} == {"described"}


def test_byte_order_marks_from_cat_of_two_files_are_dropped(
    local_sagemaker: LocalSageMaker, tmp_path: Path
) -> None:
    """``cat a.txt b.txt`` of files that each start with a UTF-8 BOM: both ARNs described."""
    first, second = local_sagemaker.seed(groups=1, versions=2)
    parts = [codecs.BOM_UTF8 + f"{arn}\r\n".encode() for arn in (first, second)]
    path = tmp_path / "both.txt"
    path.write_bytes(b"".join(parts))
    code, records, _ = _describe(local_sagemaker, str(path))
    assert code == 0
    assert sorted(record["arn"] for record in records) == sorted([first, second])


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        pytest.param("utf-16", "UTF-16LE", id="utf-16-with-bom"),
        pytest.param("utf-16-le", "UTF-16LE", id="utf-16-le-no-bom"),
        pytest.param("utf-16-be", "UTF-16BE", id="utf-16-be-no-bom"),
        pytest.param("utf-32", "UTF-32LE", id="utf-32-with-bom"),
    ],
)
@pytest.mark.parametrize("how", ["path", "stdin-redirect"])
def test_a_utf16_or_utf32_file_is_refused_naming_its_encoding(
    local_sagemaker: LocalSageMaker, tmp_path: Path, codec: str, name: str, how: str
) -> None:
    """A wide file (PowerShell's '>' writes one): exit 2 naming it and the iconv, no call."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    path = tmp_path / "arns.txt"
    path.write_bytes(f"{arn}\r\n".encode(codec))
    output = tmp_path / "out.jsonl"
    if how == "path":
        code, records, stderr = _describe(local_sagemaker, str(path), "-o", str(output))
    else:
        with path.open("rb") as source:
            result = subprocess.run(
                [*SAGEFETCH, "describe", "-", "-o", str(output), "--endpoint-url",
                 local_sagemaker.endpoint_url, "--region", local_sagemaker.region],
                stdin=source, capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        code, records, stderr = result.returncode, [], result.stderr.decode()
    assert (code, records) == (2, [])
    assert f"is {name}, not UTF-8" in stderr
    assert f"iconv -f {name} -t UTF-8" in stderr
    assert "Traceback" not in stderr
    assert not output.exists()
    assert local_sagemaker.counters.calls == 0


def test_utf16_on_a_pipe_gives_each_arn_a_record_naming_the_encoding(
    local_sagemaker: LocalSageMaker,
) -> None:
    """UTF-16 through a pipe (not seekable, read as it comes): one InvalidInput per ARN, no call."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    data = "\r\n".join(["# from PowerShell", *arns, ""]).encode("utf-16")
    code, records, _ = _describe(local_sagemaker, "-", stdin=data)
    assert code == 3
    assert [record["arn"] for record in records] == [f"{arn} (UTF-16LE)" for arn in arns]
    for record in records:
        error = record["error"]
        assert error["code"] == "InvalidInput"  # type: ignore[index]
        assert "holds NUL bytes: the input is UTF-16LE, not UTF-8" in error["message"]  # type: ignore[index]
        assert "iconv -f UTF-16LE -t UTF-8" in error["message"]  # type: ignore[index]
    assert local_sagemaker.counters.calls == 0


def test_a_stray_nul_byte_is_named_with_its_place(local_sagemaker: LocalSageMaker) -> None:
    """One NUL in a UTF-8 line: an InvalidInput record naming the byte, not a guess at UTF-16."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    line = arn[:30] + "\x00" + arn[30:]
    code, records, _ = _describe(local_sagemaker, "-", stdin=line.encode() + b"\n")
    assert code == 3
    [record] = records
    assert record["arn"] == arn[:30] + "\\x00" + arn[30:]
    assert record["error"]["code"] == "InvalidInput"  # type: ignore[index]
    assert record["error"]["message"] == (  # type: ignore[index]
        "line 1 holds a NUL byte at byte 31: a file of ARNs is text and has none"
    )


_PREFIX_STRAYS = [
    pytest.param(0, "\u200b", "U+200B ZERO WIDTH SPACE", id="zero-width-space-first"),
    pytest.param(11, "\u00a0", "U+00A0 NO-BREAK SPACE", id="no-break-space-inside"),
    pytest.param(30, "\t", "U+0009 CHARACTER TABULATION", id="tab-in-the-account"),
    pytest.param(4, "\u2060", "U+2060 WORD JOINER", id="word-joiner"),
    pytest.param(0, "\u0430", "U+0430 CYRILLIC SMALL LETTER A", id="cyrillic-a"),
]


@pytest.mark.parametrize(("index", "char", "named"), _PREFIX_STRAYS)
def test_an_invisible_character_in_an_arn_is_named_with_its_column(
    local_sagemaker: LocalSageMaker, index: int, char: str, named: str
) -> None:
    """A stray character before the name: InvalidArn, no call, named with its column."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    line = arn[:index] + char + arn[index:]
    code, records, _ = _describe(local_sagemaker, "-", stdin=f"{line}\n".encode())
    assert code == 3
    [record] = records
    assert record["arn"] == line
    assert record["error"]["code"] == "InvalidArn"  # type: ignore[index]
    assert f"{named} at column {index + 1}" in record["error"]["message"]  # type: ignore[index]
    assert local_sagemaker.counters.calls == 0


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(lambda arn: arn.replace("/1", "\u200b/1"), id="zwsp-in-the-name"),
        pytest.param(lambda arn: f"{arn}\ufeff{arn}", id="two-arns-glued-by-a-bom"),
    ],
)
def test_a_stray_character_in_the_name_fails_the_arn(
    local_sagemaker: LocalSageMaker, line: Callable[[str], str]
) -> None:
    """The service's pattern takes it, so it is asked for: one record, not found."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    text = line(arn)
    code, records, _ = _describe(local_sagemaker, "-", stdin=f"{text}\n".encode())
    assert code == 3
    [record] = records
    assert record["arn"] == text
    assert record["error"]["code"] == "ResourceNotFound"  # type: ignore[index]


def test_not_found_names_a_stray_character_in_the_name(local_sagemaker: LocalSageMaker) -> None:
    """An ARN not found that holds a zero-width space: the message says so, with the column."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    text = arn.replace("/1", "\u200b/1")
    _, [record], _ = _describe(local_sagemaker, "-", stdin=f"{text}\n".encode())
    column = text.index("\u200b") + 1
    assert f"U+200B ZERO WIDTH SPACE at column {column}" in record["error"]["message"]  # type: ignore[index]
