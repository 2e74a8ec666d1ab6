"""Reading templates: intrinsic functions, parameters, conditions, Globals, state machine definitions and
substitutions, buckets and tables; every mistake is a clear error naming the resource."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from stepmap.asl.validate import validate
from stepmap.errors import InputError
from stepmap.functions import HandlerRef
from stepmap.templates import load_template, parse_parameter_overrides, parse_sub_options
from stepmap.templates.intrinsics import Stack

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:lambda:us-east-1:123456789012:function"


def app_dir(tmp_path: Path, template: str, files: dict[str, str] | None = None) -> Path:
    files = {"src/app.py": "def handler(event, context):\n    return event\n", **(files or {})}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path


FUNCTION = """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
"""


def test_intrinsic_functions() -> None:
    stack = Stack(parameters={"Env": "dev", "Subnets": ["a", "b"]}, mappings={"M": {"dev": {"Size": "3"}}})
    stack.conditions = {
        "IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
        "Not": {"Fn::Not": [{"Condition": "IsDev"}]},
    }
    stack.physical["Fn"] = lambda: ("my-fn", {"Arn": f"{ARN}:my-fn"})
    r = lambda value: stack.resolve(value, "test")  # noqa: E731
    assert r({"Ref": "Fn"}) == "my-fn"
    assert r({"Fn::GetAtt": ["Fn", "Arn"]}) == r({"Fn::GetAtt": "Fn.Arn"}) == f"{ARN}:my-fn"
    assert r({"Fn::Sub": "${AWS::Region}/${Env}/${Fn}/${Fn.Arn}/${!Literal}"}) == (
        f"us-east-1/dev/my-fn/{ARN}:my-fn/${{Literal}}"
    )
    assert r({"Fn::Sub": ["${A}-${AWS::AccountId}", {"A": {"Ref": "Env"}}]}) == "dev-123456789012"
    assert r({"Fn::Join": [",", ["x", {"Ref": "Env"}, 3]]}) == "x,dev,3"
    assert r({"Fn::Select": [1, {"Ref": "Subnets"}]}) == "b"
    assert r({"Fn::Split": ["|", "a|b|c"]}) == ["a", "b", "c"]
    assert r({"Fn::If": ["IsDev", "yes", "no"]}) == "yes" and r({"Fn::If": ["Not", "yes", "no"]}) == "no"
    assert r({"Fn::FindInMap": ["M", {"Ref": "Env"}, "Size"]}) == "3"
    assert r({"k": {"Ref": "AWS::NoValue"}, "l": [1, {"Ref": "AWS::NoValue"}]}) == {"l": [1]}
    assert r({"Fn::Base64": "hi"}) == "aGk="
    assert r({"Ref": "AWS::Partition"}) == "aws"
    with pytest.raises(InputError, match="unresolved resource dependency 'Nope'"):
        r({"Ref": "Nope"})
    with pytest.raises(InputError, match="Fn::ImportValue reads from outside"):
        r({"Fn::ImportValue": "x"})


def test_functions_state_machines_buckets_and_tables(tmp_path: Path) -> None:
    template = app_dir(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Parameters:
          Prefix: {Type: String, Default: pre}
        Globals:
          Function:
            Timeout: 9
            Environment: {Variables: {SHARED: g, OVERRIDDEN: g}}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              FunctionName: !Sub "${Prefix}-fn"
              CodeUri: src/
              Handler: app.handler
              Runtime: python3.11
              MemorySize: 512
              Environment: {Variables: {OVERRIDDEN: mine, BUCKET: !Ref Data, N: 3}}
          Data:
            Type: AWS::S3::Bucket
            Properties: {BucketName: !Sub "${Prefix}-data"}
          Orders:
            Type: AWS::DynamoDB::Table
            Properties:
              AttributeDefinitions:
                - {AttributeName: id, AttributeType: S}
                - {AttributeName: at, AttributeType: N}
              KeySchema:
                - {AttributeName: id, KeyType: HASH}
                - {AttributeName: at, KeyType: RANGE}
          Simple:
            Type: AWS::Serverless::SimpleTable
          Queue:
            Type: AWS::SQS::Queue
          Machine:
            Type: AWS::Serverless::StateMachine
            Properties:
              Name: my-machine
              Definition:
                StartAt: A
                States:
                  A: {Type: Task, Resource: !GetAtt Fn.Arn, Next: B}
                  B:
                    Type: Task
                    Resource: arn:aws:states:::lambda:invoke
                    Parameters: {FunctionName: "${Target}", Payload: {queue: "${QueueUrl}"}}
                    End: true
              DefinitionSubstitutions:
                Target: !Ref Fn
                QueueUrl: !Ref Queue
        """,
    )
    app = load_template(str(template))
    (fn,) = app.functions
    assert fn.name == "pre-fn" and fn.handler == HandlerRef("app", "handler")
    assert fn.code_root == str(tmp_path / "src") and (fn.timeout, fn.memory) == (9.0, 512)
    assert dict(fn.environment) == {"SHARED": "g", "OVERRIDDEN": "mine", "BUCKET": "pre-data", "N": "3"}
    assert [b.name for b in app.buckets] == ["pre-data"]
    orders, simple = app.tables
    assert (orders.partition_key, orders.sort_key, orders.sort_key_type) == ("id", "at", "N")
    assert (simple.name, simple.partition_key, simple.partition_key_type) == ("Simple", "id", "S")
    machine = app.state_machine()
    assert machine is app.state_machine("my-machine") is app.state_machine("Machine")
    states = machine.definition["States"]
    assert states["A"]["Resource"] == f"{ARN}:pre-fn"
    assert states["B"]["Parameters"] == {
        "FunctionName": "pre-fn",
        "Payload": {"queue": "https://sqs.us-east-1.amazonaws.com/123456789012/Queue"},
    }
    assert validate(machine.definition) == []
    assert app.wiring.queues == ("Queue",)  # created in the message store when the app runs


