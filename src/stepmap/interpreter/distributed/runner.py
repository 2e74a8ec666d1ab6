"""The Map Run scheduler: streams items from the reader through the selector and batcher into chunks of
child executions on the executor, and their results out to the ResultWriter (or the state's output).

State of one Map Run (kept by :class:`_MapRunState` only while it runs): the item iterator, the chunks in
flight (at most ``window`` futures), a reorder buffer that hands results to the writer in item order (bounded
by the in-flight window), the counters of the :class:`MapRun`, and the tolerated-failure bookkeeping. Memory
is bounded by the window and the chunk size, never by the item count.

``MaxConcurrency`` is honoured exactly: each chunk runs its children one after another in one worker, and at
most ``MaxConcurrency`` chunks are in flight.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from stepmap.asl import model
from stepmap.asl.payload import References, compile_template, dumps
from stepmap.errors import EngineError, StatesError
from stepmap.functions import FunctionRegistry
from stepmap.interpreter.distributed.maprun import MapRun
from stepmap.interpreter.distributed.readers import JsonText, ReaderSpec, read_items
from stepmap.interpreter.distributed.records import ChildResult
from stepmap.interpreter.distributed.writer import RecordFormat, ResultWriter, render_records
from stepmap.interpreter.engine import PAYLOAD_LIMIT, StateCall, map_items, resolve_int
from stepmap.interpreter.ports import MapRunObserver, ObjectStorePort
from stepmap.worker import ChildJob, ChunkResult, manual_start, run_children

__all__ = ["DEFAULT_MAX_CONCURRENCY", "DistributedMap"]

DEFAULT_MAX_CONCURRENCY = 10_000  # AWS's default and ceiling for child executions
TARGET_CHUNK_SECONDS = 0.05  # aim for chunks of about this much work: few messages, quick feedback
MAX_CHUNK_CHILDREN = 4096
MAX_CHUNK_BYTES = 4 << 20
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
_NO_KEY = object()
MAX_CHUNK_ATTEMPTS = 4  # runs of one chunk before the Map Run gives up on a failing executor


@dataclass(frozen=True)
class _Settings:
    max_concurrency: int
    tolerated_count: int | None
    tolerated_percentage: float | None
    max_items_per_batch: int | None
    max_bytes_per_batch: int | None
    batch_input: Any
    batching: bool


def _int_setting(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise StatesError("States.Runtime", f"{name} value {dumps(value)} is not a valid integer")
    return int(value)


def _settings(state: model.Map, call: StateCall, effective: Any) -> _Settings:
    def setting(value: Any, path: Any, name: str) -> Any:
        return resolve_int(call, effective, value, path, f"{name}Path")

    concurrency = _int_setting(
        setting(state.max_concurrency, state.max_concurrency_path, "MaxConcurrency"), "MaxConcurrency"
    )
    if concurrency < 0:
        raise StatesError("States.Runtime", "MaxConcurrency cannot be negative.")
    count = setting(
        state.tolerated_failure_count, state.tolerated_failure_count_path, "ToleratedFailureCount"
    )
    if count is not None:
        count = _int_setting(count, "ToleratedFailureCount")
        if count < 0:
            raise StatesError("States.Runtime", "ToleratedFailureCount cannot be negative.")
    percentage = setting(
        state.tolerated_failure_percentage,
        state.tolerated_failure_percentage_path,
        "ToleratedFailurePercentage",
    )
    if percentage is not None:
        if (
            isinstance(percentage, bool)
            or not isinstance(percentage, int | float)
            or not 0 <= percentage <= 100
        ):
            raise StatesError("States.Runtime", "ToleratedFailurePercentage must be between 0 and 100.")
        percentage = float(percentage)
    batcher = state.item_batcher
    max_items = max_bytes = None
    batch_input = None
    if batcher is not None:
        refs = call.refs(effective)
        if "MaxItemsPerBatch" in batcher or "MaxItemsPerBatchPath" in batcher:
            max_items = _int_setting(
                batcher.get("MaxItemsPerBatch")
                if "MaxItemsPerBatch" in batcher
                else refs.resolve(_path(batcher["MaxItemsPerBatchPath"]), "MaxItemsPerBatchPath"),
                "MaxItemsPerBatch",
            )
            if max_items <= 0:
                raise StatesError("States.Runtime", "MaxItemsPerBatch must be positive.")
        if "MaxInputBytesPerBatch" in batcher or "MaxInputBytesPerBatchPath" in batcher:
            max_bytes = _int_setting(
                batcher.get("MaxInputBytesPerBatch")
                if "MaxInputBytesPerBatch" in batcher
                else refs.resolve(_path(batcher["MaxInputBytesPerBatchPath"]), "MaxInputBytesPerBatchPath"),
                "MaxInputBytesPerBatch",
            )
            if not 0 < max_bytes <= PAYLOAD_LIMIT:
                raise StatesError("States.Runtime", "MaxInputBytesPerBatch must be between 1 and 262144.")
        if "BatchInput" in batcher:
            batch_input = compile_template(batcher["BatchInput"]).evaluate(refs)
    return _Settings(
        max_concurrency=concurrency or DEFAULT_MAX_CONCURRENCY,
        tolerated_count=count,
        tolerated_percentage=percentage,
        max_items_per_batch=max_items,
        max_bytes_per_batch=max_bytes,
        batch_input=batch_input,
        batching=batcher is not None,
    )


def _path(text: str) -> Any:
    from stepmap.asl.jsonpath import compile_path

    return compile_path(text)


def _reader_spec(state: model.Map, call: StateCall, effective: Any) -> ReaderSpec:
    reader = state.item_reader or {}
    refs = call.refs(effective)
    parameters = compile_template(reader.get("Parameters", reader.get("Arguments", {}))).evaluate(refs)
    config = dict(reader.get("ReaderConfig", {}))
    if "MaxItemsPath" in config:
        config["MaxItems"] = refs.resolve(_path(config.pop("MaxItemsPath")), "MaxItemsPath")
    if "MaxItems" in config:
        max_items = config["MaxItems"]
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items <= 0:
            raise StatesError("States.ItemReaderFailed", "field MaxItems must be positive")
    # Without an ItemSelector nothing reads the parsed item here: JSONL lines go to the workers as text.
    return ReaderSpec(reader["Resource"], parameters, config, raw_json=state.item_selector is None)


def _in_state_records(state: model.Map) -> RecordFormat | None:
    """``WriterConfig`` without a Resource only shapes the state's output; NONE means full records."""
    config = (state.result_writer or {}).get("WriterConfig", {})
    return RecordFormat("NONE", "JSON") if config.get("Transformation") == "NONE" else None


