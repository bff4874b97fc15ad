"""Parquet footers as bytes: moving a row group's offsets, finding the last footer of a file.

A Parquet file ends in its footer: the ``FileMetaData`` structure in Thrift's
compact protocol, its length (4 bytes, little-endian) and ``PAR1``. Every
column chunk in it is found by its absolute offset in the file, so bytes that
no footer points at (an older footer, a torn row group) are never read.

pyarrow writes a file from offset 0 only ("Appending to file not
implemented"): a row group is written alone, in memory, and its offsets are
moved here to where its bytes go in the output. The compact protocol is read
and written back whole (https://github.com/apache/thrift/blob/master/doc/specs/
thrift-compact-protocol.md); only the offset fields of the Parquet format
(https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift)
change.

No pyarrow here: cheap to import, and testable byte by byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MAGIC", "Footer", "FooterError", "footer_at", "move_offsets"]

MAGIC: Final = b"PAR1"

# Compact protocol types.
_STOP: Final = 0
_TRUE: Final = 1
_FALSE: Final = 2
_BYTE: Final = 3
_I16: Final = 4
_I32: Final = 5
_I64: Final = 6
_DOUBLE: Final = 7
_BINARY: Final = 8
_LIST: Final = 9
_SET: Final = 10
_MAP: Final = 11
_STRUCT: Final = 12

# Field ids of parquet.thrift that hold file offsets.
_FILE_ROW_GROUPS: Final = 4  # FileMetaData.row_groups
_GROUP_COLUMNS: Final = 1  # RowGroup.columns
_GROUP_OFFSETS: Final = frozenset({5})  # RowGroup.file_offset
_GROUP_ORDINAL: Final = 7  # RowGroup.ordinal (i16)
_CHUNK_META: Final = 3  # ColumnChunk.meta_data
# ColumnChunk.file_offset, offset_index_offset, column_index_offset
_CHUNK_OFFSETS: Final = frozenset({2, 4, 6})
# ColumnMetaData.data_page_offset, index_page_offset, dictionary_page_offset, bloom_filter_offset
_META_OFFSETS: Final = frozenset({9, 10, 11, 14})
#: ColumnMetaData's offsets of pages, where a column chunk's bytes start.
_PAGE_OFFSETS: Final = frozenset({9, 10, 11})
_GROUP_ROWS: Final = 3  # RowGroup.num_rows
_FILE_KEY_VALUES: Final = 5  # FileMetaData.key_value_metadata
#: ColumnMetaData.total_compressed_size: the bytes a chunk spans from its first page.
_META_SIZE: Final = 7

#: Nesting deeper than any Parquet footer: a sign of bytes that are not one.
_MAX_DEPTH: Final = 64
#: No footer of ours comes near this.
MAX_FOOTER: Final = 256 << 20

Struct = list[list[Any]]  # [field id, type, value] per field, in order


@dataclass(frozen=True, slots=True)
class Footer:
    """A whole footer found in a file."""

    metadata: bytes
    """Its Thrift bytes (without the length and ``PAR1`` after them)."""
    start: int
    """Where they start in the file."""
    rows: int
    """The rows of its row groups."""
    labels: dict[bytes, bytes]
    """Its key-value metadata."""

    @property
    def end(self) -> int:
        """Where the file ends when this is its footer."""
        return self.start + len(self.metadata) + 8


class FooterError(ValueError):
    """Bytes that are not a Thrift-encoded Parquet footer."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise FooterError("the footer ends early")
        value = self.data[self.at]
        self.at += 1
        return value

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise FooterError("the footer ends early")
        value = self.data[self.at : self.at + size]
        self.at += size
        return value

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise FooterError("a number in the footer is too long")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def value(self, kind: int, depth: int) -> Any:  # noqa: PLR0911 - one return per type
        if depth > _MAX_DEPTH:
            raise FooterError("the footer nests too deep")
        if kind in {_TRUE, _FALSE}:  # in a list: one byte each
            return self.byte()
        if kind == _BYTE:
            return self.byte()
        if kind in {_I16, _I32, _I64}:
            return self.zigzag()
        if kind == _DOUBLE:
            return self.take(8)
        if kind == _BINARY:
            return self.take(self.varint())
        if kind in {_LIST, _SET}:
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            if size > len(self.data):
                raise FooterError("a list in the footer is longer than the footer")
            return (element, [self.value(element, depth + 1) for _ in range(size)])
        if kind == _MAP:
            size = self.varint()
            if size > len(self.data):
                raise FooterError("a map in the footer is longer than the footer")
            kinds = self.byte() if size else 0
            key, item = kinds >> 4, kinds & 0x0F
            return (
                kinds,
                [(self.value(key, depth + 1), self.value(item, depth + 1)) for _ in range(size)],
            )
        if kind == _STRUCT:
            return self.structure(depth + 1)
        raise FooterError(f"unknown Thrift type {kind} in the footer")

    def structure(self, depth: int = 0) -> Struct:
        fields: Struct = []
        last = 0
        while (header := self.byte()) != _STOP:
            delta, kind = header >> 4, header & 0x0F
            number = last + delta if delta else self.zigzag()
            if kind in {_TRUE, _FALSE}:
                fields.append([number, kind, None])  # the type is the value
            else:
                fields.append([number, kind, self.value(kind, depth)])
            last = number
        return fields


