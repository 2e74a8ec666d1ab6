"""Mocked Task results in Step Functions Local's own format (``MockConfigFile.json``).

The file, exactly as AWS's Step Functions Local (and LocalStack) read it::

    {"StateMachines": {"<machine name>": {"TestCases": {"<test case>": {"<Task state>": "<response>"}}}},
     "MockedResponses": {"<response>": {"0": {"Return": {...}}, "1-2": {"Throw": {"Error": "E",
                                                                                     "Cause": "C"}}}}}

Semantics (AWS's "Configuration file for mocked service integrations"):

* a test case maps Task state names to mocked responses; a mocked Task never calls its function or
  service, whatever its Resource (Lambda, an optimized or ``aws-sdk:`` integration, ``.sync``,
  ``.waitForTaskToken``); states the test case does not name run for real;
* a mocked response numbers its invocations from 0: a key is one number (``"3"``) or an inclusive range
  (``"1-2"``: the same response for the 2nd and the 3rd invocation); each holds exactly one of
  ``Return`` (the Task's result, before ResultSelector/ResultPath: for ``lambda:invoke`` the whole
  ``{"StatusCode", "Payload"}`` response) or ``Throw`` (``Error`` and ``Cause`` strings, which
  Retry/Catch see like a real failure);
* every invocation needs a response: an invocation past the last one fails the execution
  (``States.Runtime``, which no Catch sees), as AWS documents.

Counting is per state per execution: every attempt (a Retry included) and every inline Map iteration
counts. A Distributed Map child is an execution of its own on AWS, so each child counts from 0 (the
result does not depend on how children are spread over workers).

A file that does not follow this shape, a test case naming a response that does not exist, or naming a
state the definition does not have (or that is not a Task) is the user's mistake:
:class:`~stepmap.errors.InputError`, exit code 2 from the CLI. Pure data, picklable; no state (the
counters live in the interpreter's ``Run``).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stepmap.errors import InputError, StatesError

__all__ = ["MockConfig", "MockedResponse", "TestCaseMocks", "load_mock_config", "task_state_names"]

_KEY = re.compile(r"(0|[1-9][0-9]*)(?:-(0|[1-9][0-9]*))?")


@dataclass(frozen=True)
class MockedResponse:
    """One mocked response: ``(first, last, "Return"|"Throw", value)`` per key, sorted, no overlap."""

    name: str
    entries: tuple[tuple[int, int, str, Any], ...]

    def at(self, invocation: int) -> tuple[str, Any] | None:
        for first, last, kind, value in self.entries:
            if first <= invocation <= last:
                return kind, value
        return None


@dataclass(frozen=True)
class TestCaseMocks:
    """The mocks of one test case: the interpreter's ``TaskMocks`` port."""

    __test__ = False  # not a pytest test class

    state_machine: str
    test_case: str
    states: Mapping[str, MockedResponse]

    def mocks(self, state_name: str) -> bool:
        return state_name in self.states

    def respond(self, state_name: str, invocation: int) -> Any:
        """The mocked result of invocation ``invocation`` (from 0) of ``state_name``, or raise its
        mocked error."""
        response = self.states[state_name]
        found = response.at(invocation)
        if found is None:
            raise StatesError(
                "States.Runtime",
                f"No mocked response for invocation {invocation} of state '{state_name}' "
                f"(mocked response '{response.name}', test case '{self.test_case}'): a mocked Task needs "
                "a response for every invocation",
            )
        kind, value = found
        if kind == "Throw":
            raise StatesError(value["Error"], value["Cause"])
        return copy.deepcopy(
            value
        )  # the execution may reshape its result; the next invocation must not see it

    def covers(self, location: str) -> bool:
        """Whether the JSON pointer ``location`` is where a mocked Task names what it calls (its Resource
        or FunctionName): a service stepmap cannot run, or a function not registered, is fine there."""
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in location.split("/")]
        for tail in (["Resource"], ["Parameters", "FunctionName"], ["Arguments", "FunctionName"]):
            n = len(tail) + 2
            if len(tokens) >= n and tokens[-n] == "States" and tokens[-len(tail) :] == tail:
                return tokens[-n + 1] in self.states
        return False

    def check(self, definition: Mapping[str, Any]) -> None:
        """Raise InputError when the test case names a state ``definition`` does not have as a Task."""
        tasks, others = task_state_names(definition)
        problems = []
        for name in self.states:
            if name in others:
                problems.append(f"'{name}' is a {others[name]} state; only Task states can be mocked")
            elif name not in tasks:
                problems.append(f"the state machine has no state '{name}'")
        if problems:
            raise InputError(
                f"mock test case '{self.test_case}' of '{self.state_machine}': " + "; ".join(problems)
            )


