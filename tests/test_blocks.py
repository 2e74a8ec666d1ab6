"""Properties of the byte-range block splitter: every word and every line in exactly one block, in order,
for any text and any block size; UTF-8 never split; unbounded over-read; the non-UTF-8 treatment."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepmap.blocks import Block, decode_block, plan_blocks, read_block
from stepmap.errors import InputError

REFERENCE_TOKEN = re.compile("[a-z]+")
COARSE_TOKEN = re.compile(rb"[A-Za-z0-9\x80-\xff]+")  # the splitter's own notion of a word


def ranged(data: bytes, calls: list[tuple[int, int]] | None = None):
    def read_range(start: int, end: int) -> bytes:
        assert 0 <= start <= end <= len(data)
        if calls is not None:
            calls.append((start, end))
        return data[start:end]

    return read_range


def split(
    data: bytes, block_size: int, boundary: str = "word", first_overread: int = 64 * 1024
) -> list[bytes]:
    read = ranged(data)
    return [
        read_block(read, len(data), b, boundary=boundary, first_overread=first_overread)  # type: ignore[arg-type]
        for b in plan_blocks(len(data), block_size)
    ]


def reference_tokens(text: str) -> list[str]:
    return REFERENCE_TOKEN.findall(text.lower())


# Pieces that stress the splitter: long words, multibyte characters (2, 3, 4 bytes), the two characters
# whose lower case is ASCII, digits glued to letters, and every kind of separator.
pieces = st.one_of(
    st.text(alphabet="abcXYZ", min_size=1, max_size=40),
    st.sampled_from(["é", "Zürich", "中文", "😀", "İstanbul", "\u212aelvin", "a1b2", "naïve", "ß"]),
    st.sampled_from([" ", "\n", ", ", ".\n\n", "\t", "'", "-", "\r\n", "\x00"]),
    st.text(min_size=1, max_size=5),  # anything at all, including other scripts and controls
    st.integers(min_value=50, max_value=3000).map(lambda n: "w" * n),  # longer than any small block
)
texts = st.lists(pieces, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(min_value=1, max_value=70), st.integers(min_value=1, max_value=9))
def test_every_word_in_exactly_one_block(text: str, block_size: int, first_overread: int) -> None:
    data = text.encode()
    blocks = split(data, block_size, "word", first_overread)
    # The non-empty blocks tile the object: nothing lost, nothing read twice.
    assert b"".join(blocks) == data
    # Tokenised block by block, the tokens are the whole text's tokens, each once, in order.
    per_block = [tok for blk in blocks for tok in reference_tokens(blk.decode("utf-8"))]
    assert per_block == reference_tokens(text)
    coarse = [tok for blk in blocks for tok in COARSE_TOKEN.findall(blk)]
    assert coarse == COARSE_TOKEN.findall(data)


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(min_value=1, max_value=70), st.integers(min_value=1, max_value=9))
def test_every_line_in_exactly_one_block(text: str, block_size: int, first_overread: int) -> None:
    data = text.encode()
    blocks = split(data, block_size, "line", first_overread)
    assert b"".join(blocks) == data
    assert [line for blk in blocks for line in blk.split(b"\n")[:-1]] == data.split(b"\n")[:-1]
    for blk in blocks:
        # Each non-empty block holds whole lines: only the object's last line may lack its newline.
        assert blk == b"" or blk.endswith(b"\n") or data.endswith(blk)


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(min_value=1, max_value=40), st.sampled_from(["word", "line"]))
def test_blocks_of_valid_utf8_decode(text: str, block_size: int, boundary: str) -> None:
    for blk in split(text.encode(), block_size, boundary):
        blk.decode("utf-8")  # raises if a multibyte character was cut


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=40), st.sampled_from(["word", "line"]))
def test_invalid_utf8_is_replaced_the_same_way_for_every_block_size(
    data: bytes, block_size: int, boundary: str
) -> None:
    blocks = split(data, block_size, boundary)
    assert b"".join(blocks) == data
    decoded = [decode_block(blk) for blk in blocks]
    assert "".join(decoded) == data.decode("utf-8", errors="replace")
    assert [t for d in decoded for t in reference_tokens(d)] == reference_tokens(decode_block(data))


def test_decode_block_replaces_invalid_bytes() -> None:
    assert decode_block(b"caf\xc3\xa9 \xff ok \xe2\x82") == "café \ufffd ok \ufffd"


@pytest.mark.parametrize("boundary", ["word", "line"])
def test_text_without_any_separator_goes_to_the_first_block(boundary: str) -> None:
    data = b"x" * 1000
    blocks = split(data, 7, boundary, first_overread=3)
    assert blocks[0] == data
    assert all(blk == b"" for blk in blocks[1:])


def test_only_separators() -> None:
    data = b" ,.\n" * 20
    assert split(data, 3) == [data[i : i + 3] for i in range(0, len(data), 3)]


def test_empty_object_has_no_blocks() -> None:
    assert list(plan_blocks(0, 10)) == []
    assert len(plan_blocks(0, 1)) == 0
    assert read_block(ranged(b""), 0, Block(0, 0, 0)) == b""


def test_overread_grows_so_a_huge_word_costs_few_reads() -> None:
    word = b"a" * 1_000_000
    data = b"x " + word + b" tail"
    calls: list[tuple[int, int]] = []
    got = read_block(ranged(data, calls), len(data), Block(0, 0, 10), first_overread=16)
    assert got == b"x " + word
    # One read of the block, then chunks of 16, 32, 64, ... bytes: about log2(1e6 / 16) of them.
    assert len(calls) <= 20
    sizes = [end - start for start, end in calls[1:]]
    assert sizes[:3] == [16, 32, 64]


def test_block_reads_one_byte_before_its_start() -> None:
    calls: list[tuple[int, int]] = []
    data = b"one two three"
    read_block(ranged(data, calls), len(data), Block(1, 4, 8))
    assert calls[0] == (3, 8)


def test_word_cut_at_block_edges() -> None:
    data = b"alpha beta gamma"
    # "beta" starts in block [4, 8) and ends in the next one; "gamma" starts in [8, 12).
    assert split(data, 4) == [b"alpha", b" beta", b" gamma", b""]
    # "gamma" starts in [6, 12) at its last byte; [12, 16) holds only the rest of it.
    assert split(data, 6) == [b"alpha ", b"beta gamma", b""]


def test_line_cut_at_block_edges() -> None:
    data = b"first line\nsecond\nthird"
    assert split(data, 8, "line") == [b"first line\n", b"second\n", b"third"]
    assert split(data, 11, "line") == [b"first line\n", b"second\nthird", b""]


def test_multibyte_character_at_a_block_edge_is_kept_whole() -> None:
    data = "xx Zürich yy".encode()  # ü is 2 bytes: a block edge at 5 falls inside it
    blocks = split(data, 5)
    assert blocks == [b"xx Z\xc3\xbcrich", b"", b" yy"]


def test_plan_is_a_lazy_sequence() -> None:
    plan = plan_blocks(10**12, 3)
    assert len(plan) == -(-(10**12) // 3)
    assert plan[0] == Block(0, 0, 3)
    assert plan[-1] == Block(len(plan) - 1, 10**12 - 1, 10**12)
    assert list(plan_blocks(10, 4)) == [Block(0, 0, 4), Block(1, 4, 8), Block(2, 8, 10)]
    assert plan_blocks(10, 4)[1:] == [Block(1, 4, 8), Block(2, 8, 10)]
    with pytest.raises(IndexError):
        plan_blocks(10, 4)[3]


@pytest.mark.parametrize(("size", "block_size"), [(-1, 4), (10, 0), (10, -3), (10, 1.5), (True, 4)])
def test_plan_rejects_bad_sizes(size: int, block_size: int) -> None:
    with pytest.raises(ValueError):
        plan_blocks(size, block_size)


def test_block_item_round_trip() -> None:
    block = Block(3, 30, 40)
    assert block.to_item() == {"Index": 3, "Start": 30, "End": 40}
    assert Block.from_item(block.to_item()) == block


def test_short_read_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="shorter than its listed size"):
        read_block(lambda start, end: b"abc", 10, Block(0, 0, 10))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="boundary"):
        read_block(ranged(b"abc"), 3, Block(0, 0, 3), boundary="sentence")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inside an object"):
        read_block(ranged(b"abc"), 3, Block(0, 2, 5))
