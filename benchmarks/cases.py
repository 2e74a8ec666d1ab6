"""One benchmark measurement per process: ``python benchmarks/cases.py CASE [ARGS]`` prints one JSON line.

Each case runs in a fresh process so that peak RSS and start-up cost belong to that case alone. The item
files are prepared before the clock starts; only the run itself is timed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from typing import Any

ONE_PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return own / 1024.0


def _prepare_jsonl(root: str, n: int) -> str:
    from stepmap.storage import LocalObjectStore

    store = LocalObjectStore(root)
    if not store.bucket_exists("bench"):
        store.create_bucket("bench")
    key = f"items-{n}.jsonl"
    path = os.path.join(tempfile.gettempdir(), f"stepmap-bench-{n}.jsonl")
    if not os.path.exists(path):
        with open(path + ".tmp", "w") as fh:
            for i in range(n):
                fh.write(f'{{"id":{i},"name":"item-{i}"}}\n')
        os.replace(path + ".tmp", path)
    put_file = getattr(store, "put_file", None)
    if put_file is not None:
        put_file("bench", key, path)
    else:
        with open(path, "rb") as fh:
            store.put("bench", key, fh.read())
    return key


def distributed_map(
    n: int, batch: int, transformation: str, executor: str, journal: bool = False
) -> dict[str, Any]:
    """A Distributed Map over n JSONL items with a one-Pass ItemProcessor and a ResultWriter."""
    from stepmap.service.runner import StepmapService

    work = tempfile.mkdtemp(prefix="stepmap-bench-")
    root = os.path.join(work, "s3")
    key = _prepare_jsonl(root, n)
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": "bench", "Key": key},
        },
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, **ONE_PASS},
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "bench", "Prefix": "out"},
            "WriterConfig": {"OutputType": "JSON", "Transformation": transformation},
        },
        "End": True,
    }
    if batch:
        state["ItemBatcher"] = {"MaxItemsPerBatch": batch}
    definition = {"StartAt": "M", "States": {"M": state}}
    service = StepmapService(
        executor=executor, store=root, state_dir=os.path.join(work, "state"), journal=journal
    )
    service.start_execution({"StartAt": "P", **{"States": ONE_PASS["States"]}}, {})  # warm the pool
    stall = _time_result_file_finishing()
    started = time.perf_counter()
    execution = service.start_execution(definition, {})
    seconds = time.perf_counter() - started
    if execution.status != "SUCCEEDED":
        raise SystemExit(f"benchmark run failed: {execution.error}: {execution.cause}")
    children = n // batch + (1 if n % batch else 0) if batch else n
    return {
        "items": n,
        "children": children,
        "seconds": seconds,
        "items_per_s": n / seconds,
        "children_per_s": children / seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "finish_seconds": stall[0],
    }


def _time_result_file_finishing() -> list[float]:
    """The coordinator's stall: seconds spent finishing result files (closing one and putting it into the
    store), in which no child result is taken in. Measured by wrapping the writer's finish step."""
    from stepmap.interpreter.distributed import writer

    total = [0.0]
    finish = writer._ResultFiles.finish

    def timed(self: Any) -> None:
        started = time.perf_counter()
        try:
            finish(self)
        finally:
            total[0] += time.perf_counter() - started

    writer._ResultFiles.finish = timed  # type: ignore[method-assign]
    return total


def distributed_map_language(n: int, language: str, executor: str = "local") -> dict[str, Any]:
    """The same Distributed Map written in JSONPath or in JSONata: an ItemSelector per child and a child
    Pass state that builds a small object from its input (the data flow a real child does)."""
    from stepmap.service.runner import StepmapService

    work = tempfile.mkdtemp(prefix="stepmap-bench-")
    root = os.path.join(work, "s3")
    key = _prepare_jsonl(root, n)
    reader: dict[str, Any] = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL"},
    }
    config = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "P"}
    if language == "JSONata":
        reader["Arguments"] = {"Bucket": "bench", "Key": key}
        selector: dict[str, Any] = {
            "id": "{% $states.context.Map.Item.Value.id %}",
            "name": "{% $states.context.Map.Item.Value.name %}",
        }
        child = {"Type": "Pass", "Output": {"key": "{% $states.input.name & '-' & $states.input.id %}"}}
    else:
        reader["Parameters"] = {"Bucket": "bench", "Key": key}
        selector = {"id.$": "$$.Map.Item.Value.id", "name.$": "$$.Map.Item.Value.name"}
        child = {"Type": "Pass", "Parameters": {"key.$": "States.Format('{}-{}', $.name, $.id)"}}
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": reader,
        "ItemSelector": selector,
        "ItemProcessor": {**config, "States": {"P": {**child, "End": True}}},
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Arguments" if language == "JSONata" else "Parameters": {"Bucket": "bench", "Prefix": "out"},
            "WriterConfig": {"OutputType": "JSON", "Transformation": "NONE"},
        },
        "End": True,
    }
    definition = {"QueryLanguage": language, "StartAt": "M", "States": {"M": state}}
    service = StepmapService(executor=executor, store=root, state_dir=os.path.join(work, "state"))
    service.start_execution({"StartAt": "P", **{"States": ONE_PASS["States"]}}, {})  # warm the pool
    started = time.perf_counter()
    execution = service.start_execution(definition, {})
    seconds = time.perf_counter() - started
    if execution.status != "SUCCEEDED":
        raise SystemExit(f"benchmark run failed: {execution.error}: {execution.cause}")
    return {"items": n, "children": n, "seconds": seconds, "children_per_s": n / seconds}


