"""ARN files: one ARN per line, read in chunks without blocking the event loop."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

import anyio.to_thread

from ._exits import UsageError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from contextlib import ExitStack

__all__ = ["MAX_LINE_BYTES", "ArnReader", "BadLine", "count_lines", "open_input"]

#: Lines longer than this are not read whole: they become failed records.
MAX_LINE_BYTES: Final = 64 * 1024
_CHUNK: Final = 1 << 20
_PREFIX: Final = 80


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be an ARN: not UTF-8, or far too long."""

    number: int
    key: str
    """What the output record shows as its ``arn`` (the same on every read)."""
    reason: str


class ArnReader:
    """Async iterator over the ARNs of a binary stream, one per line.

    Surrounding whitespace is stripped; blank lines and lines starting with
    ``#`` are skipped (and counted). Undecodable or overlong lines come out as
    :class:`BadLine` instead of stopping the read.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.lines = 0
        """Lines read so far."""
        self.skipped = 0
        """Blank and comment lines so far."""

    async def __aiter__(self) -> AsyncIterator[str | BadLine]:
        buffer = b""
        overlong: bytes | None = None  # the start of a line being discarded
        read = getattr(self._stream, "read1", self._stream.read)
        while True:
            chunk = await anyio.to_thread.run_sync(read, _CHUNK)
            if not chunk:
                break
            pieces = (buffer + chunk).split(b"\n")
            buffer = pieces.pop()
            for piece in pieces:
                if overlong is not None:
                    yield self._overlong(overlong)
                    overlong = None
                    continue
                item = self._line(piece)
                if item is not None:
                    yield item
            if overlong is None and len(buffer) > MAX_LINE_BYTES:
                overlong, buffer = buffer[:_PREFIX], b""
            elif overlong is not None:
                buffer = b""
        if overlong is not None:
            yield self._overlong(overlong)
        elif buffer:
            item = self._line(buffer)
            if item is not None:
                yield item

    def _line(self, raw: bytes) -> str | BadLine | None:
        self.lines += 1
        if len(raw) > MAX_LINE_BYTES:
            self.lines -= 1
            return self._overlong(raw[:_PREFIX])
        if self.lines == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            key = raw.decode("utf-8", "backslashreplace").strip()
            reason = f"line {self.lines} is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            return BadLine(self.lines, key, reason)
        if not text or text.startswith("#"):
            self.skipped += 1
            return None
        return text

    def _overlong(self, prefix: bytes) -> BadLine:
        self.lines += 1
        start = prefix.decode("utf-8", "backslashreplace")
        return BadLine(
            self.lines,
            f"{start}... (line {self.lines})",
            f"line {self.lines} is longer than {MAX_LINE_BYTES} bytes; an ARN has at most 2048",
        )


def count_lines(stream: BinaryIO) -> int:
    """Lines in a seekable stream (for a progress total), leaving it at its start."""
    count, last = 0, b"\n"
    while chunk := stream.read(_CHUNK):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    stream.seek(0)
    return count + (last != b"\n")


def open_input(name: str, files: ExitStack, *, count: bool) -> tuple[BinaryIO, int | None]:
    """Open the ARN file (``-``: stdin) and, if ``count``, its lines for a progress total.

    Counting reads the whole file before the first call, so only a progress
    bar that shows it asks for it.
    """
    if name == "-":
        return sys.stdin.buffer, None
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{name} is a directory, not a file of ARNs")
    try:
        source: BinaryIO = files.enter_context(path.open("rb"))
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from exc
    total = count_lines(source) if count and path.is_file() else None
    return source, total
