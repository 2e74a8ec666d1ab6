"""Hostile input (issue 6, part 5): each bad input gets a clear error, never a traceback, never a stray write.

What is covered, and the outcome each case must have:

* **Deep nesting**: execution input 10,000 levels deep (API, ``--input``, ``--input @file``), definitions
  nested deeply (dict, JSON and YAML files), Parameters that build deep output, ``States.StringToJson`` of
  deep text, ItemReader JSON/JSONL items nested deeply, a handler returning deep data. A depth limit with a
  message that says "nested", never a ``RecursionError``.
* **Size**: 256 KiB (262,144 bytes of UTF-8 JSON) on execution input and task results, exactly at and one
  byte over the limit; a 2 MB execution input; a handler whose small object graph has a huge JSON text; CSV
  headers over 10 KiB; a 50 MB JSONL line; definitions over AWS's 1 MB hard quota.
* **Time**: a 50,000-character ``*a*a...`` StringMatches pattern against a 100,000-character string, with a
  naive backtracking matcher as the reference that blows up exponentially on the same kind of pattern.
* **Intrinsic limits**: ArrayRange over 1,000 items, Base64Encode/Decode and Hash over 10,000 characters,
  States.Format and States.Array with 10,000 arguments.
* **Escapes from the store**: keys with ``..``, absolute paths, NUL, backslashes, over-long keys and bucket
  names like ``..`` passed to ``stepmap.objects()`` from a handler and to ItemReader / ResultWriter
  parameters. Every test runs in its own sandbox whose store root sits a few folders deep, and
  ``os.walk`` checks that no file appeared anywhere but under the store root and the state directory.
* **Bad definitions and files**: references to missing functions (exit 2), binary garbage, empty files, YAML
  bombs and YAML with Python tags or non-JSON values, non-UTF-8 input and definition files, JSON with NaN,
  5,000-digit numbers and lone surrogates.

Tests marked ``xfail(strict=True)`` state how stepmap *should* behave and does not yet; each reason names
the fix. The CLI cases run ``python -m stepmap.cli`` in a subprocess, so that what reaches the user (stderr)
is exactly what the tests read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import stepmap
from stepmap.asl.choice import string_matches
from stepmap.storage import LocalObjectStore

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = "tests.hostile_handlers"
FUNCTIONS = {
    name: f"{HANDLERS}:{name}"
    for name in ("deep", "circular", "unserializable", "dag", "sized_string", "probe_store")
}
BUCKET = "hostile-bkt"
OTHER_BUCKET = "other-bkt"
LIMIT = 262_144  # AWS's payload quota: bytes of UTF-8 JSON
GET_OBJECT = "arn:aws:states:::s3:getObject"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
DEEP = 10_000
TRACEBACK = "Traceback (most recent call last)"

PASS_MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def task_machine(resource: str) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}


def pass_with(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": parameters, "End": True}}}


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def nested_text(depth: int) -> str:
    return "[" * depth + "]" * depth


def distributed_map(
    reader: dict[str, Any] | None = None,
    *,
    writer: dict[str, Any] | None = None,
    handler: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A machine whose one state is a Distributed Map reading ``reader`` (getObject), writing ``writer``."""
    work: dict[str, Any] = {"Type": "Task", "Resource": handler} if handler else {"Type": "Pass"}
    work["End"] = True
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": work},
        },
        "End": True,
        **fields,
    }
    if reader is not None:
        config = {k: v for k, v in reader.items() if k not in ("Bucket", "Key")}
        state["ItemReader"] = {
            "Resource": GET_OBJECT,
            "ReaderConfig": config,
            "Parameters": {"Bucket": reader["Bucket"], "Key": reader["Key"]},
        }
    if writer is not None:
        state["ResultWriter"] = {"Resource": PUT_OBJECT, "Parameters": writer}
    return {"StartAt": "Map", "States": {"Map": state}}


# -- the sandbox --------------------------------------------------------------------------------------


