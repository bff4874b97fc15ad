"""The ARN file reader: line breaks, byte order marks, UTF-16/32 and NULs, at any chunk split."""

from __future__ import annotations

import codecs
import io
import re
from contextlib import ExitStack
from typing import TYPE_CHECKING, BinaryIO, cast

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagefetch.cli._exits import UsageError
from sagefetch.cli._input import (
    MAX_LINE_BYTES,
    ArnReader,
    BadLine,
    count_lines,
    open_input,
    wide_encoding,
)

if TYPE_CHECKING:
    from pathlib import Path

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"
OTHER = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2"


class PiecewiseStream:
    """A binary stream whose reads end at the given offsets (and never exceed the limit asked)."""

    def __init__(self, data: bytes, cuts: list[int]) -> None:
        self.data = data
        self.cuts = sorted(set(cuts))
        self.position = 0

    def read1(self, limit: int = -1) -> bytes:
        end = next((cut for cut in self.cuts if cut > self.position), len(self.data))
        if limit >= 0:
            end = min(end, self.position + limit)
        piece = self.data[self.position : end]
        self.position += len(piece)
        return piece

    read = read1

    def seek(self, position: int) -> int:
        self.position = position
        return position


def _read(stream: object) -> tuple[list[str | BadLine], int, int]:
    """Everything ``ArnReader`` yields from ``stream``, with its line and skip counts."""

    async def main() -> tuple[list[str | BadLine], int, int]:
        reader = ArnReader(cast("BinaryIO", stream))
        items = [item async for item in reader]
        return items, reader.lines, reader.skipped

    return anyio.run(main)


def _lines(data: bytes) -> list[str | BadLine]:
    return _read(io.BytesIO(data))[0]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(f"{ARN}\n{OTHER}\n".encode(), id="lf"),
        pytest.param(f"{ARN}\r\n{OTHER}\r\n".encode(), id="crlf"),
        pytest.param(f"{ARN}\r{OTHER}\r".encode(), id="cr-only"),
        pytest.param(f"{ARN}\r{OTHER}".encode(), id="cr-only-unterminated"),
        pytest.param(f"{ARN}\r\n\r# comment\n{OTHER}".encode(), id="mixed"),
    ],
)
def test_lf_crlf_and_cr_all_end_lines(data: bytes) -> None:
    """Unix, Windows and old Mac line endings give the same ARNs, and the same line count."""
    items, lines, _ = _read(io.BytesIO(data))
    assert items == [ARN, OTHER]
    assert count_lines(io.BytesIO(data)) == lines


@pytest.mark.parametrize(
    "cuts",
    [[len(ARN) + 1], [len(ARN) + 1, len(ARN) + 2], list(range(2 * len(ARN) + 4))],
    ids=["between-cr-and-lf", "lf-alone", "every-byte"],
)
def test_a_crlf_split_across_reads_is_one_line_break(cuts: list[int]) -> None:
    """CR at the end of one read and LF at the start of the next: one break, no blank line."""
    data = f"{ARN}\r\n{OTHER}\r\n".encode()
    items, lines, skipped = _read(PiecewiseStream(data, cuts))
    assert (items, lines, skipped) == ([ARN, OTHER], 2, 0)
    assert count_lines(PiecewiseStream(data, cuts)) == 2


def test_a_utf8_byte_order_mark_starting_any_line_is_dropped() -> None:
    """``cat a.txt b.txt`` of files that each start with a BOM: both ARNs come out clean."""
    bom = codecs.BOM_UTF8
    data = bom + f"{ARN}\n".encode() + bom + f"{OTHER}\r\n".encode() + bom + bom + b"# x\n"
    assert _read(io.BytesIO(data)) == ([ARN, OTHER], 3, 1)


def test_a_byte_order_mark_inside_a_line_is_left_for_the_library() -> None:
    """Two ARNs glued by a BOM (``cat`` of a file without a final newline): passed on as is."""
    data = codecs.BOM_UTF8 + f"{ARN}\ufeff{OTHER}\n".encode()
    assert _lines(data) == [f"{ARN}\ufeff{OTHER}"]