@dataclass(frozen=True)
class MockConfig:
    """A parsed MockConfigFile."""

    source: str
    test_cases: Mapping[str, Mapping[str, Mapping[str, str]]]  # machine -> test case -> state -> response
    responses: Mapping[str, MockedResponse]
    document: Mapping[str, Any]  # as read, so a resumed execution finds the same mocks

    def test_case(self, state_machine: str | None, test_case: str) -> TestCaseMocks:
        """The mocks of ``test_case`` for ``state_machine``; when the file configures a single state
        machine, its name need not match (a file run by `stepmap run` has no deployed name)."""
        machines = self.test_cases
        if state_machine is not None and state_machine in machines:
            name = state_machine
        elif len(machines) == 1:
            name = next(iter(machines))
        else:
            known = ", ".join(sorted(machines)) or "none"
            raise InputError(
                f"{self.source}: no state machine '{state_machine}' in StateMachines (configured: {known})"
            )
        cases = machines[name]
        if test_case not in cases:
            known = ", ".join(sorted(cases)) or "none"
            raise InputError(
                f"{self.source}: state machine '{name}' has no test case '{test_case}' (test cases: {known})"
            )
        states = {state: self.responses[response] for state, response in cases[test_case].items()}
        return TestCaseMocks(name, test_case, states)

    def any_case(self, state_machine: str) -> TestCaseMocks:
        """Every state some test case of ``state_machine`` mocks (what a definition may leave to mocks)."""
        states = {
            state: self.responses[response]
            for case in self.test_cases.get(state_machine, {}).values()
            for state, response in case.items()
        }
        return TestCaseMocks(state_machine, "*", states)


def load_mock_config(source: str | Mapping[str, Any]) -> MockConfig:
    """Read and check a MockConfigFile (a path, or the parsed document); raise InputError naming every
    problem with its place in the file."""
    if isinstance(source, str):
        try:
            with open(source, encoding="utf-8") as f:
                document = json.load(f)
        except OSError as exc:
            raise InputError(f"cannot read the mock config file {source!r}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: not JSON: {exc}") from None
        where = source
    else:
        document, where = source, "mock config"
    problems = list(_problems(document))
    if problems:
        raise InputError(f"{where}: invalid mock config: " + "; ".join(problems))
    responses = {
        name: MockedResponse(name, _entries(response))
        for name, response in document["MockedResponses"].items()
    }
    test_cases = {
        machine: {case: dict(states) for case, states in config["TestCases"].items()}
        for machine, config in document.get("StateMachines", {}).items()
    }
    return MockConfig(where, test_cases, responses, document)


def _entries(response: Mapping[str, Any]) -> tuple[tuple[int, int, str, Any], ...]:
    entries = []
    for key, body in response.items():
        m = _KEY.fullmatch(key)
        assert m is not None
        first = int(m[1])
        last = int(m[2]) if m[2] is not None else first
        kind = next(iter(body))
        entries.append((first, last, kind, body[kind]))
    return tuple(sorted(entries, key=lambda e: e[0]))


