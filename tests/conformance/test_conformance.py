"""The ASL conformance suite: cases written from the AWS documentation, run on every executor.

Each ``cases/<feature>.yaml`` holds a list of cases. A case is::

    - name: short-unique-id            # unique across all files
      source: AWS doc page / section the expectation comes from
      definition: {...}                # the ASL, or the shorthand below
      state: {...}                     # shorthand: a one-state machine {"StartAt": "S", "States": {"S": ...}}
                                       #   ("End": true is added unless the state is terminal or a Choice)
      input: {...}                     # execution input (default null)
      functions: {Name: "module:attr"} # added to DEFAULT_FUNCTIONS (every handler in handlers.py by name)
      clock_start: "2024-01-01T00:00:00Z"  # ManualClock start (default: the clock's own default)
      executors: [sync]                # default: [sync, local]
      uncertain: true                  # the docs are silent or ambiguous; ``note`` says why
      note: ...
      slow: true                       # really sleeps (Task timeouts): marked ``slow``
      expect:
        status: SUCCEEDED | FAILED | TIMED_OUT   # or ``invalid: true`` = DefinitionError at run()
        output: ...                    # exact JSON (bool is not a number here)
        error: States.Runtime
        cause: ...                     # exact, or
        cause_contains: ...
        problem_contains: ...          # with invalid: some problem's text contains this
        history: [ExecutionStarted, ...]          # exact list of event types
        history_contains: [TaskTimedOut, ...]     # these types appear, in this order
        slept: [1, 2, 4]               # ManualClock sleeps (zero-length sleeps are ignored here and below)
        slept_at_most: [1, 2, 4]       # same length, each sleep within (0, bound] (jitter)

Expected values come from the AWS docs and reasoning about AWS semantics, never from running
stepmap. While ``stepmap.run`` does not exist yet, every case is skipped with a message.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conformance import handlers

CASES_DIR = Path(__file__).parent / "cases"
EXECUTORS = ("sync", "local")
TERMINAL_TYPES = {"Succeed", "Fail", "Choice"}

CASE_KEYS = {
    "name",
    "source",
    "definition",
    "state",
    "input",
    "functions",
    "clock_start",
    "executors",
    "uncertain",
    "note",
    "slow",
    "expect",
}
EXPECT_KEYS = {
    "status",
    "output",
    "error",
    "cause",
    "cause_contains",
    "invalid",
    "problem_contains",
    "history",
    "history_contains",
    "slept",
    "slept_at_most",
}

# Every public handler is registered under its own name, so cases need no ``functions`` block.
DEFAULT_FUNCTIONS: dict[str, str] = {
    name: f"{handlers.__name__}:{name}"
    for name, obj in vars(handlers).items()
    if inspect.isfunction(obj) and not name.startswith("_") and obj.__module__ == handlers.__name__
}


@dataclass(frozen=True)
class Case:
    """One conformance case, normalised from its YAML form."""

    file: str
    name: str
    source: str
    definition: dict[str, Any]
    input: Any
    functions: dict[str, str]
    expect: dict[str, Any]
    executors: tuple[str, ...] = EXECUTORS
    clock_start: str | None = None
    uncertain: bool = False
    note: str = ""
    slow: bool = False
    raw_keys: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def _wrap_state(state: dict[str, Any]) -> dict[str, Any]:
    body = dict(state)
    if body.get("Type") not in TERMINAL_TYPES and "Next" not in body:
        body.setdefault("End", True)
    return {"StartAt": "S", "States": {"S": body}}


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Read every ``*.yaml`` under ``directory`` into :class:`Case` objects (file order, then list order)."""
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(entries, list):
            raise ValueError(f"{path.name}: expected a list of cases")
        for raw in entries:
            definition = _wrap_state(raw["state"]) if "state" in raw else raw.get("definition")
            cases.append(
                Case(
                    file=path.stem,
                    name=str(raw.get("name", "")),
                    source=str(raw.get("source", "")),
                    definition=definition,
                    input=raw.get("input"),
                    functions={**DEFAULT_FUNCTIONS, **(raw.get("functions") or {})},
                    expect=dict(raw.get("expect") or {}),
                    executors=tuple(raw.get("executors") or EXECUTORS),
                    clock_start=raw.get("clock_start"),
                    uncertain=bool(raw.get("uncertain", False)),
                    note=str(raw.get("note", "")),
                    slow=bool(raw.get("slow", False)),
                    raw_keys=frozenset(raw),
                )
            )
    return cases


