"""Lambda-style handlers of the word-frequency workflow: map blocks, reduce partitions, collect.

The workflow (``workflow.asl.json``) counts, for every word length 1-20, the 10 most frequent words of
one big text object. Its data flow, all through the object store and the results table:

``map_block`` (a child of the first Distributed Map, one per TEXT_BLOCKS item or ItemBatcher batch)
    reads its block(s) with :func:`stepmap.blocks.read_block` over ranged GETs, counts the words
    (:func:`~examples.wordfreq.wordcount.count_words`), splits the counts by word length and writes
    one blob per non-empty (partition, child) to ``<prefix>/part-NN/block-IIIIIIII.arrow`` (an Arrow IPC
    stream ``(word, count)``, when pyarrow is installed and the child has one block) or ``.json``
    (``{word: count}``, otherwise) (``IIIIIIII`` is the child's first block index, so names
    never collide). The blob holds the block's *complete* counts for that length: a per-block top-k
    would be wrong, since a word can be 11th in every block and 1st overall.
``reduce_partition`` (a child of the second Distributed Map, one per word length)
    lists ``<prefix>/part-NN/`` (only its own blobs), sums them, keeps the top 10 (count descending,
    ties alphabetical), writes rows ``{length, rank, word, count, run}`` to the table ``wordfreq_top``
    (partition key ``length``, sort key ``rank``, both numbers) and returns them.
``collect`` (the final Task)
    turns the 20 reducer outputs into ``{"1": [[word, count], ...], ..., "20": [...]}`` and deletes the
    run's intermediate blobs.

``<prefix>`` is ``wordfreq-runs/<execution name>`` in the input object's bucket, so concurrent runs never
read each other's blobs. Bytes that are not UTF-8 are not an error: each invalid sequence decodes to
U+FFFD and separates words, exactly as in :mod:`examples.wordfreq.reference` (see ``stepmap.blocks``).
Each handler is a thin shell over a pure function taking the store (and table) as arguments.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from examples.wordfreq.wordcount import (
    WORD_LENGTHS,
    arrow_counts_blob,
    count_by_length,
    count_by_length_arrow,
    count_words,
    counts_from_blobs,
    partition_counts,
    topk,
)
from stepmap.blocks import Block, read_block

if TYPE_CHECKING:
    from stepmap.storage import Table

__all__ = [
    "RESULTS_TABLE",
    "TOP_K",
    "blob_key",
    "collect",
    "collect_results",
    "count_blocks",
    "map_block",
    "partition_prefix",
    "reduce_partition",
    "reduce_prefix",
    "results_table",
]

RESULTS_TABLE = "wordfreq_top"
TOP_K = 10


class _Store(Protocol):
    """The part of the object store the handlers use."""

    def get(self, bucket: str, key: str) -> bytes: ...
    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes: ...
    def put(self, bucket: str, key: str, data: bytes) -> Any: ...
    def list(self, bucket: str, prefix: str = "") -> Iterable[Any]: ...
    def delete(self, bucket: str, key: str) -> None: ...


class _Table(Protocol):
    def put_item(self, item: Mapping[str, Any]) -> None: ...
    def delete_item(self, key: Mapping[str, Any]) -> None: ...


def results_table(state_dir: str | None = None) -> Table:
    """The table ``wordfreq_top`` (numeric keys ``length``, ``rank``), created on first use.

    Handlers call it without ``state_dir`` (the engine's environment says where tables live). Create it
    once before a run, from the coordinator, by passing the run's ``state_dir``: several workers creating
    a fresh SQLite file at the same moment can fail with "database is locked" (an engine issue).
    """
    from stepmap.storage import TableConfig, TableSchema, open_table
    from stepmap.storage.handles import table

    if state_dir is None:
        return table(
            RESULTS_TABLE, partition_key="length", sort_key="rank", partition_key_type="N", sort_key_type="N"
        )
    schema = TableSchema("length", "rank", "N", "N")
    return open_table(TableConfig.from_env({"STEPMAP_STATE_DIR": state_dir}), RESULTS_TABLE, schema)


def partition_prefix(prefix: str, length: int) -> str:
    """Where the blobs of one word length live (with a trailing slash, so part-1 never lists part-10)."""
    return f"{prefix}/part-{length:02d}/"


def blob_key(prefix: str, length: int, first_block: int, suffix: str = "json") -> str:
    """The blob of one (partition, map child); ``first_block`` is the child's first block index."""
    return f"{partition_prefix(prefix, length)}block-{first_block:08d}.{suffix}"


def count_blocks(store: _Store, prefix: str, blocks: list[dict[str, Any]]) -> dict[str, int]:
    """The map child's work: count the words of ``blocks`` (TEXT_BLOCKS items) and write the blobs."""
    if not blocks:
        return {"Blocks": 0, "Words": 0, "Blobs": 0}
    texts = (_read(store, item) for item in blocks)
    out_bucket, first = blocks[0]["Bucket"], min(int(item["Index"]) for item in blocks)
    if len(blocks) == 1:
        text = next(texts)
        arrow = count_by_length_arrow(text)
        if arrow is not None:  # pyarrow installed: Arrow from the bytes to the blobs, no Python dicts
            tables, words = arrow
            blobs = 0
            for length, table in tables.items():
                if table.num_rows:
                    store.put(out_bucket, blob_key(prefix, length, first, "arrow"), arrow_counts_blob(table))
                    blobs += 1
            return {"Blocks": 1, "Words": words, "Blobs": blobs}
        texts = iter([text])
    if len(blocks) == 1:  # without pyarrow, or text needing the literal tokenizer
        parts, words = count_by_length(next(texts))
    else:
        counts: Counter[str] = Counter()
        for text in texts:
            # Counter.update into an empty Counter is a plain dict copy: one block costs no merge.
            counts.update(count_words(text))
        parts, words = partition_counts(counts), sum(counts.values())
    blobs = 0
    for length, part in parts.items():
        if part:  # a reducer lists what exists, so an empty partition needs no blob
            store.put(out_bucket, blob_key(prefix, length, first), json.dumps(part).encode())
            blobs += 1
    return {"Blocks": len(blocks), "Words": words, "Blobs": blobs}


def _read(store: _Store, item: Mapping[str, Any]) -> bytes:
    """The text of one TEXT_BLOCKS item, whole words only (see :func:`stepmap.blocks.read_block`)."""
    bucket, key = item["Bucket"], item["Key"]

    def read_range(start: int, end: int) -> bytes:
        return store.get_range(bucket, key, start, end)

    return read_block(read_range, int(item["Size"]), Block.from_item(item))


def reduce_prefix(
    store: _Store, bucket: str, prefix: str, length: int, table: _Table | None = None, run: str = ""
) -> dict[str, Any]:
    """The reducer's work: merge the blobs of one word length; write and return its top ``TOP_K``."""
    listed = store.list(bucket, partition_prefix(prefix, length))
    total = counts_from_blobs(store.get(bucket, info.key) for info in listed)
    top = topk(total, TOP_K)
    if table is not None:
        for rank, (word, count) in enumerate(top, start=1):
            table.put_item({"length": length, "rank": rank, "word": word, "count": count, "run": run})
        for rank in range(len(top) + 1, TOP_K + 1):
            # An earlier run may have filled ranks this run does not: do not leave its rows behind.
            table.delete_item({"length": length, "rank": rank})
    return {"Length": length, "Top": [[word, count] for word, count in top]}


def collect_results(results: list[Mapping[str, Any]]) -> dict[str, list[list[Any]]]:
    """``{"1": top, ..., "20": top}`` from the reducers' outputs (in any order; missing lengths empty)."""
    by_length = {int(r["Length"]): r["Top"] for r in results}
    return {str(length): by_length.get(length, []) for length in WORD_LENGTHS}


def _prefix_of(event: Mapping[str, Any]) -> str:
    prefix = event.get("Prefix") or event.get("BatchInput", {}).get("Prefix")
    if not isinstance(prefix, str) or not prefix:
        raise ValueError("the event names no run prefix ('Prefix', or 'BatchInput.Prefix' with ItemBatcher)")
    return prefix


def map_block(event: dict[str, Any], context: object) -> dict[str, int]:
    """Lambda handler of the map children (``FunctionName: map_block``).

    ``event`` is ``{"Block": <TEXT_BLOCKS item>, "Prefix": p}``, or with an ItemBatcher
    ``{"Items": [<item>, ...], "BatchInput": {"Prefix": p}}``. Returns ``{"Blocks", "Words", "Blobs"}``.
    """
    from stepmap.storage.handles import objects

    # Batched items are bare TEXT_BLOCKS items, or {"Block": ...} when an ItemSelector shaped them.
    items = event.get("Items", [event])
    blocks = [item.get("Block", item) for item in items]
    return count_blocks(objects(), _prefix_of(event), blocks)


def reduce_partition(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda handler of the reducers (``FunctionName: reduce_partition``).

    ``event`` is ``{"Length": n, "Bucket": b, "Prefix": p, "Run": execution name}``; returns
    ``{"Length": n, "Top": [[word, count], ...]}``.
    """
    from stepmap.storage.handles import objects

    length = int(event["Length"])
    run = str(event.get("Run", ""))
    return reduce_prefix(objects(), event["Bucket"], event["Prefix"], length, results_table(), run)


def collect(event: dict[str, Any], context: object) -> dict[str, list[list[Any]]]:
    """Lambda handler of the final Task (``FunctionName: collect``).

    ``event`` is ``{"Results": [reducer outputs], "Bucket": b, "Prefix": p}``. Deletes the blobs under
    ``<p>/`` (the run succeeded: nothing will read them again) and returns the answer by length.
    """
    from stepmap.storage.handles import objects

    store = objects()
    answer = collect_results(event["Results"])
    for info in list(store.list(event["Bucket"], event["Prefix"] + "/")):
        store.delete(event["Bucket"], info.key)
    return answer
