"""The Step Functions-shaped facade: validate a definition, start an execution, get its record.

This is what the Python API, the CLI (and later the HTTP API) call. It is the one place that assembles an
execution's collaborators: the executor (by name, through :mod:`stepmap.backends`), the function registry,
the clock, and the Distributed Map runner.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepmap.asl.loader import load_definition
from stepmap.asl.model import StateMachine, parse_machine
from stepmap.asl.payload import dumps
from stepmap.asl.validate import validate
from stepmap.backends import make_executor
from stepmap.environments import release as release_environments
from stepmap.errors import DefinitionError, EngineError, InputError, Problem
from stepmap.functions import FunctionRegistry, FunctionSpec, HandlerRef, function_name_of
from stepmap.interpreter.clock import Clock
from stepmap.interpreter.execution import (
    Execution,
    ResumePoint,
    execute,
    execution_arn,
    state_machine_arn,
)
from stepmap.interpreter.loop import run_to_completion
from stepmap.interpreter.ports import MapRunObserver
from stepmap.interpreter.tasks import LAMBDA_INVOKE, HandlerInvoker
from stepmap.journal import Journal
from stepmap.journal.sqlite import owner_alive, owner_id
from stepmap.service.journaled import JournalRun

if TYPE_CHECKING:
    from stepmap.interpreter.distributed.maprun import MapRun
    from stepmap.interpreter.distributed.runner import DistributedMap
    from stepmap.storage import ObjectStore

__all__ = ["PreparedMachine", "StepmapService", "prepare", "referenced_functions"]


@dataclass(frozen=True)
class PreparedMachine:
    definition: Mapping[str, Any]
    machine: StateMachine
    name: str


_ENDPOINT_LOCK = threading.Lock()
_NAME_FORBIDDEN = set(' <>{}[]?*"#%\\^|~`$&,;:/')


def valid_name(name: str) -> bool:
    """AWS's rule for execution (and state machine) names."""
    return 0 < len(name) <= 80 and not any(
        c in _NAME_FORBIDDEN or c.isspace() or ord(c) < 32 or 127 <= ord(c) < 160 for c in name
    )


MAX_INPUT_DEPTH = 256  # stepmap's limit on the nesting of execution input (AWS documents none)


