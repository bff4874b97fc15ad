"""Parquet records (``--format parquet``, needs ``sagefetch[parquet]``): typed, resumable.

One row per distinct ARN, described or failed (``status``; ``error_*`` set
for a failure), with typed columns: ``version`` an integer, ``creation_time``
a ``timestamp[us, tz=UTC]``, ``containers`` a list of structures. Rows are
buffered and written as row groups (:data:`ROW_GROUP_ROWS` rows, or fewer
after :data:`CHECKPOINT_SECONDS` when that is cheap), so memory holds one row
group whatever the run's size.

The file is valid at every footer, which makes a killed run resumable::

    PAR1 + label                 header(): "sagefetch describe/1" (bytes no reader reads)
    row group 1, footer (1)      checkpoint 1: one write
    row group 2                  (the row groups since the footer are fewer bytes than it)
    row group 3, footer (1-3)    checkpoint 2: the footer covers every row group so far
    ...

A footer is written once the row groups since the last one outweigh it, so
its copies stay smaller than the data. A reader reads the last footer;
earlier footers are bytes no offset points at. ``--resume`` finds the last
whole footer whose label is ours and cuts off what follows it (row groups no
footer covers yet, a checkpoint cut short): those ARNs are described again. A
file that does not start with our header is refused, untouched.
"""

from __future__ import annotations

import os
import struct
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from sagefetch._outcomes import Described

from ._exits import UsageError
from ._parquet_footer import MAGIC, Footer, footer_at, move_offsets

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from sagefetch._outcomes import Outcome

#: Account, region and account name of an audit row (``_records.Origin``).
Origin = tuple[str, str, str | None]


class Sink(Protocol):
    """What the writer needs of the output (``_records.Output``)."""

    @property
    def empty(self) -> bool: ...
    @property
    def end(self) -> int: ...
    def read(self, offset: int, size: int) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    def on_close(self, callback: Callable[[], None]) -> None: ...
    def cut(self, end: int) -> None: ...


__all__ = [
    "CHECKPOINT_SECONDS",
    "ROW_GROUP_ROWS",
    "ParquetWriter",
    "header",
    "read_recorded",
    "schema",
]

#: Rows per row group; ``SAGEFETCH_PARQUET_ROWS`` sets another number (tests, tuning).
ROW_GROUP_ROWS: Final = 8192
#: After this long, buffered rows are written, if they outweigh the footer written again.
CHECKPOINT_SECONDS: Final = 10.0
#: The key of the footers' key-value metadata that names what the file holds.
LABEL_KEY: Final = b"sagefetch.records"
#: No checkpoint cut short comes near this; a longer tail is not ours to cut.
_MAX_TORN: Final = 1 << 30
_CHUNK: Final = 1 << 20

_TEXT: Final = pa.string()
_CONTAINER: Final = pa.struct(
    [
        ("container_hostname", _TEXT),
        ("image", _TEXT),
        ("image_digest", _TEXT),
        ("model_data_url", _TEXT),
        ("model_data_source_s3_uri", _TEXT),
        ("product_id", _TEXT),
        ("framework", _TEXT),
        ("framework_version", _TEXT),
        ("nearest_model_name", _TEXT),
        ("environment", pa.map_(_TEXT, _TEXT)),
    ]
)
_COLUMNS: Final = (
    pa.field("arn", _TEXT, nullable=False),
    pa.field("status", _TEXT, nullable=False),
    pa.field("group_name", _TEXT),
    pa.field("version", pa.int64()),
    pa.field("approval_status", _TEXT),
    pa.field("package_status", _TEXT),
    pa.field("creation_time", pa.timestamp("us", tz="UTC")),
    pa.field("description", _TEXT),
    pa.field("model_package_arn", _TEXT),
    pa.field("containers", pa.list_(_CONTAINER)),
    pa.field("supported_content_types", pa.list_(_TEXT)),
    pa.field("supported_response_mime_types", pa.list_(_TEXT)),
    pa.field("supported_transform_instance_types", pa.list_(_TEXT)),
    pa.field("supported_realtime_inference_instance_types", pa.list_(_TEXT)),
    pa.field("error_code", _TEXT),
    pa.field("error_message", _TEXT),
    pa.field("error_attempts", pa.int32()),
)
_ORIGIN: Final = (
    pa.field("account", _TEXT),
    pa.field("region", _TEXT),
    pa.field("account_name", _TEXT),
)
_INT64: Final = range(-(1 << 63), 1 << 63)


def _label(origin: bool) -> bytes:
    return b"audit/1" if origin else b"describe/1"


