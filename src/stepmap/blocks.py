"""Byte-range blocks of one big object, cut so that every word (or line) lands in exactly one block.

A large text object is processed as a Map over *blocks*: nominal byte ranges ``[start, end)`` of
``block_size`` bytes that tile ``[0, size)``. The nominal ranges ignore the content; :func:`read_block`
then moves both edges to token boundaries with one rule, the word-level version of Hadoop's
TextInputFormat rule:

    **a token belongs to the block that contains its first byte.**

So a block skips the partial token at its start (it belongs to the previous block) and reads past its
end to finish the token that starts inside it, however long that token is: the over-read fetches
growing chunks (64 KiB, then doubling) until it meets a separator or the end of the object, so there is
no fixed limit on the length of a word or a line. A block whose every byte continues a token that began
earlier owns nothing and reads as ``b""``.

Token bytes
    ``boundary="word"``: ASCII letters and digits, and every byte >= 0x80. Treating all non-ASCII bytes
    as token bytes means a cut never falls inside a UTF-8 multibyte character and a non-ASCII character
    never separates anything. Every other byte (ASCII punctuation, space, control characters)
    separates. This is coarser than any ASCII tokenizer (``[a-z]+`` after ``lower()``, ``\\w+``), so a
    cut at a separator never cuts one of their tokens either.

    ``boundary="line"``: a line is everything up to and including ``b"\\n"``; the last line may lack it.

Consequences, proved by the property tests: the non-empty blocks, concatenated in order, are exactly
the object's bytes; each token (each line) is in exactly one block; blocks of valid UTF-8 decode as
UTF-8, because every cut is next to an ASCII byte.

Non-UTF-8 input is not an error. :func:`decode_block` decodes with ``errors="replace"``: each invalid
sequence becomes U+FFFD, which no ASCII tokenizer treats as part of a word. Because every cut sits next
to an ASCII byte, and an ASCII byte always ends an invalid sequence, decoding block by block gives the
same text as decoding the whole object at once, so results still do not depend on the block size.
(Raising instead would fail a whole workflow on one stray byte, and an object truncated at an exact
byte size, such as enwik9, ends in the middle of a character.)

The module is pure: it keeps no state, and reads only through the ``read_range(start, end)`` callable
it is given (backed by an object store's ranged GET in a workflow, by slicing in tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from stepmap.errors import InputError

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "Block",
    "BlockPlan",
    "Boundary",
    "ReadRange",
    "decode_block",
    "plan_blocks",
    "read_block",
]

Boundary = Literal["word", "line"]
ReadRange = Callable[[int, int], bytes]
"""``read_range(start, end)`` returns the object's bytes ``[start, end)`` (``end <= size``)."""

DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
_FIRST_OVERREAD = 64 * 1024

# The complement of the token bytes: one compiled search finds the next cut point at C speed.
_SEPARATOR = {
    "word": re.compile(rb"[^A-Za-z0-9\x80-\xff]"),
    "line": re.compile(rb"\n"),
}


@dataclass(frozen=True)
class Block:
    """The nominal byte range ``[start, end)`` of block number ``index`` (0-based)."""

    index: int
    start: int
    end: int

    def to_item(self) -> dict[str, int]:
        """The block as a JSON Map item."""
        return {"Index": self.index, "Start": self.start, "End": self.end}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Block:
        """Inverse of :meth:`to_item`."""
        return cls(int(item["Index"]), int(item["Start"]), int(item["End"]))


class BlockPlan(Sequence[Block]):
    """The blocks of an object of ``size`` bytes, computed on demand (a billion blocks cost nothing)."""

    __slots__ = ("block_size", "size")

    def __init__(self, size: int, block_size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"object size must be an integer >= 0, got {size!r}")
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block size must be an integer >= 1, got {block_size!r}")
        self.size = size
        self.block_size = block_size

    def __len__(self) -> int:
        return -(-self.size // self.block_size)

    @overload
    def __getitem__(self, index: int) -> Block: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Block]: ...
    def __getitem__(self, index: int | slice) -> Block | Sequence[Block]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"block index {index} out of range for {n} blocks")
        start = index * self.block_size
        return Block(index, start, min(start + self.block_size, self.size))

    def __iter__(self) -> Iterator[Block]:
        for index, start in enumerate(range(0, self.size, self.block_size)):
            yield Block(index, start, min(start + self.block_size, self.size))

    def __repr__(self) -> str:
        return f"BlockPlan(size={self.size}, block_size={self.block_size}, blocks={len(self)})"


def plan_blocks(size: int, block_size: int = DEFAULT_BLOCK_SIZE) -> BlockPlan:
    """Nominal blocks tiling ``[0, size)``; an empty object has no blocks."""
    return BlockPlan(size, block_size)


def read_block(
    read_range: ReadRange,
    size: int,
    block: Block,
    *,
    boundary: Boundary = "word",
    first_overread: int = _FIRST_OVERREAD,
) -> bytes:
    """The bytes of the tokens (or lines) that start inside ``block``, with the separators between them.

    ``read_range`` is called once for the nominal range (one byte earlier, to see whether a token is
    cut at ``start``) and, only when a token is cut at ``end``, again for chunks after ``end`` of
    ``first_overread`` bytes, doubling, until the token ends.
    """
    try:
        separator = _SEPARATOR[boundary]
    except KeyError:
        raise ValueError(f"boundary must be 'word' or 'line', got {boundary!r}") from None
    if not 0 <= block.start <= block.end <= size:
        raise ValueError(f"block [{block.start}, {block.end}) does not lie inside an object of {size} bytes")
    if block.start == block.end:
        return b""

    lead = 1 if block.start > 0 else 0
    body = _read_exactly(read_range, block.start - lead, block.end)

    begin = lead  # index into body of the first owned byte
    if lead and not _is_cut_point(body[0], boundary):
        # The token (line) running into this block started earlier and is the previous block's.
        found = separator.search(body, lead)
        if found is None:
            return b""
        begin = found.start() + (1 if boundary == "line" else 0)
        if begin == len(body):
            return b""

    if block.end == size or _is_cut_point(body[-1], boundary):
        return body[begin:]
    return body[begin:] + _finish_token(read_range, size, block.end, separator, boundary, first_overread)


def decode_block(data: bytes) -> str:
    """Decode a block's bytes; invalid UTF-8 becomes U+FFFD (see the module docstring for why)."""
    return data.decode("utf-8", errors="replace")


def _is_cut_point(byte: int, boundary: Boundary) -> bool:
    """May a block edge fall right after this byte?"""
    if boundary == "line":
        return byte == 0x0A
    return byte < 0x80 and not (0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A)


def _finish_token(
    read_range: ReadRange, size: int, pos: int, separator: re.Pattern[bytes], boundary: Boundary, chunk: int
) -> bytes:
    """The bytes from ``pos`` up to the end of the token cut at ``pos`` (a line keeps its newline)."""
    parts: list[bytes] = []
    chunk = max(1, chunk)
    while pos < size:
        data = _read_exactly(read_range, pos, min(pos + chunk, size))
        found = separator.search(data)
        if found is not None:
            parts.append(data[: found.start() + (1 if boundary == "line" else 0)])
            break
        parts.append(data)
        pos += len(data)
        chunk *= 2
    return b"".join(parts)


def _read_exactly(read_range: ReadRange, start: int, end: int) -> bytes:
    data = read_range(start, end)
    if len(data) != end - start:
        raise InputError(
            f"reading bytes [{start}, {end}) returned {len(data)} bytes instead of {end - start}: "
            "the object is shorter than its listed size (was it replaced while being read?)"
        )
    return data
