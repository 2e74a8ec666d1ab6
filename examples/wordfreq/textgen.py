"""Deterministic, realistic English-like text of any size, for the word-frequency workload.

What it reproduces (../shared/reference/data-formats.md §5.2 and §6.1):

* **Vocabulary**: the real word list in ``vocabulary.tsv`` (every word seen at least twice, and every
  word of 13+ letters, in the Wikipedia vital-articles sample, with its count), drawn with the
  corpus's own Zipf-like frequencies. Dropping the rarest words would shift mass away from long words,
  so each word length is rescaled to the token share of §6.1 (Wikipedia column); lengths 16-20 stay
  present at their real, tiny shares (0.076% together).
* **Surface**: sentences starting with a capital, proper nouns capitalized, commas, semicolons,
  colons, questions, paragraphs (one per line, ~100 B to a few KB), clitics attached (``nation's``,
  ``don't``), some hyphenated words, numbers, and a few accented words (``café``, ``Zürich``) so that
  multibyte UTF-8 characters straddle block edges. ``long_lines=True`` makes paragraphs ~1000 times
  longer (lines of several hundred KB). ``one_line=True`` is text8-like: lowercase words and single
  spaces, not one newline.
* **Size**: exactly ``size_bytes`` bytes, valid UTF-8 (a character cut by the size is padded with
  spaces). Output is a pure function of ``(seed, one_line, long_lines)`` and is prefix-stable: the
  first N bytes do not depend on the requested size.

How it is fast without numpy: the text is a sequence of *units*, a word with what precedes it (a
space; a comma, full stop, semicolon, colon or question mark and a space; a full stop and a newline; an
apostrophe; a hyphen) in the right case (capitalized after a sentence end), drawn i.i.d. from a table
of 65,536 slots indexed by two random bytes. Units too rare for a slot of their own share marker slots
that defer to a next table, six levels deep, so even the rarest word keeps its probability (to within
about 1%, checked exactly by a test). Only the 2,000 most frequent words get the rarer leads and the
hyphen: variants of every word would be more rare units than the tables can tell apart. Drawing is
``b"".join(map(table.__getitem__, array("H", randbytes(...))))`` plus a ``split`` and an interleaving
``join`` per level: C loops only, about 50 MB/s of CPU time on the development machine. Memory is
constant (one ~1.6 MB chunk at a time, tables of a few MB).

Run ``python -m examples.wordfreq.textgen --out FILE --size 256MB --seed 1`` (prints MB/s), or
``--derive-vocabulary`` to rebuild ``vocabulary.tsv`` from ../shared/data/text.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO

__all__ = ["LENGTH_SHARES", "generate_text", "parse_size", "write_text"]

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.tsv")
CORPUS = Path("/work/shared/data/text/wikipedia_vital_articles_en.txt")

# §6.1, Wikipedia vital articles (794,581 tokens): percent of tokens by length; 16-20 from counts.
LENGTH_SHARES: dict[int, float] = {
    1: 3.64, 2: 17.52, 3: 17.51, 4: 10.86, 5: 10.82, 6: 9.36, 7: 9.35, 8: 7.21, 9: 5.37, 10: 3.72,
    11: 2.11, 12: 1.30, 13: 0.74, 14: 0.29, 15: 0.11,
    16: 100 * 320 / 794581, 17: 100 * 187 / 794581, 18: 100 * 56 / 794581, 19: 100 * 27 / 794581,
    20: 100 * 13 / 794581,
}  # fmt: skip

_UNITS_PER_CHUNK = 1 << 18  # about 1.6 MB of text
_SLOTS = 1 << 16
_LEVELS = 6
_MARK = b"\x00"  # neither is ever part of a unit
_END = b"\x01"

# What comes before a word, with its probability; after a sentence end the word is capitalized.
_LEADS = (
    (" ", 0.9025),
    (", ", 0.05),
    (". ", 0.037),
    (".\n", 0.0055),
    ("; ", 0.002),
    (": ", 0.002),
    ("? ", 0.001),
)
_SENTENCE_STARTS = frozenset({". ", ".\n", "? "})
_LONG_LINE_FACTOR = 1 / 1000
_HEAD_WORDS = 2000
_CLITICS = frozenset({"s", "t", "d", "ll", "re", "ve", "m"})  # mostly from it's, don't, we'll, ...
_CLITIC_ATTACHED = 0.9
_HYPHENATED = 0.01
_NUMBER_SHARE = 0.006  # of units; numbers hold no [a-z] token
_ACCENTED_SHARE = 0.0003
_ACCENTED = ("café", "Zürich", "naïve", "São", "Möbius", "résumé", "Gödel", "Ångström", "Dvořák", "Kraków",
             "fiancée", "über", "Perú", "Málaga", "Düsseldorf", "Besançon", "Øresund", "Łódź")  # fmt: skip


@dataclass(frozen=True)
class Word:
    """One vocabulary entry: a token of the reference tokenizer and how it is written."""

    text: str
    count: int
    proper: bool  # usually capitalized in mid-sentence (London, Einstein)


def load_vocabulary(path: Path = VOCABULARY_FILE) -> list[Word]:
    """Read ``vocabulary.tsv``: ``word<TAB>count<TAB>proper`` lines after ``#`` comments."""
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            text, count, proper = line.rstrip("\n").split("\t")
            words.append(Word(text, int(count), proper == "1"))
    return words


