"""The word-frequency workflow end to end: it must agree exactly with the single-process reference.

Runs ``examples/wordfreq/workflow.asl.json`` (TEXT_BLOCKS Distributed Map -> keyed reduce -> collect) on
the embedded store, under the ``local`` pool and the ``sync`` executor, over a real novel (committed in
``examples/wordfreq/data``), generated text, words longer than the blocks, bytes that are not UTF-8, an
empty and a missing object; and checks the things a top-k-per-block shortcut or shared run prefixes
would break.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.wordfreq import handlers
from examples.wordfreq.demo import NOVEL, definition, load_object, run_wordfreq
from examples.wordfreq.handlers import blob_key, collect_results, count_blocks, reduce_prefix
from examples.wordfreq.reference import reference_topk
from examples.wordfreq.textgen import generate_text
from stepmap.blocks import plan_blocks
from stepmap.storage import LocalObjectStore


class Env:
    """One store and state directory for the whole module, so the local worker pool is reused."""

    def __init__(self, root: Path) -> None:
        self.store_dir = str(root / "s3")
        self.state_dir = str(root / "state")
        self.store = LocalObjectStore(self.store_dir)
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> str:
        load_object(self.store_dir, key, data)
        self.objects[key] = data
        return key

    def run(self, key: str, **options: Any) -> Any:
        return run_wordfreq(key, store=self.store_dir, state_dir=self.state_dir, **options)

    def keys(self, prefix: str = "") -> list[str]:
        return [info.key for info in self.store.list("text", prefix)]


def expected(data: bytes) -> dict[str, list[list[Any]]]:
    return {str(length): [list(wc) for wc in top] for length, top in reference_topk(data).items()}


def long_word_text() -> bytes:
    """Words far longer than the blocks (up to 3,000 letters), multibyte characters, one-letter words."""
    rng = random.Random(7)
    parts = []
    for i in range(400):
        choice = rng.random()
        if choice < 0.05:
            parts.append("x" * rng.randrange(30, 3000))
        elif choice < 0.1:
            parts.append("Zürich" if i % 2 else "café-crème")
        else:
            parts.append(rng.choice(["a", "I", "of", "the", "long", "words", "recursion", "extraordinarily"]))
        parts.append(rng.choice([" ", "\n", ", ", ".\n\n"]))
    return "".join(parts).encode()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = Env(tmp_path_factory.mktemp("wordfreq"))
    e.put("novel.txt", NOVEL.read_bytes())
    e.put("generated.txt", b"".join(generate_text(3_000_000, seed=11)))
    e.put("long-lines.txt", b"".join(generate_text(600_000, seed=12, long_lines=True)))
    e.put("long-words.txt", long_word_text())
    e.put("empty.txt", b"")
    yield e


# -- agreement with the reference -------------------------------------------------------------------

CASES = [
    # (object, executor, block size, ItemBatcher MaxItemsPerBatch)
    ("novel.txt", "local", None, None),  # the default 8 MiB: one block
    ("novel.txt", "local", 64 * 1024, None),
    ("novel.txt", "local", 1024, None),  # tiny blocks, one child each
    ("novel.txt", "sync", 100_000, None),
    ("novel.txt", "sync", 1024, 64),
    ("generated.txt", "local", 256 * 1024, None),
    ("generated.txt", "local", 1 << 20, 2),
    ("generated.txt", "sync", 512 * 1024, None),
    ("long-lines.txt", "local", 50_000, None),
    ("long-words.txt", "local", 7, 500),  # blocks far smaller than most words
    ("long-words.txt", "sync", 100, 40),
]


@pytest.mark.parametrize(("key", "executor", "block_size", "batch"), CASES)
def test_agrees_with_reference(
    env: Env, key: str, executor: str, block_size: int | None, batch: int | None
) -> None:
    execution = env.run(key, executor=executor, block_size=block_size, batch=batch)
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output == expected(env.objects[key])


def test_generated_text_has_words_of_every_length(env: Env) -> None:
    """Guards the comparison above: on generated text no partition is trivially empty (20-letter words
    are rare: 0.002% of tokens)."""
    top = expected(env.objects["generated.txt"])
    assert all(len(top[str(length)]) == 10 for length in range(1, 20))
    assert len(top["20"]) >= 5


def test_exact_where_a_per_block_top_k_would_be_wrong(env: Env) -> None:
    """'zz' is 11th in every block (ten words occur twice, it once) and 1st overall."""
    block = 64
    blocks = []
    for b in range(12):
        words = [f"{chr(97 + b)}{chr(97 + w)}" for w in range(10)]  # "aa".."aj", "ba".."bj", ...
        text = " ".join(words * 2) + " zz"
        blocks.append(text.ljust(block).encode())
    data = b"".join(blocks)
    assert all(len(b) == block for b in blocks)
    key = env.put("adversarial.txt", data)
    execution = env.run(key, executor="sync", block_size=block)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["2"][0] == ["zz", 12]
    assert execution.output == expected(data)


# -- bad input --------------------------------------------------------------------------------------


def test_missing_object_fails_with_item_reader_failed(env: Env) -> None:
    execution = env.run("no-such-object.txt", executor="sync")
    assert execution.status == "FAILED"
    assert execution.error == "States.ItemReaderFailed"
    assert "no-such-object.txt" in execution.cause


def test_empty_object_gives_every_partition_empty_and_clears_the_table(env: Env) -> None:
    # A run with results first, so that the empty run must remove its rows.
    assert env.run("novel.txt", executor="sync").status == "SUCCEEDED"
    table = handlers.results_table(env.state_dir)
    assert len(list(table.query(3))) == 10
    execution = env.run("empty.txt", executor="local")
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {str(length): [] for length in range(1, 21)}
    assert list(table.scan()) == []


def test_non_utf8_bytes_separate_words(env: Env) -> None:
    """Documented treatment: each invalid UTF-8 sequence decodes to U+FFFD, which separates words."""
    rng = random.Random(3)
    pieces = []
    for _ in range(3000):
        pieces.append(rng.choice([b"caf\xff\xfeine", b"word", b"\x80\x80", b"na\xc3ve", b"\xe2\x82", b"ok"]))
        pieces.append(rng.choice([b" ", b"\x00", b"\xff", b"\n", b""]))
    data = b"".join(pieces)
    key = env.put("binary.bin", data)
    for executor, block_size in (("sync", 97), ("local", 4096)):
        execution = env.run(key, executor=executor, block_size=block_size, batch=64)
        assert execution.status == "SUCCEEDED", execution.cause
        assert execution.output == expected(data)
    words = {word for word, _ in execution.output["3"]}
    assert {"caf", "ine"} <= words  # "caf\xff\xfeine" is two words
    assert "ve" in {word for word, _ in execution.output["2"]}  # "na\xc3ve": \xc3 'v' is invalid


# -- runs and their intermediate blobs ------------------------------------------------------------


def test_runs_do_not_read_each_others_blobs_and_clean_up_their_own(env: Env) -> None:
    # Blobs of another run, still in place (say, it is running right now): they must not be counted.
    foreign = blob_key("wordfreq-runs/another-run", 3, 0)
    env.store.put("text", foreign, json.dumps({"zzz": 10**9}).encode())
    execution = env.run("novel.txt", executor="local", block_size=50_000, name="run-one")
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == expected(env.objects["novel.txt"])
    assert env.keys("wordfreq-runs/") == [foreign]
    rows = list(handlers.results_table(env.state_dir).query(3))
    assert [(r["rank"], r["word"], r["count"], r["run"]) for r in rows] == [
        (rank, word, count, "run-one") for rank, (word, count) in enumerate(execution.output["3"], start=1)
    ]
    env.store.delete("text", foreign)


class DictStore:
    """An in-memory stand-in with the calls the handlers make."""

    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects

    def get(self, bucket: str, key: str) -> bytes:
        return self.objects[bucket, key]

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        return self.objects[bucket, key][start:end]

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.objects[bucket, key] = data

    def list(self, bucket: str, prefix: str = "") -> list[Any]:
        class Info:
            def __init__(self, key: str) -> None:
                self.key = key

        return [Info(k) for b, k in sorted(self.objects) if b == bucket and k.startswith(prefix)]

    def delete(self, bucket: str, key: str) -> None:
        del self.objects[bucket, key]


def test_one_blob_per_partition_and_child_named_so_reducers_list_only_their_own() -> None:
    data = b"a bb ccc bb a dddddddddd " * 3 + b"x" * 25  # a 25-letter word is counted nowhere
    store = DictStore({("b", "k"): data})
    items = [
        {"Bucket": "b", "Key": "k", "Size": len(data), **blk.to_item()} for blk in plan_blocks(len(data), 16)
    ]
    first = count_blocks(store, "p", items[:3])
    second = count_blocks(store, "p", items[3:])
    assert first["Blocks"] == 3 and second["Blocks"] == len(items) - 3
    assert first["Words"] + second["Words"] == 19
    blobs = sorted(k for _, k in store.objects if k.startswith("p/"))
    assert blobs == sorted(
        {blob_key("p", n, 0) for n in (1, 2, 3, 10)} | {blob_key("p", n, 3) for n in (1, 2, 3, 10)}
    )
    assert blob_key("p", 1, 3) == "p/part-01/block-00000003.json"
    store.put("b", "p/part-10/block-99999999.json", b'{"aaaaaaaaaa": 1}')
    # part-01 must not list part-10 (the trailing slash), and blobs are complete counts, merged exactly.
    assert reduce_prefix(store, "b", "p", 1)["Top"] == [["a", 6]]
    assert reduce_prefix(store, "b", "p", 10)["Top"] == [["dddddddddd", 3], ["aaaaaaaaaa", 1]]
    assert reduce_prefix(store, "b", "p", 20)["Top"] == []


def test_collect_orders_by_length_and_fills_missing_lengths() -> None:
    out = collect_results([{"Length": 2, "Top": [["of", 3]]}, {"Length": 1, "Top": [["a", 9]]}])
    assert list(out) == [str(n) for n in range(1, 21)]
    assert out["1"] == [["a", 9]] and out["2"] == [["of", 3]] and out["20"] == []


def test_definition_is_valid_with_and_without_a_batcher() -> None:
    import stepmap

    assert stepmap.validate(definition()) == []
    batched = definition(block_size=1024, batch=10)
    assert stepmap.validate(batched) == []
    assert batched["States"]["CountWords"]["ItemReader"]["ReaderConfig"]["BlockSizeBytes"] == 1024
