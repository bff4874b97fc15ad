"""Output records: JSON Lines (the contract) and CSV (flattened audit columns).

JSON Lines, one record per distinct ARN::

    {"arn": "...", "status": "described", "summary": {...}}
    {"arn": "...", "status": "failed", "error": {"code": "...", "message": "...", "attempts": N}}

Datetimes are ISO 8601 strings with their UTC offset.
"""

from __future__ import annotations

import csv
import io
import os
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal, Protocol

import orjson

from ._outcomes import Described, Failed, Outcome

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CSV_COLUMNS", "Format", "RecordWriter", "read_recorded_arns", "writer_for"]

Format = Literal["jsonl", "csv"]

#: Columns of ``--format csv``, in order.
CSV_COLUMNS: Final = (
    "arn",
    "status",
    "group",
    "version",
    "approval_status",
    "package_status",
    "creation_time",
    "image",
    "model_data_url",
    "error_code",
    "error_message",
)


class RecordWriter(Protocol):
    """Writes one record per outcome, whole lines only, flushed as they go."""

    def header(self) -> None:
        """Write what a new file starts with (nothing, or a CSV header)."""

    def write(self, outcome: Outcome) -> None:
        """Write and flush the record of ``outcome``."""


def record(outcome: Outcome) -> dict[str, Any]:
    """The JSON record of an outcome."""
    if isinstance(outcome, Described):
        return {"arn": outcome.arn, "status": "described", "summary": outcome.summary}
    return {
        "arn": outcome.arn,
        "status": "failed",
        "error": {"code": outcome.code, "message": outcome.message, "attempts": outcome.attempts},
    }


class _JsonLinesWriter:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def header(self) -> None:
        pass

    def write(self, outcome: Outcome) -> None:
        self._out.write(orjson.dumps(record(outcome), option=orjson.OPT_APPEND_NEWLINE))
        self._out.flush()


class _CsvWriter:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")

    def header(self) -> None:
        self._emit(CSV_COLUMNS)

    def write(self, outcome: Outcome) -> None:
        self._emit(_csv_row(outcome))

    def _emit(self, row: tuple[object, ...]) -> None:
        self._csv.writerow(row)
        self._out.write(self._text.getvalue().encode())
        self._out.flush()
        self._text.seek(0)
        self._text.truncate()


def _csv_row(outcome: Outcome) -> tuple[object, ...]:
    if isinstance(outcome, Failed):
        return (outcome.arn, "failed", "", "", "", "", "", "", "", outcome.code, outcome.message)
    summary = outcome.summary
    containers = summary.get("InferenceSpecification", {}).get("Containers") or [{}]
    first = containers[0]
    created = summary.get("CreationTime")
    return (
        outcome.arn,
        "described",
        summary.get("ModelPackageGroupName", ""),
        summary.get("ModelPackageVersion", ""),
        summary.get("ModelApprovalStatus", ""),
        summary.get("ModelPackageStatus", ""),
        created.isoformat() if created is not None else "",
        first.get("Image", ""),
        first.get("ModelDataUrl")
        or first.get("ModelDataSource", {}).get("S3DataSource", {}).get("S3Uri", ""),
        "",
        "",
    )


def writer_for(fmt: Format, out: BinaryIO) -> RecordWriter:
    """The record writer of a format."""
    return _JsonLinesWriter(out) if fmt == "jsonl" else _CsvWriter(out)


def read_recorded_arns(path: Path, fmt: Format) -> set[str]:
    """ARNs that already have a whole record in ``path``; cut off a torn last line.

    A run killed mid-write leaves at most one partial line at the end; it is
    removed so the ARN is described again and the file stays valid.
    """
    with path.open("r+b") as file:
        data = file.read()
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):
            file.truncate(len(whole))
            file.flush()
            os.fsync(file.fileno())
    if fmt == "csv":
        rows = csv.reader(io.StringIO(whole.decode()))
        return {row[0] for row in rows if row and row[0] != CSV_COLUMNS[0]}
    arns = set()
    for number, line in enumerate(whole.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            arns.add(orjson.loads(line)["arn"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path}, line {number}, is not a smfetch JSON record; cannot resume into it\n"
                "HINT: --resume needs the output of an earlier run with the same --format."
            ) from exc
    return arns