@dataclass
class Sandbox:
    """A private tree: inputs the test wrote, a store root and state dir a few folders down, a working dir.

    ``stray_files()`` lists every file under the sandbox that is neither in the store root, nor in the state
    directory, nor one the test itself placed under ``inputs`` or ``outside``: the writes that escaped.
    """

    top: Path
    inputs: Path
    outside: Path
    store_root: Path
    state_dir: Path
    cwd: Path
    store: LocalObjectStore
    planted: frozenset[Path]

    def run(self, definition: Any, input: Any = None, *, executor: str = "sync") -> stepmap.Execution:
        return stepmap.run(
            definition,
            {} if input is None else input,
            functions=FUNCTIONS,
            executor=executor,
            code=[str(ROOT)],
            store=str(self.store_root),
            state_dir=str(self.state_dir),
        )

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``python -m stepmap.cli ARGS`` on this sandbox's store and state dir, from its working dir."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        for name in ("STEPMAP_STORE", "STEPMAP_STATE_DIR", "STEPMAP_S3_ENDPOINT"):
            env.pop(name, None)
        command = [sys.executable, "-m", "stepmap.cli", *args]
        if args and args[0] == "run":
            command += ["--store", str(self.store_root), "--state-dir", str(self.state_dir)]
            command += ["--executor", "sync", "--code", str(ROOT), "--quiet"]
        return subprocess.run(
            command, cwd=self.cwd, env=env, capture_output=True, text=True, errors="replace", timeout=timeout
        )

    def write_input(self, name: str, data: str | bytes) -> Path:
        path = self.inputs / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        return path

    def stray_files(self) -> list[str]:
        allowed = (self.store_root, self.state_dir, self.inputs)
        stray = []
        for folder, _dirs, files in os.walk(self.top):
            for name in files:
                path = Path(folder, name)
                if path in self.planted or any(path.is_relative_to(a) for a in allowed):
                    continue
                stray.append(str(path.relative_to(self.top)))
        return sorted(stray)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    top = tmp_path / "sandbox"
    # The store root is four folders below `top`, so a key climbing out of its bucket with up to five
    # ".." lands inside the sandbox, where os.walk sees it.
    store_root = top / "l1" / "l2" / "l3" / "store"
    outside = top / "outside"
    inputs, state_dir, cwd = top / "inputs", top / "state", top / "cwd"
    for folder in (store_root, outside, inputs, state_dir, cwd):
        folder.mkdir(parents=True)
    secret = outside / "secret.jsonl"
    secret.write_text('{"secret": 1}\n', encoding="utf-8")
    store = LocalObjectStore(str(store_root))
    store.create_bucket(BUCKET)
    store.create_bucket(OTHER_BUCKET)
    monkeypatch.chdir(cwd)  # a run that ignored store/state_dir would write .stepmap here
    siblings = sorted(p.name for p in tmp_path.parent.iterdir())
    box = Sandbox(top, inputs, outside, store_root, state_dir, cwd, store, frozenset({secret}))
    yield box
    assert box.stray_files() == [], "a file was written outside the store root and the state directory"
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == siblings, "a write escaped the sandbox"


# -- assertions ---------------------------------------------------------------------------------------


def assert_clear(text: str) -> None:
    """Nothing the user reads may be a Python traceback or a bare RecursionError."""
    assert TRACEBACK not in text, text[-2000:]
    assert "RecursionError" not in text, text[-2000:]
    assert "recursion depth" not in text, text[-2000:]


def assert_exit(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert_clear(result.stderr)
    assert_clear(result.stdout)
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr[-2000:])


def assert_failed(execution: stepmap.Execution, error: str | set[str], *fragments: str) -> None:
    """The execution FAILED with ``error`` (or one of a set) and a cause holding every fragment."""
    names = {error} if isinstance(error, str) else error
    assert execution.status == "FAILED", (execution.status, execution.output)
    assert execution.error in names, (execution.error, execution.cause)
    cause = execution.cause or ""
    assert_clear(cause)
    assert '"stackTrace"' not in cause and 'File "' not in cause, cause[:2000]
    for fragment in fragments:
        assert fragment in cause, (fragment, cause[:2000])


def assert_rejected_as_too_deep(call: Callable[[], stepmap.Execution]) -> None:
    """Deep data is refused clearly: an InputError that says "nested", or a FAILED execution saying so."""
    try:
        execution = call()
    except stepmap.InputError as exc:
        assert "nested" in str(exc), str(exc)
        assert_clear(str(exc))
        return
    assert execution.status == "FAILED", execution.status
    assert execution.error is not None and execution.error.startswith("States."), execution.error
    assert "nested" in (execution.cause or ""), execution.cause
    assert_clear(execution.cause or "")


# -- deeply nested JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [nested_list, nested_dict], ids=["list", "dict"])
def test_api_input_nested_10000_deep_is_refused_clearly(sandbox: Sandbox, make: Callable[[int], Any]) -> None:
    value = make(DEEP)
    assert_rejected_as_too_deep(lambda: sandbox.run(PASS_MACHINE, value))


def test_api_inline_map_over_deep_items_is_refused_clearly(sandbox: Sandbox) -> None:
    machine = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    assert_rejected_as_too_deep(lambda: sandbox.run(machine, [nested_list(DEEP)]))


def test_moderately_nested_input_still_runs(sandbox: Sandbox) -> None:
    value = nested_dict(100)
    execution = sandbox.run(PASS_MACHINE, value)
    assert execution.status == "SUCCEEDED"
    assert execution.output == value


@pytest.mark.parametrize("how", ["inline", "file"])
def test_cli_input_nested_10000_deep_exits_2(sandbox: Sandbox, how: str) -> None:
    definition = sandbox.write_input("pass.json", json.dumps(PASS_MACHINE))
    text = nested_text(DEEP)
    argument = text if how == "inline" else "@" + str(sandbox.write_input("deep.json", text))
    result = sandbox.cli("run", str(definition), "--input", argument)
    assert_exit(result, 2, "nested too deeply")
    assert result.stdout == ""


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".asl.json"])
def test_definition_file_nested_10000_deep_exits_2(sandbox: Sandbox, suffix: str) -> None:
    result_text = nested_text(DEEP)
    if suffix == ".yaml":
        text = f"StartAt: P\nStates:\n  P:\n    Type: Pass\n    End: true\n    Result: {result_text}\n"
    else:
        text = '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Result":' + result_text + "}}}"
    path = sandbox.write_input("deep" + suffix, text)
    assert_exit(sandbox.cli("run", str(path)), 2, "nested too deeply")
    if suffix == ".yaml":
        return  # PyYAML's pure-Python parser needs about a second for this; once is enough
    assert_exit(sandbox.cli("validate", str(path)), 2, "nested")
    with pytest.raises(stepmap.InputError, match="nested too deeply"):
        sandbox.run(str(path))


