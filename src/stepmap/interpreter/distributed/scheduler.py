"""The Map Run scheduler: streams items from the reader through the selector and batcher into chunks of
child executions on the executor, and their results out to the ResultWriter (or the state's output).

State of one running Map Run: the child-input iterator, the chunks in flight (at most ``window``), a reorder
buffer that hands finished chunks to the writer in submission order (bounded by the window), the Map Run's
counters, and the tolerated-failure bookkeeping. Memory is bounded by the window and the chunk size, never
by the item count. ``MaxConcurrency`` is honoured exactly: a chunk runs its children one after another in one
worker, and at most ``MaxConcurrency`` chunks are in flight.

Durability: after each finished chunk the scheduler checkpoints, through the run's journal, how far the
children are done *and written* (``emitted_upto``: every child below that index is in the result files), the
counters of what was written, and the writer's file positions. A resumed Map Run skips the children below
``emitted_upto`` and reopens the writer's files at the checkpointed size, so every item is written exactly
once; at most the chunks in flight at the crash run again. A redrive re-runs only the children that failed
(kept by the journal) and those never started, writing under ``Redrive-<n>/``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from stepmap.asl import model
from stepmap.asl.payload import References, dumps
from stepmap.errors import EngineError, StatesError
from stepmap.interpreter.distributed.maprun import Counters, MapRun
from stepmap.interpreter.distributed.readers import JsonText
from stepmap.interpreter.distributed.records import ChildResult
from stepmap.interpreter.distributed.writer import ResultWriter, render_records
from stepmap.interpreter.run import PAYLOAD_LIMIT, ExecutionAborted, StateCall
from stepmap.worker import ChildJob, ChunkResult, run_children

if TYPE_CHECKING:
    from stepmap.interpreter.distributed.runner import DistributedMap, Settings

__all__ = ["MapRunScheduler"]

TARGET_CHUNK_SECONDS = 0.05  # aim for chunks of about this much work: few messages, quick feedback
MAX_CHUNK_CHILDREN = 4096
MAX_CHUNK_BYTES = 4 << 20
MAX_CHUNK_ATTEMPTS = 4  # runs of one chunk before the Map Run gives up on a failing executor
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
NO_KEY = object()

Child = tuple[int, str, int]  # (child index, input JSON, items it carries)


def _counters(data: dict[str, int] | None) -> Counters:
    counters = Counters()
    for key, value in (data or {}).items():
        setattr(counters, {"timedOut": "timed_out", "resultsWritten": "results_written"}.get(key, key), value)
    counters.pending = counters.running = 0
    counters.failures_not_redrivable = counters.pending_redrive = 0
    return counters


class MapRunScheduler:
    """One running Map Run (see the module docstring)."""

    def __init__(
        self,
        owner: DistributedMap,
        state: model.Map,
        call: StateCall,
        effective: Any,
        settings: Settings,
        map_run: MapRun,
        writer: ResultWriter | None,
        job: ChildJob,
        previous: dict[str, Any] | None = None,
        redrive: bool = False,
    ) -> None:
        self.owner = owner
        self.state = state
        self.call = call
        self.effective = effective
        self.settings = settings
        self.map_run = map_run
        self.writer = writer
        self.job = job
        self.journal = call.run.journal
        self.window = max(1, min(settings.max_concurrency, 2 * owner.workers + 2))
        # Start with one child per chunk: until a chunk's duration is known, a slow child must not take a
        # worker's share of the work with it. Sizes then grow fourfold per completed chunk at most.
        self.chunk_size = 1
        self.exhausted = False
        self.next_seq = 0  # chunks are emitted in the order they were submitted
        self.submitted = 0
        self.buffer: dict[int, tuple[ChunkResult, list[int]]] = {}
        self.reader_error: StatesError | None = None
        self.first_failure: str | None = None  # told in the execution's log when the Map Run fails
        self.attempts: dict[int, int] = {}  # chunk sequence number -> runs of that chunk so far
        self.chunk_retries = 0
        self.outputs: list[Any] | None = None if writer is not None else []
        self.prior_outputs: dict[int, Any] | None = None  # a redrive: earlier outputs by child index
        self.output_bytes = 0
        self.failed_items = 0
        self.last_progress = 0.0
        # What was written, for checkpoints: counters of emitted children, and how far they go.
        self.emitted_items = Counters()
        self.emitted_executions = Counters()
        self.emitted_upto = 0
        self.pending_boundary: int | None = None  # a redrive: children from here on never ran
        self.redo: set[int] | None = None  # a redrive: the failed children to run again
        if previous is not None:
            self._restore(previous, redrive)
        self.children: Iterator[Child] = self._counted(self._child_inputs())

    def _restore(self, previous: dict[str, Any], redrive: bool) -> None:
        items, executions = _counters(previous.get("items")), _counters(previous.get("executions"))
        if redrive:
            # The failed and never-started children run again; what succeeded stays counted.
            self.pending_boundary = previous["emitted_upto"]
            for counters in (items, executions):
                counters.total = counters.results_written = counters.succeeded
                counters.failed = counters.timed_out = counters.aborted = 0
            self.emitted_upto = 0
        else:
            self.pending_boundary = previous.get("pending_boundary")
            self.emitted_upto = previous["emitted_upto"]
            self.failed_items = previous.get("failed_items", 0)
            self.first_failure = previous.get("first_failure")
            if self.writer is None and "outputs" in previous:
                self.outputs = previous["outputs"]
                self.output_bytes = previous.get("output_bytes", 0)
        if self.pending_boundary is not None and self.journal is not None:
            self.redo = self.journal.map_run_redrive_children(self.map_run.map_run_arn)
        if redrive and self.writer is None and previous.get("outputs") is not None:
            # The outputs of the children that succeeded before (every index below the boundary but
            # the failed ones, in order); the redriven children's outputs go in among them.
            done = [i for i in range(previous["emitted_upto"]) if i not in (self.redo or set())]
            self.prior_outputs = dict(zip(done, previous["outputs"]))
            self.output_bytes = previous.get("output_bytes", 0)
        self.emitted_items, self.emitted_executions = items, executions
        self.map_run.items, self.map_run.executions = (
            _counters(items.to_json()),
            _counters(executions.to_json()),
        )

    # -- items -> child inputs -------------------------------------------------------------------------
    def _counted(self, children: Iterator[Child]) -> Iterator[Child]:
        """The children this run executes (skipping those a resume or redrive need not run again), each
        counted as pending as soon as it exists."""
        items, executions = self.map_run.items, self.map_run.executions
        upto, boundary, redo = self.emitted_upto, self.pending_boundary, self.redo
        for child in children:
            index = child[0]
            if index < upto:
                continue
            if boundary is not None and index < boundary and (redo is None or index not in redo):
                continue
            items.total += child[2]
            items.pending += child[2]
            executions.total += 1
            executions.pending += 1
            yield child

    def _child_inputs(self) -> Iterator[Child]:
        state, call, effective = self.state, self.call, self.effective
        selector = state.item_selector
        scope = call.frame.scope
        items = self.owner.items(state, call, effective)

        def selected() -> Iterator[str]:
            """Each item's child input as JSON text."""
            for index, (value, source) in enumerate(items):
                if selector is None:
                    yield str(value) if type(value) is JsonText else dumps(value)
                    continue
                item = {"Index": index, "Value": value, "Source": "STATE_DATA"}
                if state.item_reader is not None:
                    item["Source"] = source
                elif source is not NO_KEY:
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

    def _next_chunk(self) -> list[Child]:
        chunk: list[Child] = []
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
        in_flight: dict[asyncio.Future[ChunkResult], tuple[int, list[Child]]] = {}
        failure: StatesError | None = None
        try:
            while True:
                # UpdateMapRun may change the Map Run's settings while it runs: read them each turn
                self.window = max(1, min(self.map_run.max_concurrency, 2 * self.owner.workers + 2))
                while failure is None and not self.exhausted and len(in_flight) < self.window:
                    chunk = self._next_chunk()
                    if not chunk:
                        break
                    self._start(chunk)
                    seq, self.submitted = self.submitted, self.submitted + 1
                    in_flight[self._submit(chunk)] = (seq, chunk)
                if not in_flight:
                    break
                self._progress()  # after new chunks started: observers see the children in flight
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for fut in done:
                    seq, chunk = in_flight.pop(fut)
                    if fut.exception() is not None:
                        # The worker died (or the pool broke) under this chunk: run it again; its
                        # children are counted only when a run of the chunk completes.
                        in_flight[self._retry(seq, chunk, fut.exception())] = (seq, chunk)
                        continue
                    indexes = [child[0] for child in chunk]
                    failure = self._finish(seq, indexes, fut.result()) or failure
                if self.journal is not None and self.journal.should_stop():
                    raise ExecutionAborted()
            if failure is None:
                failure = self._percentage_exceeded()
            if failure is not None:
                self._drain_pending()
        except BaseException:
            for fut in in_flight:
                fut.cancel()
            raise
        return self._result(failure)

    def _submit(self, chunk: list[Child]) -> asyncio.Future[ChunkResult]:
        try:
            future: Future[ChunkResult] = self.owner.executor.submit(run_children, self.job, chunk)
        except RuntimeError as exc:
            raise EngineError(f"cannot submit child executions: {exc}") from exc
        return asyncio.wrap_future(future)

    def _retry(
        self, seq: int, chunk: list[Child], error: BaseException | None
    ) -> asyncio.Future[ChunkResult]:
        attempts = self.attempts[seq] = self.attempts.get(seq, 1) + 1
        if attempts > MAX_CHUNK_ATTEMPTS:
            raise EngineError(
                f"a chunk of {len(chunk)} child executions (from index {chunk[0][0]}) failed "
                f"{MAX_CHUNK_ATTEMPTS} times in the executor: {error!r}"
            ) from error
        self.chunk_retries += 1
        return self._submit(chunk)

    def _start(self, chunk: list[Child]) -> None:
        items = sum(n for _, _, n in chunk)
        counters, executions = self.map_run.items, self.map_run.executions
        counters.pending -= items
        counters.running += items
        executions.pending -= len(chunk)
        executions.running += len(chunk)

    def _finish(self, seq: int, indexes: list[int], chunk: ChunkResult) -> StatesError | None:
        if chunk.logs:
            self.call.run.logs.append(chunk.logs)
        # Adapt the chunk size so that one message carries about TARGET_CHUNK_SECONDS of work.
        if self.map_run.max_concurrency > 1 and chunk.count:
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
        # Hand chunks to the writer (or the output) in the order they were submitted: item order.
        self.buffer[seq] = (chunk, indexes)
        emitted = False
        while self.next_seq in self.buffer:
            ready, ready_indexes = self.buffer.pop(self.next_seq)
            self.next_seq += 1
            self._emit(ready, ready_indexes)
            self.emitted_upto = ready_indexes[-1] + 1
            emitted = True
        if emitted:
            self.checkpoint()
        return self.reader_error or self._count_exceeded()

    def _emit(self, chunk: ChunkResult, indexes: list[int]) -> None:
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
            not_ok = {index for index, *_ in chunk.failed}
            succeeded = [index for index in indexes if index not in not_ok]
            for index, text in zip(succeeded, texts):
                self.output_bytes += len(text.encode()) + 1
                if self.output_bytes > PAYLOAD_LIMIT:
                    self.outputs = None  # the state will fail with DataLimitExceeded; stop holding outputs
                    break
                if self.prior_outputs is not None:  # a redrive: slot it in among the earlier outputs
                    self.prior_outputs[index] = json.loads(text)
                else:
                    self.outputs.append(json.loads(text))
        written = sum(chunk.items.values())
        self.map_run.items.results_written += written
        self.map_run.executions.results_written += chunk.count
        for status, n in chunk.items.items():
            self.emitted_items.add(status, n)
            self.emitted_items.results_written += n
        for status, n in chunk.executions.items():
            self.emitted_executions.add(status, n)
            self.emitted_executions.results_written += n
        if self.journal is not None:
            failed = [index for index, *_ in chunk.failed]
            redone = [i for i in indexes if i not in set(failed)] if self.redo else []
            if failed or redone:
                self.journal.map_run_failed_children(self.map_run, failed, redone)

    def checkpoint(self, *, result: Any = None, writer: bool = True) -> None:
        """Make the Map Run's progress durable (a no-op without a journal)."""
        if self.journal is None:
            return
        data: dict[str, Any] = {
            "status": self.map_run.status,
            "map_run_id": self.map_run.map_run_id,
            "start_date": self.map_run.start_date.isoformat(),
            "redrive_count": self.map_run.redrive_count,
            "emitted_upto": self.emitted_upto,
            "pending_boundary": self.pending_boundary,
            "items": self.emitted_items.to_json(),
            "executions": self.emitted_executions.to_json(),
            "failed_items": self.failed_items,
            "first_failure": self.first_failure,
            "error": self.map_run.error,
            "cause": self.map_run.cause,
            "execution_redrive_count": self.call.run.redrive_count,
            "writer": self.writer.state() if self.writer is not None and writer else None,
        }
        if self.writer is None:
            # Without a ResultWriter the outputs so far are the state's result (at most 256 KiB): a
            # resumed Map Run starts from them, or it would return only the children it ran itself.
            data["outputs"] = self.outputs
            data["output_bytes"] = self.output_bytes
        if self.map_run.status == "SUCCEEDED":
            data["result"] = result
        self.journal.map_run_checkpoint(self.map_run, self.state.name, data)

    def _count_exceeded(self) -> StatesError | None:
        count, percentage = self.map_run.tolerated_failure_count, self.map_run.tolerated_failure_percentage
        if count is None and percentage is None:
            count = 0
        if count is not None and self.failed_items > count:
            return StatesError("States.ExceedToleratedFailureThreshold", THRESHOLD_CAUSE)
        if percentage == 0 and count is None and self.failed_items > 0:
            return StatesError("States.ExceedToleratedFailureThreshold", THRESHOLD_CAUSE)
        return None

    def _percentage_exceeded(self) -> StatesError | None:
        percentage = self.map_run.tolerated_failure_percentage
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
        arn = self.map_run.state_machine_arn
        pending = ChildResult(index, "", "", arn, "PENDING", text, item_count=count)
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
        if self.outputs is not None and self.prior_outputs is not None:
            self.outputs = [self.prior_outputs[index] for index in sorted(self.prior_outputs)]
        if self.outputs is None:
            raise StatesError(
                "States.DataLimitExceeded",
                f"The state/task '{self.state.name}' returned a result with a size exceeding the "
                "maximum number of bytes service limit.",
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
