"""P2 real work: the example workflows on stepmap's local pool against hand-written multiprocessing programs.

Each pair runs the SAME handler functions on the SAME inputs from the SAME local object store:

``wordfreq_engine(size_bytes, block_size)`` / ``wordfreq_handwritten(size_bytes, block_size)``
    word frequency over generated text: ``examples/wordfreq/workflow.asl.json`` (TEXT_BLOCKS map ->
    keyed reduce -> collect) against a ``multiprocessing.Pool`` that calls ``map_block`` on every
    block, then ``reduce_partition`` on the 20 word lengths, then ``collect``.
``gsod_engine(files)`` / ``gsod_handwritten(files)``
    NOAA GSOD monthly maxima over generated station-year CSVs: ``examples/gsod/workflow.asl.json``
    against a pool that calls ``find_monthly_max`` on batches of 500 keys (the workflow's ItemBatcher)
    and merges the answers in the parent into the same results table.

Every function returns a dict with ``seconds`` (the run only: data generation, loading and pool start-up
are outside the clock), ``mb_per_s`` and ``mb_per_s_per_core``; nothing asserts on time. Inputs are
generated once per process into ``$TMPDIR/stepmap-p2`` and reused.

``python benchmarks/p2.py wordfreq 256MB [8MiB [REPEAT]]`` or ``python benchmarks/p2.py gsod 10000 [REPEAT]``
runs the pair REPEAT times, alternating, and prints the fastest of each side and their ratio as JSON.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "src")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

__all__ = ["gsod_engine", "gsod_handwritten", "wordfreq_engine", "wordfreq_handwritten"]

WORK = Path(tempfile.gettempdir()) / "stepmap-p2"
STORE = str(WORK / "s3")
STATE = str(WORK / "state")
GSOD_BATCH = 500  # MaxItemsPerBatch in examples/gsod/workflow.asl.json


def _cores() -> int:
    return os.cpu_count() or 1


def _cpu_seconds() -> float:
    """CPU time of this process and its live children (the pool's workers), from /proc (Linux; else 0).

    Wall time on a shared machine measures the neighbours too; CPU time mostly does not, so a ratio of
    CPU seconds shows the engine's own cost even when the wall-clock ratio is noise.
    """
    own = os.times()
    total = own.user + own.system
    me = str(os.getpid())
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # fields[1] is the parent's pid; utime and stime follow at 11 and 12
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _figures(seconds: float, size: int, cpu: float = 0.0, **extra: Any) -> dict[str, Any]:
    mb_per_s = size / seconds / 1e6
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "bytes": size,
        "mb_per_s": mb_per_s,
        "mb_per_s_per_core": mb_per_s / _cores(),
        "cores": _cores(),
        **extra,
    }


def _use_store() -> None:
    """Point this process (and the pools it forks) at the benchmark's store and state directory."""
    os.environ["STEPMAP_STORE"] = STORE
    os.environ["STEPMAP_STATE_DIR"] = STATE


def _pool() -> Any:
    _use_store()
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    pool = context.Pool(_cores())
    pool.map(abs, range(100))  # start every worker before the clock starts
    return pool


# -- word frequency -----------------------------------------------------------------------------------


def _text_key(size_bytes: int) -> str:
    """Generated text of ``size_bytes`` in the bucket ``text`` (made once, then reused)."""
    from examples.wordfreq.demo import BUCKET
    from examples.wordfreq.textgen import generate_text
    from stepmap.storage import LocalObjectStore

    key = f"generated-{size_bytes}-seed1.txt"
    store = LocalObjectStore(STORE)
    if not store.bucket_exists(BUCKET):
        store.create_bucket(BUCKET)
    try:
        if store.head(BUCKET, key).size == size_bytes:
            return key
    except Exception:  # absent (or unreadable): generate it
        pass
    store.put(BUCKET, key, b"".join(generate_text(size_bytes, seed=1)))
    return key


def wordfreq_engine(size_bytes: int, block_size: int, executor: str = "local") -> dict[str, Any]:
    """The word-frequency workflow on the local pool (or ``executor``): seconds for the whole execution."""
    from examples.wordfreq.demo import run_wordfreq

    key = _text_key(size_bytes)
    warm = _text_key(1000)
    run_wordfreq(warm, store=STORE, state_dir=STATE, block_size=block_size, executor=executor)  # starts it
    cpu = _cpu_seconds()
    started = time.perf_counter()
    execution = run_wordfreq(key, store=STORE, state_dir=STATE, block_size=block_size, executor=executor)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    if execution.status != "SUCCEEDED":
        raise RuntimeError(f"wordfreq workflow failed: {execution.error}: {execution.cause}")
    return _figures(seconds, size_bytes, cpu, block_size=block_size, blocks=-(-size_bytes // block_size))


def _map_block(event: dict[str, Any]) -> dict[str, int]:
    from examples.wordfreq.handlers import map_block

    return map_block(event, None)


def _reduce_partition(event: dict[str, Any]) -> dict[str, Any]:
    from examples.wordfreq.handlers import reduce_partition

    return reduce_partition(event, None)


def wordfreq_handwritten(size_bytes: int, block_size: int) -> dict[str, Any]:
    """The same handlers on the same blocks, driven by a hand-written ``multiprocessing.Pool``."""
    from examples.wordfreq.demo import BUCKET
    from examples.wordfreq.handlers import collect, results_table
    from stepmap.blocks import plan_blocks
    from stepmap.storage import LocalObjectStore

    key = _text_key(size_bytes)
    results_table(STATE)
    with _pool() as pool:
        cpu = _cpu_seconds()
        started = time.perf_counter()
        run = f"handwritten-{os.getpid()}-{time.time_ns()}"
        prefix = f"wordfreq-runs/{run}"
        size = LocalObjectStore(STORE).head(BUCKET, key).size
        events = [
            {"Block": {"Bucket": BUCKET, "Key": key, "Size": size, **block.to_item()}, "Prefix": prefix}
            for block in plan_blocks(size, block_size)
        ]
        pool.map(_map_block, events, chunksize=1)
        reduce_events = [{"Length": n, "Bucket": BUCKET, "Prefix": prefix, "Run": run} for n in range(1, 21)]
        results = pool.map(_reduce_partition, reduce_events, chunksize=1)
        collect({"Results": results, "Bucket": BUCKET, "Prefix": prefix}, None)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
    return _figures(seconds, size_bytes, cpu, block_size=block_size, blocks=len(events))


# -- NOAA GSOD ----------------------------------------------------------------------------------------


def _gsod_bucket(files: int) -> tuple[str, int]:
    """A bucket holding ``files`` generated station-year CSVs (made once), and their total size."""
    from examples.gsod.generate import generate
    from stepmap.storage import LocalObjectStore

    bucket = f"gsod-{files}"
    store = LocalObjectStore(STORE)
    marker = WORK / f"{bucket}.bytes"
    if store.bucket_exists(bucket) and marker.exists():
        return bucket, int(marker.read_text())
    store.create_bucket(bucket)
    summary = generate(lambda key, data: store.put(bucket, key, data), files=files, seed=0)
    marker.write_text(str(summary.bytes))
    return bucket, summary.bytes


def gsod_engine(files: int) -> dict[str, Any]:
    """The GSOD workflow on the local pool over ``files`` station-years."""
    import stepmap

    bucket, size = _gsod_bucket(files)
    definition = ROOT / "examples" / "gsod" / "workflow.asl.json"
    functions = {name: f"examples.gsod.handlers:{name}" for name in ("find_monthly_max", "reduce_results")}
    warm_bucket, _ = _gsod_bucket(3)
    for target in (warm_bucket, bucket):  # the first run starts the pool and creates the table
        cpu = _cpu_seconds()
        started = time.perf_counter()
        execution = stepmap.run(
            definition, {"bucket": target, "prefix": ""}, functions=functions, store=STORE, state_dir=STATE
        )
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
        if execution.status != "SUCCEEDED":
            raise RuntimeError(f"gsod workflow failed: {execution.error}: {execution.cause}")
    return _figures(seconds, size, cpu, files=files)


def _find_monthly_max(event: dict[str, Any]) -> Any:
    from examples.gsod.handlers import find_monthly_max

    return find_monthly_max(event, None)


def gsod_handwritten(files: int) -> dict[str, Any]:
    """``find_monthly_max`` on batches of 500 keys in a pool; the parent merges and writes the table."""
    from examples.gsod.handlers import RESULTS_TABLE, merge_monthly
    from stepmap.storage import LocalObjectStore
    from stepmap.storage.handles import table

    bucket, size = _gsod_bucket(files)
    with _pool() as pool:
        cpu = _cpu_seconds()
        started = time.perf_counter()
        keys = [info.key for info in LocalObjectStore(STORE).list(bucket)]
        batches = [
            {"BatchInput": {"Bucket": bucket}, "Items": [{"Key": k} for k in keys[i : i + GSOD_BATCH]]}
            for i in range(0, len(keys), GSOD_BATCH)
        ]
        merged = merge_monthly(pool.imap(_find_monthly_max, batches))
        results = table(RESULTS_TABLE, partition_key="month")
        for month, winner in merged.items():
            results.put_item({"month": month, **winner})
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
    return _figures(seconds, size, cpu, files=files)


def _compare(engine: list[dict[str, Any]], handwritten: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of each side's repeats (this machine is shared and noisy) and their ratio."""
    best_engine = min(engine, key=lambda r: r["seconds"])
    best_handwritten = min(handwritten, key=lambda r: r["seconds"])
    return {
        "engine": best_engine,
        "handwritten": best_handwritten,
        "engine_seconds_all": [r["seconds"] for r in engine],
        "handwritten_seconds_all": [r["seconds"] for r in handwritten],
        "ratio": best_engine["seconds"] / best_handwritten["seconds"],
        "cpu_ratio": min(r["cpu_seconds"] for r in engine)
        / max(1e-9, min(r["cpu_seconds"] for r in handwritten)),
    }


def main(argv: list[str]) -> dict[str, Any]:
    """``wordfreq SIZE [BLOCK_SIZE] [REPEAT]`` or ``gsod FILES [REPEAT]``: the two sides, alternated."""
    from examples.wordfreq.textgen import parse_size

    engine: list[dict[str, Any]] = []
    handwritten: list[dict[str, Any]] = []
    if argv[:1] == ["wordfreq"] and 2 <= len(argv) <= 4:
        size = parse_size(argv[1])
        block = parse_size(argv[2]) if len(argv) >= 3 else 8 << 20
        for _ in range(int(argv[3]) if len(argv) == 4 else 1):
            handwritten.append(wordfreq_handwritten(size, block))
            engine.append(wordfreq_engine(size, block))
        return _compare(engine, handwritten)
    if argv[:1] == ["wordfreq-ray"] and len(argv) in (2, 3):
        size = parse_size(argv[1])
        block = parse_size(argv[2]) if len(argv) == 3 else 8 << 20
        return wordfreq_engine(size, block, executor="ray")
    if argv[:1] == ["gsod"] and 2 <= len(argv) <= 3:
        for _ in range(int(argv[2]) if len(argv) == 3 else 1):
            handwritten.append(gsod_handwritten(int(argv[1])))
            engine.append(gsod_engine(int(argv[1])))
        return _compare(engine, handwritten)
    raise SystemExit(
        "usage: python benchmarks/p2.py wordfreq SIZE [BLOCK_SIZE [REPEAT]] | gsod FILES [REPEAT]"
    )


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=1))
