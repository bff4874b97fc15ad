"""The ARNs one run has seen: exact strings while few, 128-bit digests once many.

A run skips repeats, so it remembers every ARN it has read. A set of the
strings costs about 150 bytes per ARN (the string itself, kept alive by the
set, and the set's slot): 141 MB for a million ARNs. Past ``_EXACT_UP_TO``
ARNs the set turns into an open-addressing table (linear probing, at most half
full) of BLAKE2b digests, 16 bytes a slot: 32 MB for a million. Below that the
strings cost nothing extra: most runs never pay for hashing.

Collisions: a digest is BLAKE2b with a 16-byte output (RFC 7693) of the ARN's
UTF-8 bytes, of which the table keeps 127 bits (the top bit marks a slot in
use). Two distinct ARNs with the same 127 bits would make the second look like
a repeat and go without an outcome. The chance that any two of ``n`` distinct
ARNs collide is below ``n**2 / 2**128``: about 3e-27 for a million ARNs, 3e-21
for a billion, far below the chance of a memory error flipping a bit. BLAKE2b
is a cryptographic hash: no one knows how to make two inputs collide on
purpose, so crafted input cannot do it either.
"""

from __future__ import annotations

import hashlib
from array import array
from typing import Any, Final

__all__ = ["SeenArns"]

_EXACT_UP_TO: Final = 2**18
"""ARNs kept as strings (about 38 MB); past this, digests. Runs of this size pay no hashing."""
_IN_USE: Final = 1 << 63
_LOW: Final = (1 << 64) - 1


class SeenArns:
    """The ARNs seen so far in one run; :meth:`add` says whether an ARN is new."""

    __slots__ = ("_room", "_slots", "_strings", "_table")

    def __init__(self) -> None:
        self._strings: set[str] | None = set()
        self._table = array("Q")
        """Two words per slot: the digest's high half (top bit set when in use), its low half."""
        self._slots = 0
        self._room = 0
        """ARNs the table takes before it grows (it stays at most half full)."""

    def add(self, arn: str) -> bool:
        """Remember ``arn``; ``True`` if it was new, ``False`` if it is a repeat."""
        strings = self._strings
        if strings is None:
            return self._add_digest(_digest(arn))
        if arn in strings:
            return False
        strings.add(arn)
        if len(strings) > _EXACT_UP_TO:
            self._to_digests(strings)
        return True

    def _to_digests(self, strings: set[str]) -> None:
        # Each string is freed as soon as its digest is taken, and the table is
        # made only once the set is gone: the strings, the set and the table are
        # never all in memory at once.
        self._strings = None
        digests = array("Q")
        while strings:
            digest = _digest(strings.pop())
            digests.append(digest >> 64)
            digests.append(digest & _LOW)
        strings.clear()  # frees the set's own table too
        self._grow(len(digests))  # two words per digest: twice as many slots as ARNs
        for position in range(0, len(digests), 2):
            self._add_digest(digests[position] << 64 | digests[position + 1])

    def _add_digest(self, digest: int) -> bool:
        # The hottest loop of a big run: locals only, one probe in the common case.
        high, low = (digest >> 64) | _IN_USE, digest & _LOW
        table = self._table
        last = 2 * self._slots - 1
        index = (low << 1) & last
        while True:
            found = table[index]
            if not found:
                table[index] = high
                table[index + 1] = low
                self._room -= 1
                if not self._room:
                    self._grow(2 * self._slots)
                return True
            if found == high and table[index + 1] == low:
                return False
            index = (index + 2) & last

    def _grow(self, at_least: int) -> None:
        """Move every digest into a table of at least ``at_least`` slots (a power of two)."""
        slots = 1 << max(at_least - 1, 1).bit_length()
        old = self._table
        table = array("Q", [0]) * (2 * slots)
        last = 2 * slots - 1
        used = 0
        for position in range(0, len(old), 2):
            high = old[position]
            if high:
                low = old[position + 1]
                index = (low << 1) & last
                while table[index]:
                    index = (index + 2) & last
                table[index] = high
                table[index + 1] = low
                used += 1
        self._table, self._slots = table, slots
        self._room = slots // 2 - used


def _digest(arn: str, blake2b: Any = hashlib.blake2b, from_bytes: Any = int.from_bytes) -> int:
    """The ARN's 128-bit BLAKE2b digest, as an integer (defaults bound once: it runs per ARN)."""
    # surrogatepass: an input file decoded with surrogateescape may hold lone
    # surrogates; every string still gets its own bytes.
    data = arn.encode("utf-8", "surrogatepass")
    return from_bytes(blake2b(data, digest_size=16).digest(), "little")  # type: ignore[no-any-return]
