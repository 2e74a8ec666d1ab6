"""Hostile values at run time (issue 9, items 8 and 9): each gets a clear error and a finished execution,
never a traceback or an execution left RUNNING, and no bomb reaches the coordinator's memory.

* **Numbers and text JSON cannot carry**: ``1e999`` (was printed back as ``Infinity``), 5,000-digit
  integers, lone surrogates (``"\\udc80"``), in execution input, definitions, ItemReader items, intrinsic
  results and handler results.
* **Delays that overflow**: ``Wait`` SecondsPath of 10**400; a Retrier whose ``BackoffRate`` overflows a
  float, or a valid one past ~1,024 attempts (capped before multiplying).
* **Handlers that raise what is not an Exception**: a ``BaseException`` subclass, ``GeneratorExit``,
  ``KeyboardInterrupt``, an exception whose ``__str__`` raises.
* **Bombs**: a 71 KB definition naming a 250 KB input string 4,000 times (sizes checked on the object graph
  while building, ``States.DataLimitExceeded`` as AWS would), the same through ``States.Format`` and
  ``States.JsonToString``; a handler printing 64 MB (captured output keeps its tail); a 10 MB exception
  message (causes truncated to AWS's 32,768 characters, in the history and the journal).
* ``--input @/dev/zero`` (reads at most 16 MiB).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from stepmap.asl.model import Retrier
from stepmap.errors import MAX_CAUSE_CHARS
from stepmap.functions import FunctionRegistry
from stepmap.interpreter.clock import ManualClock
from stepmap.interpreter.engine import MAX_RETRY_DELAY, _retry_delay
from stepmap.runtime import LOG_TAIL_CHARS
from stepmap.service.runner import StepmapService

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = "tests.hostile_handlers"
FUNCTIONS = {name: f"{HANDLERS}:{name}" for name in ("raise_named", "chatty", "lone_surrogate")}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
TRACEBACK = "Traceback (most recent call last)"


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}}}


def service(tmp_path: Path, executor: str = "sync", **kwargs: Any) -> StepmapService:
    return StepmapService(
        functions=FunctionRegistry(FUNCTIONS),
        executor=executor,
        store=str(tmp_path / "s3"),
        state_dir=str(tmp_path / "state"),
        max_workers=1,
        **kwargs,
    )


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "stepmap.cli", "run", *args, "--state-dir", str(tmp_path / "state")]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


# -- numbers and text that JSON cannot carry --------------------------------------------------------------
@pytest.mark.parametrize("how", ["inline", "file"])
def test_a_number_beyond_double_range_in_the_input_exits_2(tmp_path: Path, how: str) -> None:
    text = '{"a": 1e999}'
    if how == "file":
        (tmp_path / "in.json").write_text(text)
        text = f"@{tmp_path / 'in.json'}"
    result = cli(tmp_path, json.dumps(PASS), "--input", text)
    assert result.returncode == 2, result.stdout
    assert "1e999 is beyond the range of a double" in result.stderr and "Infinity" not in result.stdout
    assert TRACEBACK not in result.stderr


def test_a_lone_surrogate_escape_in_a_definition_exits_2(tmp_path: Path) -> None:
    definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"\\udc80","End":true}}}'
    result = cli(tmp_path, definition)
    assert result.returncode == 2 and "lone surrogate" in result.stderr, result.stderr
    assert TRACEBACK not in result.stderr


def test_an_intrinsic_that_decodes_a_lone_surrogate_fails_the_execution(tmp_path: Path) -> None:
    machine = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.s)"}, "End": True}},
    }
    execution = service(tmp_path).start_execution(machine, {"s": '"\\udc80"'})
    assert execution.status == "FAILED" and execution.error == "States.IntrinsicFailure"
    assert "lone surrogate" in (execution.cause or "")


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_a_handler_returning_a_lone_surrogate_is_a_marshal_error(tmp_path: Path, executor: str) -> None:
    execution = service(tmp_path, executor).start_execution(task("lone_surrogate"), {})
    assert execution.status == "FAILED" and execution.error == "Runtime.MarshalError", execution.cause
    assert "lone surrogate" in (execution.cause or "")


@pytest.mark.parametrize("bad", ["1" * 5000, "1e999", '"\\udc80"'], ids=["5000-digits", "1e999", "surrogate"])
@pytest.mark.parametrize("selector", [False, True], ids=["raw", "item-selector"])
def test_an_item_reader_item_json_cannot_carry_fails_the_map_run_clearly(
    tmp_path: Path, bad: str, selector: bool
) -> None:
    svc = service(tmp_path)
    svc.store.create_bucket("bkt")
    svc.store.put("bkt", "items.jsonl", f'{{"v": 1}}\n{{"v": {bad}}}\n'.encode())
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": "bkt", "Key": "items.jsonl"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    if selector:
        state["ItemSelector"] = {"value.$": "$$.Map.Item.Value"}
    execution = svc.start_execution({"StartAt": "M", "States": {"M": state}}, {})
    assert execution.status == "FAILED" and execution.error == "States.ItemReaderFailed", (
        execution.error,
        execution.cause,
    )
    assert any(word in (execution.cause or "") for word in ("4300 digits", "beyond the range", "surrogate"))


def test_api_input_with_infinity_is_refused(tmp_path: Path) -> None:
    from stepmap.errors import InputError

    with pytest.raises(InputError, match="not JSON"):
        service(tmp_path).start_execution(PASS, {"m": math.inf})


def test_a_max_concurrency_path_of_a_huge_integer_runs(tmp_path: Path) -> None:
    machine = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.x",
                "MaxConcurrencyPath": "$.m",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    execution = service(tmp_path).start_execution(machine, {"m": 10**400, "x": [1, 2]})
    assert execution.status == "SUCCEEDED" and execution.output == [1, 2]


# -- delays that overflow ----------------------------------------------------------------------------------
def test_wait_seconds_path_of_10_to_the_400_is_a_runtime_error(tmp_path: Path) -> None:
    machine = {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    execution = service(tmp_path, clock=ManualClock()).start_execution(machine, {"s": 10**400})
    assert execution.status == "FAILED" and execution.error == "States.Runtime"
    assert "401 digits" in (execution.cause or "") and "99999999" in (execution.cause or "")


@pytest.mark.parametrize(
    ("rate", "attempt"),
    [(1e308, 5), (2.0, 1025), (2.0, 100_000), (10**400, 3)],
    ids=["1e308", "2^1025", "2^1e5", "int"],
)
def test_a_retry_delay_is_capped_before_it_overflows(rate: Any, attempt: int) -> None:
    delay = _retry_delay(Retrier(("States.ALL",), interval_seconds=1, backoff_rate=rate), attempt)
    assert delay == MAX_RETRY_DELAY
    capped = Retrier(("States.ALL",), interval_seconds=1, backoff_rate=rate, max_delay_seconds=30)
    assert _retry_delay(capped, attempt) == 30


def test_a_retrier_with_an_overflowing_backoff_rate_retries_and_fails_with_the_handlers_error(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    retry = [{"ErrorEquals": ["States.ALL"], "BackoffRate": 1e308, "MaxAttempts": 4, "IntervalSeconds": 1}]
    execution = service(tmp_path, clock=clock).start_execution(
        task("raise_named", Retry=retry), {"raise": "unprintable"}
    )
    assert execution.status == "FAILED" and execution.error == "_Unprintable", execution.cause
    assert clock.slept == [1.0, MAX_RETRY_DELAY, MAX_RETRY_DELAY, MAX_RETRY_DELAY]


# -- handlers that raise what is not an Exception ----------------------------------------------------------
@pytest.mark.parametrize("executor", ["sync", "local"])
@pytest.mark.parametrize(
    ("kind", "error_type", "message"),
    [
        ("base", "_Escape", "out of the handler"),
        ("generator-exit", "GeneratorExit", "closed"),
        ("keyboard-interrupt", "KeyboardInterrupt", ""),
        ("unprintable", "_Unprintable", "<str() of the _Unprintable raised RuntimeError>"),
    ],
)
def test_a_handler_raising_a_base_exception_fails_only_its_task(
    tmp_path: Path, executor: str, kind: str, error_type: str, message: str
) -> None:
    svc = service(tmp_path, executor)
    execution = svc.start_execution(task("raise_named"), {"raise": kind})
    assert execution.status == "FAILED" and execution.error == error_type, (execution.error, execution.cause)
    assert json.loads(execution.cause or "")["errorMessage"] == message
    assert svc.start_execution(PASS, {"ok": 1}).output == {"ok": 1}  # the engine goes on


def test_cli_handler_raising_keyboard_interrupt_exits_1_with_its_error(tmp_path: Path) -> None:
    result = cli(
        tmp_path,
        json.dumps(task("boom")),
        "--function",
        f"boom={HANDLERS}:raise_named",
        "--input",
        '{"raise": "keyboard-interrupt"}',
    )
    assert result.returncode == 1 and TRACEBACK not in result.stderr and "Aborted" not in result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1])["error"] == "KeyboardInterrupt"


# -- bombs -------------------------------------------------------------------------------------------------
def _peak_mb(run: Any) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


BIG = "s" * 250_000


@pytest.mark.parametrize(
    "parameters",
    [
        {f"k{i}.$": "$.s" for i in range(4000)},
        {"f.$": "States.Format('" + "{}" * 4000 + "', " + ", ".join(["$.s"] * 4000) + ")"},
        {"j.$": "States.JsonToString(States.Array(" + ", ".join(["$.s"] * 4000) + "))"},
    ],
    ids=["4000-references", "format", "json-to-string"],
)
def test_a_payload_bomb_is_data_limit_exceeded_without_building_it(
    tmp_path: Path, parameters: dict[str, Any]
) -> None:
    machine = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": parameters, "End": True}}}
    assert len(json.dumps(machine)) < 80_000
    svc = service(tmp_path)
    result: list[Any] = []
    input_value = {"s": BIG}
    peak = _peak_mb(lambda: result.append(svc.start_execution(machine, input_value)))
    (execution,) = result
    assert execution.status == "FAILED" and execution.error == "States.DataLimitExceeded", execution.cause
    assert peak < 100, f"{peak:.0f} MB"  # the text would be 1 GB


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_a_handler_printing_64_mb_keeps_the_tail_of_its_output(tmp_path: Path, executor: str) -> None:
    svc = service(tmp_path, executor)
    result: list[Any] = []
    peak = _peak_mb(lambda: result.append(svc.start_execution(task("chatty"), {"mb": 64})))
    (execution,) = result
    assert execution.status == "SUCCEEDED" and execution.output == {"done": True}
    assert "THE-LAST-LINE" in execution.logs and "characters of output dropped" in execution.logs
    assert len(execution.logs) < LOG_TAIL_CHARS + 200
    assert peak < 40, f"{peak:.0f} MB"


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_a_10_mb_exception_message_is_truncated_in_the_cause_and_the_journal(
    tmp_path: Path, executor: str
) -> None:
    svc = service(tmp_path, executor, journal=True)
    execution = svc.start_execution(task("raise_named"), {"raise": "huge", "size": 10_000_000})
    assert execution.status == "FAILED" and execution.error == "ValueError"
    cause = execution.cause or ""
    assert len(cause) <= MAX_CAUSE_CHARS
    body = json.loads(cause)  # still Lambda's error shape, not a cut JSON text
    assert body["errorType"] == "ValueError" and "truncated" in body["errorMessage"]
    journal = svc.journal
    assert journal is not None
    events = journal.history(execution.execution_arn)
    causes = [str(d.get("cause", "")) for e in events for k, d in e.items() if k.endswith("EventDetails")]
    assert causes and all(len(c) <= MAX_CAUSE_CHARS for c in causes)


def test_cli_ten_mb_exception_message_prints_a_short_cause(tmp_path: Path) -> None:
    result = cli(
        tmp_path,
        json.dumps(task("boom")),
        "--function",
        f"boom={HANDLERS}:raise_named",
        "--input",
        '{"raise": "huge", "size": 10000000}',
    )
    assert result.returncode == 1 and len(result.stderr) < 2 * MAX_CAUSE_CHARS


def test_input_from_dev_zero_is_refused(tmp_path: Path) -> None:
    result = cli(tmp_path, json.dumps(PASS), "--input", "@/dev/zero")
    assert result.returncode == 2 and "larger than" in result.stderr and TRACEBACK not in result.stderr
