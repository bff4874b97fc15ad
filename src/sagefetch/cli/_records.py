"""Output records (JSON Lines, CSV, Parquet) and the output file they go to.

JSON Lines, one record per distinct ARN::

    {"arn": "...", "status": "described", "summary": {...}}
    {"arn": "...", "status": "failed", "error": {"code": "...", "message": "...", "attempts": N}}

``sagefetch audit`` records also carry ``"account"``, ``"region"`` and ``"account_name"``
(null unless an accounts file or the organization names it) after ``"arn"``.
Datetimes are ISO 8601 strings with their UTC offset. Parquet (``sagefetch[parquet]``)
has typed columns, one row per distinct ARN: see ``_parquet.py``.

The output file is sacred:

- it is never a file the run reads (the ARN file, standard input, the AWS
  configuration): same path, hard link or symlink, checked before it is opened;
- it is never the file standard error goes to (``> out 2>&1``): the summary
  and log lines would land among the records;
- one run writes it at a time: an exclusive lock on the whole file, taken
  before anything in it is cut, held until the process ends;
- ``--resume`` reads it as a stream (its ARNs, counts by status, nothing else
  kept), refuses a file of the other format, and cuts off a torn last record,
  only when it could be the start of one: any other last line is refused, untouched;
- a record is written whole or not at all: a write that fails half-way (disk
  full, file too large, I/O error) is cut off again and stops the run.
  (Parquet: a row group and its footer are one write; a torn one is cut off
  by ``--resume``.)
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import re
import stat
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import orjson

from sagefetch._exceptions import RunStoppedError
from sagefetch._outcomes import Described, Failed, Outcome

from ._exits import UsageError

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from contextlib import ExitStack

__all__ = [
    "AUDIT_CSV_COLUMNS",
    "CSV_COLUMNS",
    "OUTPUT_CLOSED",
    "OUTPUT_FAILED",
    "Format",
    "Origin",
    "Output",
    "OutputError",
    "ReadFile",
    "RecordWriter",
    "Recorded",
    "files_read",
    "open_output",
    "writer_for",
]

Format = Literal["jsonl", "csv", "parquet"]

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
AUDIT_CSV_COLUMNS: Final = (CSV_COLUMNS[0], "account", "region", "account_name", *CSV_COLUMNS[1:])
#: The audit CSV's columns before records carried the account's name (refused by --resume).
_AUDIT_CSV_COLUMNS_1: Final = (CSV_COLUMNS[0], "account", "region", *CSV_COLUMNS[1:])

#: ``RunStoppedError.code`` when the reader of the output went away (``| head``).
OUTPUT_CLOSED: Final = "OutputClosed"
#: ``RunStoppedError.code`` when the output could not take a record (disk full, ...).
OUTPUT_FAILED: Final = "OutputFailed"

#: Where a record of ``sagefetch audit`` comes from: its account, region and account name.
Origin = tuple[str, str, str | None]

_CHUNK: Final = 1 << 20
#: No record comes near this; a longer line is not one of ours.
_MAX_RECORD: Final = 16 << 20


# -- records -------------------------------------------------------------------


class RecordWriter(Protocol):
    """Writes one record per outcome, whole records only, as they come."""

    def header(self) -> None:
        """Write what a new file starts with (nothing, a CSV header, Parquet's magic)."""

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        """Write the record of ``outcome`` (with its account and region, if given).

        Raises:
            OutputError: the output cannot take it; the run must stop.
        """

    def close(self) -> None:
        """Write what the writer still holds (Parquet's last rows and footer). Idempotent.

        Raises:
            OutputError: the output cannot take it.
        """


def record(outcome: Outcome, origin: Origin | None = None) -> dict[str, Any]:
    """The JSON record of an outcome."""
    fields: dict[str, Any] = {"arn": outcome.arn}
    if origin is not None:
        fields["account"], fields["region"], fields["account_name"] = origin
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
    def __init__(self, out: Output) -> None:
        self._out = out

    def header(self) -> None:
        pass

    def close(self) -> None:
        pass

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        fields = record(outcome, origin)
        try:
            line = orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            # A lone surrogate (a service message's "\ud800", which JSON allows)
            # cannot be UTF-8: written escaped, as in CSV.
            line = orjson.dumps(_escape_surrogates(fields), option=orjson.OPT_APPEND_NEWLINE)
        self._out.write(line)


def _escape_surrogates(value: Any) -> Any:
    r"""``value`` with every string's lone surrogates written as ``\udXXX``."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, Mapping):
        return {_escape_surrogates(key): _escape_surrogates(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_surrogates(item) for item in value]
    return value


class _CsvWriter:
    def __init__(self, out: Output, *, origin: bool) -> None:
        self._out = out
        self._origin = origin

    def header(self) -> None:
        self._out.write(_csv_line(AUDIT_CSV_COLUMNS if self._origin else CSV_COLUMNS))

    def close(self) -> None:
        pass

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        row = _csv_row(outcome)
        if self._origin:
            row = (row[0], *(origin or ("", "", "")), *row[1:])
        self._out.write(_csv_line(row))


#: What makes a CSV field need quotes (RFC 4180): a comma, a quote, a CR or an LF.
#: Not csv.writer: with lineterminator="\n" it leaves a bare CR unquoted
#: (Python 3.11), and a reader then ends the row there.
_NEEDS_QUOTES: Final = re.compile(r'[",\r\n]')


def _csv_line(fields: Iterable[object]) -> bytes:
    cells = []
    for value in fields:
        text = "" if value is None else str(value)
        if _NEEDS_QUOTES.search(text):
            text = '"' + text.replace('"', '""') + '"'
        cells.append(text)
    # A lone surrogate (from a service message) cannot be UTF-8: written escaped.
    return (",".join(cells) + "\n").encode("utf-8", "backslashreplace")


def _field(value: object, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, or None where a level is null, absent or not a mapping."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _csv_row(outcome: Outcome) -> tuple[object, ...]:
    if isinstance(outcome, Failed):
        return (outcome.arn, "failed", "", "", "", "", "", "", "", outcome.code, outcome.message)
    summary = outcome.summary
    # Any level may be null or missing in what the service sends
    # (InferenceSpecification: null, Containers: [], ModelDataSource: null):
    # an empty cell, never a crash.
    containers = _field(summary, "InferenceSpecification", "Containers")
    first = containers[0] if isinstance(containers, list) and containers else None
    created = _field(summary, "CreationTime")
    return (
        outcome.arn,
        "described",
        _field(summary, "ModelPackageGroupName"),
        _field(summary, "ModelPackageVersion"),
        _field(summary, "ModelApprovalStatus"),
        _field(summary, "ModelPackageStatus"),
        created.isoformat() if isinstance(created, datetime) else created,
        _field(first, "Image"),
        _field(first, "ModelDataUrl") or _field(first, "ModelDataSource", "S3DataSource", "S3Uri"),
        "",
        "",
    )


def writer_for(fmt: Format, out: Output, *, origin: bool = False) -> RecordWriter:
    """The record writer of a format; ``origin`` adds account and region columns (CSV, Parquet).

    A Parquet writer buffers rows: the output's ``close()`` writes them.
    """
    if fmt == "parquet":
        _need_pyarrow()
        from ._parquet import ParquetWriter  # noqa: PLC0415 - optional extra, slow to import

        return ParquetWriter(out, origin=origin)
    return _JsonLinesWriter(out) if fmt == "jsonl" else _CsvWriter(out, origin=origin)


#: What a missing pyarrow makes ``--format parquet`` say.
PARQUET_MISSING: Final = "--format parquet needs pyarrow: pip install 'sagefetch[parquet]'"


def _need_pyarrow() -> None:
    """Import ``_parquet`` (pyarrow), only when Parquet is asked for: it takes a while.

    Raises:
        UsageError: pyarrow is not installed.
    """
    try:
        from ._parquet import ParquetWriter  # noqa: F401, PLC0415 - optional, slow to import
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "pyarrow":
            raise
        raise UsageError(PARQUET_MISSING) from None


# -- the output ----------------------------------------------------------------


class OutputError(RunStoppedError):
    """The output cannot take another record: its reader left, the disk is full, ...

    Every record before the failed one is in the output, whole.
    """


#: What to do about a write error, by errno.
_REMEDIES: Final = {
    errno.ENOSPC: "free some space on its disk",
    errno.EDQUOT: "free some space or raise the disk quota",
    errno.EFBIG: "raise the file size limit (ulimit -f) or write to a file system that allows "
    "larger files",
    errno.EIO: "check the disk and its file system",
}


class Output:
    """Where the records go: one ``write`` per record, each record whole or not at all.

    A file: a record that fails half-way is cut off again, so the file ends in
    whole records. After a failure nothing more is written; every later write
    raises the same :class:`OutputError`.
    """

    def __init__(self, name: str, fd: int, *, end: int, regular: bool) -> None:
        self.name = name
        self._fd = fd
        self._end = end
        self._regular = regular
        self._error: OutputError | None = None
        self._closing: list[Callable[[], None]] = []

    @property
    def empty(self) -> bool:
        """Whether the output holds nothing yet (a CSV header is due)."""
        return self._end == 0

    @property
    def end(self) -> int:
        """Where the next write goes: the bytes written to the output so far, or its size."""
        return self._end

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes of the output at ``offset`` (fewer at its end; none if not a file)."""
        if not self._regular:
            return b""
        parts = []
        while size > 0 and (chunk := os.pread(self._fd, min(size, _CHUNK), offset)):
            parts.append(chunk)
            offset += len(chunk)
            size -= len(chunk)
        return b"".join(parts)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` in :meth:`close` (a writer's last rows)."""
        self._closing.append(callback)

    def close(self) -> None:
        """Write what writers still hold; nothing after the output failed. Idempotent.

        Raises:
            OutputError: the output could not take it.
        """
        closing, self._closing = self._closing, []
        for callback in closing:
            if self._error is None:
                callback()

    def write(self, data: bytes) -> None:
        """Write ``data`` whole.

        Raises:
            OutputError: it could not be; what was written of it is cut off again.
        """
        if self._error is not None:
            raise self._error
        view = memoryview(data)
        try:
            while view:  # a write to a nearly full disk may take part of it
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._error = self._stop_error(exc)
            self._cut()
            raise self._error from exc
        self._end += len(data)

    def cut(self, end: int) -> None:
        """Cut the output back to ``end``, after it failed: where its writer's last whole part ends.

        A Parquet writer's row groups are only readable once a footer follows them.
        """
        if self._error is not None and end < self._end:
            self._end = end
            self._cut()

    def _cut(self) -> None:
        """Cut off what a failed write left of its record (shrinking needs no space)."""
        if self._regular:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._end)

    def _stop_error(self, exc: OSError) -> OutputError:
        if isinstance(exc, BrokenPipeError):
            return OutputError("the output was closed before the run finished", code=OUTPUT_CLOSED)
        name = errno.errorcode.get(exc.errno or 0)
        reason = exc.strerror or str(exc)
        steps = [_REMEDIES[exc.errno]] if exc.errno in _REMEDIES else []
        if self._regular:
            steps.append("run it again with --resume: the file holds whole records only")
        return OutputError(
            f"cannot write {self.name}: {reason}{f' ({name})' if name else ''}"
            + (f"; {', then '.join(steps)}" if steps else ""),
            code=OUTPUT_FAILED,
        )


@dataclass
class Recorded:
    """What an output already holds (``--resume``): its ARNs, and its records by status."""

    arns: set[str] = field(default_factory=set)
    """ARNs (for ``audit``, also group keys) with a whole record."""
    described: int = 0
    failed: int = 0

    def add(self, arn: str, status: str) -> bool:
        """Count one record; False if ``status`` is not one a record has."""
        if status == "described":
            self.described += 1
        elif status == "failed":
            self.failed += 1
        else:
            return False
        self.arns.add(arn)
        return True


@dataclass(frozen=True, slots=True)
class ReadFile:
    """A file a command reads, which its output must never be."""

    what: str
    """How messages name it: "the input file", "standard input", ..."""
    device: int
    inode: int


#: The AWS files every command reads (botocore reads them even with explicit
#: credentials), by the variable that names them and the default.
_AWS_FILES: Final = (
    ("AWS_CONFIG_FILE", "~/.aws/config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", None),
    ("AWS_CA_BUNDLE", None),
)


def files_read(arn_file: str | None = None) -> list[ReadFile]:
    """The regular files a command reads: its ARN file (``-``: stdin) and the AWS configuration."""
    candidates: list[tuple[str, str | int]] = []
    if arn_file == "-":
        candidates.append(("standard input (it is redirected from it)", sys.stdin.fileno()))
    elif arn_file is not None:
        candidates.append(("the input file", arn_file))
    for variable, default in _AWS_FILES:
        path = os.environ.get(variable) or default
        if path:
            candidates.append((f"the AWS file {variable} names", path))
    found = []
    for what, where in candidates:
        try:
            status = os.fstat(where) if isinstance(where, int) else Path(where).expanduser().stat()
        except OSError:
            continue
        if stat.S_ISREG(status.st_mode):
            found.append(ReadFile(what, status.st_dev, status.st_ino))
    return found


def _refuse_onto(name: str, status: os.stat_result | None, reads: Sequence[ReadFile]) -> None:
    """Writing over a file the run reads is a usage error, found before anything is opened."""
    if status is None:
        return
    for read in reads:
        if (status.st_dev, status.st_ino) == (read.device, read.inode):
            raise UsageError(
                f"{name} is {read.what}; writing the records would destroy it\n"
                "HINT: write the records to another file (-o)."
            )


def _refuse_stderr(name: str, status: os.stat_result | None) -> None:
    """Records in the file standard error goes to (``> out 2>&1``, ``-o out 2>>out``): refused.

    The summary, log lines and messages would land among the records, and
    ``--resume`` could not read the file again. Pipes and terminals are fine.
    """
    if status is None or not stat.S_ISREG(status.st_mode):
        return
    try:
        errors = os.fstat(2)
    except OSError:
        return  # closed: nothing is written there
    if (errors.st_dev, errors.st_ino) == (status.st_dev, status.st_ino):
        raise UsageError(
            f"{name} is also where standard error goes (2>&1 or 2>>); the summary and log "
            "lines would be written in among the records\n"
            "HINT: send standard error elsewhere (2>sagefetch.log) or leave it on the terminal."
        )


def open_output(
    path: Path | None,
    fmt: Format,
    *,
    resume: bool,
    reads: Sequence[ReadFile],
    files: ExitStack,
    origin: bool = False,
) -> tuple[Output, Recorded]:
    """Open the output (``None``: stdout), locked, and what it already records (``resume``).

    ``origin``: ``sagefetch audit``'s records (account and region). Without
    ``resume`` an existing file is replaced; with it, appended to.

    Raises:
        UsageError: the output is a file the run reads (``reads``) or the file
            standard error goes to, another run writes it, it cannot be opened,
            or (``resume``) it is not an output of this command and format.
    """
    if fmt == "parquet":
        _check_parquet(path)
    if path is None:
        if resume:
            raise UsageError("--resume needs --output FILE: it reads the ARNs already there")
        try:
            fd = sys.stdout.fileno()  # None when closed (>&-)
            status = os.fstat(fd)
        except (AttributeError, OSError, ValueError) as exc:
            raise UsageError("cannot write standard output: it is closed") from exc
        _refuse_onto("standard output", status, reads)
        _refuse_stderr("standard output", status)
        if stat.S_ISREG(status.st_mode):
            _lock(fd, "standard output (a file)")
        sys.stdout.flush()
        return Output("standard output", fd, end=0, regular=False), Recorded()
    if path.is_dir():
        raise UsageError(f"{path} is a directory")
    try:
        existing: os.stat_result | None = path.stat()
    except OSError:
        existing = None  # a new file is no input
    _refuse_onto(f"--output {path}", existing, reads)
    _refuse_stderr(f"--output {path}", existing)
    # No O_TRUNC: nothing is cut before the lock is held.
    flags = (os.O_RDWR if resume else os.O_WRONLY) | os.O_CREAT
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    files.callback(os.close, fd)
    regular = stat.S_ISREG(os.fstat(fd).st_mode)
    recorded = Recorded()
    if regular:
        _lock(fd, str(path))
        if resume:
            recorded = _read_recorded(fd, str(path), fmt, origin=origin)
        else:
            os.ftruncate(fd, 0)
    elif resume:
        raise UsageError(f"--resume needs a regular file; {path} is not one")
    end = os.lseek(fd, 0, os.SEEK_END) if regular else 0
    out = Output(str(path), fd, end=end, regular=regular)
    files.callback(_close, out)  # before the descriptor is closed (last in, first out)
    return out, recorded


def _check_parquet(path: Path | None) -> None:
    """Parquet goes to a file, with pyarrow: else a one-line usage error, nothing opened."""
    _need_pyarrow()
    if path is None:
        raise UsageError(
            "--format parquet writes a file, not standard output: its footer comes last\n"
            "HINT: name the file with -o (-o records.parquet)."
        )


def _close(out: Output) -> None:
    """Close the output at the end of the run (commands close it themselves, to report).

    Raises:
        UsageError: what the writers still held could not be written.
    """
    try:
        out.close()
    except OutputError as exc:
        raise UsageError(str(exc)) from exc


# -- one writer at a time --------------------------------------------------------

#: ``struct flock`` by platform: its layout, and where l_type and l_pid are in it.
_FLOCK_LAYOUTS: Final = {
    "linux": ("hhqqi", 0, 4),  # l_type, l_whence, l_start, l_len, l_pid
    "darwin": ("qqihh", 3, 2),  # l_start, l_len, l_pid, l_type, l_whence (the BSDs too)
    "freebsd": ("qqihh", 3, 2),
    "openbsd": ("qqihh", 3, 2),
    "netbsd": ("qqihh", 3, 2),
}


def _lock(fd: int, name: str) -> None:
    """Hold an exclusive lock on the whole output until the process ends: one writer at a time.

    A POSIX record lock (fcntl): the kernel drops it when the process ends,
    even on SIGKILL, and F_GETLK names the holder. Closing *any* descriptor of
    the file drops it too, so the output is opened once and kept open.

    Raises:
        UsageError: another process holds it.
    """
    if sys.platform == "win32":
        print(
            f"sagefetch: cannot lock {name} on Windows: make sure no other run writes to it",
            file=sys.stderr,
        )
        return
    holder: int | None = None
    for _ in range(3):  # the holder may end between the two calls
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in {errno.EACCES, errno.EAGAIN}:
                # ENOLCK: a network file system without a lock service.
                print(
                    f"sagefetch: cannot lock {name} ({exc.strerror}): make sure no other run "
                    "writes to it",
                    file=sys.stderr,
                )
                return
        else:
            return
        holder = _lock_holder(fd)
        if holder != 0:
            break
    who = f"process {holder}" if holder else "another process"
    raise UsageError(
        f"{name} is locked by {who}, most likely another sagefetch run writing it; two runs "
        "would interleave their records\n"
        "HINT: wait for that run to end (or stop it), then run again, with --resume to keep "
        "its records."
    )


def _lock_holder(fd: int) -> int | None:
    """The pid holding a lock on the file (F_GETLK), 0 if none does, None if unknown."""
    if sys.platform == "win32":
        return None
    platform = next((name for name in _FLOCK_LAYOUTS if sys.platform.startswith(name)), None)
    if platform is None:
        return None
    layout, type_at, pid_at = _FLOCK_LAYOUTS[platform]
    fields = [0] * 5
    fields[type_at] = fcntl.F_WRLCK  # whole file: l_whence SEEK_SET, l_start 0, l_len 0
    # Room to spare: the kernel writes sizeof(struct flock), padding included.
    request = struct.pack(layout, *fields).ljust(64, b"\0")
    try:
        answer = struct.unpack_from(layout, fcntl.fcntl(fd, fcntl.F_GETLK, request))
    except OSError:
        return None
    if answer[type_at] == fcntl.F_UNLCK:
        return 0
    pid = answer[pid_at]
    return pid if isinstance(pid, int) and pid > 0 else None


# -- reading what is there (--resume) ----------------------------------------------

_HEADERS: Final = {
    "csv": ",".join(CSV_COLUMNS).encode(),
    "audit-csv": ",".join(AUDIT_CSV_COLUMNS).encode(),
    "audit-csv-1": ",".join(_AUDIT_CSV_COLUMNS_1).encode(),
}
_LAYOUT_NAMES: Final = {
    "jsonl": "JSON Lines (--format jsonl)",
    "csv": "the CSV of sagefetch describe (--format csv)",
    "audit-csv": "the CSV of sagefetch audit (--format csv, with account and region)",
    "audit-csv-1": "the CSV of an earlier sagefetch audit (without the account_name column)",
    "parquet": "Parquet (--format parquet)",
}


def _read_recorded(fd: int, name: str, fmt: Format, *, origin: bool) -> Recorded:
    """What the output at ``fd`` records; a torn last record is cut off.

    Streams the file (from its start; leaves the position anywhere): memory
    holds one chunk, one record and the ARNs.

    Raises:
        UsageError: the file is of another format, or not an output of ours.
    """
    if fmt == "parquet":
        _need_pyarrow()
        from ._parquet import read_recorded  # noqa: PLC0415 - optional extra, slow to import

        recorded = Recorded()
        whole = read_recorded(fd, name, origin=origin, add=recorded.add)
        if whole < os.fstat(fd).st_size:
            # A checkpoint cut short (a run killed while writing it): its rows
            # are described again.
            os.ftruncate(fd, whole)
            os.fsync(fd)
        return recorded
    wanted = "jsonl" if fmt == "jsonl" else "audit-csv" if origin else "csv"
    os.lseek(fd, 0, os.SEEK_SET)
    found = _layout(os.read(fd, _CHUNK), wanted)
    if found is None:
        raise UsageError(
            f"{name} is not an output of sagefetch: it does not start like one (JSON Lines or "
            "CSV); it was left as it is\n"
            "HINT: --resume appends to the output of an earlier run; name a new file to start "
            "afresh."
        )
    if found not in {"empty", wanted}:
        hint = (
            "resume with --format parquet"
            if found == "parquet"
            else f"resume with --format {'jsonl' if found == 'jsonl' else 'csv'}"
            if (found == "audit-csv") == origin
            else "write to another file"
        )
        raise UsageError(
            f"{name} is in {_LAYOUT_NAMES[found]}, not {_LAYOUT_NAMES[wanted]}; resuming would "
            f"mix the two in one file\nHINT: {hint}."
        )
    columns = AUDIT_CSV_COLUMNS if origin else CSV_COLUMNS
    if wanted == "jsonl":
        recorded, whole = _scan_json_lines(fd, name)
    else:
        recorded, whole = _scan_csv(fd, name, columns)
    size = os.fstat(fd).st_size
    if whole < size:
        # A run killed mid-write leaves at most one partial record, at the end:
        # cut off, so its ARN is described again and the file stays valid. Only
        # what could be the start of a record: anything else is someone's data.
        tail = _read_tail(fd, whole, size)
        if tail is None or not (
            _torn_json_record(tail)
            if wanted == "jsonl"
            else whole == 0 or _torn_csv_row(tail, columns.index("status"))
        ):
            raise UsageError(
                f"{name} is not an output of sagefetch: it ends in a line that is neither a "
                "record nor the start of one; it was left as it is\n"
                "HINT: --resume appends to the output of an earlier run with the same --format; "
                "name a new file to start afresh."
            )
        os.ftruncate(fd, whole)
        os.fsync(fd)
    return recorded


def _read_tail(fd: int, start: int, end: int) -> bytes | None:
    """The bytes of the file from ``start`` to ``end``; None if longer than any record."""
    if end - start > _MAX_RECORD:
        return None
    os.lseek(fd, start, os.SEEK_SET)
    parts = []
    while start < end and (chunk := os.read(fd, min(_CHUNK, end - start))):
        parts.append(chunk)
        start += len(chunk)
    return b"".join(parts)


#: How every JSON Lines record starts (``record()`` puts the ARN first; orjson
#: writes no spaces, other JSON writers may).
_JSON_RECORD_START: Final = re.compile(rb'\{\s*"arn"\s*:\s*"')
_JSON_RECORD_OPENING: Final = b'{"arn":"'


def _json_opening_cut_short(data: bytes) -> bool:
    """Whether ``data`` is a JSON record's opening cut short: ``{"arn":"`` as far as it goes."""
    return len(data) < 64 and _JSON_RECORD_OPENING.startswith(re.sub(rb"\s+", b"", data))


def _torn_json_record(tail: bytes) -> bool:
    """Whether ``tail``, a last line without its newline, could be a record cut short."""
    if not _JSON_RECORD_START.match(tail):
        return _json_opening_cut_short(tail)
    try:
        fields = orjson.loads(tail)
    except orjson.JSONDecodeError:
        return True  # a record's opening, then cut
    # Whole JSON: a record that lost only its newline, or someone's document.
    return (
        isinstance(fields, dict)
        and isinstance(fields.get("arn"), str)
        and fields.get("status") in {"described", "failed"}
    )


_STATUSES: Final = ("described", "failed")


def _torn_csv_row(tail: bytes, status_at: int) -> bool:
    """Whether ``tail``, what follows the last whole row, could be a row cut short.

    Its first line starts a row: an ARN (quoted when an input line that is not
    an ARN holds a comma or a quote), the account and region for audit, then a
    status, as far as they go. Line breaks only come later, in quoted fields.
    """
    line = re.split("[\r\n]", tail.decode("utf-8", "replace"), maxsplit=1)[0]
    try:
        fields = next(csv.reader([line], strict=False))  # a field cut short: as far as it goes
    except (csv.Error, StopIteration):
        return False
    if not fields or not fields[0]:
        return False
    if len(fields) <= status_at:  # cut before the status: only an ARN's look to go by
        arn = fields[0]
        return line.startswith('"') or arn.startswith("arn:") or "arn:".startswith(arn)
    status = fields[status_at]
    if len(fields) == status_at + 1:  # cut within the status
        return any(known.startswith(status) for known in _STATUSES)
    return status in _STATUSES


def _layout(start: bytes, wanted: str) -> str | None:
    """What a file starting with ``start`` holds: "empty", a format's layout, or None.

    A first line cut short (a run killed while writing it) is read as ``wanted``
    when it could be the start of it.
    """
    if not start:
        return "empty"
    if start.startswith(b"PAR1"):
        return "parquet"
    line, newline, _ = start.partition(b"\n")
    if line.startswith(b"{"):
        # A record's opening; or, with no newline after it, as much of it as was written.
        opening = _JSON_RECORD_START.match(line) or (not newline and _json_opening_cut_short(line))
        return "jsonl" if opening else None
    line = line.removesuffix(b"\r")
    layouts = sorted(_HEADERS.items(), key=lambda item: item[0] != wanted)
    for layout, header in layouts:
        if line == header or (line and not newline and header.startswith(line)):
            return layout
    return None


def _lines(fd: int, name: str) -> Iterator[tuple[bytes, int]]:
    """The whole lines of the file at ``fd`` (newline included), each with its end offset.

    A last line without its newline (torn) is not yielded.
    """
    read_at = os.lseek(fd, 0, os.SEEK_SET)
    pending = b""
    overlong = False  # discarding a line too long to be a record
    number = 0
    while chunk := os.read(fd, _CHUNK):
        read_at += len(chunk)
        data = pending + chunk if pending else chunk
        base = read_at - len(data)
        cursor = 0
        while (newline := data.find(b"\n", cursor)) >= 0:
            number += 1
            if overlong:
                raise UsageError(
                    f"{name}, line {number}, is longer than any sagefetch record; cannot resume "
                    "into it"
                )
            yield data[cursor : newline + 1], base + newline + 1
            cursor = newline + 1
        pending = data[cursor:]
        if len(pending) > _MAX_RECORD:
            overlong, pending = True, b""


def _not_ours(name: str, number: int) -> UsageError:
    return UsageError(
        f"{name}, line {number}, is not a sagefetch record; cannot resume into it\n"
        "HINT: --resume needs the output of an earlier run with the same --format."
    )


def _scan_json_lines(fd: int, name: str) -> tuple[Recorded, int]:
    """The records of a JSON Lines output, and the offset where its whole records end."""
    recorded = Recorded()
    whole = 0
    for number, (line, end) in enumerate(_lines(fd, name), start=1):
        if line.strip():
            try:
                fields = orjson.loads(line)
                arn, status = fields["arn"], fields["status"]
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise _not_ours(name, number) from exc
            if not isinstance(arn, str) or not recorded.add(arn, status):
                raise _not_ours(name, number)
        whole = end
    return recorded, whole


class _DecodedLines:
    """Lines for csv.reader, decoded; remembers where the last one ends, and running out."""

    def __init__(self, lines: Iterator[tuple[bytes, int]], name: str) -> None:
        self._lines = lines
        self._name = name
        self.number = 0
        self.end = 0
        self.last = ""
        self.exhausted = False

    def __iter__(self) -> _DecodedLines:
        return self

    def __next__(self) -> str:
        try:
            raw, self.end = next(self._lines)
        except StopIteration:
            self.exhausted = True
            raise
        self.number += 1
        try:
            self.last = raw.decode()
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"{self._name}, line {self.number}, is not UTF-8; cannot resume into it"
            ) from exc
        return self.last


def _scan_csv(fd: int, name: str, columns: tuple[str, ...]) -> tuple[Recorded, int]:
    """The records of a CSV output, and the offset where its whole records end.

    A record may span lines (a message with line breaks, quoted); one that
    runs into the end of the file is torn.
    """
    status_at = columns.index("status")
    recorded = Recorded()
    lines = _DecodedLines(_lines(fd, name), name)
    rows = csv.reader(lines, strict=False)
    whole = 0
    limit = csv.field_size_limit(_MAX_RECORD)
    try:
        while True:
            row: list[str] | None
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                row = _legacy_row(lines.last)
                if row is None:
                    raise _not_ours(name, lines.number) from exc
            if lines.exhausted:
                break  # torn: its quoted field never closed
            if whole == 0:
                whole = lines.end  # the header, checked before
                continue
            if len(row) <= status_at or not recorded.add(row[0], row[status_at]):
                raise _not_ours(name, lines.number)
            whole = lines.end
    finally:
        csv.field_size_limit(limit)
    return recorded, whole


def _legacy_row(line: str) -> list[str] | None:
    """The leading fields of a row an earlier version wrote with a bare CR unquoted.

    The CR can only be in the message, the last field: what comes before it
    holds the ARN and the status.
    """
    before, cr, _ = line.partition("\r")
    if not cr:
        return None
    try:
        return next(csv.reader([before]))
    except (csv.Error, StopIteration):
        return None
