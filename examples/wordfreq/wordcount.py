"""Pure functions behind the word-frequency handlers: count, partition by word length, merge a top-k.

The tokenizer is part of the specification (../shared/reference/data-formats.md §5.2, §6.1)::

    re.findall("[a-z]+", text.lower())

with word length counted in characters, and bytes decoded as UTF-8 with ``errors="replace"``.
:func:`count_words` is the hot loop of the benchmark, so it does not run that regex: it maps bytes
through a 256-entry table (A-Z to a-z, a-z kept, every other byte to a space) and splits on
whitespace, about 2.5 times faster. The shortcut is exact because the only non-ASCII characters whose
``lower()`` contains a letter a-z are U+0130 (İ, lowers to "i" + U+0307) and U+212A (Kelvin sign,
lowers to "k"); input containing either takes the literal path. Every other non-ASCII character, and
every U+FFFD from an invalid byte, separates words in both versions.

The folded bytes are then counted with pyarrow compute when pyarrow is installed (``split_pattern`` on
the space, ``value_counts``: about 2.5 times faster again than ``Counter(str.split())``), otherwise with
the pure-Python ``Counter`` (:func:`count_folded_python`). Both give identical counts; the tests check it.

Top-k order is count descending, then word ascending, so ties are broken alphabetically.
"""

from __future__ import annotations

import heapq
import json
import re
import struct
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MAX_WORD_LENGTH",
    "WORD_LENGTHS",
    "arrow_counts_blob",
    "count_by_length",
    "count_by_length_arrow",
    "count_folded_python",
    "count_words",
    "count_words_reference",
    "counts_from_blobs",
    "merge_counts",
    "merge_topk",
    "partition_counts",
    "topk",
]

WORD_LENGTHS = range(1, 21)
"""The partitions of the workload: word lengths 1 to 20. Longer words are counted but reported nowhere."""
MAX_WORD_LENGTH = WORD_LENGTHS[-1]

_FOLD = bytes(c + 32 if 0x41 <= c <= 0x5A else c if 0x61 <= c <= 0x7A else 0x20 for c in range(256))
_LITERAL_ONLY_BYTES = ("İ".encode(), "\u212a".encode())  # see the module docstring
_TOKEN = re.compile("[a-z]+")
_INT32_MAX = 2**31 - 1
_arrow: Any = None  # (pyarrow, pyarrow.compute) once imported, False when pyarrow is missing


def _arrow_modules() -> Any:
    """``(pyarrow, pyarrow.compute)``, or ``False`` without pyarrow (imported on first use, not at start)."""
    global _arrow
    if _arrow is None:
        try:
            import pyarrow
            import pyarrow.compute
        except ImportError:
            _arrow = False
        else:
            _arrow = (pyarrow, pyarrow.compute)
    return _arrow


def count_folded_python(folded: bytes) -> Counter[str]:
    """Count the words of ``folded`` (only a-z and spaces, as ``_FOLD`` leaves it) with ``Counter``."""
    return Counter(folded.decode("ascii").split())


def _value_counts_arrow(folded: bytes, pa: Any, pc: Any) -> Any:
    """The words of ``folded`` and their counts as Arrow arrays (the empty word among them)."""
    if len(folded) <= _INT32_MAX:
        kind, offsets = pa.StringArray, struct.pack("<ii", 0, len(folded))
    else:
        kind, offsets = pa.LargeStringArray, struct.pack("<qq", 0, len(folded))
    text = kind.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(folded))
    return pc.value_counts(pc.split_pattern(text, " ").flatten())


def _count_folded_arrow(folded: bytes, pa: Any, pc: Any) -> Counter[str]:
    """:func:`count_folded_python` with pyarrow compute: one string, split on spaces, value_counts."""
    counted = _value_counts_arrow(folded, pa, pc)
    counts = dict(zip(counted.field(0).to_pylist(), counted.field(1).to_pylist(), strict=True))
    counts.pop("", None)  # runs of spaces (and the ends) split into empty strings
    return Counter(counts)


def count_words(text: str | bytes) -> Counter[str]:
    """How often each token of ``text`` occurs, by the reference tokenizer.

    ``bytes`` are decoded as UTF-8 with ``errors="replace"`` (the fast path never decodes them: it gives
    the same tokens).
    """
    if isinstance(text, str):
        if "İ" in text or "\u212a" in text:
            return count_words_reference(text)
        # Lone surrogates (from surrogateescape) cannot be lowered into a-z either, so any bytes do.
        data = text.encode("utf-8", errors="surrogatepass")
    else:
        data = bytes(text)
        if any(seq in data for seq in _LITERAL_ONLY_BYTES):
            return count_words_reference(data)
    folded = data.translate(_FOLD)
    arrow = _arrow_modules()
    if arrow:
        return _count_folded_arrow(folded, *arrow)
    return count_folded_python(folded)