def _problems(document: Any) -> Iterator[str]:
    if not isinstance(document, Mapping):
        yield "the file must hold a JSON object with StateMachines and MockedResponses"
        return
    unknown = sorted(set(document) - {"StateMachines", "MockedResponses"})
    if unknown:
        yield f"unknown top-level field(s) {unknown} (expected StateMachines and MockedResponses)"
    responses = document.get("MockedResponses")
    if not isinstance(responses, Mapping):
        yield "/MockedResponses must be an object (response name -> numbered responses)"
        responses = {}
    for name, response in responses.items():
        yield from _response_problems(f"/MockedResponses/{name}", response)
    machines = document.get("StateMachines", {})
    if not isinstance(machines, Mapping):
        yield "/StateMachines must be an object (state machine name -> {TestCases})"
        return
    for machine, config in machines.items():
        at = f"/StateMachines/{machine}"
        if not isinstance(config, Mapping) or not isinstance(config.get("TestCases"), Mapping):
            yield f"{at} must be an object with a TestCases object"
            continue
        if set(config) - {"TestCases"}:
            yield f"{at} has unknown field(s) {sorted(set(config) - {'TestCases'})} (only TestCases)"
        for case, states in config["TestCases"].items():
            if not isinstance(states, Mapping):
                yield f"{at}/TestCases/{case} must be an object (Task state name -> mocked response name)"
                continue
            for state, response in states.items():
                if not isinstance(response, str):
                    yield f"{at}/TestCases/{case}/{state} must be the name of a mocked response"
                elif response not in responses:
                    yield f"{at}/TestCases/{case}/{state}: no mocked response '{response}' in MockedResponses"


def _response_problems(at: str, response: Any) -> Iterator[str]:
    if not isinstance(response, Mapping) or not response:
        yield f'{at} must be an object of numbered responses, such as {{"0": {{"Return": {{}}}}}}'
        return
    spans: list[tuple[int, int, str]] = []
    for key, body in response.items():
        m = _KEY.fullmatch(key)
        if m is None:
            yield f'{at}/{key}: a key is an invocation number ("0") or an inclusive range ("1-3")'
            continue
        first, last = int(m[1]), int(m[2]) if m[2] is not None else int(m[1])
        if last < first:
            yield f"{at}/{key}: the range ends before it starts"
            continue
        spans.append((first, last, key))
        if not isinstance(body, Mapping) or len(body) != 1 or next(iter(body)) not in ("Return", "Throw"):
            yield f"{at}/{key} must hold exactly one field, Return or Throw"
            continue
        throw = body.get("Throw")
        if "Throw" in body and not (
            isinstance(throw, Mapping)
            and isinstance(throw.get("Error"), str)
            and isinstance(throw.get("Cause"), str)
        ):
            yield f"{at}/{key}/Throw must be an object with the string fields Error and Cause"
    spans.sort()
    for (_, last, key), (first, _, other) in itertools.pairwise(spans):
        if first <= last:
            yield f"{at}: the invocations of '{key}' and '{other}' overlap"


_CONTAINERS = ("ItemProcessor", "Iterator")


def task_state_names(definition: Mapping[str, Any]) -> tuple[set[str], dict[str, str]]:
    """The names of the Task states in ``definition`` (Parallel branches and Map processors included),
    and the other states' names with their types."""
    tasks: set[str] = set()
    others: dict[str, str] = {}
    stack = [definition]
    while stack:
        machine = stack.pop()
        states = machine.get("States") if isinstance(machine, Mapping) else None
        if not isinstance(states, Mapping):
            continue
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            if state.get("Type") == "Task":
                tasks.add(name)
            else:
                others[name] = str(state.get("Type"))
            stack.extend(b for b in state.get("Branches") or () if isinstance(b, Mapping))
            stack.extend(state[k] for k in _CONTAINERS if isinstance(state.get(k), Mapping))
    return tasks, others