class _Writer:
    def __init__(self) -> None:
        self.parts = bytearray()

    def varint(self, value: int) -> None:
        while value >= 0x80:
            self.parts.append((value & 0x7F) | 0x80)
            value >>= 7
        self.parts.append(value)

    def zigzag(self, value: int) -> None:
        self.varint((value << 1) ^ (value >> 63))

    def value(self, kind: int, value: Any) -> None:
        if kind in {_TRUE, _FALSE, _BYTE}:
            self.parts.append(value)
        elif kind in {_I16, _I32, _I64}:
            self.zigzag(value)
        elif kind == _DOUBLE:
            self.parts += value
        elif kind == _BINARY:
            self.varint(len(value))
            self.parts += value
        elif kind in {_LIST, _SET}:
            element, items = value
            if len(items) < 15:
                self.parts.append(len(items) << 4 | element)
            else:
                self.parts.append(0xF0 | element)
                self.varint(len(items))
            for item in items:
                self.value(element, item)
        elif kind == _MAP:
            kinds, pairs = value
            self.varint(len(pairs))
            if pairs:
                self.parts.append(kinds)
            for key, item in pairs:
                self.value(kinds >> 4, key)
                self.value(kinds & 0x0F, item)
        else:
            self.structure(value)

    def structure(self, fields: Struct) -> None:
        last = 0
        for number, kind, value in fields:
            if 0 < number - last <= 15:
                self.parts.append((number - last) << 4 | kind)
            else:
                self.parts.append(kind)
                self.zigzag(number)
            if kind not in {_TRUE, _FALSE}:
                self.value(kind, value)
            last = number
        self.parts.append(_STOP)


def _field(fields: Struct, number: int) -> list[Any] | None:
    return next((field for field in fields if field[0] == number), None)


def _parse(metadata: bytes) -> Struct:
    reader = _Reader(metadata)
    fields = reader.structure()
    if reader.at != len(metadata):
        raise FooterError("bytes after the footer's structure")
    return fields


def _row_groups(fields: Struct) -> list[Struct]:
    groups = _field(fields, _FILE_ROW_GROUPS)
    if groups is None:
        return []
    if groups[1] != _LIST or groups[2][0] != _STRUCT:
        raise FooterError("row_groups is not a list of structures")
    return list(groups[2][1])


def _chunks(group: Struct) -> list[Struct]:
    columns = _field(group, _GROUP_COLUMNS)
    if columns is None or columns[1] != _LIST or columns[2][0] != _STRUCT:
        raise FooterError("a row group's columns are not a list of structures")
    return list(columns[2][1])