def check_input(value: Any) -> None:
    """Reject execution input that cannot travel as JSON: too deep, not JSON, or not valid Unicode."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_INPUT_DEPTH:
                raise InputError(f"the execution input is nested more than {MAX_INPUT_DEPTH} levels deep")
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    try:
        import json  # (imported here: this module's import block is busy in other branches)

        json.dumps(value, allow_nan=False, ensure_ascii=False).encode()  # NaN and Infinity are not JSON
    except (TypeError, ValueError) as exc:
        raise InputError(f"the execution input is not JSON: {exc}") from None
    except UnicodeEncodeError:
        raise InputError("the execution input is not valid Unicode (it holds a lone surrogate)") from None


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


def prepare(
    source: Any, name: str | None = None, *, mocks: Any = None, passthrough: bool = False
) -> PreparedMachine:
    """Load, validate and parse a definition; raise DefinitionError with every problem. With ``mocks``
    (a MockConfigFile test case), what mocked Tasks call need not be something stepmap runs."""
    definition = load_definition(source)
    problems = validate(definition)
    errors = [p for p in problems if p.severity == "ERROR"]
    if mocks is not None:
        errors = [p for p in errors if not (p.code == "INVALID_RESOURCE" and mocks.covers(p.location))]
    if passthrough:  # --aws passthrough: what AWS can run need not run locally
        errors = [p for p in errors if not (p.code == "INVALID_RESOURCE" and _passes(definition, p.location))]
    if errors:
        raise DefinitionError(errors)
    return PreparedMachine(definition, parse_machine(definition), name or machine_name(source))


def _passes(definition: Any, location: str) -> bool:
    from stepmap.asl.resources import parse_resource
    from stepmap.integrations.passthrough import passes_through

    node = definition
    for token in location.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node.get(token) if isinstance(node, Mapping) else None
    parsed = parse_resource(node) if isinstance(node, str) else None
    return parsed is not None and passes_through(parsed)


def machine_name(source: Any) -> str:
    """The state machine name of a definition file (its stem), else ``stepmap``."""
    if isinstance(source, str) and not source.lstrip().startswith("{"):
        stem = source.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
        if stem and function_name_of(stem):
            return stem
    return "stepmap"


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
        endpoint: bool | str = False,
        mock_config: Any = None,
        test_case: str | None = None,
        aws: str = "local",
    ) -> None:
        if aws not in ("local", "passthrough"):
            raise InputError(f"--aws {aws!r}: local (the default) or passthrough")
        self.aws = aws  # passthrough: integrations not run locally go to real AWS (integrations.passthrough)
        # Step Functions Local's MockConfigFile (a path or a MockConfig) and the test case every
        # execution this service starts runs with (see stepmap.integrations.mock)
        self.mock_config, self.test_case = mock_config, test_case
        if mock_config is not None:
            from stepmap.integrations.mock import MockConfig, load_mock_config

            if not isinstance(mock_config, MockConfig):
                self.mock_config = load_mock_config(mock_config)
        elif test_case is not None:
            raise InputError("--test-case needs a mock config file (--mock-config FILE)")
        self.functions = functions if isinstance(functions, FunctionRegistry) else FunctionRegistry(functions)
        self.executor_name = executor
        self.code_paths = code_paths
        self.clock = clock
        self.env = storage_env(store, s3_endpoint, state_dir)
        # endpoint=True: serve S3 (and the JSON APIs) on loopback for handlers' boto3; a URL: use that one
        self.endpoint, handler_env = _handler_endpoint(endpoint, self.env)
        self._handler_url = handler_env.get("AWS_ENDPOINT_URL")  # integrations go where handlers go
        self.executor = make_executor(
            executor,
            code_paths=code_paths,
            max_workers=max_workers,
            env={**self.env, **handler_env},
            ray_address=ray_address,
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
        self._integrations: Any = None
        self._endpoint: Any = None  # the endpoint server integrations reach, started on first use

    @property
    def integrations(self) -> Any:
        """The service integrations (``dynamodb:putItem``, ``aws-sdk:s3:*``) Task states reach, through
        boto3 against the local AWS endpoints (see :meth:`aws_endpoint_url`)."""
        if self._integrations is None:
            from stepmap.integrations import default_integrations

            self._integrations = default_integrations(self.aws_endpoint_url)
            from stepmap.service.callbacks import register_callbacks

            self.task_tokens = register_callbacks(self._integrations, self)  # .waitForTaskToken
            from stepmap.integrations.messaging import register_messaging

            register_messaging(  # SNS, SQS, EventBridge (and their .waitForTaskToken forms)
                self._integrations, self.env["STEPMAP_STATE_DIR"], tokens=self.task_tokens
            )
            if self.aws == "passthrough":
                from stepmap.integrations.passthrough import PassthroughClients, PassthroughIntegration

                self._integrations.fallback = PassthroughIntegration(PassthroughClients())
        return self._integrations

    def aws_endpoint_url(self) -> str:
        """Where integrations (``aws-sdk:s3:*``, ``dynamodb:*``) send their calls: where handlers' boto3
        goes. The endpoint this service started for its handlers; else ``AWS_ENDPOINT_URL`` when the user
        set one (handlers use it too); else an endpoint over this service's own store and tables, started
        on an ephemeral loopback port on first use, so the objects are the ones ItemReader sees."""
        if self._handler_url:
            return self._handler_url
        url = self.env.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        if url:
            return url
        with _ENDPOINT_LOCK:
            if self._endpoint is None:
                from stepmap.endpoints import EndpointContext, build_server

                self._endpoint = build_server(EndpointContext(self.env)).start()
        return str(self._endpoint.url)

    def close(self) -> None:
        """Stop the endpoint this service started for its handlers, if any."""
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
        if self._endpoint is not None:  # the one integrations started
            self._endpoint.stop()
            self._endpoint = None

    @property
    def store(self) -> ObjectStore:
        """The object store (opened on first use)."""
        if self._store is None:
            from stepmap.storage import StoreConfig, open_store

            self._store = open_store(StoreConfig.from_env(self.env))
        return self._store

    def validate(self, source: Any) -> list[Problem]:
        return validate(load_definition(source))

    def mocks_for(self, source: Any) -> Any:
        """The mocks of this service's test case for the state machine in ``source``, or None."""
        if self.mock_config is None or self.test_case is None:  # serve: a test case per StartExecution
            return None
        name = source.name if isinstance(source, PreparedMachine) else machine_name(source)
        return self.mock_config.test_case(name, self.test_case)

    def check_functions(self, prepared: PreparedMachine, mocks: Any = None) -> None:
        missing = [
            Problem(
                "INVALID_RESOURCE", f"function {fn!r} is not registered (use --function {fn}=module:attr)", at
            )
            for fn, at in referenced_functions(prepared.definition)
            if fn not in self.functions and not (mocks is not None and mocks.covers(at))
        ]
        if missing:
            raise DefinitionError(missing)
        for fn, at in referenced_functions(prepared.definition):
            if mocks is not None and mocks.covers(at):
                continue
            spec = self.functions.get(fn)
            if spec is not None and isinstance(spec.handler, HandlerRef) and spec.code_root is None:
                # an unimportable handler is the user's mistake: say so before running (a function
                # with a code root is imported only in its own environment, where it fails as on Lambda)
                spec.handler.load()

    def options(self) -> dict[str, Any]:
        """What another process needs to run this service's executions again (resume, redrive)."""
        functions = {spec.name: spec.to_json() for spec in self.functions.specs()}
        options = {
            "executor": self.executor_name,
            "code_paths": list(self.code_paths),
            "env": self.env,
            "functions": functions,
        }
        if self.aws != "local":
            options["aws"] = self.aws
        if self.mock_config is not None:  # a resumed execution runs with the same mocks
            options["mock"] = {"config": self.mock_config.document, "test_case": self.test_case}
        return options

    def start_execution(self, source: Any, input: Any = None, *, name: str | None = None) -> Execution:
        """Run an execution to completion (synchronously) and return its record.

        With a journal, names are unique per state machine as on AWS: starting a name that is running with
        the same input joins that execution (waits for it, or resumes it when its process is gone); a
        different input, or a name already used by a finished execution, is ``ExecutionAlreadyExists``."""
        mocks = self.mocks_for(source)
        if mocks is not None and not isinstance(source, PreparedMachine):
            definition = load_definition(source)
            mocks.check(definition)  # a test case naming a missing state explains any problem: say it first
            source = prepare(
                definition, name=machine_name(source), mocks=mocks, passthrough=self.aws != "local"
            )
        prepared = (
            source
            if isinstance(source, PreparedMachine)
            else prepare(source, passthrough=self.aws != "local")
        )
        if mocks is not None:
            mocks.check(prepared.definition)
        self.check_functions(prepared, mocks)
        if name is not None and not valid_name(name):
            raise InputError(
                f"execution name {name!r} is invalid: 1-80 characters, no whitespace, control characters "
                'or any of < > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : /'
            )
        input_value = {} if input is None else input
        check_input(input_value)
        if self.journal is None:
            return self._execute(prepared, input_value, name, mocks=mocks)
        name = name or str(uuid.uuid4())
        arn = execution_arn(prepared.name, name)
        if self.journal.find(arn) is None:
            record = {
                "executionArn": arn,
                "stateMachineArn": state_machine_arn(prepared.name),
                "name": name,
                "status": "RUNNING",
                "startDate": datetime.now(UTC).isoformat(),
                "input": dumps(input_value),
            }
            options = self.options()
            if self.journal.create_execution(
                record, prepared.name, prepared.definition, input_value, options
            ):
                return self._execute(prepared, input_value, name, JournalRun(self.journal, arn), mocks=mocks)
        row = self.journal.find(arn)
        assert row is not None
        if row["input"] != input_value:
            raise InputError(f"ExecutionAlreadyExists: execution {name!r} exists with a different input")
        if row["status"] != "RUNNING":
            raise InputError(
                f"ExecutionAlreadyExists: execution {name!r} already ran ({row['status']}); "
                "choose another name, or `stepmap redrive` it"
            )
        if owner_alive(row["owner"], row["heartbeat"]):
            return self._wait_for(arn)
        return self.resume(arn)

    def _wait_for(self, arn: str) -> Execution:
        """Join an execution another process runs: wait until it ends, then return its record."""
        assert self.journal is not None
        while True:
            row = self.journal.find(arn)
            assert row is not None
            if row["status"] != "RUNNING":
                return Execution.from_record(row["record"], self.journal.history(arn))
            if not owner_alive(row["owner"], row["heartbeat"]):
                return self.resume(arn)
            time.sleep(0.2)

    def _row(self, name_or_arn: str) -> Any:
        if self.journal is None:
            raise InputError("this needs the journal (a state directory)")
        row = self.journal.find(name_or_arn)
        if row is None:
            raise InputError(f"execution {name_or_arn!r} does not exist (see `stepmap executions`)")
        return row

    def resume(self, name_or_arn: str) -> Execution:
        """Go on with an execution whose coordinator died, from its journal."""
        row = self._row(name_or_arn)
        if row["status"] != "RUNNING":
            raise InputError(
                f"execution {row['name']!r} is {row['status']}: only a RUNNING execution whose process has "
                "stopped can be resumed (`stepmap redrive` re-runs a failed one)"
            )
        if owner_alive(row["owner"], row["heartbeat"]):
            raise InputError(f"execution {row['name']!r} is still running (in {row['owner']})")
        assert self.journal is not None
        if not self.journal.claim(row["arn"], row["owner"]):
            raise InputError(f"execution {row['name']!r} was resumed by another process first")
        return self._continue(row, redriven=False)

    def redrive(self, name_or_arn: str) -> Execution:
        """Re-run a FAILED, TIMED_OUT or ABORTED execution from the state that failed (AWS's redrive):
        states that succeeded are not run again, nor are a Map Run's children that succeeded."""
        row = self._row(name_or_arn)
        if row["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise InputError(
                f"ExecutionNotRedrivable: execution {row['name']!r} is {row['status']}; "
                "only FAILED, TIMED_OUT or ABORTED executions can be redriven"
            )
        if owner_alive(row["owner"], row["heartbeat"]) and row["owner"] != owner_id():
            raise InputError(f"execution {row['name']!r} is still being run by {row['owner']}")
        assert self.journal is not None
        row["redrive_count"] += 1
        record = {**row["record"], "status": "RUNNING", "redriveCount": row["redrive_count"]}
        for key in ("stopDate", "error", "cause", "output", "redriveStatus"):
            record.pop(key, None)
        events = self.journal.history(row["arn"])
        event = {
            "id": len(events) + 1,
            "previousEventId": events[-1]["id"] if events else 0,
            "timestamp": datetime.now(UTC).isoformat(),
            "type": "ExecutionRedriven",
            "executionRedrivenEventDetails": {"redriveCount": row["redrive_count"]},
        }
        if not self.journal.set_redrive(row["arn"], row["redrive_count"], record, event):
            raise InputError(f"execution {row['name']!r} was redriven by another process first")
        return self._continue(row, redriven=False)  # its ExecutionRedriven is in the journal already

    def stop(self, name_or_arn: str) -> dict[str, Any]:
        """Ask a RUNNING execution to stop (its children stop, status ABORTED); return its record."""
        row = self._row(name_or_arn)
        if row["status"] != "RUNNING":
            raise InputError(f"execution {row['name']!r} is {row['status']}, not RUNNING")
        assert self.journal is not None
        self.journal.request_stop(row["arn"])
        # A live owner is told (the flag its heartbeat thread watches) and ends the run itself; only an
        # execution whose owner is gone is recorded ABORTED here, by whoever claims it first.
        if owner_alive(row["owner"], row["heartbeat"]) or not self.journal.claim(row["arn"], row["owner"]):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = self.journal.find(row["arn"])
                if found is not None and found["status"] != "RUNNING":
                    record: dict[str, Any] = found["record"]
                    return record
                if found is not None and not owner_alive(found["owner"], found["heartbeat"]):
                    return self.stop(name_or_arn)  # its owner died meanwhile
                time.sleep(0.1)
            raise InputError(f"execution {row['name']!r} did not stop within 60 s; it will at its next state")
        events = self.journal.history(row["arn"])
        record = {**row["record"], "status": "ABORTED", "stopDate": datetime.now(UTC).isoformat()}
        record.update(error="States.Aborted", cause="The execution was stopped", redriveStatus="REDRIVABLE")
        event = {
            "id": len(events) + 1,
            "previousEventId": events[-1]["id"] if events else 0,
            "timestamp": record["stopDate"],
            "type": "ExecutionAborted",
            "executionAbortedEventDetails": {"error": "States.Aborted", "cause": "The execution was stopped"},
        }
        self.journal.record_abort(record, event)
        self.journal.release(row["arn"])
        found = self.journal.find(row["arn"])
        assert found is not None
        final: dict[str, Any] = found["record"]
        return final

    def _continue(self, row: Any, *, redriven: bool) -> Execution:
        assert self.journal is not None
        prepared = prepare(row["definition"], name=row["state_machine"], passthrough=self.aws != "local")
        resume, journal_run = resume_from(self.journal, row, prepared, redriven=redriven)
        return self._execute(
            prepared, row["input"], row["name"], journal_run, resume, mocks=self.mocks_for(prepared)
        )

    def _execute(
        self,
        prepared: PreparedMachine,
        input_value: Any,
        name: str | None,
        journal_run: JournalRun | None = None,
        resume: ResumePoint | None = None,
        mocks: Any = None,
    ) -> Execution:
        invoker = HandlerInvoker(
            self.executor, self.functions, integrations=_LazyIntegrations(self), mocks=mocks
        )
        distributed = _LazyDistributedMap(self)
        flushed = len(resume.events) if resume is not None else 0

        def on_start(record: Execution, run: Any) -> None:
            if journal_run is not None:
                journal_run.attach(run, flushed)

        async def main() -> Execution:
            if journal_run is not None:
                loop, task = asyncio.get_running_loop(), asyncio.current_task()
                assert task is not None
                journal_run.start_heartbeat(lambda: loop.call_soon_threadsafe(task.cancel))
            try:
                return await execute(
                    prepared.machine,
                    input_value,
                    invoker=invoker,
                    clock=self.clock,
                    name=name,
                    state_machine_name=prepared.name,
                    distributed_map=distributed,
                    journal=journal_run,
                    resume=resume,
                    on_start=on_start,
                )
            finally:
                if journal_run is not None:
                    journal_run.stop_heartbeat()

        try:
            execution: Execution = run_to_completion(main)
        except BaseException as exc:
            if journal_run is not None and not journal_run.lost:
                self._release(journal_run.arn)  # RUNNING still: resumable by another process at once
            if isinstance(exc, asyncio.CancelledError) and journal_run is not None and journal_run.lost:
                raise EngineError(f"execution {name!r} was taken over by another process") from None
            raise
        finally:
            release_environments()  # handlers run in this process (sync) leave no variables behind
            self.map_runs.extend(distributed.map_runs)
        if self.journal is not None:
            events = journal_run.new_events() if journal_run is not None else execution.history
            if journal_run is not None and journal_run.lost:
                raise EngineError(f"execution {name!r} was taken over by another process")
            self.journal.record_execution(execution.describe(), events)
            if journal_run is not None:
                self.journal.release(journal_run.arn)
        return execution

    def _release(self, arn: str) -> None:
        assert self.journal is not None
        try:
            self.journal.release(arn)
        except EngineError:
            pass  # the journal is unwritable (disk full): the process's exit will tell resume it is gone

    @classmethod
    def for_execution(
        cls, name_or_arn: str, *, state_dir: str | None = None, **overrides: Any
    ) -> StepmapService:
        """A service configured as the one that started an execution (its functions, code, store)."""
        directory = state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap"
        path = os.path.join(directory, "journal.sqlite")
        if not os.path.exists(path):
            raise InputError(f"no journal in {directory!r}: nothing to resume (pass --state-dir)")
        row = Journal(path).find(name_or_arn)
        if row is None:
            raise InputError(f"execution {name_or_arn!r} does not exist (see `stepmap executions`)")
        options = row["options"] or {}
        missing = [name for name, target in options.get("functions", {}).items() if target is None]
        if missing:
            raise InputError(
                f"execution {row['name']!r} used Python callables {missing} registered in-process; "
                "they cannot be found again by name (register handlers as module:attr to resume)"
            )
        env = options.get("env", {})
        functions = FunctionRegistry(
            {k: FunctionSpec.from_json(k, v) for k, v in options.get("functions", {}).items()}
        )
        kwargs: dict[str, Any] = {
            "functions": functions,
            "executor": options.get("executor", "local"),
            "code_paths": tuple(options.get("code_paths", ())),
            "store": env.get("STEPMAP_STORE"),
            "s3_endpoint": env.get("STEPMAP_S3_ENDPOINT"),
            "state_dir": directory,
            "journal": True,
        }
        if options.get("aws"):
            kwargs["aws"] = options["aws"]
        if options.get("mock"):
            from stepmap.integrations.mock import load_mock_config

            kwargs["mock_config"] = load_mock_config(options["mock"]["config"])
            kwargs["test_case"] = options["mock"]["test_case"]
        kwargs.update(overrides)
        return cls(**kwargs)


