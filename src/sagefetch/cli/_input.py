"""ARN files: one ARN per line, read in chunks without blocking the event loop.

Files that look right in an editor but are not plain UTF-8 lines are handled
as a class:

- line breaks are LF, CRLF or a lone CR (old Mac), wherever the chunks split;
- a UTF-8 byte order mark at the start of any line is dropped (``cat`` of
  files that each start with one puts it mid-file);
- UTF-16 and UTF-32 (every ARN character comes with NUL bytes) are named: a
  regular file that starts that way is refused before anything runs, and on a
  pipe every such line becomes a failed record saying how to convert it.
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, NamedTuple

import anyio.to_thread

from ._exits import UsageError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from contextlib import ExitStack

__all__ = [
    "MAX_LINE_BYTES",
    "ArnReader",
    "BadLine",
    "WideEncoding",
    "count_lines",
    "open_input",
    "wide_encoding",
]

#: Lines longer than this are not read whole: they become failed records.
MAX_LINE_BYTES: Final = 64 * 1024
_CHUNK: Final = 1 << 20
_PREFIX: Final = 80
_BREAK: Final = re.compile(rb"\r\n?|\n")
_UTF8_BOM: Final = codecs.BOM_UTF8
# UTF-32 LE first: its mark starts with UTF-16 LE's.
_WIDE_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "UTF-16BE"),
)
_WIDE_MARKS: Final = tuple(bom for bom, _ in _WIDE_BOMS)
# RFC 4627 section 3 (and json.detect_encoding): when the first two characters
# are ASCII, as an ARN's or a comment's are, where the NULs fall in the first
# four bytes names the encoding.
_NUL_PATTERNS: Final[dict[tuple[bool, ...], str]] = {
    (True, True, True, False): "UTF-32BE",
    (False, True, True, True): "UTF-32LE",
    (True, False, True, False): "UTF-16BE",
    (False, True, False, True): "UTF-16LE",
}


class WideEncoding(NamedTuple):
    """A UTF-16 or UTF-32 encoding found at the start of some bytes."""

    name: str
    """As ``iconv -f`` takes it, e.g. ``UTF-16LE``."""
    evidence: str
    """Why: a byte order mark, or where the NUL bytes are."""

    def hint(self, path: str = "FILE") -> str:
        """The command that converts ``path`` to UTF-8."""
        quoted = shlex.quote(path)
        target = shlex.quote(str(Path(path).with_suffix(".utf8.txt")))
        return f"iconv -f {self.name} -t UTF-8 {quoted} > {target}"


def wide_encoding(head: bytes) -> WideEncoding | None:
    """The UTF-16 or UTF-32 encoding ``head`` (a file's or a line's first bytes) is in, if any."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return WideEncoding(name, f"it starts with the {name} byte order mark")
    guess = _NUL_PATTERNS.get(tuple(byte == 0 for byte in head[:4]))
    if guess is None:
        return None
    return WideEncoding(guess, f"its first bytes are ASCII characters with NULs, as in {guess}")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be an ARN: not UTF-8 (UTF-16 and NUL bytes included), or far too long."""

    number: int
    key: str
    """What the output record shows as its ``arn`` (the same on every read)."""
    reason: str


class ArnReader:
    """Async iterator over the ARNs of a binary stream, one per line.

    Lines end with LF, CRLF or CR. A UTF-8 byte order mark starting a line is
    dropped, then surrounding whitespace; blank lines and lines starting with
    ``#`` are skipped (and counted). Undecodable, NUL-holding or overlong lines
    come out as :class:`BadLine` instead of stopping the read. Characters that
    decode but have no place in an ARN (a zero-width space) stay in: the
    library fails that ARN and says which character it is.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.lines = 0
        """Lines read so far."""
        self.skipped = 0
        """Blank and comment lines so far."""
        self._wide: WideEncoding | None = None
        """The UTF-16 or UTF-32 encoding the input showed last (later lines lose alignment)."""

    async def __aiter__(self) -> AsyncIterator[str | BadLine]:
        buffer = b""
        overlong: bytes | None = None  # the start of a line being discarded
        after_cr = False  # the last chunk ended with CR: a LF next is the same line break
        read = getattr(self._stream, "read1", None) or self._stream.read
        while True:
            chunk = await anyio.to_thread.run_sync(read, _CHUNK)
            if not chunk:
                break
            if after_cr and chunk.startswith(b"\n"):
                chunk = chunk[1:]
            after_cr = chunk.endswith(b"\r")
            pieces = _split(buffer + chunk)
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
        while raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM) :]
        if b"\0" in raw or raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return self._wide_line(raw)
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

    def _wide_line(self, raw: bytes) -> BadLine | None:
        """A line with NUL bytes or a UTF-16/32 mark: say which encoding, if one shows.

        In an input that is (or looks) UTF-16 or UTF-32 the record's key is the
        line's text with its NULs dropped and the encoding after it, so it never
        matches the ARN of the converted file (``--resume`` would skip that);
        lines that would be blank or comments are skipped as they would be.
        """
        # Only the first line, or one that starts with a mark, is aligned to the
        # characters; the LF that ends a UTF-16 LE line leaves its NUL on the next.
        marked = raw.startswith(_WIDE_MARKS)
        found = wide_encoding(raw) if self.lines == 1 or marked else None
        self._wide = found or self._wide
        number = self.lines
        if self._wide is None and raw.count(0) * 4 < len(raw):
            return BadLine(
                number,
                raw.decode("utf-8", "backslashreplace").replace("\0", "\\x00").strip(),
                f"line {number} holds a NUL byte at byte {raw.index(0) + 1}: "
                "a file of ARNs is text and has none",
            )
        unmarked = raw.replace(b"\0", b"").removeprefix(b"\xff\xfe").removeprefix(b"\xfe\xff")
        text = unmarked.decode("utf-8", "backslashreplace").strip()
        if not text or text.startswith("#"):
            self.skipped += 1
            return None
        if self._wide is None:
            return BadLine(
                number,
                f"{text} (UTF-16 or UTF-32)",
                f"line {number} holds NUL bytes: the input looks UTF-16 or UTF-32, not UTF-8; "
                "convert it (iconv -f UTF-16LE -t UTF-8, or from the encoding it is in)",
            )
        return BadLine(
            number,
            f"{text} ({self._wide.name})",
            f"line {number} holds NUL bytes: the input is {self._wide.name}, not UTF-8 "
            f"({self._wide.evidence}); convert it ({self._wide.hint()})",
        )

    def _overlong(self, prefix: bytes) -> BadLine:
        self.lines += 1
        start = prefix.decode("utf-8", "backslashreplace")
        return BadLine(
            self.lines,
            f"{start}... (line {self.lines})",
            f"line {self.lines} is longer than {MAX_LINE_BYTES} bytes; an ARN has at most 2048",
        )