def test_definition_dict_nested_10000_deep_is_a_definition_error(sandbox: Sandbox) -> None:
    machine = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": nested_list(DEEP), "End": True}}}
    with pytest.raises(stepmap.DefinitionError) as info:
        sandbox.run(machine)
    assert [p.code for p in info.value.problems] == ["TOO_DEEPLY_NESTED"]
    assert info.value.problems[0].location.startswith("/States/P/Result/0/0")
    problems = stepmap.validate(machine)
    assert [p.code for p in problems] == ["TOO_DEEPLY_NESTED"]


def _wrapping_chain(states: int, levels: int) -> dict[str, Any]:
    """``states`` Pass states, each wrapping its input in ``levels`` more objects: deep output from a
    definition that is itself within the nesting limit."""
    template: dict[str, Any] = {"inner.$": "$"}
    for _ in range(levels):
        template = {"w": template}
    chain = {}
    for i in range(states):
        step: dict[str, Any] = {"Type": "Pass", "Parameters": template}
        step.update({"Next": f"S{i + 1}"} if i < states - 1 else {"End": True})
        chain[f"S{i}"] = step
    return {"StartAt": "S0", "States": chain}


def test_parameters_building_deep_output_fail_the_execution_clearly(sandbox: Sandbox) -> None:
    machine = _wrapping_chain(states=30, levels=100)
    assert stepmap.validate(machine) == []
    assert_rejected_as_too_deep(lambda: sandbox.run(machine))


def test_cli_parameters_building_deep_output_exit_1_without_traceback(sandbox: Sandbox) -> None:
    definition = sandbox.write_input("wrap.json", json.dumps(_wrapping_chain(states=30, levels=100)))
    result = sandbox.cli("run", str(definition))
    assert_exit(result, 1, "nested")
    assert json.loads(result.stderr.strip().splitlines()[-1])["error"].startswith("States.")


def test_string_to_json_of_deep_text_is_an_intrinsic_failure(sandbox: Sandbox) -> None:
    execution = sandbox.run(
        pass_with({"value.$": "States.StringToJson($.text)"}), {"text": nested_text(DEEP)}
    )
    assert_failed(execution, "States.IntrinsicFailure", "nested")


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_handler_returning_deep_data_is_a_marshal_error(sandbox: Sandbox, executor: str) -> None:
    execution = sandbox.run(task_machine("deep"), {"depth": DEEP}, executor=executor)
    assert_failed(execution, "Runtime.MarshalError", "Unable to marshal response")


@pytest.mark.parametrize(
    ("handler", "fragment"),
    [("circular", "Circular reference"), ("unserializable", "not JSON serializable")],
)
def test_handler_returning_what_json_cannot_encode_is_a_marshal_error(
    sandbox: Sandbox, handler: str, fragment: str
) -> None:
    execution = sandbox.run(task_machine(handler))
    assert_failed(execution, "Runtime.MarshalError", "Unable to marshal response", fragment)


def test_handler_returning_a_small_graph_with_a_huge_json_text(sandbox: Sandbox) -> None:
    # 19 objects whose JSON text has 2**18 leaves (about 1 MB): over the payload limit, not a crash.
    execution = sandbox.run(task_machine("dag"), {"levels": 18})
    assert_failed(execution, "States.DataLimitExceeded", "exceeding the maximum number of bytes")


def test_item_reader_json_document_nested_deeply(sandbox: Sandbox) -> None:
    sandbox.store.put(BUCKET, "deep.json", nested_text(DEEP).encode())
    execution = sandbox.run(distributed_map({"Bucket": BUCKET, "Key": "deep.json", "InputType": "JSON"}))
    assert_failed(execution, "States.ItemReaderFailed", "nested")


@pytest.mark.parametrize("selector", [False, True], ids=["raw", "item-selector"])
def test_item_reader_jsonl_line_nested_deeply(sandbox: Sandbox, selector: bool) -> None:
    sandbox.store.put(BUCKET, "deep.jsonl", (nested_text(DEEP) + "\n[1]\n").encode())
    fields: dict[str, Any] = {"ItemSelector": {"value.$": "$$.Map.Item.Value"}} if selector else {}
    machine = distributed_map({"Bucket": BUCKET, "Key": "deep.jsonl", "InputType": "JSONL"}, **fields)
    assert_failed(sandbox.run(machine), "States.ItemReaderFailed", "nested")


# -- payload sizes --------------------------------------------------------------------------------------


def test_handler_result_of_300_kib_is_data_limit_exceeded(sandbox: Sandbox) -> None:
    execution = sandbox.run(task_machine("sized_string"), {"bytes": 300 * 1024})
    assert_failed(
        execution,
        "States.DataLimitExceeded",
        "The state/task 'T' returned a result with a size exceeding the maximum number of bytes",
    )


def test_handler_result_limit_is_exactly_256_kib(sandbox: Sandbox) -> None:
    at_limit = sandbox.run(task_machine("sized_string"), {"bytes": LIMIT})
    assert at_limit.status == "SUCCEEDED"
    assert len(json.dumps(at_limit.output).encode()) == LIMIT
    over = sandbox.run(task_machine("sized_string"), {"bytes": LIMIT + 1})
    assert_failed(over, "States.DataLimitExceeded")