def generate_text(
    size_bytes: int, *, seed: int = 0, one_line: bool = False, long_lines: bool = False
) -> Iterator[bytes]:
    """Exactly ``size_bytes`` bytes of text, as chunks of about 1.6 MB."""
    if size_bytes < 0:
        raise ValueError(f"size must be >= 0, got {size_bytes}")
    sampler = _sampler(one_line, long_lines)
    rng = random.Random(seed)
    left = size_bytes
    first = True
    while left > 0:
        chunk = sampler.draw(rng, _UNITS_PER_CHUNK)
        if first:
            # The first unit's lead (a space, a comma, ...) would begin the text: begin a paragraph instead.
            chunk = chunk.lstrip(b" ,.;:?'-\n")
            chunk = chunk if one_line else chunk[:1].upper() + chunk[1:]
            first = False
        if len(chunk) >= left:
            yield _cut_utf8(chunk, left)
            return
        left -= len(chunk)
        yield chunk


def write_text(out: BinaryIO | str | Path, size_bytes: int, **options: bool | int) -> int:
    """Write :func:`generate_text` to a binary file object or a path; return the bytes written."""
    if isinstance(out, str | Path):
        with open(out, "wb") as f:
            return write_text(f, size_bytes, **options)
    written = 0
    for chunk in generate_text(size_bytes, **options):  # type: ignore[arg-type]
        out.write(chunk)
        written += len(chunk)
    return written


