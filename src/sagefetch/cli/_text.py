"""Text from elsewhere (the service, the user) made safe to show on a terminal.

Cheap to import: the logging setup uses it as well as the summaries.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["printable"]

#: What a terminal acts on rather than shows: C0 and C1 controls (ESC starts every
#: ANSI and OSC sequence, CR rewrites the line), DEL, bidirectional marks and
#: overrides (they reorder what follows), line and paragraph separators, and lone
#: surrogates (not text at all).
_UNPRINTABLE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def printable(text: object) -> str:
    r"""``text`` with every control character written as a Python escape (``\x1b``, ``\n``)."""
    return _UNPRINTABLE.sub(_escape, str(text))