def _noop(x: Any) -> Any:
    return x


def raw_pool(n: int, chunksize: int) -> dict[str, Any]:
    """A hand-written multiprocessing pool calling a no-op on the same number of items."""
    context = multiprocessing.get_context("fork")
    with context.Pool(os.cpu_count() or 1) as pool:
        pool.map(_noop, range(100))  # warm up
        started = time.perf_counter()
        for _ in pool.imap(_noop, ({"id": i} for i in range(n)), chunksize=chunksize):
            pass
        seconds = time.perf_counter() - started
    return {"items": n, "seconds": seconds, "items_per_s": n / seconds, "peak_rss_mb": _peak_rss_mb()}


def fixed_overhead(n: int) -> dict[str, Any]:
    """Wall time from process start to the end of an n-item Distributed Map (this process's own clock)."""
    import subprocess

    work = tempfile.mkdtemp(prefix="stepmap-bench-")
    root = os.path.join(work, "s3")
    key = _prepare_jsonl(root, n)
    script = (
        "import stepmap\n"
        f"d = {{'StartAt': 'M', 'States': {{'M': {{'Type': 'Map', 'ItemReader': {{'Resource': "
        f"'arn:aws:states:::s3:getObject', 'ReaderConfig': {{'InputType': 'JSONL'}}, 'Parameters': "
        f"{{'Bucket': 'bench', 'Key': '{key}'}}}}, 'ItemProcessor': {{'ProcessorConfig': {{'Mode': "
        f"'DISTRIBUTED', 'ExecutionType': 'EXPRESS'}}, 'StartAt': 'P', 'States': {{'P': {{'Type': 'Pass', "
        f"'End': True}}}}}}, 'End': True}}}}}}\n"
        f"e = stepmap.run(d, store={root!r}, state_dir={os.path.join(work, 'state')!r})\n"
        "assert e.status == 'SUCCEEDED', (e.error, e.cause)\n"
    )
    runs = []
    baseline = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], check=True)
        runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline.append(time.perf_counter() - started)
    return {
        "items": n,
        "seconds": min(runs),
        "python_startup_seconds": min(baseline),
        "median_seconds": sorted(runs)[len(runs) // 2],
    }


def ray_tasks(n: int) -> dict[str, Any]:
    """Ray tasks calling a no-op, one task per item (a local Ray on this machine's cores)."""
    import ray

    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    try:
        noop = ray.remote(_noop)
        ray.get([noop.remote(i) for i in range(100)])  # warm up
        started = time.perf_counter()
        ray.get([noop.remote({"id": i}) for i in range(n)])
        seconds = time.perf_counter() - started
    finally:
        ray.shutdown()
    return {"items": n, "seconds": seconds, "items_per_s": n / seconds, "peak_rss_mb": _peak_rss_mb()}


def dask_tasks(n: int) -> dict[str, Any]:
    """Dask distributed futures calling a no-op, one task per item (LocalCluster, one process per core)."""
    from dask.distributed import Client, LocalCluster

    workers = os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.gather(client.map(_noop, range(100), pure=False))  # warm up
        started = time.perf_counter()
        client.gather(client.map(_noop, [{"id": i} for i in range(n)], pure=False))
        seconds = time.perf_counter() - started
    return {"items": n, "seconds": seconds, "items_per_s": n / seconds, "peak_rss_mb": _peak_rss_mb()}


CASES = {
    "ray": lambda a: ray_tasks(int(a[0])),
    "dask": lambda a: dask_tasks(int(a[0])),
    "dmap": lambda a: distributed_map(
        int(a[0]), int(a[1]), a[2], a[3] if len(a) > 3 else "local", len(a) > 4 and a[4] == "journal"
    ),
    "dmap_lang": lambda a: distributed_map_language(int(a[0]), a[1], a[2] if len(a) > 2 else "local"),
    "pool": lambda a: raw_pool(int(a[0]), int(a[1])),
    "overhead": lambda a: fixed_overhead(int(a[0])),
}

if __name__ == "__main__":
    result = CASES[sys.argv[1]](sys.argv[2:])
    print(json.dumps(result))