def test_definition_uri_substitutes_text_so_a_placeholder_may_stand_for_a_number(tmp_path: Path) -> None:
    definition = (
        '{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": ${Max}, "ItemProcessor": '
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true, '
        '"Comment": "${Left}"}}}'
    )
    machine_yaml = """
  M:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: sm/flow.asl.json
      DefinitionSubstitutions: {Max: 7}
"""
    template = app_dir(tmp_path, "Resources:" + FUNCTION + machine_yaml, {"sm/flow.asl.json": definition})
    machine = load_template(str(template)).state_machine()
    assert machine.definition["States"]["M"]["MaxConcurrency"] == 7
    problems = [(p.code, p.location) for p in validate(machine.definition)]
    assert problems == [("UNSUBSTITUTED_PLACEHOLDER", "/States/M/Comment")]


def test_cloudformation_definition_string_and_cdk_join(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "SM": {
                        "Type": "AWS::StepFunctions::StateMachine",
                        "Properties": {
                            "StateMachineName": "joined",
                            "DefinitionString": {
                                "Fn::Join": ["", ['{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"',
                                                  {"Ref": "AWS::Region"}, '","End":true}}}']]
                            },
                        },
                    }
                }
            }
        )
    )  # fmt: skip
    machine = load_template(str(template)).state_machine("joined")
    assert machine.definition["States"]["P"]["Result"] == "us-east-1"


@pytest.mark.parametrize(
    ("template", "files", "message"),
    [
        ("Resources: [unclosed", {}, "is not valid YAML or JSON"),
        ("just text", {}, "not a CloudFormation template"),
        ('{"StartAt": "A", "States": {}}', {}, "is a state machine definition, not a template"),
        (FUNCTION.replace("src/", "nowhere/"), {}, r"resource Fn: code folder .*nowhere' is missing"),
        (
            FUNCTION.replace("app.handler", "app.nothing"),
            {},
            "resource Fn: Handler 'app.nothing' names nothing",
        ),
        (
            FUNCTION.replace("app.handler", "missing.handler"),
            {},
            "resource Fn: Handler 'missing.handler' names",
        ),
        (
            FUNCTION.replace("app.handler", "app"),
            {},
            "resource Fn: handler 'app' does not name a Python function",
        ),
        (
            FUNCTION.replace("src/", "s3://bucket/code.zip"),
            {},
            "resource Fn: CodeUri 's3://bucket/code.zip' is on S3",
        ),
        (
            """
  A:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Ref B}
  B:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "${A}-x"}
""",
            {},
            "circular dependency between resources: A -> B -> A",
        ),
        (
            FUNCTION + "      Environment: {Variables: {X: !Ref Nope}}\n",
            {},
            "resource Fn: unresolved .*'Nope'",
        ),
    ],
    ids=[
        "not-yaml",
        "not-a-mapping",
        "asl",
        "no-code",
        "no-attr",
        "no-module",
        "bad-handler",
        "s3",
        "cycle",
        "ref",
    ],
)
def test_bad_templates_are_clear_errors(
    tmp_path: Path, template: str, files: dict[str, str], message: str
) -> None:
    text = template if not template.startswith("\n  ") else "Resources:" + template
    path = app_dir(tmp_path, text, files)
    with pytest.raises(InputError, match=message):
        load_template(str(path))
    result = cli("run", "--template", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_parameters_need_a_value_and_overrides_must_exist(tmp_path: Path) -> None:
    path = app_dir(
        tmp_path, "Parameters:\n  Stage: {Type: String, AllowedValues: [a, b]}\nResources:" + FUNCTION
    )
    with pytest.raises(InputError, match="parameter Stage has no Default: pass --parameter-overrides Stage="):
        load_template(str(path))
    with pytest.raises(InputError, match="not one of its AllowedValues"):
        load_template(str(path), {"Stage": "c"})
    with pytest.raises(InputError, match="does not declare"):
        load_template(str(path), {"Stage": "a", "Other": "x"})
    assert load_template(str(path), {"Stage": "a"}).functions[0].name == "Fn"
    assert parse_parameter_overrides(["A=1 B=2", "ParameterKey=C,ParameterValue=x=y"]) == {
        "A": "1", "B": "2", "C": "x=y",
    }  # fmt: skip


def test_unsupported_functions_and_newer_runtimes_get_one_line(tmp_path: Path) -> None:
    node = FUNCTION.replace("Fn:", "Node:").replace("python3.11", "nodejs20.x")
    newer = FUNCTION.replace("Fn:", "Newer:").replace("python3.11", "python3.99")
    app = load_template(str(app_dir(tmp_path, "Resources:" + FUNCTION + node + newer)))
    assert [f.name for f in app.functions] == ["Fn", "Newer"]
    assert any("function Node: runtime 'nodejs20.x' is not run locally" in n for n in app.notes)
    assert any("warning: function Newer declares python3.99" in n for n in app.notes)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "stepmap.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PLACEHOLDERS: dict[str, Any] = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "${WorkArn}",
            "Parameters": {"bucket": "${Bucket}", "fixed": 1},
            "End": True,
        }
    },
}


