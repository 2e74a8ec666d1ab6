"""The pure pieces of the word-frequency example: the fast counter against the literal tokenizer, the
partition and top-k rules, the single-process reference (on real texts and against block-by-block
counting), and the text generator's determinism, shape and word-length distribution."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.wordfreq import reference, textgen
from examples.wordfreq.reference import reference_counts, reference_topk
from examples.wordfreq.textgen import LENGTH_SHARES, generate_text, parse_size, write_text
from examples.wordfreq.wordcount import (
    count_words,
    count_words_reference,
    merge_topk,
    partition_counts,
    topk,
)
from stepmap.blocks import plan_blocks, read_block

TEXTS = Path("/work/shared/data/text")
AUSTEN = sorted((TEXTS / "austen").glob("*.txt"))
WIKIPEDIA = TEXTS / "wikipedia_vital_articles_en.txt"
needs_texts = pytest.mark.skipif(not WIKIPEDIA.exists(), reason="real texts not available")


# --- count_words ---------------------------------------------------------------------------------

tricky = st.text(alphabet=st.sampled_from("aZq 1.\n'-éİ\u212aß中😀\x00"), max_size=60) | st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(tricky)
def test_fast_counter_equals_the_literal_tokenizer_on_text(text: str) -> None:
    assert count_words(text) == Counter(re.findall("[a-z]+", text.lower()))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80) | tricky.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_fast_counter_equals_the_literal_tokenizer_on_bytes(data: bytes) -> None:
    assert count_words(data) == Counter(re.findall("[a-z]+", data.decode("utf-8", "replace").lower()))


def test_characters_whose_lower_case_is_ascii() -> None:
    # "İ".lower() is "i" + U+0307 and the Kelvin sign lowers to "k": both yield [a-z] tokens.
    assert count_words("İstanbul \u212aelvin") == Counter({"i": 1, "stanbul": 1, "kelvin": 1})
    assert count_words("İstanbul \u212aelvin".encode()) == Counter({"i": 1, "stanbul": 1, "kelvin": 1})
    assert count_words("Zürich café") == Counter({"z": 1, "rich": 1, "caf": 1})


def test_invalid_utf8_separates_words() -> None:
    assert count_words(b"ab\xffcd \xc3") == Counter({"ab": 1, "cd": 1})


@needs_texts
def test_fast_counter_on_a_real_text() -> None:
    data = WIKIPEDIA.read_bytes()[:1_000_000]
    assert count_words(data) == count_words_reference(data)


# --- partition and top-k -------------------------------------------------------------------------


def test_partition_by_length_drops_words_longer_than_20() -> None:
    counts = Counter({"a": 3, "to": 2, "x" * 20: 1, "y" * 21: 5})
    parts = partition_counts(counts)
    assert list(parts) == list(range(1, 21))
    assert parts[1] == {"a": 3} and parts[2] == {"to": 2} and parts[20] == {"x" * 20: 1}
    assert parts[3] == {}  # every partition exists, even empty
    assert all("y" * 21 not in p for p in parts.values())
    assert partition_counts(counts, [2, 21]) == {2: {"to": 2}, 21: {"y" * 21: 5}}


def test_top_k_breaks_ties_alphabetically() -> None:
    counts = {"dog": 2, "cat": 2, "ant": 1, "bee": 2, "emu": 5}
    assert topk(counts, 3) == [("emu", 5), ("bee", 2), ("cat", 2)]
    assert topk(counts, 0) == []
    assert topk(counts, 10) == [("emu", 5), ("bee", 2), ("cat", 2), ("dog", 2), ("ant", 1)]
    with pytest.raises(ValueError):
        topk(counts, -1)


def test_merge_topk_sums_before_ranking() -> None:
    # "zed" is in no part's top 1 but first overall: merging per-part top-k lists would miss it.
    parts = [{"ann": 3, "zed": 2}, {"bob": 3, "zed": 2}]
    assert merge_topk(parts, k=1) == [("zed", 4)]
    assert merge_topk(parts, k=3) == [("zed", 4), ("ann", 3), ("bob", 3)]
    assert merge_topk([], k=3) == []


# --- reference -----------------------------------------------------------------------------------


@needs_texts
def test_reference_on_austen_matches_the_published_top_words() -> None:
    counts: Counter[str] = Counter()
    for novel in AUSTEN:
        counts += reference_counts(novel)
    assert sum(counts.values()) == 729_322  # data-formats.md §6.1
    by_length = partition_counts(counts)
    top3 = [w for w, _ in topk(by_length[3])]
    assert top3 == ["the", "and", "her", "was", "she", "not", "you", "had", "for", "his"]


@needs_texts
def test_reference_on_wikipedia_matches_the_published_top_words() -> None:
    result = reference_topk(WIKIPEDIA)
    assert [w for w, _ in result[3]] == ["the", "and", "are", "was", "for", "his", "one", "its", "has", "can"]
    assert result[12][:3] == [("metropolitan", result[12][0][1]), *result[12][1:3]]
    assert result[12][0][0] == "metropolitan"
    assert result[20][:2] == [("andrianampoinimerina", 3), ("generalfeldmarschall", 2)]
    # Beyond the two, 1-count ties in alphabetical order.
    assert [c for _, c in result[20][2:]] == [1] * 8
    assert [w for w, _ in result[20][2:]] == sorted(w for w, _ in result[20][2:])


def test_reference_reads_a_file_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = "Émile's café, ZÜRICH; naïve 12ab\nLONGWORD" * 30 + "x" * 50 + " \xff end"
    path = tmp_path / "t.txt"
    path.write_bytes(data.encode("utf-8", "surrogateescape") + b"\xff\xfe tail")
    monkeypatch.setattr(reference, "_PIECE", 7)  # pieces far smaller than a word
    assert reference_counts(path) == count_words_reference(path.read_bytes())


def _count_by_blocks(data: bytes, block_size: int) -> dict[int, list[tuple[str, int]]]:
    """What the workflow does: map blocks to partitioned counts, then merge one partition at a time."""

    def read_range(start: int, end: int) -> bytes:
        return data[start:end]

    mapped = [
        partition_counts(count_words(read_block(read_range, len(data), block)))
        for block in plan_blocks(len(data), block_size)
    ]
    return {length: merge_topk(part[length] for part in mapped) for length in range(1, 21)}


@needs_texts
@pytest.mark.parametrize("block_size", [97, 4096, 100_003, 10**7])
def test_blocks_agree_with_the_reference_on_austen(block_size: int) -> None:
    data = (TEXTS / "austen" / "persuasion.txt").read_bytes()
    assert _count_by_blocks(data, block_size) == reference_topk(data)


def test_blocks_agree_with_the_reference_on_generated_text() -> None:
    data = b"".join(generate_text(60_000, seed=5))
    one_line = b"".join(generate_text(40_000, seed=6, one_line=True))
    for block_size in (13, 4093):
        assert _count_by_blocks(data, block_size) == reference_topk(data)
        assert _count_by_blocks(one_line, block_size) == reference_topk(one_line)


# --- text generator --------------------------------------------------------------------------------


def test_generator_is_deterministic_and_prefix_stable() -> None:
    a = b"".join(generate_text(3_000_000, seed=1))
    assert a == b"".join(generate_text(3_000_000, seed=1))
    assert b"".join(generate_text(1_000_001, seed=1)) == a[:1_000_001]
    assert b"".join(generate_text(100_000, seed=2)) != a[:100_000]


@pytest.mark.parametrize("size", [0, 1, 2, 17, 1000, 2_000_003])
def test_generator_writes_exactly_the_size_as_valid_utf8(size: int) -> None:
    data = b"".join(generate_text(size, seed=3))
    assert len(data) == size
    data.decode("utf-8")


def test_cut_multibyte_character_is_padded() -> None:
    text = "ab Zürich".encode()
    assert textgen._cut_utf8(text, 5) == b"ab Z "  # the cut fell inside "ü"
    assert textgen._cut_utf8(text, 6) == "ab Zü".encode()
    assert textgen._cut_utf8("中".encode(), 2) == b"  "


def test_natural_text_has_sentences_paragraphs_and_multibyte_words() -> None:
    text = b"".join(generate_text(2_000_000, seed=4)).decode()
    assert text[0].isupper()
    lines = text.split("\n")
    assert len(lines) > 100
    assert all(line[:1].isupper() or line[:1].isdigit() or not line for line in lines[:-1])
    assert re.search(r"[a-z]\. [A-Z]", text) and ", " in text and "'s " in text
    assert re.search(r"[a-z]-[a-z]", text)
    assert any(ord(c) > 127 for c in text)
    assert max(map(len, lines)) < 100_000


def test_long_lines_and_one_line_modes() -> None:
    long_lines = b"".join(generate_text(3_000_000, seed=4, long_lines=True))
    assert max(map(len, long_lines.split(b"\n"))) > 100_000
    one_line = b"".join(generate_text(1_000_000, seed=4, one_line=True))
    assert re.fullmatch(rb"[a-z]+( [a-z]+)* ?[a-z]*", one_line)


def _length_shares(counts: Counter[str]) -> dict[int, float]:
    total = sum(counts.values())
    by_length: Counter[int] = Counter()
    for word, count in counts.items():
        by_length[len(word)] += count
    return {length: 100 * n / total for length, n in by_length.items()}


@pytest.mark.parametrize("one_line", [False, True])
def test_sampling_tables_reproduce_the_word_length_table(one_line: bool) -> None:
    """Exact: the probability each unit gets from the slot tables, not a sample."""
    sampler = textgen._sampler(one_line, False)
    expected: Counter[str] = Counter()
    reach = 1.0
    for table in sampler.levels:
        slots = Counter(table)
        marks = slots.pop(textgen._MARK, 0) + slots.pop(textgen._MARK + textgen._END, 0)
        for unit, n in slots.items():
            for word in re.findall("[a-z]+", unit.rstrip(textgen._END).decode().lower()):
                expected[word] += reach * n / 65536  # type: ignore[assignment]
        reach *= marks / 65536
    shares = _length_shares(expected)
    for length, share in LENGTH_SHARES.items():
        assert shares[length] == pytest.approx(share, rel=0.02), length


def test_generated_text_has_the_word_length_distribution() -> None:
    shares = _length_shares(count_words(b"".join(generate_text(4_000_000, seed=7))))
    for length in range(1, 13):  # common enough for a 4 MB sample to be within a few percent
        assert shares[length] == pytest.approx(LENGTH_SHARES[length], rel=0.04), length
    assert all(shares.get(length, 0) > 0 for length in range(16, 19))  # rare lengths exist


def test_write_text_and_sizes(tmp_path: Path) -> None:
    sink = io.BytesIO()
    assert write_text(sink, 12_345, seed=9) == 12_345
    assert sink.getvalue() == b"".join(generate_text(12_345, seed=9))
    assert write_text(tmp_path / "out.txt", 1000, seed=9, one_line=True) == 1000
    assert (tmp_path / "out.txt").stat().st_size == 1000
    assert parse_size("256MB") == 256_000_000
    assert parse_size("1GB") == 10**9
    assert parse_size("64KiB") == 65536
    assert parse_size("1.5 MiB") == 1_572_864
    assert parse_size("1000") == 1000
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    with pytest.raises(ValueError):
        list(generate_text(-1))


def test_cli_writes_the_file_and_prints_the_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gen.txt"
    assert textgen.main(["--out", str(out), "--size", "10KB", "--seed", "1"]) == 0
    assert out.stat().st_size == 10_000
    assert "MB/s" in capsys.readouterr().out