def schema(*, origin: bool) -> pa.Schema:
    """The columns of ``describe`` (``origin``: ``audit``, with account, region and name)."""
    columns = (_COLUMNS[0], *_ORIGIN, *_COLUMNS[1:]) if origin else _COLUMNS
    return pa.schema(columns, metadata={LABEL_KEY: _label(origin)})


def header(*, origin: bool) -> bytes:
    """How a Parquet output of ours starts: the magic, then a label no reader reads."""
    return MAGIC + b"\0sagefetch " + _label(origin) + b"\0"


# -- rows ---------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A string as Parquet can hold it (UTF-8: lone surrogates escaped), else None."""
    if not isinstance(value, str):
        return None
    if value.isascii():
        return value
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode()
    return value


def _texts(value: object) -> list[str | None] | None:
    if not isinstance(value, list):
        return None
    return [_text(item) for item in value]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _container(value: object) -> dict[str, Any]:
    container = _mapping(value)
    source = _mapping(_mapping(container.get("ModelDataSource")).get("S3DataSource"))
    environment = container.get("Environment")
    return {
        "container_hostname": _text(container.get("ContainerHostname")),
        "image": _text(container.get("Image")),
        "image_digest": _text(container.get("ImageDigest")),
        "model_data_url": _text(container.get("ModelDataUrl")),
        "model_data_source_s3_uri": _text(source.get("S3Uri")),
        "product_id": _text(container.get("ProductId")),
        "framework": _text(container.get("Framework")),
        "framework_version": _text(container.get("FrameworkVersion")),
        "nearest_model_name": _text(container.get("NearestModelName")),
        "environment": (
            [(_text(key) or "", _text(item)) for key, item in environment.items()]
            if isinstance(environment, dict)
            else None
        ),
    }


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _row(outcome: Outcome, origin: Origin | None) -> tuple[Any, ...]:
    """The row of an outcome, in the order of :func:`schema` without the origin."""
    if not isinstance(outcome, Described):
        return (
            _text(outcome.arn), "failed", None, None, None, None, None, None, None, None,
            None, None, None, None, _text(outcome.code), _text(outcome.message),
            outcome.attempts if 0 <= outcome.attempts < 1 << 31 else None,
        )  # fmt: skip
    summary = _mapping(outcome.summary)
    specification = _mapping(summary.get("InferenceSpecification"))
    containers = specification.get("Containers")
    version = summary.get("ModelPackageVersion")
    return (
        _text(outcome.arn),
        "described",
        _text(summary.get("ModelPackageGroupName")),
        version if isinstance(version, int) and not isinstance(version, bool)
        and version in _INT64 else None,
        _text(summary.get("ModelApprovalStatus")),
        _text(summary.get("ModelPackageStatus")),
        _timestamp(summary.get("CreationTime")),
        _text(summary.get("ModelPackageDescription")),
        _text(summary.get("ModelPackageArn")),
        [_container(item) for item in containers] if isinstance(containers, list) else None,
        _texts(specification.get("SupportedContentTypes")),
        _texts(specification.get("SupportedResponseMIMETypes")),
        _texts(specification.get("SupportedTransformInstanceTypes")),
        _texts(specification.get("SupportedRealtimeInferenceInstanceTypes")),
        None,
        None,
        None,
    )  # fmt: skip


# -- writing ------------------------------------------------------------------------


def _row_group_rows() -> int:
    try:
        rows = int(os.environ.get("SAGEFETCH_PARQUET_ROWS", ROW_GROUP_ROWS))
    except ValueError:
        return ROW_GROUP_ROWS
    return max(rows, 1)


def _metadata(thrift: bytes) -> pq.FileMetaData:
    """The ``FileMetaData`` of a footer's Thrift bytes."""
    return pq.read_metadata(
        pa.BufferReader(MAGIC + thrift + struct.pack("<I", len(thrift)) + MAGIC)
    )


