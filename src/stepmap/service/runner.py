"""The Step Functions-shaped facade: validate a definition, start an execution, get its record.

This is what the Python API, the CLI (and later the HTTP API) call. It is the one place that assembles an
execution's collaborators: the executor (by name, through :mod:`stepmap.backends`), the function registry,
the clock, and the Distributed Map runner.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stepmap.asl.loader import load_definition
from stepmap.asl.model import StateMachine, parse_machine
from stepmap.asl.validate import validate
from stepmap.backends import make_executor
from stepmap.errors import DefinitionError, InputError, Problem
from stepmap.functions import FunctionRegistry, HandlerRef, function_name_of
from stepmap.interpreter.clock import Clock
from stepmap.interpreter.distributed.maprun import MapRun
from stepmap.interpreter.distributed.runner import DistributedMap
from stepmap.interpreter.execution import Execution, execute
from stepmap.interpreter.loop import run_to_completion
from stepmap.interpreter.ports import MapRunObserver
from stepmap.interpreter.tasks import LAMBDA_INVOKE, HandlerInvoker
from stepmap.journal import Journal

if TYPE_CHECKING:
    from stepmap.storage import ObjectStore

__all__ = ["PreparedMachine", "StepmapService", "prepare", "referenced_functions"]


@dataclass(frozen=True)
class PreparedMachine:
    definition: Mapping[str, Any]
    machine: StateMachine
    name: str


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def referenced_functions(definition: Mapping[str, Any], base: str = "") -> Iterator[tuple[str, str]]:
    """(function name, JSON pointer) of every Task whose function is named by a constant."""
    for state_name, state in (definition.get("States") or {}).items():
        where = f"{base}/States/{_escape(state_name)}"
        if not isinstance(state, Mapping):
            continue
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str):
            if resource == LAMBDA_INVOKE:
                params = state.get("Parameters")
                if isinstance(params, Mapping) and isinstance(params.get("FunctionName"), str):
                    parsed = function_name_of(params["FunctionName"])
                    if parsed:
                        yield parsed[0], f"{where}/Parameters/FunctionName"
            elif not resource.startswith("arn:aws:states:"):
                parsed = function_name_of(resource)
                if parsed:
                    yield parsed[0], f"{where}/Resource"
        for i, branch in enumerate(state.get("Branches") or ()):
            if isinstance(branch, Mapping):
                yield from referenced_functions(branch, f"{where}/Branches/{i}")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                yield from referenced_functions(state[key], f"{where}/{key}")


def prepare(source: Any, name: str | None = None) -> PreparedMachine:
    """Load, validate and parse a definition; raise DefinitionError with every problem."""
    definition = load_definition(source)
    problems = validate(definition)
    errors = [p for p in problems if p.severity == "ERROR"]
    if errors:
        raise DefinitionError(errors)
    if name is None:
        name = "stepmap"
        if isinstance(source, str) and not source.lstrip().startswith("{"):
            stem = source.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
            if stem and function_name_of(stem):
                name = stem
    return PreparedMachine(definition, parse_machine(definition), name)


def storage_env(
    store: str | None = None, s3_endpoint: str | None = None, state_dir: str | None = None
) -> dict[str, str]:
    """The environment that tells handlers (in any process) where the store, tables and state live."""
    env = {k: v for k, v in os.environ.items() if k.startswith("STEPMAP_")}
    if state_dir is not None:
        env["STEPMAP_STATE_DIR"] = os.path.abspath(state_dir)
    env.setdefault("STEPMAP_STATE_DIR", os.path.abspath(".stepmap"))
    if store is not None:
        env["STEPMAP_STORE"] = store if "://" in store else os.path.abspath(store)
    env.setdefault("STEPMAP_STORE", os.path.join(env["STEPMAP_STATE_DIR"], "s3"))
    if s3_endpoint is not None:
        env["STEPMAP_S3_ENDPOINT"] = s3_endpoint
    return env


class StepmapService:
    """Runs executions with one configuration (functions, executor, store, clock)."""

    def __init__(
        self,
        *,
        functions: FunctionRegistry | Mapping[str, Any] | None = None,
        executor: str = "local",
        code_paths: tuple[str, ...] = (),
        clock: Clock | None = None,
        max_workers: int | None = None,
        store: str | None = None,
        s3_endpoint: str | None = None,
        state_dir: str | None = None,
        observer: MapRunObserver | None = None,
        journal: bool = False,
        ray_address: str | None = None,
    ) -> None:
        self.functions = functions if isinstance(functions, FunctionRegistry) else FunctionRegistry(functions)
        self.executor_name = executor
        self.code_paths = code_paths
        self.clock = clock
        self.env = storage_env(store, s3_endpoint, state_dir)
        self.executor = make_executor(
            executor, code_paths=code_paths, max_workers=max_workers, env=self.env, ray_address=ray_address
        )
        # how many chunks the executor runs at once: the pool's size, or the cluster's CPUs
        self.workers = getattr(self.executor, "workers", None) or (max_workers or os.cpu_count() or 1)
        if executor == "sync":
            self.workers = 1
        self.journal = (
            Journal(os.path.join(self.env["STEPMAP_STATE_DIR"], "journal.sqlite")) if journal else None
        )
        self.observer = _Observers(observer, self.journal)
        self.map_runs: list[MapRun] = []
        self._store: ObjectStore | None = None

    @property
    def store(self) -> ObjectStore:
        """The object store (opened on first use)."""
        if self._store is None:
            from stepmap.storage import StoreConfig, open_store

            self._store = open_store(StoreConfig.from_env(self.env))
        return self._store

    def validate(self, source: Any) -> list[Problem]:
        return validate(load_definition(source))

    def check_functions(self, prepared: PreparedMachine) -> None:
        missing = [
            Problem(
                "INVALID_RESOURCE", f"function {fn!r} is not registered (use --function {fn}=module:attr)", at
            )
            for fn, at in referenced_functions(prepared.definition)
            if fn not in self.functions
        ]
        if missing:
            raise DefinitionError(missing)
        for fn, _ in referenced_functions(prepared.definition):
            target = self.functions.get(fn)
            if isinstance(target, HandlerRef):
                target.load()  # an unimportable handler is the user's mistake: say so before running

    def start_execution(self, source: Any, input: Any = None, *, name: str | None = None) -> Execution:
        """Run an execution to completion (synchronously) and return its record."""
        prepared = source if isinstance(source, PreparedMachine) else prepare(source)
        self.check_functions(prepared)
        if name is not None and not function_name_of(name):
            raise InputError(f'execution name {name!r} is invalid (1-80 characters, no spaces or /:*?"<>)')
        invoker = HandlerInvoker(self.executor, self.functions)
        input_value = {} if input is None else input
        distributed = DistributedMap(
            self.executor,
            self.functions,
            _LazyStore(self),
            observer=self.observer,
            workers=self.workers,
            tmp_dir=os.path.join(self.env["STEPMAP_STATE_DIR"], "tmp"),
        )
        execution: Execution = run_to_completion(
            lambda: execute(
                prepared.machine,
                input_value,
                invoker=invoker,
                clock=self.clock,
                name=name,
                state_machine_name=prepared.name,
                distributed_map=distributed,
            )
        )
        self.map_runs.extend(distributed.map_runs)
        if self.journal is not None:
            self.journal.record_execution(execution.describe(), execution.history)
        return execution


class _LazyStore:
    """Opens the service's store only when a Distributed Map first touches it."""

    def __init__(self, service: StepmapService) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service.store, name)


class _Observers:
    """Fans Map Run events out to the journal (throttled) and to a caller's observer (progress bars)."""

    def __init__(self, observer: MapRunObserver | None, journal: Journal | None) -> None:
        self.observer = observer
        self.journal = journal
        self._last = 0.0

    def map_run_started(self, map_run: MapRun) -> None:
        if self.journal is not None:
            self.journal.record_map_run(map_run.describe())
        if self.observer is not None:
            self.observer.map_run_started(map_run)

    def map_run_progress(self, map_run: MapRun) -> None:
        now = time.monotonic()
        if self.journal is not None and now - self._last >= 1.0:
            self._last = now
            self.journal.record_map_run(map_run.describe())
        if self.observer is not None:
            self.observer.map_run_progress(map_run)

    def map_run_finished(self, map_run: MapRun) -> None:
        if self.journal is not None:
            self.journal.record_map_run(map_run.describe())
        if self.observer is not None:
            self.observer.map_run_finished(map_run)
