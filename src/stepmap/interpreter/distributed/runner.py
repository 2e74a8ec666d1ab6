"""Distributed Map states as Map Runs: the DistributedMapRunner the engine calls.

:class:`DistributedMap` resolves a Map state's settings (MaxConcurrency, tolerated failures, ItemBatcher,
ItemReader and ResultWriter parameters, with their ``...Path`` forms), gives the Map Run its identity (or
takes it back from a checkpoint, for a resume or a redrive), records its lifecycle events, and hands the
running to :class:`~stepmap.interpreter.distributed.scheduler.MapRunScheduler`. It keeps the Map Runs it
started (``map_runs``) for the service to report.
"""

from __future__ import annotations

import asyncio
import os
import pickle
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stepmap.asl import model
from stepmap.asl.jsonata import compile_value
from stepmap.asl.payload import compile_template, dumps
from stepmap.asl.resources import uses_service_integrations
from stepmap.errors import EngineError, StatesError
from stepmap.functions import FunctionRegistry
from stepmap.interpreter.distributed.maprun import MapRun
from stepmap.interpreter.distributed.readers import ReaderSpec, read_items
from stepmap.interpreter.distributed.scheduler import NO_KEY, MapRunScheduler
from stepmap.interpreter.distributed.writer import RecordFormat, ResultWriter
from stepmap.interpreter.ports import MapRunObserver, ObjectStorePort
from stepmap.interpreter.run import PAYLOAD_LIMIT, ExecutionAborted, StateCall
from stepmap.interpreter.states import jsonata_refs, map_items, resolve_int
from stepmap.worker import ChildJob, manual_start

__all__ = ["DEFAULT_MAX_CONCURRENCY", "DistributedMap"]

DEFAULT_MAX_CONCURRENCY = 10_000  # AWS's default and ceiling for child executions
TARGET_CHUNK_SECONDS = 0.05  # aim for chunks of about this much work: few messages, quick feedback
MAX_CHUNK_CHILDREN = 4096
MAX_CHUNK_BYTES = 4 << 20
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
_NO_KEY = object()
MAX_CHUNK_ATTEMPTS = 4  # runs of one chunk before the Map Run gives up on a failing executor


@dataclass(frozen=True)
class Settings:
    max_concurrency: int
    tolerated_count: int | None
    tolerated_percentage: float | None
    max_items_per_batch: int | None
    max_bytes_per_batch: int | None
    batch_input: Any
    batching: bool


_INF = float("inf")