def test_execution_input_of_2_mb_is_data_limit_exceeded(sandbox: Sandbox) -> None:
    execution = sandbox.run(PASS_MACHINE, {"blob": "a" * 2_000_000})
    assert_failed(execution, "States.DataLimitExceeded", "262144 bytes")


def test_execution_input_limit_counts_utf8_bytes_exactly(sandbox: Sandbox) -> None:
    assert sandbox.run(PASS_MACHINE, "x" * (LIMIT - 2)).status == "SUCCEEDED"
    assert_failed(sandbox.run(PASS_MACHINE, "x" * (LIMIT - 1)), "States.DataLimitExceeded")
    # 100,000 characters of a three-byte character: under the limit in characters, over it in bytes.
    assert_failed(sandbox.run(PASS_MACHINE, "\u20ac" * 100_000), "States.DataLimitExceeded")


def test_cli_execution_input_file_of_2_mb_exits_1(sandbox: Sandbox) -> None:
    definition = sandbox.write_input("pass.json", json.dumps(PASS_MACHINE))
    big = sandbox.write_input("big.json", json.dumps({"blob": "a" * 2_000_000}))
    result = sandbox.cli("run", str(definition), "--input", "@" + str(big))
    assert_exit(result, 1)
    assert json.loads(result.stderr.strip().splitlines()[-1])["error"] == "States.DataLimitExceeded"
    assert result.stdout == ""


@pytest.mark.parametrize("location", ["FIRST_ROW", "GIVEN"])
def test_csv_header_of_20_kib_is_item_reader_failed(sandbox: Sandbox, location: str) -> None:
    headers = [f"column_{i:06d}" for i in range(1500)]  # 1,500 x 14 bytes: about 20 KiB with commas
    assert len(",".join(headers)) > 20 * 1024
    rows = "1,2,3\n"
    reader: dict[str, Any] = {"Bucket": BUCKET, "Key": "wide.csv", "InputType": "CSV"}
    if location == "GIVEN":
        reader.update(CSVHeaderLocation="GIVEN", CSVHeaders=headers)
        sandbox.store.put(BUCKET, "wide.csv", rows.encode())
    else:
        sandbox.store.put(BUCKET, "wide.csv", (",".join(headers) + "\n" + rows).encode())
    execution = sandbox.run(distributed_map(reader))
    assert_failed(execution, "States.ItemReaderFailed", "10 KiB")


def test_csv_header_under_10_kib_reads(sandbox: Sandbox) -> None:
    headers = [f"c{i:04d}" for i in range(1500)]  # 1,500 x 5 bytes + commas: under 10 KiB
    assert len(",".join(headers)) < 10 * 1024
    sandbox.store.put(BUCKET, "ok.csv", (",".join(headers) + "\n" + "v\n").encode())
    execution = sandbox.run(
        distributed_map(
            {"Bucket": BUCKET, "Key": "ok.csv", "InputType": "CSV"},
            ItemSelector={"first.$": "$$.Map.Item.Value.c0000"},
        )
    )
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == [{"first": "v"}]


def test_jsonl_line_of_50_mb_is_a_clear_item_error(sandbox: Sandbox) -> None:
    line = b'{"blob":"' + b"x" * (50 * 1024 * 1024) + b'"}\n'
    sandbox.store.put(BUCKET, "huge.jsonl", line + b'{"n":1}\n')
    del line
    execution = sandbox.run(distributed_map({"Bucket": BUCKET, "Key": "huge.jsonl", "InputType": "JSONL"}))
    assert_failed(execution, "States.DataLimitExceeded", "262144 bytes")


# -- StringMatches in linear time ---------------------------------------------------------------------


def naive_matches(value: str, pattern: str, counter: list[int]) -> bool:
    """The textbook backtracking glob (``*`` only, no escapes); ``counter[0]`` counts the calls it makes."""

    def match(v: int, p: int) -> bool:
        counter[0] += 1
        if p == len(pattern):
            return v == len(value)
        if pattern[p] == "*":
            return any(match(i, p + 1) for i in range(v, len(value) + 1))
        return v < len(value) and value[v] == pattern[p] and match(v + 1, p + 1)

    return match(0, 0)


def _choice_machine(pattern: str) -> dict[str, Any]:
    return {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.s", "StringMatches": pattern, "Next": "Yes"}],
                "Default": "No",
            },
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("a" * 100_000, "yes"), ("b" * 100_000, "no"), ("a" * 24_999 + "b" * 75_001, "no")],
    ids=["all-a", "all-b", "one-a-short"],
)
def test_string_matches_pathological_pattern_finishes_quickly(
    sandbox: Sandbox, subject: str, expected: str
) -> None:
    pattern = "*a" * 25_000  # 50,000 characters, 25,000 wildcards
    started = time.perf_counter()
    execution = sandbox.run(_choice_machine(pattern), {"s": subject})
    elapsed = time.perf_counter() - started
    assert execution.status == "SUCCEEDED" and execution.output == expected
    assert elapsed < 2.0, f"StringMatches took {elapsed:.2f} s"


def test_string_matches_long_literal_segment_finishes_quickly() -> None:
    # One 25,000-character segment that almost matches everywhere in 100,000 characters.
    started = time.perf_counter()
    assert not string_matches("a" * 100_000, "*" + "a" * 25_000 + "b*")
    assert string_matches("a" * 100_000 + "b", "*" + "a" * 25_000 + "b")
    assert time.perf_counter() - started < 2.0


