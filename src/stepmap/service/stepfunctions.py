"""The Step Functions API's semantics over stepmap's service: one method per operation.

Each method takes the operation's request document (already checked against botocore's input shape by the
endpoint) and returns its response document, with timestamps as epoch seconds; AWS's errors are
:class:`~stepmap.service.machines.ApiError`. The protocol (JSON 1.0 over HTTP) lives in
:mod:`stepmap.endpoints.stepfunctions`; this module never sees HTTP, and never reaches into the interpreter
beyond what :class:`StepmapService` and the journal offer.

State: the registry tables (machines, versions, aliases, tags, activities, tokens) and the journal, both in
the state directory, so everything but running EXPRESS executions survives a restart.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

from stepmap.asl.payload import dumps
from stepmap.errors import InputError
from stepmap.integrations.activities import ActivityIntegration
from stepmap.integrations.states import StartExecutionIntegration
from stepmap.interpreter.distributed.runner import DEFAULT_MAX_CONCURRENCY
from stepmap.interpreter.execution import execution_arn
from stepmap.journal.registry import Registry
from stepmap.service.callbacks import TaskTokens
from stepmap.service.executions import Executions, epoch
from stepmap.service.machines import (
    ARN_PREFIX,
    ApiError,
    Machines,
    check_name,
    definition_problems,
    parse_definition,
)
from stepmap.service.runner import StepmapService
from stepmap.worker import child_name

__all__ = ["ApiError", "StepFunctions"]

DEFINITION_LIMIT = 1_048_576
MAX_TAGS = 50


def _page(req: dict[str, Any], items: list[Any], key: str) -> dict[str, Any]:
    """One page of ``items``: AWS's maxResults (0 means the default, 100) and opaque nextToken."""
    start = 0
    if req.get("nextToken"):
        try:
            start = int(json.loads(base64.urlsafe_b64decode(req["nextToken"]))["offset"])
        except (ValueError, KeyError, TypeError):
            raise ApiError("InvalidToken", f"Invalid Token: '{req['nextToken']}'") from None
    size = req.get("maxResults") or 100
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["nextToken"] = base64.urlsafe_b64encode(json.dumps({"offset": start + size}).encode()).decode()
    return out


def _limit(req: dict[str, Any], field: str, limit: int) -> None:
    value = req.get(field)
    if isinstance(value, str) and len(value.encode()) > limit:
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}",
        )


class LiveMapRuns:
    """A MapRunObserver that keeps the Map Runs running in this process, so UpdateMapRun can reach them."""

    def __init__(self) -> None:
        self.running: dict[str, Any] = {}

    def map_run_started(self, map_run: Any) -> None:
        self.running[map_run.map_run_arn] = map_run

    def map_run_progress(self, map_run: Any) -> None:
        pass

    def map_run_finished(self, map_run: Any) -> None:
        self.running.pop(map_run.map_run_arn, None)