class DistributedMap:
    """The DistributedMapRunner: runs Distributed Map states as Map Runs on an executor."""

    def __init__(
        self,
        executor: Executor,
        functions: FunctionRegistry,
        store: ObjectStorePort | None = None,
        *,
        observer: MapRunObserver | None = None,
        workers: int | None = None,
        tmp_dir: str | None = None,
    ) -> None:
        self.executor = executor
        self.functions = functions
        self.store = store
        self.observer = observer
        self.workers = workers or os.cpu_count() or 1
        self.tmp_dir = tmp_dir
        self.map_runs: list[MapRun] = []

    def _store(self, what: str) -> ObjectStorePort:
        if self.store is None:
            raise StatesError(what, "No object store is configured for this execution")
        return self.store

    def _items(self, state: model.Map, call: StateCall, effective: Any) -> Iterator[tuple[Any, Any]]:
        """(item, $$.Map.Item source) pairs: from the ItemReader, or from the state input (ItemsPath)."""
        if state.item_reader is not None:
            spec = _reader_spec(state, call, effective)
            yield from read_items(self._store("States.ItemReaderFailed"), spec)
        else:
            for value, item in map_items(state, call, effective):
                yield value, item.get("Key", _NO_KEY)

    async def run(self, state: model.Map, effective: Any, call: StateCall) -> Any:
        run = call.run
        settings = _settings(state, call, effective)
        label = state.label or state.name
        map_run_id = MapRun.new_id()
        region, account = run.invoker.region, run.invoker.account
        child_machine = f"{run.state_machine_name}/{label}"
        map_run = MapRun(
            map_run_arn=f"arn:aws:states:{region}:{account}:mapRun:{child_machine}:{map_run_id}",
            map_run_id=map_run_id,
            execution_arn=run.execution_arn,
            state_machine_arn=f"arn:aws:states:{region}:{account}:stateMachine:{child_machine}",
            label=label,
            start_date=run.clock.now(),
            max_concurrency=settings.max_concurrency,
            tolerated_failure_count=settings.tolerated_count,
            tolerated_failure_percentage=settings.tolerated_percentage,
            redrive_count=run.redrive_count,
        )
        self.map_runs.append(map_run)
        writer = self._writer(state, call, effective, map_run)
        job = ChildJob(
            key=map_run_id,
            processor=state.processor.raw,
            functions=self.functions,
            state_machine_name=child_machine,
            map_run_id=map_run_id,
            execution_type=state.execution_type,
            region=region,
            account=account,
            manual_clock_start=manual_start(run.clock),
            record_format=writer.format if writer is not None else _in_state_records(state),
        )
        cursor = call.frame.cursor
        cursor.add("MapStateStarted", {"length": 0})
        cursor.add("MapRunStarted", {"mapRunArn": map_run.map_run_arn})
        if self.observer is not None:
            self.observer.map_run_started(map_run)
        scheduler = _MapRunState(self, state, call, effective, settings, map_run, writer, job)
        try:
            result = await scheduler.run()
        except StatesError as exc:
            map_run.status, map_run.error, map_run.cause = "FAILED", exc.error, exc.cause
            map_run.stop_date = run.clock.now()
            cursor.add("MapRunFailed", {"error": exc.error, "cause": exc.cause or ""})
            if self.observer is not None:
                self.observer.map_run_finished(map_run)
            raise
        except BaseException:
            map_run.status, map_run.stop_date = "ABORTED", run.clock.now()
            if writer is not None:
                writer.abort()
            cursor.add("MapRunAborted", None)
            if self.observer is not None:
                self.observer.map_run_finished(map_run)
            raise
        map_run.status, map_run.stop_date = "SUCCEEDED", run.clock.now()
        cursor.add("MapRunSucceeded", None)
        if self.observer is not None:
            self.observer.map_run_finished(map_run)
        return result

    def _writer(
        self, state: model.Map, call: StateCall, effective: Any, map_run: MapRun
    ) -> ResultWriter | None:
        spec = state.result_writer
        if spec is None or "Resource" not in spec:
            return None  # WriterConfig alone only shapes the in-state output
        parameters = compile_template(spec.get("Parameters", spec.get("Arguments", {}))).evaluate(
            call.refs(effective)
        )
        config = spec.get("WriterConfig", {})
        if self.tmp_dir is not None:
            os.makedirs(self.tmp_dir, exist_ok=True)
        if not isinstance(parameters, Mapping) or not isinstance(parameters.get("Bucket"), str):
            raise StatesError("States.ResultWriterFailed", "ResultWriter Parameters need a string 'Bucket'")
        return ResultWriter(
            self._store("States.ResultWriterFailed"),
            bucket=parameters["Bucket"],
            prefix=str(parameters.get("Prefix", "")),
            map_run_arn=map_run.map_run_arn,
            map_run_id=map_run.map_run_id,
            output_type=config.get("OutputType", "JSON"),
            transformation=config.get("Transformation", "NONE"),
            tmp_dir=self.tmp_dir,
            redrive_count=map_run.redrive_count,
        )


