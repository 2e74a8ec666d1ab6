"""Per-state status of an execution, derived from its definition and its history events (pure).

The graph colours each state by what happened to it: ``not_run``, ``running``, ``succeeded``, ``failed``,
``caught`` (it failed and a Catch moved on), ``retried`` (it failed, was retried, and succeeded). A state
inside a Parallel branch or a Map's ItemProcessor may be visited many times (once per iteration); its colour
is the most telling of its visits (failed > running > caught > retried > succeeded).

How events become visits: every event continues the thread of control of its ``previousEventId``. A thread
carries a stack of open visits (Parallel and Map states hold their branches' visits above them) and the Map
iteration it runs in. ``<Type>StateEntered`` opens a visit; ``...Scheduled`` counts an attempt; ``...Failed``
and ``...TimedOut`` record an error on the innermost open visit; ``<Type>StateExited`` closes it with its
output and assigned variables. A visit never exited failed if the execution ended, and is running otherwise.

State: none; :func:`derive_states` is a function of its arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STATUSES", "Visit", "derive_states", "graph_of", "truncate"]

STATUSES = ("not_run", "running", "succeeded", "failed", "caught", "retried")
_RANK = {"failed": 5, "running": 4, "caught": 3, "retried": 2, "succeeded": 1, "not_run": 0}
MAX_VISITS = 50  # visits kept per state (the first ones and the failed ones); the count is always exact
MAX_TEXT = 64 * 1024  # characters of an input, output or cause shown by the dashboard


def truncate(text: Any, limit: int = MAX_TEXT) -> Any:
    """Cut a long string (an input, an output, a cause) to ``limit`` characters, saying how long it was."""
    if isinstance(text, str) and len(text) > limit:
        return f"{text[:limit]}\u2026 [truncated: {len(text):,} characters in all]"
    return text


@dataclass
class Visit:
    state: str
    iteration: list[int]  # Map iteration indexes from the outermost Map in
    entered: int  # event id
    timestamp: str
    input: Any = None
    output: Any = None
    variables: dict[str, Any] | None = None
    exited: bool = False
    exited_at: str | None = None
    attempts: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def status(self, execution_status: str) -> str:
        if self.exited:
            if not self.errors:
                return "succeeded"
            return "retried" if self.attempts > len(self.errors) else "caught"
        if execution_status == "RUNNING":
            return "running"
        return "failed"

    def to_json(self, execution_status: str) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "enteredEventId": self.entered,
            "timestamp": self.timestamp,
            "exitedAt": self.exited_at,
            "status": self.status(execution_status),
            "input": truncate(self.input),
            "output": truncate(self.output),
            "variables": {k: truncate(v) for k, v in (self.variables or {}).items()},
            "attempts": self.attempts,
            "retries": max(0, self.attempts - 1),
            "errors": [{k: truncate(v) for k, v in e.items()} for e in self.errors],
        }


@dataclass(frozen=True)
class _Thread:
    visits: tuple[Visit, ...]
    iteration: tuple[int, ...]


_ERROR_SUFFIXES = ("Failed", "TimedOut")
_NOT_STATE_ERRORS = {"ExecutionFailed", "ExecutionTimedOut", "MapIterationFailed"}
_ATTEMPTS = {"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"}


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


def derive_states(
    definition: Mapping[str, Any] | None, events: Iterable[Mapping[str, Any]], execution_status: str
) -> dict[str, dict[str, Any]]:
    """``{state name: {"status", "visits": n, "details": [visit, ...]}}`` for every state of the definition
    (nested ones too) and every state the history names."""
    threads: dict[int, _Thread] = {0: _Thread((), ())}
    visits: dict[str, list[Visit]] = {}
    counts: dict[str, int] = {}
    statuses: dict[str, str] = {}
    execution_error: dict[str, Any] | None = None
    open_visits: list[Visit] = []
    for event in events:
        kind = str(event.get("type", ""))
        thread = threads.get(int(event.get("previousEventId") or 0), threads[0])
        details = _details(event)
        if kind.endswith("StateEntered"):
            visit = Visit(
                str(details.get("name", "")),
                list(thread.iteration),
                int(event["id"]),
                str(event.get("timestamp", "")),
                input=details.get("input"),
            )
            counts[visit.state] = counts.get(visit.state, 0) + 1
            kept = visits.setdefault(visit.state, [])
            if len(kept) < MAX_VISITS:
                kept.append(visit)
            open_visits.append(visit)
            thread = _Thread((*thread.visits, visit), thread.iteration)
        elif kind.endswith("StateExited") and thread.visits:
            visit = thread.visits[-1]
            visit.exited = True
            visit.exited_at = str(event.get("timestamp", ""))
            visit.output = details.get("output")
            visit.variables = details.get("assignedVariables")
            _settle(visit, statuses, execution_status)
            thread = _Thread(thread.visits[:-1], thread.iteration)
        elif kind == "MapIterationStarted":
            thread = _Thread(thread.visits, (*thread.iteration, int(details.get("index", 0))))
        elif kind in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"):
            thread = _Thread(thread.visits, thread.iteration[:-1])
        elif kind in _ATTEMPTS and thread.visits:
            thread.visits[-1].attempts += 1
        elif kind in ("ExecutionFailed", "ExecutionTimedOut"):
            execution_error = {"error": details.get("error"), "cause": details.get("cause")}
        elif (
            kind.endswith(_ERROR_SUFFIXES)
            and kind not in _NOT_STATE_ERRORS
            and thread.visits
            and ("error" in details or "cause" in details)
        ):
            thread.visits[-1].errors.append(
                {"event": kind, "error": details.get("error"), "cause": details.get("cause")}
            )
        threads[int(event.get("id", 0))] = thread
    for visit in open_visits:
        if not visit.exited:
            if execution_status != "RUNNING" and not visit.errors and execution_error is not None:
                visit.errors.append({"event": "ExecutionFailed", **execution_error})
            _settle(visit, statuses, execution_status)
            if visit not in visits[visit.state]:  # a failed visit beyond MAX_VISITS: keep it, it tells most
                visits[visit.state][-1] = visit
    names = list(_state_names(definition)) if definition else []
    names.extend(n for n in counts if n not in names)
    return {
        name: {
            "status": statuses.get(name, "not_run"),
            "visits": counts.get(name, 0),
            "details": [v.to_json(execution_status) for v in visits.get(name, [])],
        }
        for name in names
    }


def _settle(visit: Visit, statuses: dict[str, str], execution_status: str) -> None:
    status = visit.status(execution_status)
    if _RANK[status] > _RANK[statuses.get(visit.state, "not_run")]:
        statuses[visit.state] = status


def _state_names(definition: Mapping[str, Any]) -> Iterable[str]:
    for name, state in (definition.get("States") or {}).items():
        yield name
        if isinstance(state, Mapping):
            for branch in state.get("Branches") or ():
                if isinstance(branch, Mapping):
                    yield from _state_names(branch)
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(state.get(key), Mapping):
                    yield from _state_names(state[key])


def graph_of(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition as nodes (with their container) and edges, for the browser to lay out with dagre.

    Parallel branches and Map item processors are containers (compound nodes); a Map's ItemProcessor is
    drawn once, whatever the number of iterations."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def walk(machine: Mapping[str, Any], parent: str | None, scope: str) -> str | None:
        states = machine.get("States") or {}
        if not isinstance(states, Mapping):
            return None
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            kind = str(state.get("Type", ""))
            node_id = f"s:{name}"
            mode = ""
            if kind == "Map":
                processor = state.get("ItemProcessor") or state.get("Iterator") or {}
                mode = str((processor.get("ProcessorConfig") or {}).get("Mode", "INLINE"))
            nodes.append({"id": node_id, "state": name, "type": kind, "parent": parent, "mode": mode})
            for target, label in _transitions(state):
                if isinstance(target, str) and target in states:
                    edges.append({"from": node_id, "to": f"s:{target}", "label": label})
            if kind == "Parallel":
                group = f"g:{scope}/{name}"
                nodes.append({"id": group, "state": name, "type": "ParallelGroup", "parent": parent})
                for i, branch in enumerate(state.get("Branches") or ()):
                    if isinstance(branch, Mapping):
                        box = f"{group}/{i}"
                        nodes.append(
                            {"id": box, "state": f"Branch {i + 1}", "type": "Branch", "parent": group}
                        )
                        start = walk(branch, box, box)
                        if start:
                            edges.append({"from": node_id, "to": start, "label": ""})
            elif kind == "Map":
                processor = state.get("ItemProcessor") or state.get("Iterator")
                if isinstance(processor, Mapping):
                    box = f"g:{scope}/{name}"
                    label = "Distributed Map: child executions" if mode == "DISTRIBUTED" else "Iteration"
                    nodes.append({"id": box, "state": label, "type": "Iteration", "parent": parent})
                    start = walk(processor, box, box)
                    if start:
                        edges.append({"from": node_id, "to": start, "label": ""})
        start_at = machine.get("StartAt")
        return f"s:{start_at}" if isinstance(start_at, str) and start_at in states else None

    start = walk(definition, None, "")
    if start:
        nodes.insert(0, {"id": "start", "state": "Start", "type": "Start", "parent": None})
        edges.insert(0, {"from": "start", "to": start, "label": ""})
    return {"nodes": nodes, "edges": edges}


def _transitions(state: Mapping[str, Any]) -> Iterable[tuple[Any, str]]:
    if "Next" in state:
        yield state["Next"], ""
    for i, choice in enumerate(state.get("Choices") or ()):
        if isinstance(choice, Mapping):
            yield choice.get("Next"), f"rule {i + 1}"
    if "Default" in state:
        yield state["Default"], "default"
    for catcher in state.get("Catch") or ():
        if isinstance(catcher, Mapping):
            errors = catcher.get("ErrorEquals") or []
            yield catcher.get("Next"), "catch " + ", ".join(str(e) for e in errors)