def test_naive_backtracking_is_exponential_where_stepmap_is_not() -> None:
    # On k wildcards over 4k characters with no match, the naive matcher makes about C(4k, k) calls:
    # each extra wildcard multiplies its work by more than 4 while the input grows by a quarter.
    calls = []
    for k in (3, 4, 5, 6):
        pattern, value = "*a" * k + "*b", "a" * (4 * k)
        counter = [0]
        assert naive_matches(value, pattern, counter) is False
        assert string_matches(value, pattern) is False
        calls.append(counter[0])
    growth = [later / earlier for earlier, later in itertools.pairwise(calls)]
    assert all(g > 4 for g in growth), (calls, growth)
    # Extrapolated to the 25,000-wildcard pattern, the naive matcher would never finish; stepmap's
    # matcher answers that case (same shape, 1,000x larger) in well under the 2 s guard.
    started = time.perf_counter()
    assert string_matches("a" * 100_000, "*a" * 25_000 + "*b") is False
    assert time.perf_counter() - started < 2.0


def test_string_matches_agrees_with_the_naive_reference() -> None:
    rng = random.Random(6)
    for _ in range(3000):
        pattern = "".join(rng.choice("ab**") for _ in range(rng.randint(0, 7)))
        value = "".join(rng.choice("ab") for _ in range(rng.randint(0, 8)))
        assert string_matches(value, pattern) == naive_matches(value, pattern, [0]), (value, pattern)


# -- intrinsic functions at AWS's limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "data", "fragment"),
    [
        ("States.ArrayRange(1, 1001, 1)", None, "the range has 1001 items; the limit is 1000"),
        ("States.Base64Encode($.data)", "a" * 10_001, "10001 characters; the limit is 10000"),
        ("States.Base64Decode($.data)", "YWFh" * 2_501, "10004 characters; the limit is 10000"),
        ("States.Hash($.data, 'SHA-256')", "a" * 200_000, "200000 characters; the limit is 10000"),
    ],
    ids=["ArrayRange-1001", "Base64Encode-10001", "Base64Decode-10004", "Hash-200k"],
)
def test_intrinsic_over_its_limit_is_an_intrinsic_failure(
    sandbox: Sandbox, expression: str, data: Any, fragment: str
) -> None:
    execution = sandbox.run(pass_with({"value.$": expression}), {"data": data})
    assert_failed(execution, "States.IntrinsicFailure", fragment)


def test_intrinsics_at_their_limits_succeed(sandbox: Sandbox) -> None:
    machine = pass_with(
        {
            "range.$": "States.ArrayRange(1, 1000, 1)",
            "encoded.$": "States.Base64Encode($.data)",
            "hash.$": "States.Hash($.data, 'MD5')",
        }
    )
    execution = sandbox.run(machine, {"data": "a" * 10_000})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["range"] == list(range(1, 1001))
    assert len(execution.output["encoded"]) == 13_336  # 4 * ceil(10,000 / 3)
    assert execution.output["hash"] == hashlib.md5(b"a" * 10_000).hexdigest()


def test_format_and_array_with_10000_arguments(sandbox: Sandbox) -> None:
    fmt = "States.Format('" + "{}" * 10_000 + "'" + ", $.x" * 10_000 + ")"
    array = "States.Array(" + ", ".join(["$.x"] * 10_000) + ")"
    started = time.perf_counter()
    execution = sandbox.run(pass_with({"text.$": fmt, "list.$": array}), {"x": "z"})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"text": "z" * 10_000, "list": ["z"] * 10_000}
    assert time.perf_counter() - started < 10  # generous: a guard against quadratic argument handling


def test_format_with_10000_arguments_over_the_payload_limit(sandbox: Sandbox) -> None:
    fmt = "States.Format('" + "{}" * 10_000 + "'" + ", $.x" * 10_000 + ")"
    execution = sandbox.run(pass_with({"text.$": fmt}), {"x": "y" * 30})  # 300,000 characters out
    assert_failed(execution, "States.DataLimitExceeded")


def test_more_than_ten_nested_intrinsics_is_a_definition_error(sandbox: Sandbox) -> None:
    expression = "$.x"
    for _ in range(11):
        expression = f"States.JsonToString({expression})"
    with pytest.raises(stepmap.DefinitionError) as info:
        sandbox.run(pass_with({"v.$": expression}), {"x": 1})
    [problem] = info.value.problems
    assert problem.location == "/States/P/Parameters/v.$"


def test_more_than_ten_nested_intrinsics_says_why(sandbox: Sandbox) -> None:
    expression = "$.x"
    for _ in range(11):
        expression = f"States.JsonToString({expression})"
    [problem] = stepmap.validate(pass_with({"v.$": expression}))
    assert "more than 10 intrinsic function calls" in problem.message, problem.message


# -- keys and buckets that try to leave the store ----------------------------------------------------------