@pytest.mark.parametrize(
    "char",
    ["\u200b", "\u2060", "\u00ad", "\x01", "\u0430"],
    ids=["zwsp", "wj", "shy", "soh", "cyr"],
)
def test_characters_an_arn_cannot_hold_still_reach_the_library(char: str) -> None:
    """Zero-width, control or look-alike characters: the line is an ARN for the library to fail."""
    arn = ARN[:20] + char + ARN[20:]
    assert _lines(f"{arn}\n".encode()) == [arn]


def test_surrounding_unicode_whitespace_is_stripped() -> None:
    """No-break and ideographic spaces around an ARN go, as ASCII ones do."""
    assert _lines(f"\u00a0{ARN}\u3000\n".encode()) == [ARN]


@pytest.mark.parametrize(
    ("codec", "name", "evidence"),
    [
        pytest.param("utf-16", "UTF-16LE", "byte order mark", id="utf-16-bom"),
        pytest.param("utf-16-le", "UTF-16LE", "ASCII characters with NULs", id="utf-16-le"),
        pytest.param("utf-16-be", "UTF-16BE", "ASCII characters with NULs", id="utf-16-be"),
        pytest.param("utf-32", "UTF-32LE", "byte order mark", id="utf-32-bom"),
        pytest.param("utf-32-le", "UTF-32LE", "ASCII characters with NULs", id="utf-32-le"),
        pytest.param("utf-32-be", "UTF-32BE", "ASCII characters with NULs", id="utf-32-be"),
    ],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_utf16_and_utf32_lines_are_failed_records_naming_the_encoding(
    codec: str, name: str, evidence: str, newline: str
) -> None:
    """One bad line per ARN, keyed by its text and encoding; blank and comment lines skipped."""
    text = newline.join(["# ARNs", ARN, "", OTHER]) + newline
    items, _, _ = _read(io.BytesIO(text.encode(codec)))
    assert [item.key for item in items if isinstance(item, BadLine)] == [
        f"{ARN} ({name})",
        f"{OTHER} ({name})",
    ]
    assert len(items) == 2
    for item in items:
        assert isinstance(item, BadLine)
        assert f"holds NUL bytes: the input is {name}, not UTF-8" in item.reason
        assert evidence in item.reason
        assert f"iconv -f {name} -t UTF-8" in item.reason


def test_a_utf16_file_after_a_utf8_one_is_named_from_its_mark() -> None:
    """``cat utf8.txt utf16.txt``: the UTF-8 ARN goes through, the UTF-16 ones are named."""
    data = f"{ARN}\n".encode() + f"{OTHER}\n".encode("utf-16")
    items = _lines(data)
    assert items[0] == ARN
    assert isinstance(items[1], BadLine)
    assert items[1].key == f"{OTHER} (UTF-16LE)"
    assert "UTF-16LE byte order mark" in items[1].reason


def test_a_stray_nul_byte_is_named_with_its_place() -> None:
    """One NUL in a UTF-8 line: a failed record saying where, not a guess at UTF-16."""
    [item] = _lines(ARN.replace("churn", "ch\x00urn").encode() + b"\n")
    assert isinstance(item, BadLine)
    assert item.key == ARN.replace("churn", "ch\\x00urn")
    assert item.reason == "line 1 holds a NUL byte at byte 58: a file of ARNs is text and has none"


def test_nul_bytes_off_the_character_grid_still_say_utf16() -> None:
    """A UTF-16 LE file starting with a blank line: no alignment to read, still named."""
    [item] = _lines(f"\n{ARN}\n".encode("utf-16-le"))
    assert isinstance(item, BadLine)
    assert item.key == f"{ARN} (UTF-16 or UTF-32)"
    assert "looks UTF-16 or UTF-32, not UTF-8" in item.reason


def test_lines_that_are_not_utf8_still_say_so() -> None:
    """Latin-1 bytes: the record names the byte, as before."""
    [item] = _lines("caf\u00e9\n".encode("latin-1"))
    assert isinstance(item, BadLine)
    assert item.reason.startswith("line 1 is not valid UTF-8")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(codecs.BOM_UTF16_LE + b"a\0", "UTF-16LE", id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + b"\0a", "UTF-16BE", id="utf-16-be-bom"),
        pytest.param(codecs.BOM_UTF32_LE, "UTF-32LE", id="utf-32-le-bom"),
        pytest.param(codecs.BOM_UTF32_BE, "UTF-32BE", id="utf-32-be-bom"),
        pytest.param(b"a\0r\0", "UTF-16LE", id="utf-16-le"),
        pytest.param(b"\0a\0r", "UTF-16BE", id="utf-16-be"),
        pytest.param(b"a\0\0\0", "UTF-32LE", id="utf-32-le"),
        pytest.param(b"\0\0\0a", "UTF-32BE", id="utf-32-be"),
        pytest.param(b"arn:", None, id="ascii"),
        pytest.param(codecs.BOM_UTF8 + b"arn", None, id="utf-8-bom"),
        pytest.param(b"a\0rn", None, id="one-nul"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_wide_encodings_are_known_by_their_first_bytes(head: bytes, expected: str | None) -> None:
    """Byte order marks, then where the NULs are (RFC 4627 section 3)."""
    found = wide_encoding(head)
    assert (found.name if found else None) == expected


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        pytest.param("utf-16", "UTF-16LE", id="utf-16"),
        pytest.param("utf-16-be", "UTF-16BE", id="utf-16-be"),
        pytest.param("utf-32", "UTF-32LE", id="utf-32"),
    ],
)
def test_a_wide_file_is_refused_before_anything_runs(tmp_path: Path, codec: str, name: str) -> None:
    """A named UTF-16/32 file: a usage error naming the encoding and the iconv to run."""
    path = tmp_path / "arns.txt"
    path.write_bytes(f"{ARN}\n".encode(codec))
    with ExitStack() as files, pytest.raises(UsageError) as refused:
        open_input(str(path), files, count=True)
    message = str(refused.value)
    assert message.startswith(f"{path} is {name}, not UTF-8")
    assert f"iconv -f {name} -t UTF-8 {path} > {tmp_path / 'arns.utf8.txt'}" in message


