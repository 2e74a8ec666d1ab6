"""Executions started through the Step Functions API: they run in the server process, concurrently.

State: one event loop on a background thread runs every execution as a task (orchestration is coroutines;
handler calls go to the service's executor, as with ``stepmap run``), and :attr:`Executions.running` maps the
ARN of each execution this process runs to its task, so StopExecution can end it at once. STANDARD
executions are journaled exactly as ``stepmap run`` journals them (record, history, checkpoints), so they
are described, listed, redriven and, after the server dies, resumed from the journal; EXPRESS executions
are not journaled (AWS keeps no history of them either) and only StartSyncExecution returns their result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from stepmap.asl.payload import dumps
from stepmap.errors import InputError, StepmapError
from stepmap.interpreter.distributed.runner import DistributedMap
from stepmap.interpreter.execution import Execution, ResumePoint, execute, execution_arn
from stepmap.interpreter.tasks import HandlerInvoker
from stepmap.journal.registry import Registry
from stepmap.journal.sqlite import owner_alive
from stepmap.service.journaled import JournalRun
from stepmap.service.machines import ARN_PREFIX, ApiError, Machines, Resolved
from stepmap.service.runner import PreparedMachine, StepmapService, _LazyStore, check_input

__all__ = ["Executions", "epoch"]

log = logging.getLogger("stepmap.serve")

INPUT_LIMIT = 262_144
START_GRACE_SECONDS = 0.002


def epoch(value: Any) -> float | None:
    """An ISO timestamp from the journal as epoch seconds (the JSON protocol's timestamp form)."""
    if value is None or isinstance(value, int | float):
        return value
    return datetime.fromisoformat(value).timestamp()


class _LoopThread:
    """One asyncio loop on a daemon thread; coroutines are submitted from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="stepmap-executions", daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def parse_input(text: str | None) -> Any:
    from stepmap.asl.loader import parse_json

    if text is None:
        return {}
    if len(text.encode()) > INPUT_LIMIT:
        raise ApiError(
            "ValidationException",
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have length less than or equal to {INPUT_LIMIT}",
        )
    try:
        value = parse_json(text, "the execution input")
        check_input(value)
    except InputError as exc:
        raise ApiError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'") from None
    return value


class Executions:
    def __init__(self, service: StepmapService, registry: Registry, machines: Machines) -> None:
        assert service.journal is not None
        self.service = service
        self.journal = service.journal
        self.registry = registry
        self.machines = machines
        self.loop = _LoopThread()
        self.running: dict[str, concurrent.futures.Future[Any]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        for future in list(self.running.values()):
            future.cancel()
        self.loop.close()

    # -- starting ------------------------------------------------------------------------------------
    def start(
        self,
        resolved: Resolved,
        name: str | None,
        input_text: str | None,
        *,
        parent: str | None = None,
        mocks: Any = None,
    ) -> dict[str, Any]:
        input_value = parse_input(input_text)
        prepared = self.machines.prepared(resolved)
        if name is not None:
            from stepmap.service.machines import check_name

            check_name(name)
        name = name or str(uuid.uuid4())
        machine = resolved.machine
        if machine["type"] == "EXPRESS":
            arn = f"{ARN_PREFIX}express:{machine['name']}:{name}:{uuid.uuid4()}"
            self.loop.submit(self._run_express(prepared, input_value, name, mocks))
            return {"executionArn": arn, "startDate": time.time()}
        arn = execution_arn(machine["name"], name)
        started = datetime.now(UTC)
        record = {
            "executionArn": arn,
            "stateMachineArn": machine["stateMachineArn"],
            "name": name,
            "status": "RUNNING",
            "startDate": started.isoformat(),
            "input": dumps(input_value),
        }
        meta: dict[str, Any] = {"type": "STANDARD"}
        if resolved.version_arn:
            meta["stateMachineVersionArn"] = resolved.version_arn
        if resolved.alias_arn:
            meta["stateMachineAliasArn"] = resolved.alias_arn
        if parent:
            meta["parent"] = parent
        options = self.service.options()
        if mocks is not None:  # a resumed execution runs with the same test case
            options["mock"] = {"config": self.service.mock_config.document, "test_case": mocks.test_case}
        if not self.journal.create_execution(
            record, prepared.name, prepared.definition, input_value, options
        ):
            row = self.journal.find(arn)
            if row is not None and row["status"] == "RUNNING" and row["input"] == input_value:
                return {"executionArn": arn, "startDate": epoch(row["record"]["startDate"])}
            raise ApiError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        self.registry.add_execution(arn, machine["stateMachineArn"], meta)
        future = self._launch(
            arn, self._run(prepared, input_value, name, JournalRun(self.journal, arn), mocks=mocks)
        )
        # Give a short execution the moment it needs to end before the answer goes out, so that the
        # caller's first DescribeExecution finds it ended (bounded: a long one is not waited for).
        concurrent.futures.wait([future], timeout=START_GRACE_SECONDS)
        return {"executionArn": arn, "startDate": started.timestamp()}

    def _launch(self, arn: str, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        future = self.loop.submit(coro)
        with self._lock:
            self.running[arn] = future
        future.add_done_callback(lambda _: self._forget(arn, future))
        return future

    def _forget(self, arn: str, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            if self.running.get(arn) is future:
                del self.running[arn]

    def start_sync(self, resolved: Resolved, name: str | None, input_text: str | None) -> dict[str, Any]:
        machine = resolved.machine
        if machine["type"] != "EXPRESS":
            raise ApiError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        input_value = parse_input(input_text)
        prepared = self.machines.prepared(resolved)
        name = name or str(uuid.uuid4())
        execution: Execution = self.loop.submit(self._run_express(prepared, input_value, name)).result()
        arn = f"{ARN_PREFIX}express:{machine['name']}:{name}:{uuid.uuid4()}"
        out: dict[str, Any] = {
            "executionArn": arn,
            "stateMachineArn": machine["stateMachineArn"],
            "name": name,
            "startDate": execution.start_date.timestamp(),
            "stopDate": (execution.stop_date or execution.start_date).timestamp(),
            "status": "SUCCEEDED" if execution.status == "SUCCEEDED" else execution.status,
            "input": dumps(input_value),
            "inputDetails": {"included": True},
            "billingDetails": {
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": max(
                    100,
                    int(
                        ((execution.stop_date or execution.start_date) - execution.start_date).total_seconds()
                        * 1000
                    ),
                ),
            },
        }
        if execution.status == "SUCCEEDED":
            out["output"] = dumps(execution.output)
            out["outputDetails"] = {"included": True}
        else:
            out["error"] = execution.error or ""
            out["cause"] = execution.cause or ""
        return out

    # -- running -------------------------------------------------------------------------------------
    def _tools(self, mocks: Any = None) -> tuple[HandlerInvoker, DistributedMap]:
        svc = self.service
        invoker = HandlerInvoker(svc.executor, svc.functions, integrations=svc.integrations, mocks=mocks)
        distributed = DistributedMap(
            svc.executor,
            svc.functions,
            _LazyStore(svc),
            observer=svc.observer,
            workers=svc.workers,
            tmp_dir=os.path.join(svc.env["STEPMAP_STATE_DIR"], "tmp"),
        )
        return invoker, distributed

    async def _run_express(
        self, prepared: PreparedMachine, input_value: Any, name: str, mocks: Any = None
    ) -> Execution:
        invoker, distributed = self._tools(mocks)
        return await execute(
            prepared.machine,
            input_value,
            invoker=invoker,
            clock=self.service.clock,
            name=name,
            state_machine_name=prepared.name,
            record_history=False,
            distributed_map=distributed,
        )

    async def _run(
        self,
        prepared: PreparedMachine,
        input_value: Any,
        name: str,
        journal_run: JournalRun,
        resume: ResumePoint | None = None,
        mocks: Any = None,
    ) -> None:
        """Run (or go on with) one journaled execution; its end goes to the journal, errors to the log."""
        # The same collaborators StepmapService._execute assembles, awaited on this loop instead of a
        # loop of its own, so that many executions share one thread.
        invoker, distributed = self._tools(mocks)
        flushed = len(resume.events) if resume is not None else 0
        started: dict[str, Any] = {}

        def on_start(record: Execution, run: Any) -> None:
            journal_run.attach(run, flushed)
            started.update(record=record, run=run)

        try:
            execution = await execute(
                prepared.machine,
                input_value,
                invoker=invoker,
                clock=self.service.clock,
                name=name,
                state_machine_name=prepared.name,
                distributed_map=distributed,
                journal=journal_run,
                resume=resume,
                on_start=on_start,
            )
        except asyncio.CancelledError:
            self._aborted(journal_run, started.get("record"), started.get("run"))
            return
        except StepmapError as exc:  # an engine failure: the execution stays RUNNING, to be resumed
            log.error("execution %s stopped by an engine failure: %s", journal_run.arn, exc)
            return
        self.journal.record_execution(execution.describe(), journal_run.new_events())

    def _aborted(self, journal_run: JournalRun, record: Execution | None, run: Any) -> None:
        stop = self.registry.execution_meta(journal_run.arn) or {}
        error, cause = stop.get("stopError"), stop.get("stopCause")
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        events = journal_run.new_events()
        if record is None or run is None:
            return
        last = run.history.events[-1]["id"] if run.history.events else 0
        run.history.add("ExecutionAborted", last, details)
        events += journal_run.new_events()
        record.status, record.stop_date = "ABORTED", datetime.now(UTC)
        record.error, record.cause = error, cause
        self.journal.record_execution(record.describe(), events)
        for map_run in self.journal.map_runs(journal_run.arn):
            if map_run["status"] == "RUNNING":
                map_run.update(status="ABORTED", stopDate=record.stop_date.isoformat())
                self.journal.record_map_run(map_run)

    def _continue(self, row: Any, *, redriven: bool) -> None:
        """Go on with a journaled execution from its checkpoint (a resume, or a redrive)."""
        from stepmap.service.runner import prepare, resume_from

        prepared = prepare(row["definition"], name=row["state_machine"])
        resume, journal_run = resume_from(self.journal, row, prepared, redriven=redriven)
        mocks = None
        mock = (row["options"] or {}).get("mock")
        if mock and mock.get("test_case"):  # started as <arn>#<TestCase>: resumed with the same mocks
            from stepmap.integrations.mock import load_mock_config

            mocks = load_mock_config(mock["config"]).test_case(row["state_machine"], mock["test_case"])
        self._launch(row["arn"], self._run(prepared, row["input"], row["name"], journal_run, resume, mocks))

    def resume_orphans(self) -> list[str]:
        """Resume the API's executions whose process died (a server restart): from their checkpoints."""
        resumed = []
        for record in self.journal.executions():
            if record["status"] != "RUNNING" or self.registry.execution_meta(record["executionArn"]) is None:
                continue
            row = self.journal.find(record["executionArn"])
            if row is None or owner_alive(row["owner"], row["heartbeat"]):
                continue
            if self.journal.claim(row["arn"], row["owner"]):
                self._continue(row, redriven=False)
                resumed.append(row["arn"])
        return resumed

    # -- stop, redrive -------------------------------------------------------------------------------
    def _row(self, arn: str) -> Any:
        if ":execution:" not in arn and ":express:" not in arn:
            raise ApiError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
        row = self.journal.find(arn) if arn.startswith(ARN_PREFIX) else None
        if row is None or row["arn"] != arn:
            raise ApiError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return row

    def stop(self, arn: str, error: str | None, cause: str | None) -> dict[str, Any]:
        row = self._row(arn)
        if row["status"] != "RUNNING":
            raise ApiError("ValidationException", f"Execution Does Not Exist or is not running: '{arn}'")
        meta = self.registry.execution_meta(arn) or {}
        meta.update({k: v for k, v in (("stopError", error), ("stopCause", cause)) if v is not None})
        self.registry.add_execution(arn, row["record"]["stateMachineArn"], meta)
        with self._lock:
            future = self.running.get(arn)
        if future is not None:
            future.cancel()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                found = self.journal.find(arn)
                if found is not None and found["status"] != "RUNNING":
                    return {"stopDate": epoch(found["record"].get("stopDate")) or time.time()}
                time.sleep(0.005)
        else:
            self.journal.request_stop(arn)
            if not owner_alive(row["owner"], row["heartbeat"]):
                record = self.service.stop(arn)
                return {"stopDate": epoch(record.get("stopDate"))}
        return {"stopDate": time.time()}

    def redrive(self, arn: str) -> dict[str, Any]:
        row = self._row(arn)
        if row["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise ApiError(
                "ExecutionNotRedrivable", f"Execution is {row['status']} and cannot be redriven: '{arn}'"
            )
        if arn in self.running:
            raise ApiError("ExecutionNotRedrivable", f"Execution is still being stopped: '{arn}'")
        row["redrive_count"] += 1
        now = datetime.now(UTC)
        record = {**row["record"], "status": "RUNNING", "redriveCount": row["redrive_count"]}
        for key in ("stopDate", "error", "cause", "output", "redriveStatus"):
            record.pop(key, None)
        self.journal.set_redrive(row["arn"], row["redrive_count"], record)
        meta = self.registry.execution_meta(arn) or {"type": "STANDARD"}
        meta["redriveDate"] = now.timestamp()
        meta.pop("stopError", None)
        meta.pop("stopCause", None)
        self.registry.add_execution(arn, row["record"]["stateMachineArn"], meta)
        self._continue(row, redriven=True)
        return {"redriveDate": now.timestamp()}

    # -- reading -------------------------------------------------------------------------------------
    def describe(self, arn: str, metadata_only: bool = False) -> dict[str, Any]:
        row = self._row(arn)
        return self._shape(row["record"], self.registry.execution_meta(arn) or {}, metadata_only)

    @staticmethod
    def _shape(record: dict[str, Any], meta: dict[str, Any], metadata_only: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in record.items() if k not in ("redriveStatus",)}
        out["startDate"] = epoch(record["startDate"])
        if "stopDate" in record:
            out["stopDate"] = epoch(record["stopDate"])
        for key in ("stateMachineVersionArn", "stateMachineAliasArn", "redriveDate", "mapRunArn"):
            if key in meta:
                out[key] = meta[key]
        status = record["status"]
        if metadata_only:
            out.pop("input", None)
            out.pop("output", None)
        else:
            out["inputDetails"] = {"included": True}
            if "output" in out:
                out["outputDetails"] = {"included": True}
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            out["redriveStatus"] = "REDRIVABLE"
        else:
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = f"Execution is {status} and cannot be redriven"
        out.setdefault("redriveCount", 0)
        return out

    def list_items(self, machine_arn: str) -> list[dict[str, Any]]:
        items = []
        for arn in self.registry.execution_arns(machine_arn):
            row = self.journal.find(arn)
            if row is None or row["arn"] != arn:
                continue
            record, meta = row["record"], self.registry.execution_meta(arn) or {}
            item: dict[str, Any] = {
                "executionArn": arn,
                "stateMachineArn": record["stateMachineArn"],
                "name": record["name"],
                "status": record["status"],
                "startDate": epoch(record["startDate"]),
                "redriveCount": record.get("redriveCount", 0),
            }
            if "stopDate" in record:
                item["stopDate"] = epoch(record["stopDate"])
            for key in ("stateMachineVersionArn", "stateMachineAliasArn", "redriveDate"):
                if key in meta:
                    item[key] = meta[key]
            items.append(item)
        return items

    def history(self, arn: str, include_data: bool = True) -> list[dict[str, Any]]:
        self._row(arn)
        events = []
        for event in self.journal.history(arn):
            event = dict(event)
            event["timestamp"] = epoch(event["timestamp"])
            if not include_data:
                for key, details in list(event.items()):
                    if key.endswith("EventDetails") and isinstance(details, dict):
                        event[key] = {
                            k: v
                            for k, v in details.items()
                            if k not in ("input", "output", "inputDetails", "outputDetails")
                        }
            events.append(event)
        return events