def _hostile_keys(sandbox: Sandbox) -> list[str]:
    return [
        "../../escape.txt",
        "../../../../../escape.txt",  # five levels up from the bucket: the sandbox's top
        f"../{OTHER_BUCKET}/planted.txt",
        str(sandbox.outside / "absolute.txt"),
        "/etc/stepmap-hostile-test",
        "a\x00b",
        "..\\..\\backslash.txt",
        "C:\\Windows\\escape.txt",
        "..",
        ".",
        "a/../../../b",
        "./././x",
        "~/.bashrc",
        "%2E%2E/%2E%2E/encoded.txt",
        "trailing/",
        "//double//slash",
    ]


INVALID_KEYS = ["", "k" * 1025]  # empty, and over S3's 1,024 bytes
INVALID_BUCKETS = ["..", ".", "../x", "/abs", "a\x00b", "", "UPPER", "x" * 64]


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_handler_puts_with_hostile_keys_stay_inside_their_bucket(sandbox: Sandbox, executor: str) -> None:
    keys = _hostile_keys(sandbox)
    puts = [[BUCKET, key] for key in keys] + [[BUCKET, key] for key in INVALID_KEYS]
    puts += [[bucket, "k"] for bucket in INVALID_BUCKETS]
    gets = [
        [BUCKET, "../../../../../outside/secret.jsonl"],
        [BUCKET, str(sandbox.outside / "secret.jsonl")],
        [BUCKET, "/etc/passwd"],
        [BUCKET, "../../../../../../../../../../etc/passwd"],
    ]
    execution = sandbox.run(task_machine("probe_store"), {"puts": puts, "gets": gets}, executor=executor)
    assert execution.status == "SUCCEEDED", execution.cause
    report = execution.output
    by_key = {(p["bucket"], p["key"]): p for p in report["puts"]}
    for key in keys:  # valid S3 keys, however they look: stored in the bucket, read back exactly
        entry = by_key[(BUCKET, key)]
        assert entry["put"]["ok"], entry
        assert entry["get"] == {"ok": True, "value": "written-by-handler"}, entry
        assert entry["list"]["ok"] and entry["list"]["value"][0] == key, entry
    for key in INVALID_KEYS:
        put = by_key[(BUCKET, key)]["put"]
        assert not put["ok"] and put["store_error"] and "invalid object key" in put["message"], put
    for bucket in INVALID_BUCKETS:
        put = by_key[(bucket, "k")]["put"]
        assert not put["ok"] and put["store_error"] and "invalid bucket name" in put["message"], put
    for entry in report["gets"]:  # nothing outside the bucket is readable through a key
        get = entry["get"]
        assert not get["ok"] and get["type"] == "NoSuchKey", entry
    assert list(sandbox.store.list(OTHER_BUCKET)) == []
    assert not (sandbox.outside / "absolute.txt").exists()
    assert sorted(o.key for o in sandbox.store.list(BUCKET)) == sorted(keys)


@pytest.mark.parametrize("key", ["../../../../../outside/secret.jsonl", "<absolute>", "a\x00b", "..\\..\\x"])
def test_item_reader_key_outside_the_bucket_is_not_found(sandbox: Sandbox, key: str) -> None:
    if key == "<absolute>":
        key = str(sandbox.outside / "secret.jsonl")  # an absolute path to a file that really exists
    execution = sandbox.run(distributed_map({"Bucket": BUCKET, "Key": key, "InputType": "JSONL"}))
    assert_failed(execution, "States.ItemReaderFailed", "does not exist")


def test_item_reader_reads_a_dotdot_key_from_inside_its_bucket(sandbox: Sandbox) -> None:
    sandbox.store.put(BUCKET, "../../inside.jsonl", b'{"n": 1}\n{"n": 2}\n')
    execution = sandbox.run(
        distributed_map({"Bucket": BUCKET, "Key": "../../inside.jsonl", "InputType": "JSONL"})
    )
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("bucket", ["..", "../hostile-bkt", "/tmp", "a\x00b"])
def test_item_reader_bucket_that_is_a_path_is_item_reader_failed(sandbox: Sandbox, bucket: str) -> None:
    execution = sandbox.run(distributed_map({"Bucket": bucket, "Key": "x.jsonl", "InputType": "JSONL"}))
    assert_failed(execution, "States.ItemReaderFailed", "invalid bucket name")


@pytest.mark.parametrize("prefix", ["../../etc", "../../../../../..", "/etc", "a\x00b", "..\\..\\w"])
def test_result_writer_prefix_that_climbs_stays_in_the_bucket(sandbox: Sandbox, prefix: str) -> None:
    sandbox.store.put(BUCKET, "items.jsonl", b'{"n": 1}\n{"n": 2}\n')
    machine = distributed_map(
        {"Bucket": BUCKET, "Key": "items.jsonl", "InputType": "JSONL"},
        writer={"Bucket": BUCKET, "Prefix": prefix},
    )
    execution = sandbox.run(machine)
    assert execution.status == "SUCCEEDED", execution.cause
    details = execution.output["ResultWriterDetails"]
    assert details["Bucket"] == BUCKET and details["Key"].startswith(prefix + "/")
    manifest = json.loads(sandbox.store.get(BUCKET, details["Key"]))
    assert manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].startswith(prefix + "/")
    assert all(o.key.startswith(prefix + "/") or o.key == "items.jsonl" for o in sandbox.store.list(BUCKET))
    run_id = details["Key"].rsplit("/", 2)[-2]
    assert not Path("/etc", run_id).exists()