CASES = load_cases()


def _params() -> list[Any]:
    params = []
    for case in CASES:
        for executor in case.executors:
            marks = [pytest.mark.slow] if case.slow else []
            params.append(pytest.param(case, executor, id=f"{case.id}[{executor}]", marks=marks))
    return params


# --- comparison helpers -------------------------------------------------------------------------


def json_equal(expected: Any, actual: Any) -> bool:
    """JSON equality where ``true`` is not ``1`` (Python's ``True == 1`` would hide such bugs)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(expected, actual, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(json_equal(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(json_equal(e, a) for e, a in zip(expected, actual))
    return type(expected) is type(actual) and expected == actual


def _dump(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, default=str)
    if len(text) > 4000:
        text = text[:4000] + "\n... (truncated)"
    return text


def _diff(expected: Any, actual: Any) -> str:
    lines = difflib.unified_diff(
        _dump(expected).splitlines(), _dump(actual).splitlines(), "expected", "actual", lineterm=""
    )
    return "\n".join(lines)


def _is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(w == s for s in it) for w in wanted)


def _describe(case: Case, executor: str, ex: Any) -> str:
    head = [f"case {case.id} [{executor}]", f"source: {case.source}"]
    if case.uncertain:
        head.append(f"UNCERTAIN reading of the docs: {case.note}")
    head.append(f"status={ex.status!r} error={ex.error!r} cause={ex.cause!r}")
    return "\n".join(head)


def check(case: Case, executor: str, ex: Any, clock: Any) -> list[str]:
    """Every way ``ex`` differs from ``case.expect``, as readable messages (empty when it conforms)."""
    exp = case.expect
    problems: list[str] = []
    if "status" in exp and ex.status != exp["status"]:
        problems.append(f"status: expected {exp['status']!r}, got {ex.status!r}")
    if "output" in exp and not json_equal(exp["output"], ex.output):
        problems.append("output differs:\n" + _diff(exp["output"], ex.output))
    if "error" in exp and ex.error != exp["error"]:
        problems.append(f"error: expected {exp['error']!r}, got {ex.error!r}")
    if "cause" in exp and ex.cause != exp["cause"]:
        problems.append(f"cause: expected {exp['cause']!r}, got {ex.cause!r}")
    if "cause_contains" in exp and exp["cause_contains"] not in (ex.cause or ""):
        problems.append(f"cause: expected it to contain {exp['cause_contains']!r}, got {ex.cause!r}")
    types = [event.get("type") for event in (ex.history or [])]
    if "history" in exp and types != exp["history"]:
        problems.append("history event types differ:\n" + _diff(exp["history"], types))
    if "history_contains" in exp and not _is_subsequence(exp["history_contains"], types):
        problems.append(f"history should contain, in order, {exp['history_contains']}; got {types}")
    slept = [s for s in clock.slept if s > 0]
    if "slept" in exp:
        want = [float(s) for s in exp["slept"]]
        if len(want) != len(slept) or not all(math.isclose(w, s, abs_tol=1e-6) for w, s in zip(want, slept)):
            problems.append(f"clock sleeps: expected {want}, got {slept}")
    if "slept_at_most" in exp:
        bounds = [float(s) for s in exp["slept_at_most"]]
        within = all(s <= b + 1e-6 for s, b in zip(slept, bounds))
        if len(bounds) != len(slept) or not within:
            problems.append(f"clock sleeps: expected {len(bounds)} sleeps within {bounds}, got {slept}")
    return problems


# --- the tests ----------------------------------------------------------------------------------


@functools.cache
def _load_engine() -> tuple[Any, str]:
    """Import stepmap once per session; (module, "") or (None, why it cannot run yet)."""
    try:
        import stepmap
    except ImportError as exc:  # pragma: no cover - depends on the engine's progress
        return None, f"stepmap cannot be imported yet: {exc}"
    if not hasattr(stepmap, "run") or not hasattr(stepmap, "ManualClock"):
        return None, "stepmap.run / stepmap.ManualClock are not implemented yet"
    return stepmap, ""


def _engine() -> Any:
    stepmap, why = _load_engine()
    if stepmap is None:
        pytest.skip(why)
    return stepmap


def _clock(stepmap: Any, case: Case) -> Any:
    if case.clock_start is None:
        return stepmap.ManualClock()
    return stepmap.ManualClock(datetime.fromisoformat(case.clock_start.replace("Z", "+00:00")))


@pytest.mark.parametrize(("case", "executor"), _params())
def test_case(case: Case, executor: str) -> None:
    stepmap = _engine()
    clock = _clock(stepmap, case)
    exp = case.expect
    head = f"case {case.id} [{executor}]\nsource: {case.source}"
    if case.uncertain:
        head += f"\nUNCERTAIN reading of the docs: {case.note}"
    try:
        ex = stepmap.run(
            case.definition, case.input, functions=case.functions, executor=executor, clock=clock
        )
    except stepmap.DefinitionError as exc:
        if not exp.get("invalid"):
            pytest.fail(
                f"{head}\nthe definition was rejected, but the case expects it to run:\n{exc}", pytrace=False
            )
        wanted = exp.get("problem_contains")
        texts = [str(p) for p in exc.problems]
        if wanted is not None and not any(wanted in t for t in texts):
            pytest.fail(f"{head}\nno definition problem mentions {wanted!r}: {texts}", pytrace=False)
        return
    if exp.get("invalid"):
        pytest.fail(
            f"{head}\nexpected the definition to be rejected, but it ran: "
            f"status={ex.status!r} output={ex.output!r} error={ex.error!r}",
            pytrace=False,
        )
    problems = check(case, executor, ex, clock)
    if problems:
        pytest.fail(_describe(case, executor, ex) + "\n" + "\n".join(problems), pytrace=False)


# --- tests of the cases themselves --------------------------------------------------------------


def test_case_names_are_unique() -> None:
    seen: dict[str, str] = {}
    duplicates = []
    for case in CASES:
        if case.name in seen:
            duplicates.append(f"{case.name} in {seen[case.name]} and {case.file}")
        seen[case.name] = case.file
    assert not duplicates, duplicates


def test_every_case_is_well_formed() -> None:
    bad = []
    for case in CASES:
        where = case.id
        if not case.name:
            bad.append(f"{where}: no name")
        if not case.source.strip():
            bad.append(f"{where}: no source")
        if not isinstance(case.definition, dict) or "StartAt" not in case.definition:
            bad.append(f"{where}: no definition")
        if unknown := case.raw_keys - CASE_KEYS:
            bad.append(f"{where}: unknown keys {sorted(unknown)}")
        if unknown_expect := set(case.expect) - EXPECT_KEYS:
            bad.append(f"{where}: unknown expect keys {sorted(unknown_expect)}")
        if not case.expect.get("invalid") and "status" not in case.expect:
            bad.append(f"{where}: expect has no status")
        if case.expect.get("status") == "SUCCEEDED" and "output" not in case.expect:
            bad.append(f"{where}: a SUCCEEDED case must state its output")
        if case.uncertain and not case.note:
            bad.append(f"{where}: uncertain without a note")
        if set(case.executors) - set(EXECUTORS):
            bad.append(f"{where}: unknown executor in {case.executors}")
    assert not bad, "\n".join(bad)


def test_suite_has_breadth() -> None:
    assert len(CASES) >= 200, f"only {len(CASES)} cases"


def test_json_equal_distinguishes_booleans_from_numbers() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1)
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
    assert not json_equal([1], [1, 1])
    assert not json_equal("1", 1)
