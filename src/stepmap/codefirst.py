"""The code-first API: ``stepmap.map`` and ``stepmap.map_reduce`` for people who prefer code to ASL.

Both build a Distributed Map and run it on the same engine as any workflow: the same worker pool, object
store, progress bar and Map Run records. Items stream through a temporary JSON Lines object in the store and
results come back through a ResultWriter, so neither is ever held as a whole in the coordinator (the returned
list aside). Items and results must be JSON values, as they are for Lambda handlers.

A failure of ``fn`` stops the run (no tolerated failures) and is raised again here with the original
exception type when it can be found (``fn``'s module, or the builtins), its message, and the remote
traceback attached as ``__cause__``, the way ``concurrent.futures`` does.
"""

from __future__ import annotations

import builtins
import functools
import json
import os
import sys
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from stepmap.errors import StepmapError

__all__ = ["MapItemError", "map", "map_reduce"]

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K")
V = TypeVar("V")

TMP_BUCKET = "stepmap-tmp"


class MapItemError(StepmapError):
    """An item's function raised an exception whose type cannot be imported here."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        super().__init__(f"{error_type}: {message}")


class _RemoteTraceback(Exception):
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def _apply(fn: Callable[[Any], Any], event: Any, context: Any) -> Any:
    """The handler each child runs: ``fn`` on one item, or on every item of a batch."""
    if isinstance(event, dict) and event.keys() == {"Items"}:
        return [fn(item) for item in event["Items"]]
    return fn(event)


def _store_and_service(executor: str, store: str | None, state_dir: str | None, functions: Any) -> Any:
    from stepmap.service.runner import StepmapService

    observer = None
    if sys.stderr.isatty():
        from stepmap.progress import MapRunProgress

        observer = MapRunProgress()
    service = StepmapService(
        functions=functions,
        executor=executor,
        store=store,
        state_dir=state_dir,
        observer=observer,
        journal=True,
    )
    if not service.store.bucket_exists(TMP_BUCKET):
        service.store.create_bucket(TMP_BUCKET)
    return service, observer


def _put_items(store: Any, key: str, items: Iterable[Any], tmp_dir: str) -> int:
    """Stream items into a JSON Lines object; return how many."""
    os.makedirs(tmp_dir, exist_ok=True)
    count = 0
    fd, path = tempfile.mkstemp(suffix=".jsonl", dir=tmp_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
                fh.write("\n")
                count += 1
        put_file = getattr(store, "put_file", None)
        if put_file is not None:
            put_file(TMP_BUCKET, key, path)
        else:
            with open(path, "rb") as fh_in:
                store.put(TMP_BUCKET, key, fh_in.read())
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return count


def _read_results(store: Any, manifest_key: str) -> Iterator[Any]:
    manifest = json.loads(store.get(TMP_BUCKET, manifest_key))
    for entry in manifest["ResultFiles"].get("SUCCEEDED", []):
        with store.open(TMP_BUCKET, entry["Key"]) as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def _first_failure(store: Any, folder: str) -> dict[str, Any] | None:
    for info in store.list(TMP_BUCKET, folder + "/FAILED_"):
        with store.open(TMP_BUCKET, info.key) as fh:
            for line in fh:
                if line.strip():
                    record: dict[str, Any] = json.loads(line)
                    return record
    return None


def _user_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The user's own function inside the partials this module wraps around it."""
    while isinstance(fn, functools.partial) and fn.func in (_apply, _map_stage, _reduce_stage) and fn.args:
        fn = fn.args[0]
    return fn


def _raise_failure(
    fn: Callable[..., Any], record: dict[str, Any] | None, error: str | None, cause: str | None
) -> None:
    if record is not None:
        error, cause = record.get("Error"), record.get("Cause")
    try:
        details = json.loads(cause or "")
    except ValueError:
        details = None
    if not isinstance(details, dict) or "errorType" not in details:
        raise MapItemError(error or "States.Runtime", cause or "")
    name, message = details["errorType"], details.get("errorMessage", "")
    module = sys.modules.get(getattr(_user_function(fn), "__module__", "") or "")
    cls = getattr(module, name, None) if module is not None else None
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        cls = getattr(builtins, name, None)
    remote = _RemoteTraceback('\n"""\n' + "".join(details.get("stackTrace", [])) + f'{name}: {message}\n"""')
    exc: BaseException
    try:
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise TypeError
        exc = cls(message)
    except Exception:
        exc = MapItemError(name, message)
    raise exc from remote


def _delete_prefix(store: Any, prefix: str) -> None:
    for info in list(store.list(TMP_BUCKET, prefix)):
        try:
            store.delete(TMP_BUCKET, info.key)
        except StepmapError:
            pass


