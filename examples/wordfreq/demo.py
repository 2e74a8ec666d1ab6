"""The word-frequency demo: the top 10 words of every length 1-20, end to end on the embedded store.

``python -m examples.wordfreq.demo [--size 64MB] [--real] [--block-size 8MiB] [--state-dir DIR]``
generates English-like text (or, with ``--real``, takes Jane Austen's *Northanger Abbey* from
``data/``), loads it into the bucket ``text`` of the embedded store (``<state-dir>/s3``), runs
``workflow.asl.json`` and prints the answer, as the results table ``wordfreq_top`` holds it.
``--check`` also computes the single-process reference and says whether they agree.

The helpers here are what the tests and the benchmarks use too: :func:`definition` (the workflow with
another block size, optionally with an ItemBatcher), :data:`FUNCTIONS`, :func:`load_object` and
:func:`run_wordfreq`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from examples.wordfreq.handlers import results_table

HERE = Path(__file__).resolve().parent
WORKFLOW = HERE / "workflow.asl.json"
NOVEL = HERE / "data" / "northangerabbey.txt"
FUNCTIONS = {
    name: f"examples.wordfreq.handlers:{name}" for name in ("map_block", "reduce_partition", "collect")
}
BUCKET = "text"

__all__ = ["BUCKET", "FUNCTIONS", "NOVEL", "WORKFLOW", "definition", "load_object", "main", "run_wordfreq"]


def definition(block_size: int | None = None, batch: int | None = None) -> dict[str, Any]:
    """``workflow.asl.json``, with ``BlockSizeBytes`` replaced and, if ``batch``, an ItemBatcher.

    With a batcher each map child gets ``{"Items": [block, ...], "BatchInput": {"Prefix": ...}}`` and
    writes one blob per partition for all its blocks (far fewer objects with tiny blocks).
    """
    machine: dict[str, Any] = json.loads(WORKFLOW.read_text())
    count_words = machine["States"]["CountWords"]
    if block_size is not None:
        count_words["ItemReader"]["ReaderConfig"]["BlockSizeBytes"] = block_size
    if batch is not None:
        del count_words["ItemSelector"]
        count_words["ItemBatcher"] = {"MaxItemsPerBatch": batch, "BatchInput": {"Prefix.$": "$.run.prefix"}}
    return machine


def load_object(store_dir: str, key: str, chunks: Iterable[bytes] | bytes, bucket: str = BUCKET) -> int:
    """Put ``chunks`` (joined) into ``bucket``/``key`` of the local store at ``store_dir``; returns bytes."""
    from stepmap.storage import LocalObjectStore

    store = LocalObjectStore(store_dir)
    if not store.bucket_exists(bucket):
        store.create_bucket(bucket)
    data = chunks if isinstance(chunks, bytes) else b"".join(chunks)
    store.put(bucket, key, data)
    return len(data)


def run_wordfreq(
    key: str,
    *,
    store: str,
    state_dir: str,
    block_size: int | None = None,
    batch: int | None = None,
    executor: str = "local",
    bucket: str = BUCKET,
    name: str | None = None,
) -> Any:
    """Run the workflow over ``bucket``/``key`` and return the :class:`stepmap.Execution`."""
    import stepmap

    results_table(state_dir)  # create the table before several workers race to (see results_table)
    return stepmap.run(
        definition(block_size, batch),
        {"bucket": bucket, "key": key},
        functions=FUNCTIONS,
        executor=executor,
        store=store,
        state_dir=state_dir,
        name=name,
    )


def main(argv: list[str] | None = None) -> int:
    from examples.wordfreq.textgen import generate_text, parse_size

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="64MB", help="generated text size (e.g. 64MB, 1GiB)")
    parser.add_argument("--real", action="store_true", help="use Northanger Abbey instead of generated text")
    parser.add_argument("--block-size", default="8MiB", help="TEXT_BLOCKS block size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--executor", choices=("local", "sync"), default="local")
    parser.add_argument("--state-dir", default=".stepmap")
    parser.add_argument("--check", action="store_true", help="compare with the single-process reference")
    args = parser.parse_args(argv)

    store = os.path.join(args.state_dir, "s3")
    started = time.perf_counter()
    if args.real:
        key, data = NOVEL.name, NOVEL.read_bytes()
    else:
        size = parse_size(args.size)
        key, data = f"generated-{size}-seed{args.seed}.txt", b"".join(generate_text(size, seed=args.seed))
    load_object(store, key, data)
    print(f"loaded s3://{BUCKET}/{key} ({len(data):,} bytes) in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    block_size = parse_size(args.block_size)
    execution = run_wordfreq(
        key, store=store, state_dir=args.state_dir, block_size=block_size, executor=args.executor
    )
    seconds = time.perf_counter() - started
    if execution.status != "SUCCEEDED":
        print(f"workflow {execution.status}: {execution.error}: {execution.cause}", file=sys.stderr)
        return 1
    print(f"workflow finished in {seconds:.2f} s ({len(data) / seconds / 1e6:.1f} MB/s)")
    rows = list(results_table(args.state_dir).scan())
    for length in range(1, 21):
        top = sorted((r for r in rows if r["length"] == length), key=lambda r: r["rank"])
        words = ", ".join(f"{r['word']} {r['count']}" for r in top) or "(none)"
        print(f"{length:>2}: {words}")
    print(f"rows are in the table 'wordfreq_top' ({os.path.join(args.state_dir, 'tables.sqlite')})")
    if args.check:
        from examples.wordfreq.reference import reference_topk

        expected = {str(n): [list(wc) for wc in top] for n, top in reference_topk(data).items()}
        agree = execution.output == expected
        print("reference check:", "identical" if agree else "DIFFERENT")
        return 0 if agree else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