def _handler_endpoint(endpoint: bool | str, env: dict[str, str]) -> tuple[Any, dict[str, str]]:
    if not endpoint:
        return None, {}
    from stepmap.endpoints.serve import export_handler_endpoint, handler_env

    if isinstance(endpoint, str):
        return None, handler_env(endpoint)
    server = export_handler_endpoint(env)
    return server, handler_env(server.url) if server is not None else {}


def resume_from(
    journal: Journal, row: Any, prepared: PreparedMachine, *, redriven: bool
) -> tuple[ResumePoint, JournalRun]:
    """Where a journaled execution goes on from (its checkpoint), and the journal run that records it: the
    one reading of a checkpoint that the CLI's resume/redrive and the API's share."""
    checkpoint = row["checkpoint"] or {}
    resume = ResumePoint(
        state=checkpoint.get("state", prepared.machine.start_at),
        input=checkpoint.get("input", row["input"]),
        variables=checkpoint.get("variables", {}),
        events=journal.history(row["arn"]),
        start_time=datetime.fromisoformat(row["record"]["startDate"]),
        redrive_count=row["redrive_count"],
        redriven=redriven,
    )
    step = max(0, checkpoint.get("step", 1) - 1)  # the first checkpoint of this attempt re-enters it
    return resume, JournalRun(journal, row["arn"], step)


