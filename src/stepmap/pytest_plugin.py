"""stepmap's pytest plugin: run a state machine in-process, with a mock test case and virtual time, and
assert on its output, history and Map Runs -- the local-testing loop AWS points users to (TestState and
Step Functions Local's mocks), without a server or a container.

Installed with stepmap (entry point ``pytest11``; disable with ``-p no:stepmap``). It adds one fixture::

    def test_happy_path(stepmap_runner):
        result = stepmap_runner.run(
            "statemachine/orders.asl.json",
            {"orderId": "42"},
            mock_config="tests/MockConfigFile.json",  # Step Functions Local's format
            test_case="HappyPath",
            functions={"validate": "app.handlers:validate"},
        )
        result.assert_succeeded({"status": "SHIPPED"})
        assert result.states_entered() == ["Validate", "Charge", "Ship"]
        assert result.clock.slept == [30.0]            # the Wait state, without waiting

With a SAM/CloudFormation/CDK template instead of a definition, the template's functions, buckets and
tables are used (``state_machine`` then picks one by logical id or name; the mock file knows it by its
template name)::

        result = stepmap_runner.run(template="template.yaml", state_machine="OrderStateMachine",
                                    input={"orderId": "42"}, mock_config=..., test_case="HappyPath")

``stepmap_runner.run`` takes a definition (a path to JSON/YAML, or the definition itself), the input, and
optionally a MockConfigFile (a path or its document) with the test case, handlers (``name ->
"module:attr"`` or a callable), and the state machine name the mock file knows it by. Executions run on
the in-process executor (``executor="local"`` for worker processes) under a
:class:`~stepmap.ManualClock`, in a state directory under the test's ``tmp_path``.

State: none beyond the per-test state directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stepmap.interpreter.clock import ManualClock

__all__ = ["RunResult", "StateMachineRunner", "stepmap_runner"]


@dataclass
class RunResult:
    """One execution's record, with the helpers tests assert with."""

    execution: Any  # stepmap.Execution
    map_runs: list[dict[str, Any]]  # DescribeMapRun-shaped, in the order they started
    clock: ManualClock
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.execution.status)

    @property
    def output(self) -> Any:
        return self.execution.output

    @property
    def error(self) -> str | None:
        return self.execution.error

    @property
    def cause(self) -> str | None:
        return self.execution.cause

    def event_types(self) -> list[str]:
        return [e["type"] for e in self.history]

    def states_entered(self) -> list[str]:
        """The names of the states entered, in order (Map iterations and branches included)."""
        return [
            e["stateEnteredEventDetails"]["name"] for e in self.history if e["type"].endswith("StateEntered")
        ]

    def state_output(self, name: str) -> Any:
        """The output of the last exit from state ``name``."""
        exits = [
            e["stateExitedEventDetails"]
            for e in self.history
            if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == name
        ]
        if not exits:
            raise AssertionError(f"state {name!r} never exited (entered: {self.states_entered()})")
        return json.loads(exits[-1]["output"])

    def assert_succeeded(self, output: Any = ...) -> None:
        assert self.status == "SUCCEEDED", f"execution {self.status}: {self.error}: {self.cause}"
        if output is not ...:
            assert self.output == output

    def assert_failed(self, error: str | None = None, cause: str | None = None) -> None:
        assert self.status == "FAILED", f"execution {self.status}, not FAILED (output: {self.output!r})"
        if error is not None:
            assert self.error == error, f"error {self.error!r} (cause: {self.cause!r})"
        if cause is not None:
            assert self.cause == cause


class StateMachineRunner:
    """What the ``stepmap_runner`` fixture gives a test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._count = 0

    def run(
        self,
        definition: str | Path | Mapping[str, Any] | None = None,
        input: Any = None,
        *,
        template: str | Path | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        mock_config: str | Path | Mapping[str, Any] | None = None,
        test_case: str | None = None,
        state_machine: str | None = None,
        functions: Mapping[str, str | Callable[..., Any]] | None = None,
        executor: str = "sync",
        clock: ManualClock | None = None,
        name: str | None = None,
    ) -> RunResult:
        from stepmap.asl.loader import load_definition
        from stepmap.integrations.mock import load_mock_config
        from stepmap.service.runner import StepmapService

        if (mock_config is None) != (test_case is None):
            raise ValueError("mock_config and test_case go together")
        self._count += 1
        directory = self.directory / f"run-{self._count}"
        directory.mkdir(parents=True)
        clock = clock or ManualClock()
        config = None
        if mock_config is not None:
            config = load_mock_config(str(mock_config) if isinstance(mock_config, Path) else mock_config)
        app = None
        registry: Any = dict(functions or {})
        source: Any = str(definition) if isinstance(definition, Path) else definition
        if template is not None:  # the template's state machine (by logical id or name) and functions
            from stepmap.functions import FunctionRegistry
            from stepmap.service.apps import open_app, prepare_app_machine, registry_for

            if definition is not None:
                raise ValueError("give a definition or template=, not both (state_machine= names one)")
            app = open_app(str(template), parameter_overrides)
            registry = registry_for(app, FunctionRegistry(registry))
            source = prepare_app_machine(app, state_machine)  # named as the template names it
        elif source is None:
            raise ValueError("stepmap_runner.run needs a definition or template=")
        elif state_machine is not None or not isinstance(source, str) or source.lstrip().startswith("{"):
            # the machine's name is its file's stem (what the mock file's StateMachines go by)
            path = directory / f"{state_machine or 'stepmap'}.asl.json"
            path.write_text(json.dumps(load_definition(source)))
            source = str(path)
        service = StepmapService(
            functions=registry,
            executor=executor,
            clock=clock,
            state_dir=str(directory / "state"),
            mock_config=config,
            test_case=test_case,
        )
        try:
            if app is not None:
                from stepmap.service.apps import provision

                provision(service, app)  # buckets, tables, queues and subscriptions
            execution = service.start_execution(source, input, name=name)
        finally:
            service.close()
        return RunResult(execution, [m.describe() for m in service.map_runs], clock, list(execution.history))


@pytest.fixture
def stepmap_runner(tmp_path: Path) -> StateMachineRunner:
    """Runs state machines in-process with mocks and a ManualClock (see :mod:`stepmap.pytest_plugin`)."""
    return StateMachineRunner(tmp_path / "stepmap")