@pytest.mark.parametrize("bucket", ["..", ".", "../other-bkt", "/tmp"])
def test_result_writer_bucket_that_is_a_path_is_result_writer_failed(sandbox: Sandbox, bucket: str) -> None:
    sandbox.store.put(BUCKET, "items.jsonl", b'{"n": 1}\n')
    machine = distributed_map(
        {"Bucket": BUCKET, "Key": "items.jsonl", "InputType": "JSONL"},
        writer={"Bucket": bucket, "Prefix": "out"},
    )
    assert_failed(sandbox.run(machine), "States.ResultWriterFailed", "invalid bucket name")


def test_cli_item_reader_bucket_dotdot_exits_1_with_a_clear_error(sandbox: Sandbox) -> None:
    machine = distributed_map(
        {"Bucket": "..", "Key": "../../../../outside/secret.jsonl", "InputType": "JSONL"}
    )
    definition = sandbox.write_input("dm.json", json.dumps(machine))
    result = sandbox.cli("run", str(definition))
    assert_exit(result, 1, "invalid bucket name")
    assert json.loads(result.stderr.strip().splitlines()[-1])["error"] == "States.ItemReaderFailed"
    assert "secret" not in result.stdout


# -- definitions that are wrong or hostile -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "location"),
    [
        (task_machine("nosuch"), "/States/T/Resource"),
        (task_machine("arn:aws:lambda:us-east-1:123456789012:function:nosuch"), "/States/T/Resource"),
        (
            {
                "StartAt": "T",
                "States": {
                    "T": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "nosuch", "Payload.$": "$"},
                        "End": True,
                    }
                },
            },
            "/States/T/Parameters/FunctionName",
        ),
        (distributed_map(handler="nosuch"), "/States/Map/ItemProcessor/States/Work/Resource"),
    ],
    ids=["bare-name", "lambda-arn", "lambda-invoke", "distributed-map"],
)
def test_definition_referencing_a_missing_function(sandbox: Sandbox, machine: Any, location: str) -> None:
    with pytest.raises(stepmap.DefinitionError) as info:
        sandbox.run(machine)
    [problem] = info.value.problems
    assert problem.code == "INVALID_RESOURCE" and problem.location == location
    assert "'nosuch' is not registered" in problem.message
    definition = sandbox.write_input("missing.json", json.dumps(machine))
    result = sandbox.cli("run", str(definition))
    assert_exit(result, 2, "invalid definition", location, "--function nosuch=")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("f=no_such_module_xyz:handler", "cannot import module 'no_such_module_xyz'"),
        ("f=tests.hostile_handlers:no_such_attr", "has no attribute 'no_such_attr'"),
        ("f=tests.hostile_handlers", "must look like"),
        ("just-a-name", "must look like NAME=module:attr"),
    ],
)
def test_cli_function_that_cannot_be_loaded_exits_2(sandbox: Sandbox, spec: str, fragment: str) -> None:
    definition = sandbox.write_input("f.json", json.dumps(task_machine("f")))
    assert_exit(sandbox.cli("run", str(definition), "--function", spec), 2, fragment)


@pytest.mark.parametrize(("suffix", "fragment"), [(".json", "not UTF-8"), (".yaml", "not UTF-8")])
def test_definition_file_of_binary_garbage_exits_2(sandbox: Sandbox, suffix: str, fragment: str) -> None:
    garbage = bytes(random.Random(6).randrange(256) for _ in range(4096))
    path = sandbox.write_input("garbage" + suffix, b"\xff\xfe\x00" + garbage)
    assert_exit(sandbox.cli("run", str(path)), 2, fragment)
    with pytest.raises(stepmap.InputError, match=fragment):
        stepmap.validate(str(path))


def test_definition_file_of_printable_garbage_exits_2(sandbox: Sandbox) -> None:
    path = sandbox.write_input("words.json", "this is { not ] json at all\n")
    assert_exit(sandbox.cli("run", str(path)), 2, "not valid JSON", "line 1 column 1")


@pytest.mark.parametrize(("suffix", "fragment"), [(".json", "not valid JSON"), (".yaml", "empty")])
def test_empty_definition_file_exits_2(sandbox: Sandbox, suffix: str, fragment: str) -> None:
    path = sandbox.write_input("empty" + suffix, b"")
    assert_exit(sandbox.cli("run", str(path)), 2, fragment)


def _big_machine(text: str) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"blob": text}, "End": True}}}


def test_definition_of_2_mb_is_refused(sandbox: Sandbox) -> None:
    machine = _big_machine("a" * 2_000_000)
    path = sandbox.write_input("big.json", json.dumps(machine))
    assert_exit(sandbox.cli("run", str(path)), 2, "AWS allows 1048576")
    assert_exit(sandbox.cli("validate", str(path)), 2, "AWS allows 1048576")
    with pytest.raises(stepmap.InputError, match="AWS allows 1048576"):
        sandbox.run(json.dumps(machine))


def test_definition_size_counts_characters_as_aws_does(sandbox: Sandbox) -> None:
    # AWS's quota (the API model's length on Definition) counts characters, as Smithy's length trait does
    # for strings: 700,000 three-byte characters are under it, 2,000,000 one-byte ones are not.
    text = json.dumps(_big_machine("\u20ac" * 700_000), ensure_ascii=False)
    assert len(text) < 1_048_576 < len(text.encode())
    path = sandbox.write_input("big-utf8.json", text)
    assert_exit(sandbox.cli("validate", str(path)), 0)