def map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    concurrency: int | None = None,
    batch_size: int | None = None,
    executor: str = "local",
    store: str | None = None,
    state_dir: str | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, run as a Distributed Map; results in item order.

    ``concurrency`` bounds the items processed at once (MaxConcurrency); ``batch_size`` sends that many items
    to each child execution (ItemBatcher). ``fn`` must be importable by the workers (a module-level function,
    or any picklable callable with the default fork-based pool).
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if concurrency is not None and concurrency < 0:
        raise ValueError("concurrency cannot be negative")
    handler = functools.partial(_apply, fn)
    service, observer = _store_and_service(executor, store, state_dir, {"apply": handler})
    run_id = str(uuid.uuid4())
    folder = f"map/{run_id}"
    name = getattr(_user_function(fn), "__name__", "fn")
    label = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40] or "map"
    try:
        _put_items(
            service.store,
            f"{folder}/items.jsonl",
            items,
            os.path.join(service.env["STEPMAP_STATE_DIR"], "tmp"),
        )
        state: dict[str, Any] = {
            "Type": "Map",
            "Label": label,
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": TMP_BUCKET, "Key": f"{folder}/items.jsonl"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Apply",
                "States": {"Apply": {"Type": "Task", "Resource": "apply", "End": True}},
            },
            "MaxConcurrency": concurrency or 0,
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": TMP_BUCKET, "Prefix": f"{folder}/out"},
                "WriterConfig": {
                    "OutputType": "JSONL",
                    "Transformation": "FLATTEN" if batch_size else "COMPACT",
                },
            },
            "End": True,
        }
        if batch_size:
            state["ItemBatcher"] = {"MaxItemsPerBatch": batch_size}
        definition = {"StartAt": "Map", "States": {"Map": state}}
        if observer is not None:
            with observer:
                execution = service.start_execution(definition, {}, name=f"map-{label}-{run_id[:8]}")
        else:
            execution = service.start_execution(definition, {}, name=f"map-{label}-{run_id[:8]}")
        if execution.status != "SUCCEEDED":
            map_run = service.map_runs[-1] if service.map_runs else None
            record = None
            if map_run is not None:
                record = _first_failure(service.store, f"{folder}/out/{map_run.map_run_id}")
            _raise_failure(fn, record, execution.error, execution.cause)
        manifest_key = execution.output["ResultWriterDetails"]["Key"]
        return list(_read_results(service.store, manifest_key))
    finally:
        _delete_prefix(service.store, folder + "/")


def _partition(key: Any, partitions: int) -> int:
    return zlib.crc32(json.dumps(key, sort_keys=True).encode()) % partitions


def _map_stage(
    mapper: Callable[[Any], Iterable[tuple[Any, Any]]], folder: str, partitions: int, item: Any
) -> int:
    """Run the mapper on one item (``{"i": index, "item": ...}``) and write one blob per partition."""
    from stepmap.storage.handles import objects

    buckets: dict[int, list[Any]] = {}
    for key, value in mapper(item["item"]):
        buckets.setdefault(_partition(key, partitions), []).append([key, value])
    store = objects()
    for part, pairs in buckets.items():
        blob = json.dumps(pairs, separators=(",", ":"), ensure_ascii=False).encode()
        store.put(TMP_BUCKET, f"{folder}/part-{part:05d}/item-{item['i']:09d}.json", blob)
    return sum(len(p) for p in buckets.values())


def _reduce_stage(reducer: Callable[[Any, list[Any]], Any], folder: str, part: int) -> list[Any]:
    """Merge one partition's blobs, group values by key, run the reducer once per key."""
    from stepmap.storage.handles import objects

    store = objects()
    groups: dict[str, tuple[Any, list[Any]]] = {}
    for info in store.list(TMP_BUCKET, f"{folder}/part-{part:05d}/"):
        for key, value in json.loads(store.get(TMP_BUCKET, info.key)):
            marker = json.dumps(key, sort_keys=True)
            groups.setdefault(marker, (key, []))[1].append(value)
    return [[key, reducer(key, values)] for key, values in groups.values()]


def map_reduce(
    mapper: Callable[[T], Iterable[tuple[K, V]]],
    reducer: Callable[[K, list[V]], R],
    items: Iterable[T],
    *,
    partitions: int = 16,
    concurrency: int | None = None,
    executor: str = "local",
    store: str | None = None,
    state_dir: str | None = None,
) -> dict[K, R]:
    """Group the ``(key, value)`` pairs ``mapper`` yields for each item by key, then ``reducer(key, values)``.

    Two Distributed Maps: the map stage writes one blob per (partition, item) to the store; the reduce stage
    runs one child per partition over only its own blobs. Keys must be JSON values (lists come back as lists).
    Values of one key reach the reducer in item order.
    """
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    folder = f"mapreduce/{uuid.uuid4()}"
    common = {"concurrency": concurrency, "executor": executor, "store": store, "state_dir": state_dir}
    try:
        map(
            functools.partial(_map_stage, mapper, folder, partitions),
            ({"i": i, "item": item} for i, item in enumerate(items)),
            **common,  # type: ignore[arg-type]
        )
        reduced = map(functools.partial(_reduce_stage, reducer, folder), range(partitions), **common)  # type: ignore[arg-type]
    finally:
        service, _ = _store_and_service(executor, store, state_dir, {})
        _delete_prefix(service.store, folder + "/")
    result: dict[Any, Any] = {}
    for pairs in reduced:
        for key, value in pairs:
            result[tuple(key) if isinstance(key, list) else key] = value
    return result