class _LazyStore:
    """Opens the service's store only when a Distributed Map first touches it."""

    def __init__(self, service: StepmapService) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service.store, name)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Travels to a worker (a Distributed Map nested in children) as the store itself, never as the
        # service; a store that cannot be pickled (a network client) makes the pickling fail
        return (_same, (self._service.store,))


def _same(value: Any) -> Any:
    return value


class _LazyDistributedMap:
    """One execution's Distributed Map runner, built (and its modules imported) by the first Distributed
    Map state: a machine without one never loads the reader, scheduler and writer."""

    def __init__(self, service: StepmapService) -> None:
        self._service = service
        self._runner: DistributedMap | None = None

    @property
    def map_runs(self) -> list[MapRun]:
        return [] if self._runner is None else self._runner.map_runs

    async def run(self, state: Any, effective: Any, call: Any) -> Any:
        if self._runner is None:
            from stepmap.interpreter.distributed.runner import DistributedMap

            svc = self._service
            self._runner = DistributedMap(
                svc.executor,
                svc.functions,
                _LazyStore(svc),
                observer=svc.observer,
                workers=svc.workers,
                tmp_dir=os.path.join(svc.env["STEPMAP_STATE_DIR"], "tmp"),
            )
        return await self._runner.run(state, effective, call)