_SIZE = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)\s*(|b|kb|mb|gb|tb|kib|mib|gib|tib)\s*")
_UNIT = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNIT |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    """``"256MB"`` -> 256,000,000 bytes; KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (examples: 1000, 64KiB, 256MB, 1GB)")
    return int(float(match[1]) * _UNIT[match[2].lower()])


# --- sampling ------------------------------------------------------------------------------------


class _Sampler:
    """Draws units i.i.d. from fixed probabilities through up to three 65,536-slot tables.

    Level 0 holds bare units; deeper levels hold units followed by ``_END`` so that their joined text
    can be split back into units. A marker slot holds ``_MARK`` (plus ``_END`` below level 0): after a
    split on ``_MARK``, zipping the pieces with the next level's units fills every hole in order.
    """

    def __init__(self, units: Sequence[bytes], weights: Sequence[float]) -> None:
        total = sum(weights)
        levels = _build_levels(list(units), [w / total for w in weights])
        ended: dict[bytes, bytes] = {}  # one object per unit keeps the tables small and cache-friendly
        self.levels = [levels[0]] + [
            [ended.setdefault(unit, unit + _END) for unit in table] for table in levels[1:]
        ]

    def draw(self, rng: random.Random, n: int) -> bytes:
        """``n`` units, joined."""
        return self._draw(rng, n, 0)

    def _draw(self, rng: random.Random, n: int, level: int) -> bytes:
        table = self.levels[level]
        text = b"".join(map(table.__getitem__, array("H", rng.randbytes(2 * n))))
        if level + 1 == len(self.levels):
            return text
        pieces = text.split(_MARK)
        deeper = self._draw(rng, len(pieces) - 1, level + 1).split(_END)  # ends with b""
        return b"".join(chain.from_iterable(zip(pieces, deeper, strict=True)))


def _build_levels(units: list[bytes], probs: list[float]) -> list[list[bytes]]:
    """Slot tables: a unit gets floor(p * 65536) slots, the remainders share marker slots that defer
    to the next table; the last table rounds by largest remainder, so its error is below 1/65536 of
    the little mass that reaches it."""
    levels: list[list[bytes]] = []
    for level in range(_LEVELS):
        scaled = [p * _SLOTS for p in probs]
        slots = [int(s) for s in scaled]
        marks = _SLOTS - sum(slots)
        if level == _LEVELS - 1:
            for i in sorted(range(len(units)), key=lambda i: slots[i] - scaled[i])[:marks]:
                slots[i] += 1
            marks = 0
        levels.append([unit for unit, k in zip(units, slots) for _ in range(k)] + [_MARK] * marks)
        if marks == 0:
            break
        probs = [(s - k) / marks for s, k in zip(scaled, slots)]
        keep = [i for i, p in enumerate(probs) if p > 0]
        units, probs = [units[i] for i in keep], [probs[i] for i in keep]
    return levels


@functools.cache
def _sampler(one_line: bool, long_lines: bool) -> _Sampler:
    vocabulary = load_vocabulary()
    weights = _word_weights(vocabulary)
    units: list[bytes] = []
    unit_weights: list[float] = []
    if one_line:
        for word, weight in zip(vocabulary, weights):
            units.append(b" " + word.text.encode())
            unit_weights.append(weight)
        return _Sampler(units, unit_weights)

    leads = [(lead, p * _LONG_LINE_FACTOR if long_lines and lead.endswith("\n") else p) for lead, p in _LEADS]
    if long_lines:
        norm = sum(p for _, p in leads)
        leads = [(lead, p / norm) for lead, p in leads]
    # Only the most frequent words take the rarer leads and the hyphen: giving every variant of every
    # word its own unit would make more rare units than the slot tables can tell apart.
    head = set(sorted(range(len(vocabulary)), key=lambda i: -weights[i])[:_HEAD_WORDS])
    head_mass = sum(weights[i] for i in head)
    rare = [(lead, p / head_mass) for lead, p in leads[1:]]
    head_leads = [(leads[0][0], 1 - sum(p for _, p in rare)), *rare]

    def add(text: str, weight: float) -> None:
        units.append(text.encode())
        unit_weights.append(weight)

    word_share = 1 - _NUMBER_SHARE - _ACCENTED_SHARE
    for i, (word, weight) in enumerate(zip(vocabulary, weights)):
        written = word.text.capitalize() if word.proper else word.text
        weight *= word_share
        if word.text in _CLITICS:
            add(f"'{written}", weight * _CLITIC_ATTACHED)
            weight *= 1 - _CLITIC_ATTACHED
        if i not in head:
            add(f" {written}", weight)
            continue
        if len(word.text) >= 3 and not word.proper:
            add(f"-{written}", weight * _HYPHENATED)
            weight *= 1 - _HYPHENATED
        for lead, p in head_leads:
            add(
                lead + (written[:1].upper() + written[1:] if lead in _SENTENCE_STARTS else written),
                weight * p,
            )
    numbers = random.Random(0)  # a fixed set of numbers, not the text's seed
    for _ in range(200):
        number = numbers.choice([str(numbers.randint(1000, 2024)), str(numbers.randint(0, 100)),
                                 f"{numbers.randint(1, 99)}.{numbers.randint(0, 9)}",
                                 f"{numbers.randint(1, 999)},{numbers.randint(0, 999):03d}"])  # fmt: skip
        add(f" {number}", _NUMBER_SHARE / 200)
    for accented in _ACCENTED:
        add(f" {accented}", _ACCENTED_SHARE / len(_ACCENTED))
    return _Sampler(units, unit_weights)


def _word_weights(vocabulary: list[Word]) -> list[float]:
    """Corpus counts, rescaled so that each length's total share is the one in :data:`LENGTH_SHARES`."""
    mass: Counter[int] = Counter()
    for word in vocabulary:
        mass[len(word.text)] += word.count
    total = sum(word.count for word in vocabulary)
    target = {length: share / 100 for length, share in LENGTH_SHARES.items()}
    # Words longer than 20 letters keep their corpus share (they exist but no table lists them).
    target |= {length: mass[length] / total for length in mass if length not in target}
    norm = sum(target.values())
    return [word.count * target[len(word.text)] / norm / mass[len(word.text)] for word in vocabulary]