def move_offsets(metadata: bytes, by: int, *, first_ordinal: int) -> bytes:
    """``metadata`` (a footer's Thrift bytes) with every file offset moved ``by`` bytes.

    Row groups are numbered from ``first_ordinal`` (``RowGroup.ordinal``;
    dropped past the i16 range, where it is optional).

    Raises:
        FooterError: ``metadata`` is not a Parquet footer.
    """
    fields = _parse(metadata)
    for index, group in enumerate(_row_groups(fields), start=first_ordinal):
        for field in group:
            if field[0] in _GROUP_OFFSETS and field[1] == _I64:
                field[2] += by
        ordinal = _field(group, _GROUP_ORDINAL)
        if ordinal is not None:
            if index < 1 << 15:
                ordinal[2] = index
            else:
                group.remove(ordinal)
        for chunk in _chunks(group):
            for field in chunk:
                # ColumnChunk.file_offset is 0 when not written (pyarrow): left so.
                if field[0] in _CHUNK_OFFSETS and field[1] == _I64 and field[2]:
                    field[2] += by
            meta = _field(chunk, _CHUNK_META)
            if meta is not None and meta[1] == _STRUCT:
                for field in meta[2]:
                    if field[0] in _META_OFFSETS and field[1] == _I64:
                        field[2] += by
    writer = _Writer()
    writer.structure(fields)
    return bytes(writer.parts)


def footer_at(read: Callable[[int, int], bytes], end: int, *, body_start: int) -> Footer | None:
    """The footer of a file cut at ``end`` (``read(offset, size)`` reads the file), if whole.

    It is one when ``PAR1`` ends at ``end``, the length before it fits, its
    bytes parse as a Parquet footer and every column chunk it names lies in
    ``[body_start, footer start)``: bytes written before it, after the header.
    """
    if end < body_start + 8:
        return None
    tail = read(end - 8, 8)
    if len(tail) != 8 or tail[4:] != MAGIC:
        return None
    (size,) = struct.unpack_from("<I", tail)
    start = end - 8 - size
    if size == 0 or size > MAX_FOOTER or start < body_start:
        return None
    metadata = read(start, size)
    if len(metadata) != size:
        return None
    try:
        fields = _parse(metadata)
        rows = _rows_before(fields, body_start, start)
        labels = _labels(fields)
    except (FooterError, TypeError, IndexError):
        return None
    return Footer(metadata=metadata, start=start, rows=rows, labels=labels)


def _rows_before(fields: Struct, body_start: int, start: int) -> int:
    """The rows of a footer's row groups, each of whose chunks is in ``[body_start, start)``."""
    rows = 0
    for group in _row_groups(fields):
        for chunk in _chunks(group):
            meta = _field(chunk, _CHUNK_META)
            if meta is None or meta[1] != _STRUCT:
                raise FooterError("a column chunk without its metadata")
            offsets = [f[2] for f in meta[2] if f[0] in _PAGE_OFFSETS and f[1] == _I64]
            length = _field(meta[2], _META_SIZE)
            if not offsets or length is None:
                raise FooterError("a column chunk without its place")
            if min(offsets) < body_start or min(offsets) + length[2] > start:
                raise FooterError("a column chunk outside the file's body")
        count = _field(group, _GROUP_ROWS)
        rows += count[2] if count is not None else 0
    return rows


def _labels(fields: Struct) -> dict[bytes, bytes]:
    """A footer's key-value metadata."""
    pairs = _field(fields, _FILE_KEY_VALUES)
    labels: dict[bytes, bytes] = {}
    if pairs is not None and pairs[1] == _LIST and pairs[2][0] == _STRUCT:
        for pair in pairs[2][1]:
            key, value = _field(pair, 1), _field(pair, 2)
            if key is not None and isinstance(key[2], bytes):
                labels[key[2]] = value[2] if value is not None else b""
    return labels