class ParquetWriter:
    """Writes rows into row groups, each followed by a footer covering all so far.

    ``close()`` (registered on the output) writes what is buffered; until
    then a row is in memory only, and a killed run describes it again.
    """

    def __init__(self, out: Sink, *, origin: bool) -> None:
        self._out = out
        self._origin = origin
        self._schema = schema(origin=origin)
        self._header = header(origin=origin)
        self._rows: list[tuple[Any, ...]] = []
        self._group_rows = _row_group_rows()
        self._footer: pq.FileMetaData | None = None
        self._footer_size = 0
        self._groups = 0
        self._written_rows = 0
        self._written_bytes = 0
        self._unchecked = 0
        """Bytes of row groups written since the last footer."""
        self._checked_end = out.end
        """Where the last footer ends (where the output started, before one)."""
        self._last = time.monotonic()
        self._closed = False
        if not out.empty:  # resumed: the new row groups join those there
            found = footer_at(out.read, out.end, body_start=len(self._header))
            if found is not None:
                self._footer = _metadata(found.metadata)
                self._footer_size = len(found.metadata)
                self._groups = self._footer.num_row_groups
        out.on_close(self.close)

    def header(self) -> None:
        """Write the file's header (the magic and our label)."""
        self._out.write(self._header)

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        """Buffer the row of ``outcome``; write a row group when one is due.

        Raises:
            OutputError: the output cannot take the row group.
        """
        row = _row(outcome, origin)
        if self._origin:
            row = (row[0], *(origin or ("", "", None)), *row[1:])
        self._rows.append(row)
        if self._due():
            self._checkpoint()

    def close(self) -> None:
        """Write the buffered rows and a footer over every row group (if one is due). Idempotent.

        Raises:
            OutputError: the output cannot take them.
        """
        if self._closed:
            return
        self._closed = True
        if self._rows or self._footer is None or self._unchecked:
            self._checkpoint()

    def _due(self) -> bool:
        if len(self._rows) >= self._group_rows:
            return True
        if time.monotonic() - self._last < CHECKPOINT_SECONDS:
            return False
        # Each checkpoint writes the footer again: only when the rows outweigh it,
        # so the copies stay below the data in size whatever the run's pace.
        per_row = self._written_bytes / self._written_rows if self._written_rows else 256
        return len(self._rows) * per_row >= self._footer_size

    def _table(self) -> pa.Table:
        columns: list[Any] = [list(column) for column in zip(*self._rows, strict=True)]
        if not columns:
            columns = [[] for _ in self._schema]
        return pa.Table.from_arrays(
            [pa.array(values, type=field.type) for values, field in zip(
                columns, self._schema, strict=True)],
            schema=self._schema,
        )  # fmt: skip

    def _checkpoint(self) -> None:
        """Write the buffered rows as a row group, then a footer covering every row group."""
        table = self._table()
        sink = pa.BufferOutputStream()
        with pq.ParquetWriter(
            sink, self._schema, compression="zstd", write_page_index=False
        ) as writer:
            if table.num_rows:
                writer.write_table(table, row_group_size=table.num_rows)
        data = sink.getvalue().to_pybytes()
        (size,) = struct.unpack_from("<I", data, len(data) - 8)
        footer_start = len(data) - 8 - size
        # The row group goes where the output ends; its offsets are moved there
        # (pyarrow counted them from the start of its own file, magic included).
        body = data[len(MAGIC) : footer_start]
        group = _metadata(
            move_offsets(
                data[footer_start : len(data) - 8],
                self._out.end - len(MAGIC),
                first_ordinal=self._groups,
            )
        )
        if self._footer is None:
            merged = group
        else:
            merged = self._footer
            merged.append_row_groups(group)
        self._footer = merged
        self._groups += 1 if table.num_rows else 0
        self._written_rows += table.num_rows
        self._written_bytes += len(body)
        self._unchecked += len(body)
        self._rows.clear()
        self._last = time.monotonic()
        # A footer repeats every row group so far: written after each row group,
        # its copies would grow with the square of the row groups (27 MB of them
        # over a million rows). It goes out once the row groups since the last one
        # outweigh it, so the copies stay below the data; a killed run describes
        # the row groups after the last footer again.
        try:
            if self._closed or self._unchecked >= self._footer_size:
                footer = pa.BufferOutputStream()
                merged.write_metadata_file(footer)
                thrift_and_end = footer.getvalue().to_pybytes()[len(MAGIC) :]
                self._out.write(body + thrift_and_end)
                self._footer_size = len(thrift_and_end)
                self._unchecked = 0
                self._checked_end = self._out.end
            else:
                self._out.write(body)
        except BaseException:
            # The output failed (nothing else raises here): row groups after the
            # last footer cannot be read, so the file ends at it.
            self._out.cut(self._checked_end)
            raise


# -- reading what is there (--resume) ------------------------------------------------


class _FileView:
    """The first ``size`` bytes of a file descriptor, as a read-only file (never closes it).

    The output's descriptor must stay the one open: closing any other
    descriptor of the file would drop its lock.
    """

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self._size = size
        self._at = 0
        self.closed = False
        self.mode = "rb"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._at, os.SEEK_END: self._size}[whence]
        self._at = max(0, base + offset)
        return self._at

    def read(self, size: int = -1) -> bytes:
        end = self._size if size < 0 else min(self._size, self._at + size)
        data = read_at(self._fd, self._at, max(0, end - self._at))
        self._at += len(data)
        return data

    def close(self) -> None:
        self.closed = True


