"""Each function runs as Lambda runs it: its own code root and import namespace, its own environment and
Timeout, warm module state, Lambda's import-error names, and asyncio that works, with every executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from stepmap.errors import InputError
from stepmap.functions import FunctionRegistry, FunctionSpec, HandlerRef, parse_function_option
from stepmap.service.runner import StepmapService

ROOT = Path(__file__).resolve().parents[2]
EXECUTORS = ["sync", "local"]


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


COLLIDING = {
    "f1": {
        "helper.py": "WHO = 'helper of f1'\n",
        "app.py": """
            import os
            import helper
            calls = 0
            def lambda_handler(event, context):
                global calls
                calls += 1
                return {"who": "f1", "helper": helper.WHO, "calls": calls,
                        "greeting": os.environ.get("GREETING"), "fn": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
                        "memory": context.memory_limit_in_mb, "in": event}
        """,
    },
    "f2": {
        "helper.py": "WHO = 'helper of f2'\n",
        "app.py": """
            import os
            import helper
            def lambda_handler(event, context):
                return {"who": "f2", "helper": helper.WHO, "greeting": os.environ.get("GREETING"),
                        "root": os.environ["LAMBDA_TASK_ROOT"], "fn": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
        """,
    },
}

TWO_TASKS = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Task", "Resource": "F1", "ResultPath": "$.one", "Next": "Two"},
        "Two": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:F2:prod"},
            "ResultSelector": {"p.$": "$.Payload"},
            "ResultPath": "$.two",
            "Next": "Again",
        },
        "Again": {
            "Type": "Task",
            "Resource": "123456789012:function:F1",
            "ResultPath": "$.again",
            "End": True,
        },
    },
}


@pytest.fixture
def apps(tmp_path: Path) -> Path:
    for folder, files in COLLIDING.items():
        write(tmp_path / folder, files)
    return tmp_path


def service(tmp_path: Path, executor: str, functions: FunctionRegistry) -> StepmapService:
    return StepmapService(
        functions=functions, executor=executor, max_workers=1, state_dir=str(tmp_path / "st")
    )


@pytest.mark.parametrize("executor", EXECUTORS)
def test_two_functions_with_the_same_module_names_each_run_their_own_code(apps: Path, executor: str) -> None:
    functions = FunctionRegistry()
    functions.add(
        FunctionSpec(
            "F1",
            HandlerRef("app", "lambda_handler"),
            str(apps / "f1"),
            environment=(("GREETING", "hi"),),
            memory=512,
        )
    )
    functions.add(FunctionSpec("F2", HandlerRef("app", "lambda_handler"), str(apps / "f2")))
    execution = service(apps, executor, functions).start_execution(TWO_TASKS, {"x": 1})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    out = execution.output
    assert out["one"]["who"] == "f1" and out["one"]["helper"] == "helper of f1"
    assert out["two"]["p"]["who"] == "f2" and out["two"]["p"]["helper"] == "helper of f2"
    # per-function environment, layered over the process's, with Lambda's reserved variables
    assert out["one"]["greeting"] == "hi" and out["two"]["p"]["greeting"] is None
    assert out["one"]["fn"] == "F1" and out["two"]["p"]["fn"] == "F2" and out["one"]["memory"] == "512"
    assert out["two"]["p"]["root"] == str(apps / "f2")
    # warm start: F1's module state survived between its two invocations (one worker)
    assert (out["one"]["calls"], out["again"]["calls"]) == (1, 2)
    assert "GREETING" not in os.environ and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def test_the_ambiguous_old_form_is_an_error_and_the_new_forms_bind_each_folder(apps: Path) -> None:
    dirs = [str(apps / "f1"), str(apps / "f2")]
    with pytest.raises(InputError, match=r"ambiguous.*F1=app:lambda_handler@f1"):
        cwd = os.getcwd()
        os.chdir(apps)
        try:
            parse_function_option("F1", "app:lambda_handler", dirs)
        finally:
            os.chdir(cwd)
    assert parse_function_option("F1", "app:lambda_handler", dirs[:1]).code_root == dirs[0]
    assert parse_function_option("F2", f"{dirs[1]}/app.lambda_handler").code_root == dirs[1]
    spec = parse_function_option("F2", f"app:lambda_handler@{dirs[1]}", dirs)
    assert (spec.code_root, spec.handler) == (dirs[1], HandlerRef("app", "lambda_handler"))
    with pytest.raises(InputError, match="has no attribute 'handler'"):
        parse_function_option("F1", f"{dirs[0]}/app.handler")
    with pytest.raises(InputError, match="no module 'nope'"):
        parse_function_option("F1", "nope.handler@" + dirs[0])


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "stepmap.cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_cli_collision_example(apps: Path, executor: str) -> None:
    machine = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "F1", "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Task", "Resource": "F2", "ResultPath": "$.b", "End": True},
        },
    }
    (apps / "m.json").write_text(json.dumps(machine))
    common = ["--executor", executor, "--state-dir", "st", "-q"]
    # the command: each --function follows its own --code, so each runs its own folder's app.py
    result = cli("run", "m.json", "--code", "f1", "--function", "F1=app:lambda_handler", "--code", "f2",
                 "--function", "F2=app:lambda_handler", *common, cwd=apps)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["a"]["who"], out["b"]["who"]) == ("f1", "f2")
    assert (out["a"]["helper"], out["b"]["helper"]) == ("helper of f1", "helper of f2")
    # folders listed first, then functions: which folder each means cannot be told, so it is an error
    old = cli("run", "m.json", "--code", "f1", "--code", "f2", "--function", "F1=app:lambda_handler",
              "--function", "F2=app:lambda_handler", *common, cwd=apps)  # fmt: skip
    assert old.returncode == 2 and "is ambiguous" in old.stderr and "Traceback" not in old.stderr
    assert "F1=app:lambda_handler@f1" in old.stderr
    for forms in (
        ["F1=f1/app.lambda_handler", "F2=f2/app.lambda_handler"],
        ["F1=app:lambda_handler@f1", "F2=app.lambda_handler@f2"],
    ):
        result = cli("run", "m.json", "--function", forms[0], "--function", forms[1], *common, cwd=apps)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert (out["a"]["who"], out["b"]["who"]) == ("f1", "f2")
        assert (out["a"]["helper"], out["b"]["helper"]) == ("helper of f1", "helper of f2")


BROKEN = {
    "syntax.py": "def lambda_handler(event, context)\n    return 1\n",
    "missing_dep.py": "import no_such_dependency_xyz\n\ndef lambda_handler(event, context):\n    return 1\n",
    "needs_env.py": "import os\nTABLE = os.environ['TABLE_NAME']\n\ndef lambda_handler(event, context):\n"
    "    return TABLE\n",
    "nohandler.py": "def other(event, context):\n    return 1\n",
}


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize(
    ("module", "error", "message"),
    [
        ("syntax", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntax'"),
        (
            "missing_dep",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing_dep': No module named 'no_such_dependency_xyz'",
        ),
        ("needs_env", "KeyError", "'TABLE_NAME'"),
        ("nohandler", "Runtime.HandlerNotFound", "Handler 'lambda_handler' missing on module 'nohandler'"),
    ],
)
def test_import_failures_fail_the_task_with_lambdas_error(
    tmp_path: Path, executor: str, module: str, error: str, message: str
) -> None:
    code = write(tmp_path / "code", BROKEN)
    functions = FunctionRegistry()
    functions.add(FunctionSpec("Broken", HandlerRef(module, "lambda_handler"), str(code)))
    machine = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "Broken", "End": True}}}
    execution = service(tmp_path, executor, functions).start_execution(machine)
    assert execution.status == "FAILED"
    assert execution.error == error
    cause = json.loads(execution.cause or "")
    assert cause["errorType"] == error and message in cause["errorMessage"]
    assert "Traceback" not in (execution.cause or "")


def test_an_environment_variable_read_at_import_comes_from_the_function(tmp_path: Path) -> None:
    code = write(tmp_path / "code", BROKEN)
    functions = FunctionRegistry()
    env = (("TABLE_NAME", "orders"),)
    functions.add(FunctionSpec("F", HandlerRef("needs_env", "lambda_handler"), str(code), environment=env))
    machine = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "F", "End": True}}}
    execution = service(tmp_path, "local", functions).start_execution(machine)
    assert execution.output == "orders", execution.cause


ASYNC = {
    "aio.py": """
        import asyncio

        async def double(x):
            await asyncio.sleep(0)
            return 2 * x

        def with_run(event, context):
            return asyncio.run(double(event["x"]))

        def with_loop(event, context):
            return asyncio.get_event_loop().run_until_complete(double(event["x"]))
    """
}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_asyncio_works_in_handlers(tmp_path: Path, executor: str) -> None:
    code = write(tmp_path / "code", ASYNC)
    functions = FunctionRegistry()
    for name in ("with_run", "with_loop"):
        functions.add(FunctionSpec(name, HandlerRef("aio", name), str(code)))
    machine = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": f"S{i}", "States": {f"S{i}": {"Type": "Task", "Resource": n, "End": True}}}
                    for i, n in enumerate(("with_run", "with_loop", "with_run", "with_loop"))
                ],
            }
        },
    }
    execution = service(tmp_path, executor, functions).start_execution(machine, {"x": 21})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == [42, 42, 42, 42]


SLOW = {
    "slow.py": "import time\n\n\ndef handler(event, context):\n"
    "    time.sleep(event['sleep'])\n    return 'done'\n"
}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_function_past_its_timeout_fails_as_lambda_reports_it(tmp_path: Path, executor: str) -> None:
    code = write(tmp_path / "code", SLOW)
    functions = FunctionRegistry()
    functions.add(FunctionSpec("Slow", HandlerRef("slow", "handler"), str(code), timeout=1))
    task: dict[str, Any] = {"Type": "Task", "Resource": "Slow", "End": True}
    svc = service(tmp_path, executor, functions)
    # Lambda's own Timeout: Step Functions reports Lambda.Unknown (an error Lambda gives no type for)
    execution = svc.start_execution({"StartAt": "T", "States": {"T": task}}, {"sleep": 5})
    assert execution.error == "Lambda.Unknown"
    assert "Lambda did not return an error type" in (execution.cause or "")
    assert "Task timed out after 1.00 seconds" in (execution.cause or "")
    # the Task's TimeoutSeconds, when shorter, is States.Timeout
    short = {**task, "TimeoutSeconds": 1}
    functions.add(FunctionSpec("Slow", HandlerRef("slow", "handler"), str(code), timeout=30))
    execution = service(tmp_path, executor, functions).start_execution(
        {"StartAt": "T", "States": {"T": short}}, {"sleep": 5}
    )
    assert execution.error == "States.Timeout"
    fast = svc.start_execution({"StartAt": "T", "States": {"T": task}}, {"sleep": 0})
    assert fast.output == "done"


def test_a_function_is_found_by_name_partial_arn_full_arn_and_qualifier() -> None:
    functions = FunctionRegistry({"Fn": "tests.cli.handlers_for_cli:double"})
    for reference in (
        "Fn",
        "Fn:prod",
        "123456789012:function:Fn",
        "arn:aws:lambda:eu-west-1:123456789012:function:Fn:$LATEST",
    ):
        spec = functions.get(reference)
        assert spec is not None and spec.name == "Fn", reference
    assert functions.get("Other") is None


def test_function_specs_survive_the_journal_to_resume() -> None:
    spec = FunctionSpec(
        "F", HandlerRef("app", "h"), "/code", ("/layer",), (("A", "1"),), 7.0, 256, "python3.12"
    )
    assert FunctionSpec.from_json("F", spec.to_json()) == spec


def test_the_workers_region_is_the_functions_region(monkeypatch: pytest.MonkeyPatch) -> None:
    from stepmap.environments import release, reserved_variables

    spec = FunctionSpec("F", HandlerRef("app", "h"))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert reserved_variables(spec, "us-east-1")["AWS_REGION"] == "eu-west-1"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert reserved_variables(spec, "us-east-1")["AWS_DEFAULT_REGION"] == "us-east-1"
    release()


def test_command_line_order_binds_only_when_every_candidate_folder_is_claimed(apps: Path) -> None:
    from stepmap.functions import function_options

    f1, f2 = str(apps / "f1"), str(apps / "f2")
    specs = function_options([("F1", "app:lambda_handler", f1), ("F2", "app.lambda_handler", f2)], [f1, f2])
    assert [s.code_root for s in specs] == [f1, f2]
    with pytest.raises(InputError, match="ambiguous"):
        function_options([("F1", "app:lambda_handler", f2), ("F2", "app:lambda_handler", f2)], [f1, f2])
    with pytest.raises(InputError, match="ambiguous"):
        function_options([("F1", "app:lambda_handler", None)], [f1, f2])