class _MapRunState:
    """One running Map Run's scheduling state (see the module docstring)."""

    def __init__(
        self,
        owner: DistributedMap,
        state: model.Map,
        call: StateCall,
        effective: Any,
        settings: _Settings,
        map_run: MapRun,
        writer: ResultWriter | None,
        job: ChildJob,
    ) -> None:
        self.owner = owner
        self.state = state
        self.call = call
        self.effective = effective
        self.settings = settings
        self.map_run = map_run
        self.writer = writer
        self.job = job
        self.window = max(1, min(settings.max_concurrency, 2 * owner.workers + 2))
        # Start with one child per chunk: until a chunk's duration is known, a slow child must not take a
        # worker's share of the work with it. Sizes then grow fourfold per completed chunk at most.
        self.chunk_size = 1
        self.children: Iterator[tuple[int, str, int]] = self._counted(self._child_inputs())
        self.exhausted = False
        self.next_to_emit = 0
        self.buffer: dict[int, ChunkResult] = {}
        self.reader_error: StatesError | None = None
        self.first_failure: str | None = None  # told in the execution's log when the Map Run fails
        self.attempts: dict[int, int] = {}  # first child index -> runs of that chunk so far
        self.chunk_retries = 0
        self.outputs: list[Any] | None = None if writer is not None else []
        self.output_bytes = 0
        self.failed_items = 0
        self.last_progress = 0.0

    # -- items -> child inputs -------------------------------------------------------------------------
    def _counted(self, children: Iterator[tuple[int, str, int]]) -> Iterator[tuple[int, str, int]]:
        """Each child input, counted as a pending child execution as soon as it exists."""
        executions = self.map_run.executions
        for child in children:
            executions.total += 1
            executions.pending += 1
            yield child

    def _child_inputs(self) -> Iterator[tuple[int, str, int]]:
        state, call, effective = self.state, self.call, self.effective
        selector = state.item_selector
        scope = call.frame.scope
        items = self.owner._items(state, call, effective)
        counters = self.map_run.items

        def selected() -> Iterator[str]:
            """Each item's child input as JSON text."""
            for index, (value, source) in enumerate(items):
                counters.total += 1
                counters.pending += 1
                if selector is None:
                    yield str(value) if type(value) is JsonText else dumps(value)
                    continue
                item = {"Index": index, "Value": value, "Source": "STATE_DATA"}
                if state.item_reader is not None:
                    item["Source"] = source
                elif source is not _NO_KEY:
                    item["Key"] = source
                context_fn = functools.partial(call.context, item)
                yield dumps(selector.evaluate(References(effective, context_fn, scope)))

        if not self.settings.batching:
            for index, text in enumerate(selected()):
                if len(text) > PAYLOAD_LIMIT // 4 and len(text.encode()) > PAYLOAD_LIMIT:
                    raise StatesError(
                        "States.DataLimitExceeded", f"The input of child {index} exceeds 262144 bytes"
                    )
                yield index, text, 1
            return
        settings = self.settings
        prefix = {"BatchInput": settings.batch_input} if settings.batch_input is not None else {}
        overhead = len(dumps({**prefix, "Items": []}).encode())
        max_items = settings.max_items_per_batch or (1 << 62)
        max_bytes = settings.max_bytes_per_batch or PAYLOAD_LIMIT
        batch: list[str] = []
        size = overhead
        index = 0
        for text in selected():
            item_bytes = len(text.encode()) + (1 if batch else 0)
            if overhead + len(text.encode()) > max_bytes:
                raise StatesError(
                    "States.Runtime",
                    f"An item of {len(text.encode())} bytes does not fit in "
                    f"MaxInputBytesPerBatch ({max_bytes})",
                )
            if batch and (len(batch) >= max_items or size + item_bytes > max_bytes):
                yield index, self._batch_text(prefix, batch), len(batch)
                index += 1
                batch, size = [], overhead
                item_bytes = len(text.encode())
            batch.append(text)
            size += item_bytes
        if batch:
            yield index, self._batch_text(prefix, batch), len(batch)

    @staticmethod
    def _batch_text(prefix: dict[str, Any], items: list[str]) -> str:
        head = dumps(prefix)[:-1] + "," if prefix else "{"
        return f'{head}"Items":[{",".join(items)}]}}'

    def _next_chunk(self) -> list[tuple[int, str, int]]:
        chunk: list[tuple[int, str, int]] = []
        size = 0
        while len(chunk) < self.chunk_size and size < MAX_CHUNK_BYTES:
            try:
                child = next(self.children)
            except StopIteration:
                self.exhausted = True
                break
            chunk.append(child)
            size += len(child[1])
        return chunk

    # -- the loop ----------------------------------------------------------------------------------------
    async def run(self) -> Any:
        in_flight: dict[asyncio.Future[ChunkResult], list[tuple[int, str, int]]] = {}
        failure: StatesError | None = None
        try:
            while True:
                while failure is None and not self.exhausted and len(in_flight) < self.window:
                    chunk = self._next_chunk()
                    if not chunk:
                        break
                    self._start(chunk)
                    in_flight[self._submit(chunk)] = chunk
                if not in_flight:
                    break
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for fut in done:
                    chunk = in_flight.pop(fut)
                    if fut.exception() is not None:
                        # The worker died (or the pool broke) under this chunk: run it again; its
                        # children are counted only when a run of the chunk completes.
                        in_flight[self._retry(chunk, fut.exception())] = chunk
                        continue
                    failure = self._finish(fut.result()) or failure
                self._progress()
            if failure is None:
                failure = self._percentage_exceeded()
            if failure is not None:
                self._drain_pending()
        except BaseException:
            for fut in in_flight:
                fut.cancel()
            raise
        return self._result(failure)

    def _submit(self, chunk: list[tuple[int, str, int]]) -> asyncio.Future[ChunkResult]:
        try:
            future: Future[ChunkResult] = self.owner.executor.submit(run_children, self.job, chunk)
        except RuntimeError as exc:
            raise EngineError(f"cannot submit child executions: {exc}") from exc
        return asyncio.wrap_future(future)

    def _retry(
        self, chunk: list[tuple[int, str, int]], error: BaseException | None
    ) -> asyncio.Future[ChunkResult]:
        first = chunk[0][0]
        attempts = self.attempts[first] = self.attempts.get(first, 1) + 1
        if attempts > MAX_CHUNK_ATTEMPTS:
            raise EngineError(
                f"a chunk of {len(chunk)} child executions (from index {first}) failed {MAX_CHUNK_ATTEMPTS} "
                f"times in the executor: {error!r}"
            ) from error
        self.chunk_retries += 1
        return self._submit(chunk)

    def _start(self, chunk: list[tuple[int, str, int]]) -> None:
        items = sum(n for _, _, n in chunk)
        counters, executions = self.map_run.items, self.map_run.executions
        counters.pending -= items
        counters.running += items
        executions.pending -= len(chunk)
        executions.running += len(chunk)

    def _finish(self, chunk: ChunkResult) -> StatesError | None:
        if chunk.logs:
            self.call.run.logs.append(chunk.logs)
        # Adapt the chunk size so that one message carries about TARGET_CHUNK_SECONDS of work.
        if self.settings.max_concurrency > 1 and chunk.count:
            per_child = max(chunk.duration / chunk.count, 1e-6)
            wanted = int(TARGET_CHUNK_SECONDS / per_child)
            self.chunk_size = max(1, min(MAX_CHUNK_CHILDREN, wanted, self.chunk_size * 4))
        items, executions = self.map_run.items, self.map_run.executions
        for status, n in chunk.items.items():
            items.finish(status, n)
        for status, n in chunk.executions.items():
            executions.finish(status, n)
        self.failed_items += chunk.failed_items
        if chunk.failed and self.first_failure is None:
            index, status, error, cause, _ = chunk.failed[0]
            self.first_failure = f"child {index} {status}: {error}: {cause}"
        if chunk.reader_error is not None and self.reader_error is None:
            self.reader_error = StatesError("States.ItemReaderFailed", chunk.reader_error)
        # Chunks hold contiguous children; hand them to the writer (or the output) in item order.
        self.buffer[chunk.first] = chunk
        while self.next_to_emit in self.buffer:
            ready = self.buffer.pop(self.next_to_emit)
            self.next_to_emit += ready.count
            self._emit(ready)
        return self.reader_error or self._count_exceeded()

    def _emit(self, chunk: ChunkResult) -> None:
        writer = self.writer
        if writer is not None:
            if chunk.succeeded_records:
                writer.write_blob("SUCCEEDED", chunk.succeeded, chunk.succeeded_records, 0)
            for _, status, _, _, records in chunk.failed:
                writer.write_records(status, records)
        elif self.outputs is not None and (chunk.outputs or chunk.succeeded_records):
            texts = chunk.outputs
            if texts is None:  # in-state NONE records, rendered by the worker
                texts = [json.dumps(r) for r in json.loads(b"[" + chunk.succeeded + b"]")]
            for text in texts:
                self.output_bytes += len(text.encode()) + 1
                if self.output_bytes > PAYLOAD_LIMIT:
                    self.outputs = None  # the state will fail with DataLimitExceeded; stop holding outputs
                    break
                self.outputs.append(json.loads(text))
        self.map_run.items.results_written += sum(chunk.items.values())
        self.map_run.executions.results_written += chunk.count

    def _count_exceeded(self) -> StatesError | None:
        count, percentage = self.settings.tolerated_count, self.settings.tolerated_percentage
        if count is None and percentage is None:
            count = 0
        if count is not None and self.failed_items > count:
            return StatesError("States.ExceedToleratedFailureThreshold", THRESHOLD_CAUSE)
        if percentage == 0 and count is None and self.failed_items > 0:
            return StatesError("States.ExceedToleratedFailureThreshold", THRESHOLD_CAUSE)
        return None

    def _percentage_exceeded(self) -> StatesError | None:
        percentage = self.settings.tolerated_percentage
        total = self.map_run.items.total
        if percentage is not None and total and self.failed_items * 100.0 / total > percentage:
            return StatesError("States.ExceedToleratedFailureThreshold", THRESHOLD_CAUSE)
        return None

    def _drain_pending(self) -> None:
        """After a failure, the children never started are PENDING; record them for the writer."""
        if self.writer is None:
            for _ in self.children:
                pass
            return
        for index, text, count in self.children:
            self._emit_pending(index, text, count)

    def _emit_pending(self, index: int, text: str, count: int) -> None:
        pending = ChildResult(
            index, "", "", self.map_run.state_machine_arn, "PENDING", text, item_count=count
        )
        assert self.writer is not None
        self.writer.write_records("PENDING", render_records(pending, self.writer.format))

    def _progress(self) -> None:
        observer = self.owner.observer
        now = time.monotonic()
        if observer is not None and now - self.last_progress >= 0.1:
            self.last_progress = now
            observer.map_run_progress(self.map_run)

    def _result(self, failure: StatesError | None) -> Any:
        if failure is not None and self.first_failure is not None:
            arn, first = self.map_run.map_run_arn, self.first_failure[:2000]
            self.call.run.logs.append(f"[stepmap] Map Run {arn} failed; first failed {first}\n")
        if self.writer is not None:
            details = self.writer.close()
            if failure is not None:
                raise failure
            return {"MapRunArn": self.map_run.map_run_arn, "ResultWriterDetails": details}
        if failure is not None:
            raise failure
        if self.outputs is None:
            raise StatesError(
                "States.DataLimitExceeded",
                f"The state/task '{self.state.name}' returned a result with a size exceeding the "
                "maximum number "
                "of bytes service limit.",
            )
        return self._shape_outputs(self.outputs)

    def _shape_outputs(self, outputs: list[Any]) -> list[Any]:
        config = (self.state.result_writer or {}).get("WriterConfig", {})
        if config.get("Transformation") == "FLATTEN":
            flat: list[Any] = []
            for out in outputs:
                flat.extend(out if isinstance(out, list) else [out])
            return flat
        return outputs