def test_a_utf8_file_with_a_byte_order_mark_opens(tmp_path: Path) -> None:
    """UTF-8 with a BOM, CR line ends: opened, at its start, with its lines counted."""
    path = tmp_path / "arns.txt"
    path.write_bytes(codecs.BOM_UTF8 + f"{ARN}\r{OTHER}\r".encode())
    with ExitStack() as files:
        source, total = open_input(str(path), files, count=True)
        assert total == 2
        assert source.read(3) == codecs.BOM_UTF8


_TOKENS = st.sampled_from(
    [
        ARN.encode(),
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\r",
        codecs.BOM_UTF8,
        b"\0",
        b"# comment",
        b"  ",
        b"\xff",
        "\u200b".encode(),
        f"{OTHER}\r\n".encode("utf-16"),
        f"{ARN}\n".encode("utf-16-be"),
        f"{ARN}\n".encode("utf-32"),
        b"x" * (MAX_LINE_BYTES + 10),
    ]
)
_BREAK = re.compile(rb"\r\n|\r|\n")


@settings(deadline=None, max_examples=300)
@given(tokens=st.lists(_TOKENS, max_size=25), draw=st.data())
def test_any_split_into_reads_gives_the_same_lines(
    tokens: list[bytes], draw: st.DataObject
) -> None:
    """Reads ending anywhere give what one read gives: items, line and skip counts, total."""
    data = b"".join(tokens)
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=40), label="cuts")
    whole = _read(io.BytesIO(data))
    assert _read(PiecewiseStream(data, cuts)) == whole
    items, lines, _ = whole
    expected_lines = len(_BREAK.split(data)) - (not data or data.endswith((b"\n", b"\r")))
    assert lines == expected_lines
    assert count_lines(PiecewiseStream(data, cuts)) == expected_lines
    assert all("\r" not in item and "\n" not in item for item in items if isinstance(item, str))