def _split(data: bytes) -> list[bytes]:
    """``data`` cut at every line break; the last piece is the unfinished line."""
    return _BREAK.split(data) if b"\r" in data else data.split(b"\n")


def count_lines(stream: BinaryIO) -> int:
    """Lines in a seekable stream (for a progress total), leaving it at its start.

    Counts as :class:`ArnReader` reads: LF, CRLF and CR each end a line.
    """
    count, last, after_cr = 0, b"\n", False
    while chunk := stream.read(_CHUNK):
        count += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        if after_cr and chunk.startswith(b"\n"):
            count -= 1
        after_cr = chunk.endswith(b"\r")
        last = chunk[-1:]
    stream.seek(0)
    return count + (last not in {b"\n", b"\r"})


def open_input(name: str, files: ExitStack, *, count: bool) -> tuple[BinaryIO, int | None]:
    """Open the ARN file (``-``: stdin) and, if ``count``, its lines for a progress total.

    Counting reads the whole file before the first call, so only a progress
    bar that shows it asks for it.

    Raises:
        UsageError: the path is a directory or unreadable, or a regular file
            (stdin redirected from one included) starts as UTF-16 or UTF-32 does.
    """
    if name == "-":
        source: BinaryIO = sys.stdin.buffer
        _refuse_wide(source, "standard input")
        return source, None
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{name} is a directory, not a file of ARNs")
    try:
        source = files.enter_context(path.open("rb"))
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from exc
    _refuse_wide(source, name)
    total = count_lines(source) if count and path.is_file() else None
    return source, total


def _refuse_wide(source: BinaryIO, name: str) -> None:
    """A regular file that starts as UTF-16 or UTF-32 is a usage error; pipes are left unread."""
    try:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            return
        start = source.tell()
        head = source.read(4)
        source.seek(start)
    except (OSError, ValueError):  # no descriptor (a test's stream) or not seekable
        return
    found = wide_encoding(head)
    if found is not None:
        path = "FILE" if name == "standard input" else name
        raise UsageError(
            f"{name} is {found.name}, not UTF-8 ({found.evidence})\n"
            f"HINT: convert it: {found.hint(path)} (PowerShell 5's '>' writes UTF-16: "
            "use Out-File -Encoding utf8)"
        )