def _int_setting(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatesError("States.Runtime", f"{name} value {dumps(value)} is not a valid integer")
    if isinstance(value, float) and not (-_INF < value < _INF and value == int(value)):
        raise StatesError("States.Runtime", f"{name} value {dumps(value)} is not a valid integer")
    return int(value)


def _settings(state: model.Map, call: StateCall, effective: Any) -> Settings:
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
    if batcher is not None and state.jsonata:
        batcher = _jsonata_resolved(batcher, "ItemBatcher", call, effective)
    if batcher is not None:
        refs = call.refs(effective)

        def batcher_int(name: str) -> int | None:
            """An ItemBatcher setting given as a constant or through its ``...Path`` twin."""
            if name in batcher:
                return _int_setting(batcher[name], name)
            if f"{name}Path" in batcher:
                return _int_setting(refs.resolve(_path(batcher[f"{name}Path"]), f"{name}Path"), name)
            return None

        max_items = batcher_int("MaxItemsPerBatch")
        if max_items is not None and max_items <= 0:
            raise StatesError("States.Runtime", "MaxItemsPerBatch must be positive.")
        max_bytes = batcher_int("MaxInputBytesPerBatch")
        if max_bytes is not None and not 0 < max_bytes <= PAYLOAD_LIMIT:
            raise StatesError("States.Runtime", "MaxInputBytesPerBatch must be between 1 and 262144.")
        if "BatchInput" in batcher:
            batch_input = (
                batcher["BatchInput"]
                if state.jsonata
                else compile_template(batcher["BatchInput"]).evaluate(refs)
            )
    return Settings(
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


def _jsonata_resolved(raw: Mapping[str, Any], where: str, call: StateCall, effective: Any) -> Any:
    """A JSONata Map's sub-document (ItemReader, ItemBatcher, ResultWriter) with its expressions evaluated."""
    resolved = compile_value(raw, where).evaluate(jsonata_refs(call, effective))
    if not isinstance(resolved, Mapping):
        raise StatesError("States.QueryEvaluationError", f"{where} must evaluate to a JSON object")
    return resolved


def _reader_spec(state: model.Map, call: StateCall, effective: Any) -> ReaderSpec:
    reader = state.item_reader or {}
    refs = call.refs(effective)
    if state.jsonata:
        reader = _jsonata_resolved(reader, "ItemReader", call, effective)
        parameters = reader.get("Arguments", {})
    else:
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


def nests_distributed_map(machine: model.StateMachine) -> bool:
    """Whether a Distributed Map appears anywhere in ``machine`` (in Parallel branches and Maps too)."""
    for state in machine.states.values():
        if isinstance(state, model.Map) and (state.distributed or nests_distributed_map(state.processor)):
            return True
        if isinstance(state, model.Parallel) and any(nests_distributed_map(b) for b in state.branches):
            return True
    return False


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

    def _shippable_store(self) -> ObjectStorePort | None:
        """The object store, when it can travel with a chunk to a worker (a local directory store can;
        one holding a network client cannot): a nested Distributed Map's ItemReader/ResultWriter use it."""
        if self.store is None:
            return None
        try:
            pickle.dumps(self.store)
        except Exception:
            return None
        return self.store

    def _store(self, what: str) -> ObjectStorePort:
        if self.store is None:
            raise StatesError(what, "No object store is configured for this execution")
        return self.store

    def items(self, state: model.Map, call: StateCall, effective: Any) -> Iterator[tuple[Any, Any]]:
        """(item, $$.Map.Item source) pairs: from the ItemReader, or from the state input (ItemsPath)."""
        if state.item_reader is not None:
            spec = _reader_spec(state, call, effective)
            yield from read_items(self._store("States.ItemReaderFailed"), spec)
        else:
            for value, item in map_items(state, call, effective):
                yield value, item.get("Key", NO_KEY)

    async def run(self, state: model.Map, effective: Any, call: StateCall) -> Any:
        run = call.run
        settings = _settings(state, call, effective)
        journal = run.journal
        previous = journal.map_run_resume(state.name) if journal is not None else None
        if previous is not None and previous["status"] == "SUCCEEDED":
            return previous["result"]  # it finished before the coordinator stopped: its result stands
        # A Map Run that failed or was stopped is redriven when its execution is (a new redrive count);
        # a resume that finds it failed fails the same way again.
        # So is one left RUNNING by a coordinator that died, when its execution (stopped or failed since)
        # is redriven: its failed children run again too, as after a stop by a live coordinator.
        redrive = previous is not None and (
            previous["status"] != "RUNNING" or run.redrive_count > previous.get("execution_redrive_count", 0)
        )
        if (
            redrive
            and previous is not None
            and run.redrive_count <= previous.get("execution_redrive_count", 0)
        ):
            if previous["status"] == "ABORTED":
                raise ExecutionAborted()
            raise StatesError(previous.get("error") or "States.Runtime", previous.get("cause"))
        label = state.label or state.name
        map_run_id = previous["map_run_id"] if previous is not None else MapRun.new_id()
        region, account = run.invoker.region, run.invoker.account
        child_machine = f"{run.state_machine_name}/{label}"
        map_run = MapRun(
            map_run_arn=f"arn:aws:states:{region}:{account}:mapRun:{child_machine}:{map_run_id}",
            map_run_id=map_run_id,
            execution_arn=run.execution_arn,
            state_machine_arn=f"arn:aws:states:{region}:{account}:stateMachine:{child_machine}",
            label=label,
            start_date=run.clock.now()
            if previous is None
            else datetime.fromisoformat(previous["start_date"]),
            max_concurrency=settings.max_concurrency,
            tolerated_failure_count=settings.tolerated_count,
            tolerated_failure_percentage=settings.tolerated_percentage,
            redrive_count=(previous["redrive_count"] + redrive) if previous is not None else 0,
        )
        self.map_runs.append(map_run)
        writer = self._writer(state, call, effective, map_run)
        prior = previous.get("writer") if previous is not None else None
        if writer is not None and prior and (not redrive or not prior.get("closed", True)):
            # A resume goes on with the files of its checkpoint; so does a redrive whose previous attempt
            # could not finish its export (the store failed, or it was stopped): nothing is lost.
            writer.restore(prior)
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
            integrations=(
                run.invoker.integrations if uses_service_integrations(state.processor.raw) else None
            ),
            mocks=getattr(run.invoker, "mocks", None),
            store=self._shippable_store() if nests_distributed_map(state.processor) else None,
        )
        cursor = call.frame.cursor
        if previous is None:
            cursor.add("MapStateStarted", {"length": 0})
            cursor.add("MapRunStarted", {"mapRunArn": map_run.map_run_arn})
        elif redrive:
            cursor.add(
                "MapRunRedriven", {"mapRunArn": map_run.map_run_arn, "redriveCount": map_run.redrive_count}
            )
        if self.observer is not None:
            self.observer.map_run_started(map_run)
        scheduler = MapRunScheduler(
            self, state, call, effective, settings, map_run, writer, job, previous, redrive
        )
        if previous is None:
            scheduler.checkpoint()  # a resume before the first chunk ends goes on with this Map Run
        try:
            result = await scheduler.run()
        except StatesError as exc:
            map_run.status, map_run.error, map_run.cause = "FAILED", exc.error, exc.cause
            map_run.stop_date = run.clock.now()
            scheduler.checkpoint()
            cursor.add("MapRunFailed", {"error": exc.error, "cause": exc.cause or ""})
            if self.observer is not None:
                self.observer.map_run_finished(map_run)
            raise
        except (ExecutionAborted, asyncio.CancelledError):  # stopped (by a state, or mid-wait)
            map_run.status, map_run.stop_date = "ABORTED", run.clock.now()
            if writer is not None:
                # Export what the stopped Map Run did; if the store fails now, the files stay for a redrive
                try:
                    writer.close()
                except (StatesError, EngineError):
                    pass
            scheduler.checkpoint()
            cursor.add("MapRunAborted", None)
            if self.observer is not None:
                self.observer.map_run_finished(map_run)
            raise
        # Any other exception (the engine failed: disk full, store gone, executor broken) leaves the Map
        # Run RUNNING in the journal, with its result files, so that `stepmap resume` can go on.
        map_run.status, map_run.stop_date = "SUCCEEDED", run.clock.now()
        scheduler.checkpoint(result=result)
        scheduler.discard_spool()
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
        if state.jsonata:
            spec = _jsonata_resolved(spec, "ResultWriter", call, effective)
            parameters = spec.get("Arguments", {})
        else:
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