# --- output ------------------------------------------------------------------------------------------


def _cut_utf8(chunk: bytes, n: int) -> bytes:
    """The first ``n`` bytes of ``chunk``, a multibyte character cut at the end replaced by spaces."""
    head = chunk[:n]
    lead = len(head) - 1
    while lead >= 0 and 0x80 <= head[lead] < 0xC0:
        lead -= 1
    if lead < 0 or head[lead] < 0xC0:
        return head
    width = 2 if head[lead] < 0xE0 else 3 if head[lead] < 0xF0 else 4
    if len(head) - lead < width:
        head = head[:lead] + b" " * (len(head) - lead)
    return head


# --- vocabulary derivation ------------------------------------------------------------------------


def derive_vocabulary(corpus: Path = CORPUS, out: Path = VOCABULARY_FILE) -> int:
    """Rebuild ``vocabulary.tsv`` from the corpus; return the number of words written."""
    text = corpus.read_text(encoding="utf-8")
    counts = Counter(re.findall("[a-z]+", text.lower()))
    # A word is proper if it is mostly capitalized where no sentence starts.
    capitalized: Counter[str] = Counter()
    mid_sentence: Counter[str] = Counter()
    for match in re.finditer(r"[A-Za-z]+", text):
        before = text[max(0, match.start() - 2) : match.start()]
        if match.start() == 0 or before.endswith("\n") or before in (". ", "? ", "! "):
            continue
        word = match[0].lower()
        mid_sentence[word] += 1
        capitalized[word] += match[0][0].isupper()
    kept = [w for w, c in counts.items() if c >= 2 or len(w) >= 13]
    kept.sort(key=lambda w: (-counts[w], w))
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"# word<TAB>count<TAB>proper: derived by textgen.derive_vocabulary from {corpus.name}\n")
        f.write("# (words seen twice or more, and all of 13+ letters; tokenizer [a-z]+ after lower()).\n")
        f.write("# Source text: English Wikipedia articles by Wikipedia contributors, CC BY-SA 4.0,\n")
        f.write("# https://creativecommons.org/licenses/by-sa/4.0/ ; this list has the same licence.\n")
        for w in kept:
            proper = mid_sentence[w] >= 2 and capitalized[w] * 2 > mid_sentence[w]
            f.write(f"{w}\t{counts[w]}\t{int(proper)}\n")
    return len(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate English-like text for the wordfreq example.")
    parser.add_argument("--out", help="file to write")
    parser.add_argument("--size", default="16MB", help="bytes to write, e.g. 256MB, 1GB, 64KiB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one-line", action="store_true", help="text8-like: lowercase, spaces, no newline")
    parser.add_argument("--long-lines", action="store_true", help="paragraphs of several hundred KB")
    parser.add_argument("--derive-vocabulary", action="store_true", help=f"rebuild {VOCABULARY_FILE.name}")
    args = parser.parse_args(argv)
    if args.derive_vocabulary:
        print(f"wrote {derive_vocabulary()} words to {VOCABULARY_FILE}")
        return 0
    if not args.out:
        parser.error("--out is required")
    try:
        size = parse_size(args.size)
    except ValueError as e:
        parser.error(str(e))
    _sampler(args.one_line, args.long_lines)  # build the tables outside the timed part
    started, cpu_started = time.perf_counter(), time.process_time()
    written = write_text(args.out, size, seed=args.seed, one_line=args.one_line, long_lines=args.long_lines)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # CPU time too: on a shared machine the wall-clock rate says more about the neighbours.
    print(
        f"wrote {written:,} bytes to {args.out} in {elapsed:.2f} s: "
        f"{written / max(elapsed, 1e-9) / 1e6:.0f} MB/s wall, {written / max(cpu, 1e-9) / 1e6:.0f} MB/s CPU"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