def read_at(fd: int, offset: int, size: int) -> bytes:
    """``size`` bytes of the file at ``offset`` (fewer at its end)."""
    parts = []
    while size > 0 and (chunk := os.pread(fd, min(size, _CHUNK << 4), offset)):
        parts.append(chunk)
        offset += len(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _refusal(name: str, what: str) -> UsageError:
    return UsageError(
        f"{name} is not a Parquet output of sagefetch: {what}; it was left as it is\n"
        "HINT: --resume appends to the output of an earlier run with the same command and "
        "--format; name a new file to start afresh."
    )


def _candidates(read: Callable[[int, int], bytes], size: int, floor: int) -> Iterator[int]:
    """Ends of ``PAR1`` in the file, last first, down to ``floor``."""
    end = size
    carry = b""
    while end > floor:
        start = max(floor, end - _CHUNK)
        window = read(start, end - start) + carry
        at = len(window)
        while (found := window.rfind(MAGIC, 0, at)) >= 0:
            yield start + found + len(MAGIC)
            at = found + len(MAGIC) - 1
        carry = window[: len(MAGIC) - 1]
        end = start


def _last_footer(
    read: Callable[[int, int], bytes], size: int, body_start: int, label: bytes
) -> Footer | None:
    """The last whole footer with our label, or None (no checkpoint was finished)."""
    for end in _candidates(read, size, body_start):
        if size - end > _MAX_TORN:
            return None
        found = footer_at(read, end, body_start=body_start)
        if found is not None and found.labels.get(LABEL_KEY) == label:
            return found
    return None


def read_recorded(fd: int, name: str, *, origin: bool, add: Callable[[str, str], bool]) -> int:
    """Where the last whole checkpoint of the Parquet output at ``fd`` ends; its rows to ``add``.

    ``add(arn, status)`` takes each row's ARN and status, False for a status
    no record has. What follows the end is a checkpoint cut short, for the
    caller to cut off.

    Raises:
        UsageError: the file is not a Parquet output of this command, or its
            torn tail is longer than any checkpoint.
    """
    size = os.fstat(fd).st_size

    def read(offset: int, length: int) -> bytes:
        return read_at(fd, offset, length)

    ours, theirs = header(origin=origin), header(origin=not origin)
    start = read(0, len(ours))
    if not start:
        return 0
    if start == theirs[: len(start)] and start != ours[: len(start)]:
        command = "audit" if not origin else "describe"
        raise _refusal(name, f"it holds the records of sagefetch {command}")
    if start != ours[: len(start)]:
        what = "a Parquet file written by something else" if start[:4] == MAGIC else "not Parquet"
        if start[:1] == b"{" or start.startswith(b"arn,"):
            what = "it is in JSON Lines or CSV (resume with that --format)"
        raise _refusal(name, what)
    if size <= len(ours):  # the header, or as much of it as was written
        return size if size == len(ours) else 0
    footer = _last_footer(read, size, len(ours), _label(origin))
    if footer is None:
        if size - len(ours) > _MAX_TORN:
            raise _refusal(name, "no whole footer of ours in it")
        return len(ours)
    try:
        metadata = _metadata(footer.metadata)
        if not metadata.schema.to_arrow_schema().equals(schema(origin=origin)):
            raise _refusal(name, "its columns are not those of this version of sagefetch")
        _scan(fd, footer.end, metadata, name, add)
    except (pa.ArrowException, OSError) as exc:
        raise _refusal(name, f"it cannot be read ({exc})") from exc
    return footer.end


def _scan(
    fd: int, end: int, metadata: pq.FileMetaData, name: str, add: Callable[[str, str], bool]
) -> None:
    """Each row's ARN and status to ``add``, a row group at a time."""
    parquet = pq.ParquetFile(_FileView(fd, end), metadata=metadata)
    for index in range(parquet.num_row_groups):
        rows = parquet.read_row_group(index, columns=["arn", "status"])
        for arn, status in zip(
            rows.column("arn").to_pylist(), rows.column("status").to_pylist(), strict=True
        ):
            if not isinstance(arn, str) or not isinstance(status, str):
                raise _refusal(name, f"row group {index} has a row without its ARN or status")
            if not add(arn, status):
                raise _refusal(name, f"row group {index} has a row of status {status!r}")