class _LazyIntegrations:
    """The service's integration table, built when a Task state first looks one up (a machine without
    service integrations never imports boto3's clients)."""

    def __init__(self, service: StepmapService) -> None:
        self._service = service

    def find(self, resource: Any) -> Any:
        return self._service.integrations.find(resource)

    def __reduce__(self) -> tuple[Any, ...]:
        # Distributed Map children get the table itself (picklable), not the service behind this
        return (_same, (self._service.integrations,))


class _Observers:
    """Fans Map Run events out to the journal (throttled) and to a caller's observer (progress bars).

    Each journaled record also adds a progress sample (about one a second), the dashboard's items/s chart."""

    def __init__(self, observer: MapRunObserver | None, journal: Journal | None) -> None:
        self.observer = observer
        self.journal = journal
        self._last = 0.0

    def map_run_started(self, map_run: MapRun) -> None:
        if self.journal is not None:
            self._record(map_run)
        if self.observer is not None:
            self.observer.map_run_started(map_run)

    def map_run_progress(self, map_run: MapRun) -> None:
        now = time.monotonic()
        if self.journal is not None and now - self._last >= 1.0:
            self._last = now
            self._record(map_run)
        if self.observer is not None:
            self.observer.map_run_progress(map_run)

    def _record(self, map_run: MapRun) -> None:
        assert self.journal is not None
        record = map_run.describe()
        self.journal.record_map_run(record)
        self.journal.add_map_run_sample(record)

    def map_run_finished(self, map_run: MapRun) -> None:
        if self.journal is not None:
            self._record(map_run)
        if self.observer is not None:
            self.observer.map_run_finished(map_run)