class StepFunctions:
    """The API's operations over one service configuration (functions, executor, state directory)."""

    def __init__(self, service: StepmapService, live_map_runs: LiveMapRuns | None = None) -> None:
        if service.journal is None:
            raise ValueError("the Step Functions API needs a journaled service (a state directory)")
        self.service = service
        self.registry = Registry(os.path.join(service.env["STEPMAP_STATE_DIR"], "journal.sqlite"))
        self.machines = Machines(self.registry)
        self.machines.mock_config = service.mock_config
        self.executions = Executions(service, self.registry, self.machines)
        self.extensions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        service.integrations.register("states:startExecution*", StartExecutionIntegration(self, ApiError))
        self.tokens: TaskTokens = service.task_tokens
        service.integrations.register("activity:*", ActivityIntegration(self.tokens))
        self.live_map_runs = live_map_runs or LiveMapRuns()

    def close(self) -> None:
        self.executions.close()

    def call(self, operation: str, req: dict[str, Any]) -> dict[str, Any]:
        """Run one operation (``StartExecution``) on its request document."""
        method = self.extensions.get(operation) or getattr(self, _snake(operation), None)
        if method is None:
            raise ApiError("UnknownOperationException", f"stepmap does not implement {operation} yet")
        result: dict[str, Any] = method(req)
        return result

    # -- state machines ------------------------------------------------------------------------------
    def create_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        _limit(req, "definition", DEFINITION_LIMIT)
        if len(req.get("tags") or []) > MAX_TAGS:
            raise ApiError("TooManyTags", f"Too many tags: at most {MAX_TAGS}")
        return self.machines.create(req)

    def describe_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        out = self.machines.describe(req["stateMachineArn"])
        if req.get("includedData") == "METADATA_ONLY":
            out.pop("definition", None)
        return out

    def update_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        _limit(req, "definition", DEFINITION_LIMIT)
        return self.machines.update(req)

    def delete_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        self.machines.delete(req["stateMachineArn"])
        return {}

    def list_state_machines(self, req: dict[str, Any]) -> dict[str, Any]:
        return _page(req, self.machines.summaries(), "stateMachines")

    def validate_state_machine_definition(self, req: dict[str, Any]) -> dict[str, Any]:
        _limit(req, "definition", DEFINITION_LIMIT)
        problems = definition_problems(req["definition"], req.get("type", "STANDARD"))
        failed = any(p.severity == "ERROR" for p in problems)
        if req.get("severity", "ERROR") == "ERROR":
            problems = [p for p in problems if p.severity == "ERROR"]
        limit = req.get("maxResults") or 100
        diagnostics = [p.to_json() for p in problems]
        return {
            "result": "FAIL" if failed else "OK",
            "diagnostics": diagnostics[:limit],
            "truncated": len(diagnostics) > limit,
        }

    def describe_state_machine_for_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["executionArn"]
        row = self.executions._row(arn)
        meta = self.registry.execution_meta(arn) or {}
        machine_arn = row["record"]["stateMachineArn"]
        record = self.registry.get("machines", machine_arn)
        definition = dumps(row["definition"]) if row["definition"] is not None else "{}"
        out: dict[str, Any] = {
            "stateMachineArn": machine_arn,
            "name": row["state_machine"],
            "definition": definition,
            "roleArn": f"arn:aws:iam::123456789012:role/{row['state_machine']}",
            "updateDate": epoch(row["record"]["startDate"]),
        }
        if record is not None:
            if json.loads(record["definition"]) == row["definition"]:
                out["definition"] = record["definition"]
                out["revisionId"] = record["revisionId"]
            out["roleArn"] = record["roleArn"]
            out["updateDate"] = record["updateDate"]
            for key in ("loggingConfiguration", "tracingConfiguration"):
                out[key] = record[key]
        if "mapRunArn" in meta:
            out["mapRunArn"] = meta["mapRunArn"]
        return out

    # -- versions and aliases ------------------------------------------------------------------------
    def publish_state_machine_version(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.machines.publish(req["stateMachineArn"], req.get("revisionId"), req.get("description"))

    def list_state_machine_versions(self, req: dict[str, Any]) -> dict[str, Any]:
        return _page(req, self.machines.versions(req["stateMachineArn"]), "stateMachineVersions")

    def delete_state_machine_version(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["stateMachineVersionArn"]
        qualifier = arn.rsplit(":", 1)[-1]
        if not arn.startswith(f"{ARN_PREFIX}stateMachine:") or not qualifier.isdigit():
            raise ApiError("InvalidArn", f"Invalid Arn: '{arn}'")
        self.machines.delete_version(arn)
        return {}

    def create_state_machine_alias(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.machines.create_alias(req)

    def describe_state_machine_alias(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.machines.alias(req["stateMachineAliasArn"])

    def update_state_machine_alias(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.machines.update_alias(req)

    def delete_state_machine_alias(self, req: dict[str, Any]) -> dict[str, Any]:
        self.machines.delete_alias(req["stateMachineAliasArn"])
        return {}

    def list_state_machine_aliases(self, req: dict[str, Any]) -> dict[str, Any]:
        return _page(req, self.machines.aliases(req["stateMachineArn"]), "stateMachineAliases")

    # -- executions ----------------------------------------------------------------------------------
    def start_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        # "<stateMachineArn>#<TestCase>": a test case of serve's --mock-config, as Step Functions Local
        arn, mocked, test_case = req["stateMachineArn"].partition("#")
        resolved = self.machines.resolve(arn)
        mocks = self._test_case(resolved, test_case) if mocked else None
        return self.executions.start(resolved, req.get("name"), req.get("input"), mocks=mocks)

    def _test_case(self, resolved: Any, test_case: str) -> Any:
        config = self.service.mock_config
        if config is None:
            raise ApiError(
                "ValidationException",
                f"Test case '{test_case}' requested, but no mock config is loaded "
                "(stepmap serve --mock-config FILE)",
            )
        try:
            mocks = config.test_case(resolved.machine["name"], test_case)
            mocks.check(parse_definition(resolved.definition))
        except InputError as exc:
            raise ApiError("ValidationException", str(exc)) from None
        return mocks

    def start_execution_from_task(self, req: dict[str, Any]) -> dict[str, Any]:
        """states:startExecution from a Task (not an API operation): the parent is recorded; an EXPRESS
        child that the Task waits for runs to its end here (AWS keeps no record to describe it by)."""
        resolved = self.machines.resolve(req["stateMachineArn"])
        if resolved.machine["type"] == "EXPRESS" and req.get("wait"):
            out = self.executions.start_sync(resolved, req.get("name"), req.get("input"))
            out.pop("billingDetails", None)
            return {"executionArn": out["executionArn"], "startDate": out["startDate"], "sync": out}
        parent = req["parentExecutionArn"]
        try:
            return self.executions.start(resolved, req.get("name"), req.get("input"), parent=parent)
        except ApiError as exc:
            # a resumed parent re-running its Task finds the child it started before it died
            arn = execution_arn(resolved.machine["name"], req.get("name") or "")
            meta = self.registry.execution_meta(arn) if exc.code == "ExecutionAlreadyExists" else None
            if meta is None or meta.get("parent") != parent:
                raise
            return {"executionArn": arn, "startDate": self.executions.describe(arn)["startDate"]}

    def start_sync_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        resolved = self.machines.resolve(req["stateMachineArn"])
        out = self.executions.start_sync(resolved, req.get("name"), req.get("input"))
        if req.get("includedData") == "METADATA_ONLY":
            for key in ("input", "output", "inputDetails", "outputDetails"):
                out.pop(key, None)
        return out

    def stop_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.executions.stop(req["executionArn"], req.get("error"), req.get("cause"))

    def redrive_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.executions.redrive(req["executionArn"])

    def describe_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.executions.describe(req["executionArn"], req.get("includedData") == "METADATA_ONLY")

    def list_executions(self, req: dict[str, Any]) -> dict[str, Any]:
        if ("stateMachineArn" in req) == ("mapRunArn" in req):
            raise ApiError("ValidationException", "Specify exactly one of stateMachineArn and mapRunArn")
        if "mapRunArn" in req:
            items = self._map_run_children(req["mapRunArn"])
        else:
            arn = req["stateMachineArn"]
            resolved = self.machines.resolve(arn) if ":" in arn[len(ARN_PREFIX) + 13 :] else None
            machine = resolved.machine if resolved else self.machines.get(arn)
            if machine["type"] == "EXPRESS":
                raise ApiError(
                    "StateMachineTypeNotSupported",
                    "This operation is not supported by this type of state machine",
                )
            items = self.executions.list_items(machine["stateMachineArn"])
            if resolved is not None:
                field = "stateMachineAliasArn" if resolved.alias_arn else "stateMachineVersionArn"
                items = [i for i in items if i.get(field) == arn]
        if req.get("statusFilter"):
            items = [i for i in items if i["status"] == req["statusFilter"]]
        if req.get("redriveFilter") == "REDRIVEN":
            items = [i for i in items if i.get("redriveCount", 0) > 0]
        elif req.get("redriveFilter") == "NOT_REDRIVEN":
            items = [i for i in items if i.get("redriveCount", 0) == 0]
        return _page(req, items, "executions")

    def get_execution_history(self, req: dict[str, Any]) -> dict[str, Any]:
        events = self.executions.history(req["executionArn"], req.get("includeExecutionData", True))
        if req.get("reverseOrder"):
            events.reverse()
        return _page(req, events, "events")

    # -- map runs ------------------------------------------------------------------------------------
    def _map_run(self, arn: str) -> dict[str, Any]:
        if ":mapRun:" not in arn:
            raise ApiError("InvalidArn", f"Invalid Arn: '{arn}'")
        rows = [r for r in self.executions.journal.map_runs() if r["mapRunArn"] == arn]
        if not rows:
            raise ApiError("ResourceNotFound", f"Resource not found: '{arn}'")
        return rows[0]

    def describe_map_run(self, req: dict[str, Any]) -> dict[str, Any]:
        record = dict(self._map_run(req["mapRunArn"]))
        record.pop("error", None)
        record.pop("cause", None)
        record["startDate"] = epoch(record["startDate"])
        if "stopDate" in record:
            record["stopDate"] = epoch(record["stopDate"])
        return record

    def list_map_runs(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["executionArn"]
        self.executions._row(arn)
        runs = []
        for record in self.executions.journal.map_runs(arn):
            machine, _, _ = record["mapRunArn"].split(":mapRun:", 1)[1].rpartition(":")
            item = {
                "executionArn": arn,
                "mapRunArn": record["mapRunArn"],
                "stateMachineArn": f"{ARN_PREFIX}stateMachine:{machine}",
                "startDate": epoch(record["startDate"]),
            }
            if "stopDate" in record:
                item["stopDate"] = epoch(record["stopDate"])
            runs.append(item)
        return _page(req, runs, "mapRuns")

    def update_map_run(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["mapRunArn"]
        record = self._map_run(arn)
        live = self.live_map_runs.running.get(arn)
        if record["status"] != "RUNNING" or live is None or live.status != "RUNNING":
            raise ApiError("ValidationException", f"Map Run {arn} is not running: it cannot be updated")
        if "maxConcurrency" in req:
            live.max_concurrency = req["maxConcurrency"] or DEFAULT_MAX_CONCURRENCY
        if "toleratedFailureCount" in req:
            live.tolerated_failure_count = req["toleratedFailureCount"]
        if "toleratedFailurePercentage" in req:
            live.tolerated_failure_percentage = req["toleratedFailurePercentage"]
        self.executions.journal.record_map_run(live.describe())
        return {}

    def _map_run_children(self, arn: str) -> list[dict[str, Any]]:
        """A Map Run's child executions, newest first, from its journal record and checkpoint.

        Children run in chunks without a journal row each; what the journal knows is which children
        have ended (every index below the checkpoint's ``emitted_upto``), which of those did not succeed,
        and how many have started. Dates are the Map Run's own (children's are not recorded)."""
        record = self._map_run(arn)
        found = self.registry.map_run_row(arn)
        state_name, checkpoint = found if found is not None else (None, None)
        done = (checkpoint or {}).get("emitted_upto", 0)
        started = max(record["executionCounts"]["total"], done)
        if record["status"] != "RUNNING":
            done = started
        failed = self.executions.journal.failures(arn)
        map_run_id = arn.rsplit(":", 1)[1]
        machine = arn.split(":mapRun:", 1)[1].rsplit(":", 1)[0]
        kind = "express" if self._child_type(record["executionArn"], state_name) == "EXPRESS" else "execution"
        start = epoch(record["startDate"])
        items = []
        for index in range(started - 1, -1, -1):
            name = child_name(map_run_id, index)
            status = "RUNNING" if index >= done else ("FAILED" if index in failed else "SUCCEEDED")
            item: dict[str, Any] = {
                "executionArn": f"{ARN_PREFIX}{kind}:{machine}:{name}",
                "stateMachineArn": f"{ARN_PREFIX}stateMachine:{machine}",
                "name": name,
                "status": status,
                "startDate": start,
                "mapRunArn": arn,
            }
            if status != "RUNNING" and "stopDate" in record:
                item["stopDate"] = epoch(record["stopDate"])
            items.append(item)
        return items

    def _child_type(self, execution_arn: str, state_name: str | None) -> str:
        row = self.executions.journal.find(execution_arn)
        stack = [row["definition"] if row is not None else None]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                state = (node.get("States") or {}).get(state_name) if state_name else None
                if isinstance(state, dict):
                    processor = state.get("ItemProcessor") or {}
                    return str((processor.get("ProcessorConfig") or {}).get("ExecutionType", "STANDARD"))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return "STANDARD"

    # -- TestState ---------------------------------------------------------------------------------------
    def test_state(self, req: dict[str, Any]) -> dict[str, Any]:
        from stepmap.interpreter.tasks import HandlerInvoker
        from stepmap.service.teststate import test_state

        _limit(req, "definition", DEFINITION_LIMIT)
        svc = self.service
        return test_state(req, HandlerInvoker(svc.executor, svc.functions, integrations=svc.integrations))

    # -- callbacks -----------------------------------------------------------------------------------
    def send_task_success(self, req: dict[str, Any]) -> dict[str, Any]:
        self.tokens.send_success(req["taskToken"], req["output"])
        return {}

    def send_task_failure(self, req: dict[str, Any]) -> dict[str, Any]:
        self.tokens.send_failure(req["taskToken"], req.get("error"), req.get("cause"))
        return {}

    def send_task_heartbeat(self, req: dict[str, Any]) -> dict[str, Any]:
        self.tokens.send_heartbeat(req["taskToken"])
        return {}

    # -- activities ----------------------------------------------------------------------------------
    def create_activity(self, req: dict[str, Any]) -> dict[str, Any]:
        name = req["name"]
        check_name(name)
        arn = f"{ARN_PREFIX}activity:{name}"
        record = {"activityArn": arn, "name": name, "creationDate": time.time()}
        if self.registry.insert("activities", arn, record, name=name):
            self.registry.tag(arn, req.get("tags") or [])
        else:
            record = self.registry.get("activities", arn) or record
        return {"activityArn": arn, "creationDate": record["creationDate"]}

    def _activity(self, arn: str) -> dict[str, Any]:
        if not arn.startswith(f"{ARN_PREFIX}activity:"):
            raise ApiError("InvalidArn", f"Invalid Arn: '{arn}'")
        record = self.registry.get("activities", arn)
        if record is None:
            raise ApiError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        return record

    def describe_activity(self, req: dict[str, Any]) -> dict[str, Any]:
        return self._activity(req["activityArn"])

    def delete_activity(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["activityArn"]
        if not arn.startswith(f"{ARN_PREFIX}activity:"):
            raise ApiError("InvalidArn", f"Invalid Arn: '{arn}'")
        self.registry.delete("activities", arn)
        return {}

    activity_hold_seconds = 60.0  # AWS holds a GetActivityTask poll this long (clients wait >= 65 s)

    def get_activity_task(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["activityArn"]
        self._activity(arn)
        return self.tokens.next_activity_task(arn, req.get("workerName"), self.activity_hold_seconds)

    def list_activities(self, req: dict[str, Any]) -> dict[str, Any]:
        return _page(req, self.registry.records("activities"), "activities")

    # -- tags ----------------------------------------------------------------------------------------
    def _taggable(self, arn: str) -> None:
        if arn.startswith(f"{ARN_PREFIX}activity:"):
            found = self.registry.get("activities", arn)
        elif arn.startswith(f"{ARN_PREFIX}stateMachine:"):
            found = self.registry.get("machines", arn) or self.registry.get("aliases", arn)
        else:
            raise ApiError("InvalidArn", f"Invalid Arn: '{arn}'")
        if found is None:
            raise ApiError("ResourceNotFound", f"Resource not found: '{arn}'")

    def tag_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["resourceArn"]
        self._taggable(arn)
        keys = {t["key"] for t in self.registry.tags(arn)} | {t["key"] for t in req["tags"]}
        if len(keys) > MAX_TAGS:
            raise ApiError("TooManyTags", f"Too many tags: at most {MAX_TAGS} per resource")
        self.registry.tag(arn, req["tags"])
        return {}

    def untag_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        self._taggable(req["resourceArn"])
        self.registry.untag(req["resourceArn"], req["tagKeys"])
        return {}

    def list_tags_for_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        self._taggable(req["resourceArn"])
        return {"tags": self.registry.tags(req["resourceArn"])}


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