def test_leftover_placeholders_are_reported_by_validate_and_refused_by_run(tmp_path: Path) -> None:
    (tmp_path / "m.asl.json").write_text(json.dumps(PLACEHOLDERS))
    result = cli("validate", "m.asl.json", "--json", cwd=tmp_path)
    assert result.returncode == 2
    leftovers = [
        d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "UNSUBSTITUTED_PLACEHOLDER"
    ]
    assert [d["location"] for d in leftovers] == ["/States/Work/Resource", "/States/Work/Parameters/bucket"]
    result = cli("run", "m.asl.json", "--state-dir", "st", cwd=tmp_path)
    assert result.returncode == 2 and "/States/Work/Parameters/bucket" in result.stderr
    assert (
        not (tmp_path / "st" / "journal.sqlite").exists()
        or "executionArn" not in cli("executions", "--state-dir", "st", cwd=tmp_path).stdout
    )


def test_bare_asl_with_sub_and_subs(tmp_path: Path) -> None:
    (tmp_path / "m.asl.json").write_text(json.dumps(PLACEHOLDERS))
    (tmp_path / "subs.json").write_text(json.dumps({"WorkArn": f"{ARN}:echo", "Bucket": "from-file"}))
    common = [
        "--function",
        "echo=tests.cli.handlers_for_cli:double",
        "--state-dir",
        "st",
        "--executor",
        "sync",
    ]
    assert cli("validate", "m.asl.json", "--subs", "subs.json", cwd=tmp_path).returncode == 0
    result = cli(
        "run", "m.asl.json", "--subs", "subs.json", "--sub", "Bucket=from-flag", *common, cwd=tmp_path
    )
    assert result.returncode == 1  # ran: the handler wants {"value": ...}
    assert "KeyError" in result.stderr and "UNSUBSTITUTED" not in result.stderr
    assert parse_sub_options(["A=1", "A=2"]) == {"A": "2"}
    with pytest.raises(InputError, match="must look like KEY=VALUE"):
        parse_sub_options(["nokey"])


def test_validate_a_template_names_the_state_machine(tmp_path: Path) -> None:
    path = app_dir(
        tmp_path,
        "Resources:"
        + FUNCTION
        + """
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: A
        States:
          A: {Type: Task, Resource: "${Missing}", End: true}
""",
    )
    result = cli("validate", "--template", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "Machine:/States/A/Resource" in result.stderr, result.stderr
    result = cli("run", "--template", str(path), "--state-dir", "st", cwd=tmp_path)
    assert result.returncode == 2 and "UNSUBSTITUTED_PLACEHOLDER" in result.stderr


def test_yaml_without_the_decoder_installed_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cfnlint.decode", None)
    path = app_dir(tmp_path, "Resources:" + FUNCTION)
    with pytest.raises(InputError, match=r"pip install 'stepmap\[templates\]'"):
        load_template(str(path))


def test_an_execution_of_a_template_can_be_redriven_with_its_functions(tmp_path: Path) -> None:
    from stepmap.service.apps import prepare_app_machine, provision, registry_for
    from stepmap.service.runner import StepmapService

    app_path = ROOT / "examples" / "apps" / "colliding-handlers" / "template.yaml"
    app = load_template(str(app_path))
    service = StepmapService(
        functions=registry_for(app), executor="sync", state_dir=str(tmp_path), journal=True
    )
    provision(service, app)
    failed = service.start_execution(prepare_app_machine(app, None), {"items": {"kiwi": 1}}, name="first")
    assert failed.status == "FAILED" and failed.error == "KeyError"  # no price for kiwis
    again = StepmapService.for_execution("first", state_dir=str(tmp_path))
    assert {s.name: s.code_root for s in again.functions.specs()} == {
        s.name: s.code_root for s in app.functions
    }
    assert again.functions.get("TaxFunction") == app.functions[1]


def test_the_python_api_runs_a_template(tmp_path: Path) -> None:
    import stepmap

    app = ROOT / "examples" / "apps" / "shared-layer" / "template.yaml"
    execution = stepmap.run(
        input={"lines": [{"cents": 5}]}, template=app, executor="sync", state_dir=str(tmp_path)
    )
    assert execution.output == {"lines": 1, "total": "$0.05"}
    with pytest.raises(InputError, match="needs a definition"):
        stepmap.run()
