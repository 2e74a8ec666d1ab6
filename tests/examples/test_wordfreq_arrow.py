"""The pyarrow fast path of the word counter against the pure-Python one (and the literal tokenizer),
and the pure-Python fallback when pyarrow cannot be imported."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.wordfreq import wordcount
from examples.wordfreq.reference import reference_counts
from examples.wordfreq.textgen import generate_text
from examples.wordfreq.wordcount import (
    _FOLD,
    arrow_counts_blob,
    count_by_length,
    count_by_length_arrow,
    count_folded_python,
    count_words,
    counts_from_blobs,
    partition_counts,
)
from stepmap.blocks import plan_blocks, read_block

pytest.importorskip("pyarrow")

EDGES = [
    b"",
    b" ",
    b"   \n\t  ",
    b"a",
    b"  leading and trailing  ",
    b"Hello, World! It's--a  test...of PUNCTUATION;x:y(z)[q]{r}",
    "Zürich café naïve 中文 😀 smile İstanbul \u212aelvin ß straße".encode(),
    b"ab\xffcd \xc3 \xe2\x82 ef\x00gh",
    b"x" * 25 + b" " + b"y" * 20 + b" z" * 3,
]


def _literal(data: bytes) -> Counter[str]:
    return Counter(re.findall("[a-z]+", data.decode("utf-8", "replace").lower()))


def _python_counts(data: bytes) -> Counter[str]:
    """:func:`count_words` as it runs without pyarrow (the pure-Python ``Counter`` path)."""
    saved, wordcount._arrow = wordcount._arrow, False
    try:
        return count_words(data)
    finally:
        wordcount._arrow = saved


def test_python_counter_of_folded_bytes() -> None:
    assert count_folded_python(b"Ab, ab!".translate(_FOLD)) == Counter({"ab": 2})


@pytest.fixture
def without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import pyarrow`` fail, and forget the cached modules, for one test."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.compute", None)
    monkeypatch.setattr(wordcount, "_arrow", None)


def test_the_fast_path_is_pyarrow_when_installed() -> None:
    arrow = wordcount._arrow_modules()
    assert arrow and arrow[0].__name__ == "pyarrow"


@pytest.mark.parametrize("data", EDGES)
def test_arrow_equals_python_and_the_literal_tokenizer_on_edge_cases(data: bytes) -> None:
    assert count_words(data) == _python_counts(data) == _literal(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arrow_equals_python_on_any_bytes(data: bytes) -> None:
    assert count_words(data) == _python_counts(data)


@pytest.mark.parametrize("block_size", [1, 7, 4096, 1 << 20])
def test_arrow_on_generated_text_in_blocks_equals_python_and_the_reference(block_size: int) -> None:
    # Blocks of 1 and 7 bytes cut nearly every word, and multibyte characters, at a block boundary.
    size = 20_000 if block_size < 100 else 3_000_000
    data = b"".join(generate_text(size, seed=3))
    arrow_total: Counter[str] = Counter()
    python_total: Counter[str] = Counter()
    for block in plan_blocks(len(data), block_size):
        text = read_block(lambda start, end: data[start:end], len(data), block)
        arrow_total.update(count_words(text))
        python_total.update(_python_counts(text))
    assert arrow_total == python_total == reference_counts(data)


def test_fallback_without_pyarrow(without_pyarrow: None) -> None:
    assert wordcount._arrow_modules() is False
    data = b"".join(generate_text(200_000, seed=5)) + b"".join(EDGES)
    assert count_words(data) == _literal(data)
    assert count_words("") == Counter()


def _by_length_python(data: bytes) -> tuple[dict[int, dict[str, int]], int]:
    counts = _python_counts(data)
    return partition_counts(counts), sum(counts.values())


@pytest.mark.parametrize("data", [*EDGES, b"".join(EDGES), b"".join(generate_text(300_000, seed=7))])
def test_count_by_length_in_arrow_equals_python(data: bytes) -> None:
    assert count_by_length(data) == _by_length_python(data)


def test_count_by_length_without_pyarrow(without_pyarrow: None) -> None:
    data = b"".join(generate_text(100_000, seed=8)) + b"".join(EDGES)
    literal = _literal(data)
    assert count_by_length(data) == (partition_counts(literal), sum(literal.values()))


def test_arrow_blobs_and_json_blobs_sum_alike() -> None:
    one = b"".join(generate_text(50_000, seed=9))
    two = b"the The THE zebra " * 3
    parts_one, _ = count_by_length_arrow(one)  # type: ignore[misc]
    parts_two, _ = count_by_length_arrow(two)  # type: ignore[misc]
    arrow_blobs = [arrow_counts_blob(t) for t in (*parts_one.values(), *parts_two.values()) if t.num_rows]
    expected = _literal(one) + _literal(two)
    assert counts_from_blobs(arrow_blobs) == expected
    mixed = [*arrow_blobs[:5], json.dumps(dict(_literal(two))).encode()]
    assert counts_from_blobs(mixed) == counts_from_blobs(arrow_blobs[:5]) + _literal(two)
    assert counts_from_blobs([]) == Counter()


def test_arrow_blob_without_pyarrow_is_a_clear_error(without_pyarrow: None) -> None:
    with pytest.raises(ValueError, match="pyarrow"):
        counts_from_blobs([b"\xff\xff\xff\xffnot json"])
    assert count_by_length_arrow(b"some words") is None
