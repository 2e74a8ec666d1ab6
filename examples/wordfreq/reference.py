"""Single-process reference for the word-frequency workload: the golden answer the workflow must match.

For every word length 1-20: the 10 most frequent words, count descending then word ascending, by the
literal tokenizer ``re.findall("[a-z]+", text.lower())`` over the UTF-8 text (invalid bytes replaced).
It shares no code with the block splitter or the fast counter on purpose. A file is read sequentially
in large pieces, each cut after its last ASCII non-letter byte (an ASCII byte never belongs to a
multibyte character and a non-letter never belongs to a token), so memory stays bounded for any size
and any line length.

Run: ``python -m examples.wordfreq.reference FILE``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator

__all__ = ["reference_counts", "reference_topk"]

_PIECE = 16 * 1024 * 1024
_TOKEN = re.compile("[a-z]+")
_LAST_CUT = re.compile(rb"[\x00-\x40\x5b-\x60\x7b-\x7f]")  # ASCII but not a letter


def reference_counts(source: bytes | str | os.PathLike[str]) -> Counter[str]:
    """Count every token of ``source``: the bytes themselves, or the path of a file."""
    counts: Counter[str] = Counter()
    for piece in _pieces(source):
        counts.update(_TOKEN.findall(piece.decode("utf-8", errors="replace").lower()))
    return counts


def reference_topk(
    source: bytes | str | os.PathLike[str], k: int = 10, lengths: range = range(1, 21)
) -> dict[int, list[tuple[str, int]]]:
    """For each word length, its ``k`` most frequent words as ``(word, count)``, ties alphabetical."""
    by_length: dict[int, list[tuple[str, int]]] = {length: [] for length in lengths}
    for word, count in reference_counts(source).items():
        bucket = by_length.get(len(word))
        if bucket is not None:
            bucket.append((word, count))
    return {
        length: heapq.nsmallest(k, words, key=lambda wc: (-wc[1], wc[0]))
        for length, words in by_length.items()
    }


def _pieces(source: bytes | str | os.PathLike[str]) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    carry = b""
    with open(source, "rb") as f:
        while chunk := f.read(_PIECE):
            data = carry + chunk
            # A regex searches forwards: on the reversed piece its first hit is the last cut point.
            found = _LAST_CUT.search(data[::-1])
            if found is None:
                carry = data
                continue
            cut = len(data) - found.start()
            yield data[:cut]
            carry = data[cut:]
    yield carry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    result = reference_topk(args.file, args.k)
    json.dump({str(length): words for length, words in result.items()}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
