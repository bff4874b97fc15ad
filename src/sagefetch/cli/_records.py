"""Output records: JSON Lines (the contract) and CSV (flattened audit columns).

JSON Lines, one record per distinct ARN::

    {"arn": "...", "status": "described", "summary": {...}}
    {"arn": "...", "status": "failed", "error": {"code": "...", "message": "...", "attempts": N}}

``sagefetch audit`` records also carry ``"account"`` and ``"region"`` after ``"arn"``.

Datetimes are ISO 8601 strings with their UTC offset.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal, Protocol

import orjson

from sagefetch._outcomes import Described, Failed, Outcome

from ._exits import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextlib import ExitStack
    from pathlib import Path

__all__ = [
    "AUDIT_CSV_COLUMNS",
    "CSV_COLUMNS",
    "Format",
    "Origin",
    "RecordWriter",
    "open_output",
    "read_recorded_arns",
    "writer_for",
]

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
#: Columns of ``sagefetch audit --format csv``: the same, with the record's origin.
AUDIT_CSV_COLUMNS: Final = (CSV_COLUMNS[0], "account", "region", *CSV_COLUMNS[1:])


#: Where a record of ``sagefetch audit`` comes from: its account and region.
Origin = tuple[str, str]


class RecordWriter(Protocol):
    """Writes one record per outcome, whole lines only, flushed as they go."""

    def header(self) -> None:
        """Write what a new file starts with (nothing, or a CSV header)."""

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        """Write and flush the record of ``outcome`` (with its account and region, if given)."""


def record(outcome: Outcome, origin: Origin | None = None) -> dict[str, Any]:
    """The JSON record of an outcome."""
    fields: dict[str, Any] = {"arn": outcome.arn}
    if origin is not None:
        fields["account"], fields["region"] = origin
    if isinstance(outcome, Described):
        fields["status"] = "described"
        fields["summary"] = outcome.summary
    else:
        fields["status"] = "failed"
        fields["error"] = {
            "code": outcome.code,
            "message": outcome.message,
            "attempts": outcome.attempts,
        }
    return fields


class _JsonLinesWriter:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def header(self) -> None:
        pass

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        self._out.write(orjson.dumps(record(outcome, origin), option=orjson.OPT_APPEND_NEWLINE))
        self._out.flush()


class _CsvWriter:
    def __init__(self, out: BinaryIO, *, origin: bool) -> None:
        self._out = out
        self._origin = origin
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")

    def header(self) -> None:
        self._emit(AUDIT_CSV_COLUMNS if self._origin else CSV_COLUMNS)

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        row = _csv_row(outcome)
        if self._origin:
            row = (row[0], *(origin or ("", "")), *row[1:])
        self._emit(row)

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
    containers = summary.get("InferenceSpecification", {}).get("Containers")
    # Not `or [{}]`: stubs before 3.x make a container's Image required.
    first: Mapping[str, Any] = {}
    if containers:
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


def writer_for(fmt: Format, out: BinaryIO, *, origin: bool = False) -> RecordWriter:
    """The record writer of a format; ``origin`` adds account and region columns to CSV."""
    return _JsonLinesWriter(out) if fmt == "jsonl" else _CsvWriter(out, origin=origin)


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
                f"{path}, line {number}, is not a sagefetch JSON record; cannot resume into it\n"
                "HINT: --resume needs the output of an earlier run with the same --format."
            ) from exc
    return arns


def open_output(
    path: Path | None, fmt: Format, *, resume: bool, files: ExitStack
) -> tuple[BinaryIO, set[str]]:
    """Open the output (``None``: stdout) and the ARNs it already records (``resume``).

    Without ``resume`` an existing file is replaced; with it, appended to.
    """
    if path is None:
        if resume:
            raise UsageError("--resume needs --output FILE: it reads the ARNs already there")
        return sys.stdout.buffer, set()
    if path.is_dir():
        raise UsageError(f"{path} is a directory")
    recorded: set[str] = set()
    try:
        if resume and path.exists():
            try:
                recorded = read_recorded_arns(path, fmt)
            except (ValueError, UnicodeDecodeError) as exc:
                raise UsageError(str(exc)) from exc
            return files.enter_context(path.open("ab")), recorded
        return files.enter_context(path.open("wb")), recorded
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