def test_dict_definition_of_2_mb_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises((stepmap.InputError, stepmap.DefinitionError), match=r"1048576|1 MB|too large"):
        sandbox.run(_big_machine("a" * 2_000_000))


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
StartAt: P
States:
  P:
    Type: Pass
    Result: *i
    End: true
"""


def test_yaml_billion_laughs_is_refused(sandbox: Sandbox) -> None:
    path = sandbox.write_input("bomb.yaml", BILLION_LAUGHS)
    assert_exit(sandbox.cli("run", str(path)), 2, "expands to more than")


def test_yaml_alias_cycle_is_refused(sandbox: Sandbox) -> None:
    text = "StartAt: P\nStates:\n  P: &p\n    Type: Pass\n    Result: [*p]\n    End: true\n"
    path = sandbox.write_input("cycle.yaml", text)
    assert_exit(sandbox.cli("run", str(path)), 2, "a cycle of them")


def test_yaml_python_tags_are_not_executed(sandbox: Sandbox) -> None:
    marker = sandbox.outside / "pwned"
    text = f'StartAt: P\nStates:\n  P: !!python/object/apply:os.system ["touch {marker}"]\n'
    path = sandbox.write_input("evil.yaml", text)
    assert_exit(sandbox.cli("run", str(path)), 2, "not valid YAML")
    assert not marker.exists()


@pytest.mark.parametrize("value", ["2001-01-01", "!!binary aGVsbG8=", "!!set {a, b}"])
def test_yaml_values_that_are_not_json_are_refused_or_kept_as_text(sandbox: Sandbox, value: str) -> None:
    path = sandbox.write_input(
        "odd.yaml", f"StartAt: P\nStates:\n  P:\n    Type: Pass\n    Result: {value}\n    End: true\n"
    )
    result = sandbox.cli("run", str(path))
    assert_clear(result.stderr)
    assert result.returncode in (0, 2), result.stderr[-2000:]
    if result.returncode == 0:
        assert json.loads(result.stdout) == value
    else:
        assert "YAML" in result.stderr or "JSON" in result.stderr


@pytest.mark.parametrize(
    ("data", "what"),
    [
        ('{"name": "caf\xe9"}'.encode("latin-1"), "latin-1"),
        ("{}".encode("utf-16"), "utf-16 with BOM"),
        (b'{"a": "\xc3\x28"}', "invalid continuation byte"),
        (b'{"a": "\xed\xa0\x80"}', "encoded surrogate"),
    ],
    ids=["latin-1", "utf-16", "bad-continuation", "cesu-surrogate"],
)
def test_input_file_that_is_not_utf8_exits_2(sandbox: Sandbox, data: bytes, what: str) -> None:
    definition = sandbox.write_input("pass.json", json.dumps(PASS_MACHINE))
    path = sandbox.write_input("input.json", data)
    assert_exit(sandbox.cli("run", str(definition), "--input", "@" + str(path)), 2, "not UTF-8")


def test_definition_file_that_is_not_utf8_exits_2(sandbox: Sandbox) -> None:
    text = '{"StartAt":"P","States":{"P":{"Type":"Pass","Comment":"caf\xe9","End":true}}}'
    path = sandbox.write_input("latin1.json", text.encode("latin-1"))
    assert_exit(sandbox.cli("run", str(path)), 2, "not UTF-8")


def test_csv_that_is_not_utf8_is_item_reader_failed(sandbox: Sandbox) -> None:
    sandbox.store.put(BUCKET, "latin1.csv", "name,n\ncaf\xe9,1\n".encode("latin-1"))
    execution = sandbox.run(distributed_map({"Bucket": BUCKET, "Key": "latin1.csv", "InputType": "CSV"}))
    assert_failed(execution, "States.ItemReaderFailed", "UTF-8")


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": -Infinity}'])
def test_cli_input_with_nan_exits_2(sandbox: Sandbox, text: str) -> None:
    definition = sandbox.write_input("pass.json", json.dumps(PASS_MACHINE))
    assert_exit(sandbox.cli("run", str(definition), "--input", text), 2, "not valid JSON")


@pytest.mark.parametrize("where", ["input", "definition"])
def test_5000_digit_number_exits_2(sandbox: Sandbox, where: str) -> None:
    number = "9" * 5000
    if where == "input":
        definition = sandbox.write_input("pass.json", json.dumps(PASS_MACHINE))
        result = sandbox.cli("run", str(definition), "--input", '{"n": ' + number + "}")
    else:
        text = '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":' + number + ',"End":true}}}'
        result = sandbox.cli("run", str(sandbox.write_input("bigint.json", text)))
    assert_exit(result, 2, "digits")


def test_input_with_a_lone_surrogate_gets_a_clear_answer(sandbox: Sandbox) -> None:
    definition = sandbox.write_input("pass.json", json.dumps(PASS_MACHINE))
    result = sandbox.cli("run", str(definition), "--input", '{"k": "\\udcff"}')
    assert_clear(result.stderr)
    assert result.returncode in (0, 2), result.stderr[-2000:]
    try:
        execution = sandbox.run(PASS_MACHINE, {"k": "\udcff"})
    except stepmap.InputError as exc:
        assert "surrogate" in str(exc)
    else:
        assert execution.status == "SUCCEEDED"