def count_by_length(
    text: bytes, partitions: Iterable[int] = WORD_LENGTHS
) -> tuple[dict[int, dict[str, int]], int]:
    """``(partition_counts(count_words(text), partitions), number of words)``, split in Arrow if it can.

    The map child's whole job on one block: with pyarrow the words are grouped by length in Arrow and
    only each partition's words become Python objects.
    """
    arrow = _arrow_modules()
    data = bytes(text)
    if not arrow or any(seq in data for seq in _LITERAL_ONLY_BYTES):
        counts = count_words(data)
        return partition_counts(counts, partitions), sum(counts.values())
    pa, pc = arrow
    counted = _value_counts_arrow(data.translate(_FOLD), pa, pc)
    words, counts = counted.field(0), counted.field(1)
    lengths = pc.binary_length(words)  # folded words are ASCII: bytes are characters
    total = pc.sum(pc.filter(counts, pc.greater(lengths, 0))).as_py() or 0
    out: dict[int, dict[str, int]] = {}
    for length in partitions:
        mask = pc.equal(lengths, length)
        out[length] = dict(
            zip(pc.filter(words, mask).to_pylist(), pc.filter(counts, mask).to_pylist(), strict=True)
        )
    return out, total


def count_by_length_arrow(
    text: bytes, partitions: Iterable[int] = WORD_LENGTHS
) -> tuple[dict[int, Any], int] | None:
    """:func:`count_by_length` with each partition an Arrow table ``(word, count)``, never Python objects.

    ``None`` when pyarrow is missing or ``text`` needs the literal tokenizer (U+0130, U+212A).
    """
    arrow = _arrow_modules()
    data = bytes(text)
    if not arrow or any(seq in data for seq in _LITERAL_ONLY_BYTES):
        return None
    pa, pc = arrow
    counted = _value_counts_arrow(data.translate(_FOLD), pa, pc)
    words, counts = counted.field(0), counted.field(1)
    lengths = pc.binary_length(words)  # folded words are ASCII: bytes are characters
    total = pc.sum(pc.filter(counts, pc.greater(lengths, 0))).as_py() or 0
    table = pa.table({"word": words, "count": counts})
    return {length: table.filter(pc.equal(lengths, length)) for length in partitions}, total


def arrow_counts_blob(table: Any) -> bytes:
    """An Arrow table ``(word, count)`` as the bytes of an Arrow IPC stream."""
    pa = _arrow_modules()[0]
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def counts_from_blobs(blobs: Iterable[bytes]) -> Counter[str]:
    """The sum of word-count blobs: JSON objects ``{word: count}`` or Arrow IPC streams ``(word, count)``.

    Arrow blobs are summed in Arrow first; a blob that is neither raises ``ValueError``.
    """
    total: Counter[str] = Counter()
    tables = []
    for blob in blobs:
        if blob[:1] == b"{":
            total.update(json.loads(blob))
            continue
        arrow = _arrow_modules()
        if not arrow:
            raise ValueError("a word-count blob is not JSON, and pyarrow (to read Arrow) is not installed")
        tables.append(arrow[0].ipc.open_stream(blob).read_all())
    if tables:
        pa = _arrow_modules()[0]
        summed = pa.concat_tables(tables).group_by("word").aggregate([("count", "sum")])
        words = summed["word"].to_pylist()
        counts = summed["count_sum"].to_pylist()
        if total:
            total.update(dict(zip(words, counts, strict=True)))
        else:
            total = Counter(dict(zip(words, counts, strict=True)))
    return total


def count_words_reference(text: str | bytes) -> Counter[str]:
    """The tokenizer exactly as specified; slow, and the yardstick for :func:`count_words`."""
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8", errors="replace")
    return Counter(_TOKEN.findall(text.lower()))


def partition_counts(
    counts: Mapping[str, int], partitions: Iterable[int] = WORD_LENGTHS
) -> dict[int, dict[str, int]]:
    """Split ``counts`` by word length; lengths not in ``partitions`` (by default > 20) are dropped.

    Every requested partition is present in the result, empty if no word has that length, so that a
    mapper writes one (possibly empty) blob per partition and a reducer never waits for a missing one.
    """
    out: dict[int, dict[str, int]] = {length: {} for length in partitions}
    for word, count in counts.items():
        bucket = out.get(len(word))
        if bucket is not None:
            bucket[word] = count
    return out


def merge_counts(parts: Iterable[Mapping[str, int]]) -> Counter[str]:
    """The sum of several word counts."""
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return total


def topk(counts: Mapping[str, int], k: int = 10) -> list[tuple[str, int]]:
    """The ``k`` most frequent words, count descending then word ascending."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return heapq.nsmallest(k, counts.items(), key=lambda item: (-item[1], item[0]))


def merge_topk(parts: Iterable[Mapping[str, int]], k: int = 10) -> list[tuple[str, int]]:
    """Sum the word counts in ``parts`` and return their top ``k`` (ties broken alphabetically).

    The parts must be *complete* counts of disjoint inputs (for example one word-length partition of
    every block); merging per-part top-k lists instead would be wrong, since a word can be in no
    block's top k and still be first overall.
    """
    return topk(merge_counts(parts), k)
