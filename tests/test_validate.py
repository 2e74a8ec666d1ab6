"""Static validation of ASL definitions: one small definition per rule, with AWS's code and the JSON pointer.

Each case states the exact set of (code, location) pairs expected, so a rule that also fires somewhere it
should not makes the case fail. A property test feeds random JSON into every position of a valid
definition: validate() must answer with problems, never raise.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepmap.asl.validate import MAX_DEPTH, pointer, validate
from stepmap.errors import Problem

SCHEMA = "SCHEMA_VALIDATION_FAILED"
TARGET = "MISSING_TRANSITION_TARGET"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"
END = {"Type": "Succeed"}


def one(state: Any, **others: Any) -> dict[str, Any]:
    """A definition whose first state is ``S``; ``others`` are further states; ``Done`` when named."""
    done = {"Done": END} if _mentions_done([state, others]) else {}
    return {"StartAt": "S", "States": {"S": state, **others, **done}}


def _mentions_done(value: Any) -> bool:
    """Does a shallow part of ``value`` name the state ``Done``? (Iterative: cases may be very deep.)"""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if node == "Done":
            return True
        if depth < 20 and isinstance(node, dict | list):
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "work", "Next": "Done", **fields}


def pass_(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", "Next": "Done", **fields}


def dmap(**fields: Any) -> dict[str, Any]:
    """A Distributed Map with a one-Pass item processor."""
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Item",
        "States": {"Item": {"Type": "Pass", "End": True}},
    }
    return {"Type": "Map", "ItemProcessor": processor, "Next": "Done", **fields}


def inline_map(**fields: Any) -> dict[str, Any]:
    processor = {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}}
    return {"Type": "Map", "ItemProcessor": processor, "Next": "Done", **fields}


def reader(**config: Any) -> dict[str, Any]:
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "b", "Key": "k"},
        "ReaderConfig": config,
    }


def rule(**fields: Any) -> dict[str, Any]:
    return {"Variable": "$.x", "Next": "Done", **fields}


def choice(*rules: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"Type": "Choice", "Choices": list(rules), "Default": "Done", **fields}


def found(definition: object) -> set[tuple[str, str]]:
    return {(p.code, p.location) for p in validate(definition)}


# A definition that uses every supported feature and is valid: the baseline for the property test.
VALID: dict[str, Any] = {
    "Comment": "everything stepmap supports",
    "Version": "1.0",
    "TimeoutSeconds": 3600,
    "QueryLanguage": "JSONPath",
    "StartAt": "Invoke",
    "States": {
        "Invoke": {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "work", "Payload": {"in.$": "$", "ctx.$": "$$.Execution.Id"}},
            "ResultSelector": {"body.$": "$.Payload"},
            "ResultPath": "$.result",
            "OutputPath": "$",
            "InputPath": "$",
            "TimeoutSeconds": 30,
            "HeartbeatSeconds": 10,
            "Assign": {"count": 1, "name.$": "$.result.body"},
            "Retry": [
                {"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 2, "MaxAttempts": 0},
                {
                    "ErrorEquals": ["States.ALL"],
                    "BackoffRate": 1.5,
                    "MaxDelaySeconds": 60,
                    "JitterStrategy": "FULL",
                },
            ],
            "Catch": [
                {"ErrorEquals": ["States.Timeout", "Custom"], "Next": "Failed", "ResultPath": "$.error"},
                {"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": None},
            ],
            "Next": "Legacy",
        },
        "Legacy": {
            "Type": "Task",
            "Resource": FN_ARN + ":live",
            "TimeoutSecondsPath": "$.t",
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "Fan"},
                {
                    "And": [
                        {"Variable": "$.s", "StringMatches": "log-*.txt"},
                        {"Not": {"Variable": "$.t", "TimestampLessThan": "2026-01-01T00:00:00Z"}},
                        {
                            "Or": [
                                {"Variable": "$.b", "BooleanEquals": True},
                                {"Variable": "$.b", "IsNull": True},
                            ]
                        },
                    ],
                    "Next": "Items",
                },
                {"Variable": "$count", "NumericEqualsPath": "$.limit", "Next": "Distributed"},
            ],
            "Default": "Pause",
        },
        "Pause": {"Type": "Wait", "Timestamp": "2026-03-14T01:59:00+01:00", "Next": "Static"},
        "Static": {"Type": "Pass", "Result": {"a": [1, 2]}, "ResultPath": "$.static", "Next": "Done"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "B1", "States": {"B1": {"Type": "Wait", "SecondsPath": "$.delay", "End": True}}},
                {
                    "StartAt": "B2",
                    "States": {"B2": {"Type": "Pass", "Parameters": {"x.$": "$.x"}, "End": True}},
                },
            ],
            "ResultSelector": {"first.$": "$[0]"},
            "Next": "Done",
        },
        "Items": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
            "MaxConcurrency": 4,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Each",
                "States": {"Each": {"Type": "Task", "Resource": "work", "End": True}},
            },
            "Next": "Done",
        },
        "Distributed": {
            "Type": "Map",
            "Label": "Shards",
            "MaxConcurrencyPath": "$.parallelism",
            "ToleratedFailurePercentage": 5,
            "ToleratedFailureCount": 10,
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "data", "Key.$": "$.key"},
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "b"]},
            },
            "ItemBatcher": {"MaxItemsPerBatch": 500, "MaxInputBytesPerBatch": 262144, "BatchInput": {"k": 1}},
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "out", "Prefix": "runs"},
                "WriterConfig": {"OutputType": "JSONL", "Transformation": "FLATTEN"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": "work.batch", "End": True}},
            },
            "Next": "Done",
        },
        "Failed": {"Type": "Fail", "Error": "WorkFailed", "CausePath": "States.Format('at {}', $.where)"},
        "Done": {"Type": "Succeed"},
    },
}


def test_the_full_definition_is_valid() -> None:
    assert validate(VALID) == []


def test_a_legacy_iterator_map_and_minimal_machines_are_valid() -> None:
    legacy = {
        "Type": "Map",
        "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
        "Parameters": {"item.$": "$$.Map.Item.Value"},
        "End": True,
    }
    assert validate({"StartAt": "M", "States": {"M": legacy}}) == []
    assert validate({"StartAt": "A", "States": {"A": {"Type": "Fail"}}}) == []


def test_problems_are_problem_objects_with_pointers() -> None:
    [problem] = validate(one(task(Nxt="Done")))
    assert isinstance(problem, Problem)
    assert problem.severity == "ERROR"
    assert "did you mean 'Next'?" in problem.message
    assert pointer(("States", "a/b~c", 0)) == "/States/a~1b~0c/0"


CASES: list[tuple[str, object, set[tuple[str, str]]]] = [
    # --- the definition as a whole -----------------------------------------------------------------
    ("not an object", [1, 2], {(SCHEMA, "")}),
    ("empty", None, {("MISSING_DESCRIPTION", "")}),
    ("missing StartAt", {"States": {"A": END}}, {(SCHEMA, "")}),
    ("missing States", {"StartAt": "A"}, {(SCHEMA, "")}),
    ("States not an object", {"StartAt": "A", "States": []}, {(SCHEMA, "/States")}),
    ("StartAt not a string", {"StartAt": 1, "States": {"A": END}}, {(SCHEMA, "/StartAt")}),
    ("StartAt names no state", {"StartAt": "B", "States": {"A": END}}, {(TARGET, "/StartAt")}),
    ("unknown top-level field", {**one(END), "Commnet": "x"}, {(SCHEMA, "/Commnet")}),
    ("Version other than 1.0", {**one(END), "Version": "2.0"}, {(SCHEMA, "/Version")}),
    ("execution TimeoutSeconds zero", {**one(END), "TimeoutSeconds": 0}, {(SCHEMA, "/TimeoutSeconds")}),
    ("execution TimeoutSeconds float", {**one(END), "TimeoutSeconds": 1.5}, {(SCHEMA, "/TimeoutSeconds")}),
    ("bad QueryLanguage", {**one(END), "QueryLanguage": "XPath"}, {(SCHEMA, "/QueryLanguage")}),
    ("Comment not a string", {**one(END), "Comment": 5}, {(SCHEMA, "/Comment")}),
    # --- states and their names ----------------------------------------------------------------------
    ("state not an object", one([]), {(SCHEMA, "/States/S")}),
    ("missing Type", one({"Next": "Done"}), {(SCHEMA, "/States/S")}),
    ("unknown Type", one({"Type": "Tsk", "Next": "Done"}), {(SCHEMA, "/States/S/Type")}),
    (
        "state name too long",
        {"StartAt": "x" * 81, "States": {"x" * 81: END}},
        {("INVALID_STATE_NAME", "/States/" + "x" * 81)},
    ),
    (
        "state name with control character",
        {"StartAt": "a\nb", "States": {"a\nb": END}},
        {("INVALID_STATE_NAME", "/States/a\nb")},
    ),
    (
        "state name used twice across scopes",
        one({"Type": "Parallel", "Branches": [{"StartAt": "Done", "States": {"Done": END}}], "Next": "Done"}),
        {("DUPLICATE_STATE_NAME", "/States/S/Branches/0/States/Done")},
    ),
    # --- fields --------------------------------------------------------------------------------------
    ("misspelled field", one(task(Resorce="x")), {(SCHEMA, "/States/S/Resorce")}),
    ("field of another state type", one(pass_(Retry=[])), {(SCHEMA, "/States/S/Retry")}),
    (
        "Parallel TimeoutSeconds",
        one(
            {
                "Type": "Parallel",
                "Branches": [{"StartAt": "P", "States": {"P": END}}],
                "TimeoutSeconds": 5,
                "End": True,
            }
        ),
        {(SCHEMA, "/States/S/TimeoutSeconds")},
    ),
    ("Fail has no InputPath", one({"Type": "Fail", "InputPath": "$"}), {(SCHEMA, "/States/S/InputPath")}),
    (
        "Succeed has no Next",
        {"StartAt": "S", "States": {"S": {"Type": "Succeed", "Next": "S"}}},
        {(SCHEMA, "/States/S/Next")},
    ),
    ("InputPath not a path", one(pass_(InputPath="x")), {(SCHEMA, "/States/S/InputPath")}),
    ("InputPath malformed", one(pass_(InputPath="$.")), {(SCHEMA, "/States/S/InputPath")}),
    ("OutputPath a number", one(pass_(OutputPath=1)), {(SCHEMA, "/States/S/OutputPath")}),
    ("ResultPath with wildcard", one(pass_(ResultPath="$.a[*]")), {(SCHEMA, "/States/S/ResultPath")}),
    ("ResultPath with a function", one(pass_(ResultPath="$.a.length()")), {(SCHEMA, "/States/S/ResultPath")}),
    ("ResultPath from the context object", one(pass_(ResultPath="$$.x")), {(SCHEMA, "/States/S/ResultPath")}),
    ("ResultPath to a variable", one(pass_(ResultPath="$v")), {(SCHEMA, "/States/S/ResultPath")}),
    ("Parameters not an object", one(pass_(Parameters=[1])), {(SCHEMA, "/States/S/Parameters")}),
    ("Assign bad variable name", one(pass_(Assign={"1x": 1})), {(SCHEMA, "/States/S/Assign/1x")}),
    ("Assign not an object", one(pass_(Assign=3)), {(SCHEMA, "/States/S/Assign")}),
    # --- Next and End --------------------------------------------------------------------------------
    ("Next and End", one(pass_(End=True)), {(SCHEMA, "/States/S")}),
    ("neither Next nor End", one({"Type": "Pass"}), {(SCHEMA, "/States/S"), ("MISSING_END_STATE", "")}),
    (
        "End false without Next",
        {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": False}}},
        {(SCHEMA, "/States/S"), ("MISSING_END_STATE", "")},
    ),
    (
        "End not a boolean",
        {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": "true"}}},
        {(SCHEMA, "/States/S/End"), ("MISSING_END_STATE", "")},
    ),
    (
        "Next not a string",
        {"StartAt": "S", "States": {"S": {"Type": "Pass", "Next": 1}, "E": END}},
        {(SCHEMA, "/States/S/Next"), (TARGET, "/States/E")},
    ),
    (
        "Next names no state",
        one(pass_(Next="Nowhere")),
        {(TARGET, "/States/S/Next"), ("MISSING_END_STATE", "")},
    ),
    (
        "Default names no state",
        one(choice(rule(StringEquals="a"), Default="Gone")),
        {(TARGET, "/States/S/Default")},
    ),
    (
        "Choice Next names no state",
        one(choice(rule(StringEquals="a", Next="Gone"))),
        {(TARGET, "/States/S/Choices/0/Next")},
    ),
    (
        "Catch Next names no state",
        one(task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Gone"}])),
        {(TARGET, "/States/S/Catch/0/Next")},
    ),
    ("unreachable state", one(pass_(), Lost=pass_()), {(TARGET, "/States/Lost")}),
    (
        "no terminal state",
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}},
        {("MISSING_END_STATE", "")},
    ),
    (
        "loop with an unreachable terminal",
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}, "C": END}},
        {(TARGET, "/States/C")},
    ),
    (
        "transition out of a branch",
        one(
            {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "Done"}}}],
                "Next": "Done",
            }
        ),
        {(TARGET, "/States/S/Branches/0/States/B/Next"), ("MISSING_END_STATE", "/States/S/Branches/0")},
    ),
    # --- Task ----------------------------------------------------------------------------------------
    ("missing Resource", one({"Type": "Task", "Next": "Done"}), {(SCHEMA, "/States/S")}),
    ("Resource not a string", one(task(Resource={"a": 1})), {(SCHEMA, "/States/S/Resource")}),
    (
        "aws-sdk resource without a local endpoint",
        one(task(Resource="arn:aws:states:::aws-sdk:ec2:describeInstances")),
        {("INVALID_RESOURCE", "/States/S/Resource")},
    ),
    (
        "ecs resource",  # sns:publish runs locally since the messaging integrations (i12)
        one(task(Resource="arn:aws:states:::ecs:runTask")),
        {("INVALID_RESOURCE", "/States/S/Resource")},
    ),
    (
        "lambda invoke .sync",
        one(task(Resource=LAMBDA_INVOKE + ".sync", Parameters={"FunctionName": "f"})),
        {("INVALID_RESOURCE", "/States/S/Resource")},
    ),
    (
        "activity (served by stepmap serve's GetActivityTask)",
        one(task(Resource="arn:aws:states:us-east-1:123456789012:activity:a")),
        set(),
    ),
    ("bad function name", one(task(Resource="my function")), {("INVALID_RESOURCE", "/States/S/Resource")}),
    (
        "lambda ARN with bad account",
        one(task(Resource="arn:aws:lambda:us-east-1:123:function:f")),
        {("INVALID_RESOURCE", "/States/S/Resource")},
    ),
    ("lambda:invoke without Parameters", one(task(Resource=LAMBDA_INVOKE)), {(SCHEMA, "/States/S")}),
    (
        "lambda:invoke without FunctionName",
        one(task(Resource=LAMBDA_INVOKE, Parameters={"Payload": {}})),
        {(SCHEMA, "/States/S/Parameters")},
    ),
    (
        "lambda:invoke unknown parameter",
        one(task(Resource=LAMBDA_INVOKE, Parameters={"FunctionName": "f", "Paylod": 1})),
        {(SCHEMA, "/States/S/Parameters/Paylod")},
    ),
    (
        "lambda:invoke FunctionName.$ is fine",
        one(task(Resource=LAMBDA_INVOKE, Parameters={"FunctionName.$": "$.fn"})),
        set(),
    ),
    ("TimeoutSeconds zero", one(task(TimeoutSeconds=0)), {(SCHEMA, "/States/S/TimeoutSeconds")}),
    ("TimeoutSeconds a string path", one(task(TimeoutSeconds="$.t")), {(SCHEMA, "/States/S/TimeoutSeconds")}),
    (
        "HeartbeatSeconds a boolean",
        one(task(HeartbeatSeconds=True)),
        {(SCHEMA, "/States/S/HeartbeatSeconds")},
    ),
    (
        "heartbeat not below timeout",
        one(task(TimeoutSeconds=10, HeartbeatSeconds=10)),
        {(SCHEMA, "/States/S/HeartbeatSeconds")},
    ),
    (
        "TimeoutSeconds and its Path",
        one(task(TimeoutSeconds=10, TimeoutSecondsPath="$.t")),
        {(SCHEMA, "/States/S/TimeoutSecondsPath")},
    ),
    (
        "HeartbeatSecondsPath indefinite",
        one(task(HeartbeatSecondsPath="$.a[*]")),
        {(SCHEMA, "/States/S/HeartbeatSecondsPath")},
    ),
    # --- payload templates -----------------------------------------------------------------------------
    ("dollar value not a string", one(pass_(Parameters={"a.$": 1})), {(SCHEMA, "/States/S/Parameters/a.$")}),
    (
        "dollar value not a path",
        one(pass_(Parameters={"a.$": "hello"})),
        {(SCHEMA, "/States/S/Parameters/a.$")},
    ),
    (
        "dollar value bad path",
        one(pass_(Parameters={"a": {"b.$": "$..["}})),
        {(SCHEMA, "/States/S/Parameters/a/b.$")},
    ),
    (
        "dollar value bad intrinsic",
        one(pass_(Parameters={"a.$": "States.Nope(1)"})),
        {(SCHEMA, "/States/S/Parameters/a.$")},
    ),
    (
        "intrinsic with wrong arity",
        one(pass_(Parameters={"a.$": "States.ArrayLength()"})),
        {(SCHEMA, "/States/S/Parameters/a.$")},
    ),
    (
        "template in an array",
        one(pass_(Parameters={"a": [{"b.$": 3}]})),
        {(SCHEMA, "/States/S/Parameters/a/0/b.$")},
    ),
    ("both a and a.$", one(pass_(Parameters={"a": 1, "a.$": "$.a"})), {(SCHEMA, "/States/S/Parameters/a.$")}),
    ("NO_DOLLAR path value", one(pass_(Parameters={"a": "$.a"})), {("NO_DOLLAR", "/States/S/Parameters/a")}),
    (
        "NO_DOLLAR intrinsic value",
        one(pass_(Parameters={"a": "States.UUID()"})),
        {("NO_DOLLAR", "/States/S/Parameters/a")},
    ),
    (
        "PASS_RESULT_IS_STATIC",
        one(pass_(Result={"a": {"b.$": "$.b"}})),
        {("PASS_RESULT_IS_STATIC", "/States/S/Result/a/b.$")},
    ),
    (
        "ResultSelector bad path",
        one(task(ResultSelector={"x.$": "$["})),
        {(SCHEMA, "/States/S/ResultSelector/x.$")},
    ),
    ("Assign value bad path", one(pass_(Assign={"x.$": "$.a["})), {(SCHEMA, "/States/S/Assign/x.$")}),
    # --- Retry and Catch -------------------------------------------------------------------------------
    ("Retry not an array", one(task(Retry={})), {(SCHEMA, "/States/S/Retry")}),
    ("Retrier without ErrorEquals", one(task(Retry=[{"MaxAttempts": 1}])), {(SCHEMA, "/States/S/Retry/0")}),
    (
        "empty ErrorEquals",
        one(task(Retry=[{"ErrorEquals": []}])),
        {(SCHEMA, "/States/S/Retry/0/ErrorEquals")},
    ),
    (
        "empty error name",
        one(task(Retry=[{"ErrorEquals": [""]}])),
        {(SCHEMA, "/States/S/Retry/0/ErrorEquals/0")},
    ),
    (
        "custom States. error (AWS accepts it: a warning)",
        one(task(Retry=[{"ErrorEquals": ["States.Oops"]}])),
        {("UNKNOWN_ERROR_NAME", "/States/S/Retry/0/ErrorEquals/0")},
    ),
    (
        "States.ALL not alone",
        one(task(Retry=[{"ErrorEquals": ["States.ALL", "X"]}])),
        {(SCHEMA, "/States/S/Retry/0/ErrorEquals")},
    ),
    (
        "States.ALL not last retrier",
        one(task(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}])),
        {(SCHEMA, "/States/S/Retry/0/ErrorEquals")},
    ),
    (
        "IntervalSeconds zero",
        one(task(Retry=[{"ErrorEquals": ["X"], "IntervalSeconds": 0}])),
        {(SCHEMA, "/States/S/Retry/0/IntervalSeconds")},
    ),
    (
        "MaxAttempts negative",
        one(task(Retry=[{"ErrorEquals": ["X"], "MaxAttempts": -1}])),
        {(SCHEMA, "/States/S/Retry/0/MaxAttempts")},
    ),
    (
        "BackoffRate below one",
        one(task(Retry=[{"ErrorEquals": ["X"], "BackoffRate": 0.5}])),
        {(SCHEMA, "/States/S/Retry/0/BackoffRate")},
    ),
    (
        "MaxDelaySeconds too large",
        one(task(Retry=[{"ErrorEquals": ["X"], "MaxDelaySeconds": 31622402}])),
        {(SCHEMA, "/States/S/Retry/0/MaxDelaySeconds")},
    ),
    (
        "JitterStrategy unknown",
        one(task(Retry=[{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}])),
        {(SCHEMA, "/States/S/Retry/0/JitterStrategy")},
    ),
    (
        "Retrier unknown field",
        one(task(Retry=[{"ErrorEquals": ["X"], "MaxAttempt": 1}])),
        {(SCHEMA, "/States/S/Retry/0/MaxAttempt")},
    ),
    ("Catcher without Next", one(task(Catch=[{"ErrorEquals": ["X"]}])), {(SCHEMA, "/States/S/Catch/0")}),
    (
        "States.ALL not last catcher",
        one(
            task(
                Catch=[
                    {"ErrorEquals": ["States.ALL"], "Next": "Done"},
                    {"ErrorEquals": ["X"], "Next": "Done"},
                ]
            )
        ),
        {(SCHEMA, "/States/S/Catch/0/ErrorEquals")},
    ),
    (
        "Catcher bad ResultPath",
        one(task(Catch=[{"ErrorEquals": ["X"], "Next": "Done", "ResultPath": "$..e"}])),
        {(SCHEMA, "/States/S/Catch/0/ResultPath")},
    ),
    # --- Choice ----------------------------------------------------------------------------------------
    ("missing Choices", one({"Type": "Choice", "Default": "Done"}), {(SCHEMA, "/States/S")}),
    ("empty Choices", one(choice()), {(SCHEMA, "/States/S/Choices")}),
    (
        "rule without Next",
        one(choice({"Variable": "$.x", "IsNull": True})),
        {(SCHEMA, "/States/S/Choices/0")},
    ),
    (
        "nested rule with Next",
        one(choice({"Not": rule(IsNull=True), "Next": "Done"})),
        {(SCHEMA, "/States/S/Choices/0/Not/Next")},
    ),
    ("rule without operator", one(choice(rule())), {(SCHEMA, "/States/S/Choices/0")}),
    (
        "rule with two operators",
        one(choice(rule(IsNull=True, IsString=True))),
        {(SCHEMA, "/States/S/Choices/0")},
    ),
    (
        "comparison without Variable",
        one(choice({"StringEquals": "a", "Next": "Done"})),
        {(SCHEMA, "/States/S/Choices/0")},
    ),
    (
        "Variable not a reference path",
        one(choice(rule(Variable="$.a[*]", IsNull=True))),
        {(SCHEMA, "/States/S/Choices/0/Variable")},
    ),
    (
        "misspelled operator",
        one(choice(rule(StringEqual="a"))),
        {(SCHEMA, "/States/S/Choices/0/StringEqual"), (SCHEMA, "/States/S/Choices/0")},
    ),
    (
        "StringEquals a number",
        one(choice(rule(StringEquals=1))),
        {(SCHEMA, "/States/S/Choices/0/StringEquals")},
    ),
    (
        "NumericEquals a string",
        one(choice(rule(NumericEquals="1"))),
        {(SCHEMA, "/States/S/Choices/0/NumericEquals")},
    ),
    (
        "NumericEquals a boolean",
        one(choice(rule(NumericEquals=True))),
        {(SCHEMA, "/States/S/Choices/0/NumericEquals")},
    ),
    (
        "BooleanEquals a string",
        one(choice(rule(BooleanEquals="true"))),
        {(SCHEMA, "/States/S/Choices/0/BooleanEquals")},
    ),
    (
        "TimestampEquals lower-case t",
        one(choice(rule(TimestampEquals="2026-01-01t00:00:00Z"))),
        {(SCHEMA, "/States/S/Choices/0/TimestampEquals")},
    ),
    (
        "StringEqualsPath not a path",
        one(choice(rule(StringEqualsPath="a"))),
        {(SCHEMA, "/States/S/Choices/0/StringEqualsPath")},
    ),
    (
        "StringMatchesPath does not exist",
        one(choice(rule(StringMatchesPath="$.p"))),
        {(SCHEMA, "/States/S/Choices/0/StringMatchesPath"), (SCHEMA, "/States/S/Choices/0")},
    ),
    ("IsPresent a string", one(choice(rule(IsPresent="yes"))), {(SCHEMA, "/States/S/Choices/0/IsPresent")}),
    ("empty And", one(choice({"And": [], "Next": "Done"})), {(SCHEMA, "/States/S/Choices/0/And")}),
    (
        "Or not an array",
        one(choice({"Or": {"Variable": "$.x", "IsNull": True}, "Next": "Done"})),
        {(SCHEMA, "/States/S/Choices/0/Or")},
    ),
    (
        "Not an array",
        one(choice({"Not": [rule(IsNull=True)], "Next": "Done"})),
        {(SCHEMA, "/States/S/Choices/0/Not")},
    ),
    (
        "Variable beside And",
        one(choice({"Variable": "$.x", "And": [{"Variable": "$.x", "IsNull": True}], "Next": "Done"})),
        {(SCHEMA, "/States/S/Choices/0/Variable")},
    ),
    (
        "deep nested rule error",
        one(choice({"And": [{"Or": [{"Variable": "$.x", "NumericEquals": "1"}]}], "Next": "Done"})),
        {(SCHEMA, "/States/S/Choices/0/And/0/Or/0/NumericEquals")},
    ),
    ("Choice with Next", one(choice(rule(IsNull=True), Next="Done")), {(SCHEMA, "/States/S/Next")}),
    # --- Wait ------------------------------------------------------------------------------------------
    ("Wait without duration", one({"Type": "Wait", "Next": "Done"}), {(SCHEMA, "/States/S")}),
    (
        "Wait with two durations",
        one({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "Next": "Done"}),
        {(SCHEMA, "/States/S")},
    ),
    (
        "Wait Seconds negative",
        one({"Type": "Wait", "Seconds": -1, "Next": "Done"}),
        {(SCHEMA, "/States/S/Seconds")},
    ),
    (
        "Wait Timestamp lower-case z",
        one({"Type": "Wait", "Timestamp": "2026-01-01T00:00:00z", "Next": "Done"}),
        {(SCHEMA, "/States/S/Timestamp")},
    ),
    (
        "Wait Timestamp without zone",
        one({"Type": "Wait", "Timestamp": "2026-01-01T00:00:00", "Next": "Done"}),
        {(SCHEMA, "/States/S/Timestamp")},
    ),
    (
        "Wait TimestampPath bad",
        one({"Type": "Wait", "TimestampPath": "$.[", "Next": "Done"}),
        {(SCHEMA, "/States/S/TimestampPath")},
    ),
    # --- Fail ------------------------------------------------------------------------------------------
    (
        "Fail Error and ErrorPath",
        one({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}),
        {(SCHEMA, "/States/S/ErrorPath")},
    ),
    (
        "Fail Cause and CausePath",
        one({"Type": "Fail", "Cause": "E", "CausePath": "$.e"}),
        {(SCHEMA, "/States/S/CausePath")},
    ),
    (
        "Fail custom States. error",
        one({"Type": "Fail", "Error": "States.Mine"}),
        {(SCHEMA, "/States/S/Error")},
    ),
    ("Fail predefined error", one({"Type": "Fail", "Error": "States.TaskFailed"}), set()),
    ("Fail ErrorPath intrinsic", one({"Type": "Fail", "ErrorPath": "States.Format('E{}', $.n)"}), set()),
    (
        "Fail ErrorPath bad intrinsic",
        one({"Type": "Fail", "ErrorPath": "States.Format("}),
        {(SCHEMA, "/States/S/ErrorPath")},
    ),
    (
        "Fail Cause looks like a path",
        one({"Type": "Fail", "Cause": "$.cause"}),
        {("NO_PATH", "/States/S/Cause")},
    ),
    # --- Parallel --------------------------------------------------------------------------------------
    ("missing Branches", one({"Type": "Parallel", "Next": "Done"}), {(SCHEMA, "/States/S")}),
    (
        "empty Branches",
        one({"Type": "Parallel", "Branches": [], "Next": "Done"}),
        {(SCHEMA, "/States/S/Branches")},
    ),
    (
        "branch without StartAt",
        one({"Type": "Parallel", "Branches": [{"States": {"A": END}}], "Next": "Done"}),
        {(SCHEMA, "/States/S/Branches/0")},
    ),
    (
        "branch not an object",
        one({"Type": "Parallel", "Branches": ["x"], "Next": "Done"}),
        {(SCHEMA, "/States/S/Branches/0")},
    ),
    (
        "error inside a branch",
        one(
            {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "ResultPath": 3}}}
                ],
                "Next": "Done",
            }
        ),
        {(SCHEMA, "/States/S/Branches/0/States/A/ResultPath")},
    ),
    # --- Map -------------------------------------------------------------------------------------------
    ("Map without processor", one({"Type": "Map", "Next": "Done"}), {(SCHEMA, "/States/S")}),
    (
        "Map with ItemProcessor and Iterator",
        one(inline_map(Iterator={"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}})),
        {(SCHEMA, "/States/S/Iterator")},
    ),
    ("Map ItemsPath indefinite", one(inline_map(ItemsPath="$.a[*]")), {(SCHEMA, "/States/S/ItemsPath")}),
    (
        "Map Parameters and ItemSelector",
        one(inline_map(Parameters={}, ItemSelector={})),
        {(SCHEMA, "/States/S/Parameters")},
    ),
    (
        "Map MaxConcurrency negative",
        one(inline_map(MaxConcurrency=-1)),
        {(SCHEMA, "/States/S/MaxConcurrency")},
    ),
    (
        "Map MaxConcurrency and Path",
        one(inline_map(MaxConcurrency=1, MaxConcurrencyPath="$.m")),
        {(SCHEMA, "/States/S/MaxConcurrencyPath")},
    ),
    (
        "processor transition to the parent",
        one(
            {
                **inline_map(),
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Next": "Done"}}},
            }
        ),
        {(TARGET, "/States/S/ItemProcessor/States/I/Next"), ("MISSING_END_STATE", "/States/S/ItemProcessor")},
    ),
    (
        "bad Mode",
        one(
            {
                **inline_map(),
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "PARALLEL"},
                    "StartAt": "I",
                    "States": {"I": END},
                },
            }
        ),
        {(SCHEMA, "/States/S/ItemProcessor/ProcessorConfig/Mode")},
    ),
    (
        "DISTRIBUTED without ExecutionType",
        one(
            {
                **inline_map(),
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                    "StartAt": "I",
                    "States": {"I": END},
                },
            }
        ),
        {(SCHEMA, "/States/S/ItemProcessor/ProcessorConfig")},
    ),
    (
        "INLINE with ExecutionType",
        one(
            {
                **inline_map(),
                "ItemProcessor": {
                    "ProcessorConfig": {"ExecutionType": "EXPRESS"},
                    "StartAt": "I",
                    "States": {"I": END},
                },
            }
        ),
        {(SCHEMA, "/States/S/ItemProcessor/ProcessorConfig/ExecutionType")},
    ),
    (
        "ItemReader on an INLINE map",
        one(inline_map(ItemReader=reader(InputType="JSON"))),
        {(SCHEMA, "/States/S/ItemReader")},
    ),
    ("Label on an INLINE map", one(inline_map(Label="x")), {(SCHEMA, "/States/S/Label")}),
    (
        "ToleratedFailureCount on an INLINE map",
        one(inline_map(ToleratedFailureCount=1)),
        {(SCHEMA, "/States/S/ToleratedFailureCount")},
    ),
    (
        "ToleratedFailurePercentage over 100",
        one(dmap(ToleratedFailurePercentage=101)),
        {(SCHEMA, "/States/S/ToleratedFailurePercentage")},
    ),
    (
        "ToleratedFailureCount negative",
        one(dmap(ToleratedFailureCount=-1)),
        {(SCHEMA, "/States/S/ToleratedFailureCount")},
    ),
    (
        "ToleratedFailureCount and Path",
        one(dmap(ToleratedFailureCount=1, ToleratedFailureCountPath="$.n")),
        {(SCHEMA, "/States/S/ToleratedFailureCountPath")},
    ),
    ("invalid label", one(dmap(Label="has space")), {("INVALID_LABEL_NAME", "/States/S/Label")}),
    ("label too long", one(dmap(Label="x" * 41)), {("INVALID_LABEL_NAME", "/States/S/Label")}),
    (
        "duplicate label",
        {
            "StartAt": "A",
            "States": {
                "A": {**dmap(Label="L"), "Next": "B"},
                "B": {
                    **dmap(Label="L"),
                    "Next": "Done",
                    "ItemProcessor": {**dmap()["ItemProcessor"], "StartAt": "J", "States": {"J": END}},
                },
                "Done": END,
            },
        },
        {("DUPLICATE_LABEL_NAME", "/States/B/Label")},
    ),
    # --- ItemReader ------------------------------------------------------------------------------------
    (
        "ItemReader unsupported resource",
        one(dmap(ItemReader={"Resource": "arn:aws:states:::s3:selectObjectContent"})),
        {("INVALID_RESOURCE", "/States/S/ItemReader/Resource")},
    ),
    (
        "ItemReader without Resource",
        one(dmap(ItemReader={"Parameters": {"Bucket": "b"}})),
        {(SCHEMA, "/States/S/ItemReader")},
    ),
    (
        "ItemReader without Bucket",
        one(
            dmap(ItemReader={"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Prefix": "p"}})
        ),
        {(SCHEMA, "/States/S/ItemReader/Parameters")},
    ),
    (
        "ItemReader Bucket.$ is fine",
        one(
            dmap(
                ItemReader={
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket.$": "$.b"},
                }
            )
        ),
        set(),
    ),
    (
        "getObject without Key",
        one(
            dmap(
                ItemReader={
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket": "b"},
                    "ReaderConfig": {"InputType": "JSON"},
                }
            )
        ),
        {(SCHEMA, "/States/S/ItemReader/Parameters")},
    ),
    (
        "ItemReader unknown parameter",
        one(
            dmap(
                ItemReader={
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": "b", "Prefx": "p"},
                }
            )
        ),
        {(SCHEMA, "/States/S/ItemReader/Parameters/Prefx")},
    ),
    (
        "getObject without InputType",
        one(
            dmap(
                ItemReader={
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket": "b", "Key": "k"},
                }
            )
        ),
        {(SCHEMA, "/States/S/ItemReader")},
    ),
    (
        "bad InputType",
        one(dmap(ItemReader=reader(InputType="XML"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/InputType")},
    ),
    (
        "GIVEN without CSVHeaders",
        one(dmap(ItemReader=reader(InputType="CSV", CSVHeaderLocation="GIVEN"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig")},
    ),
    (
        "CSVHeaders without GIVEN",
        one(dmap(ItemReader=reader(InputType="CSV", CSVHeaders=["a"]))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/CSVHeaders")},
    ),
    (
        "CSVHeaders not strings",
        one(dmap(ItemReader=reader(InputType="CSV", CSVHeaderLocation="GIVEN", CSVHeaders=[1]))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/CSVHeaders")},
    ),
    (
        "bad CSVDelimiter",
        one(dmap(ItemReader=reader(InputType="CSV", CSVDelimiter="COLON"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/CSVDelimiter")},
    ),
    (
        "CSVDelimiter on JSON",
        one(dmap(ItemReader=reader(InputType="JSON", CSVDelimiter="TAB"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/CSVDelimiter")},
    ),
    (
        "MaxItems zero",
        one(dmap(ItemReader=reader(InputType="JSONL", MaxItems=0))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/MaxItems")},
    ),
    (
        "MaxItems too large",
        one(dmap(ItemReader=reader(InputType="JSONL", MaxItems=100_000_001))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/MaxItems")},
    ),
    (
        "MaxItems and Path",
        one(dmap(ItemReader=reader(InputType="JSONL", MaxItems=1, MaxItemsPath="$.m"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/MaxItemsPath")},
    ),
    (
        "ItemsPointer on CSV",
        one(dmap(ItemReader=reader(InputType="CSV", ItemsPointer="/a"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/ItemsPointer")},
    ),
    (
        "ItemsPointer not a pointer",
        one(dmap(ItemReader=reader(InputType="JSON", ItemsPointer="a/b"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/ItemsPointer")},
    ),
    (
        "bad ManifestType",
        one(dmap(ItemReader=reader(ManifestType="CSV_INVENTORY"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/ManifestType")},
    ),
    (
        "ATHENA_DATA without InputType",
        one(dmap(ItemReader=reader(ManifestType="ATHENA_DATA"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig")},
    ),
    (
        "LOAD_AND_FLATTEN on getObject",
        one(dmap(ItemReader=reader(InputType="JSON", Transformation="LOAD_AND_FLATTEN"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/Transformation")},
    ),
    (
        "LOAD_AND_FLATTEN without InputType",
        one(
            dmap(
                ItemReader={
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": "b"},
                    "ReaderConfig": {"Transformation": "LOAD_AND_FLATTEN"},
                }
            )
        ),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig")},
    ),
    (
        "LOAD_AND_FLATTEN listObjectsV2 is fine",
        one(
            dmap(
                ItemReader={
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": "b", "Prefix": "p/"},
                    "ReaderConfig": {"Transformation": "LOAD_AND_FLATTEN", "InputType": "JSONL"},
                }
            )
        ),
        set(),
    ),
    (
        "TEXT_BLOCKS with BlockSizeBytes is fine",
        one(dmap(ItemReader=reader(InputType="TEXT_BLOCKS", BlockSizeBytes=1024))),
        set(),
    ),
    (
        "BlockSizeBytes zero",
        one(dmap(ItemReader=reader(InputType="TEXT_BLOCKS", BlockSizeBytes=0))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/BlockSizeBytes")},
    ),
    (
        "BlockSizeBytes on CSV",
        one(dmap(ItemReader=reader(InputType="CSV", BlockSizeBytes=10))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/BlockSizeBytes")},
    ),
    (
        "ReaderConfig unknown field",
        one(dmap(ItemReader=reader(InputType="CSV", Delimiter="TAB"))),
        {(SCHEMA, "/States/S/ItemReader/ReaderConfig/Delimiter")},
    ),
    # --- ItemBatcher and ResultWriter ------------------------------------------------------------------
    (
        "ItemBatcher without limits",
        one(dmap(ItemBatcher={"BatchInput": {}})),
        {(SCHEMA, "/States/S/ItemBatcher")},
    ),
    (
        "ItemBatcher too many bytes",
        one(dmap(ItemBatcher={"MaxInputBytesPerBatch": 262145})),
        {(SCHEMA, "/States/S/ItemBatcher/MaxInputBytesPerBatch")},
    ),
    (
        "ItemBatcher zero items",
        one(dmap(ItemBatcher={"MaxItemsPerBatch": 0})),
        {(SCHEMA, "/States/S/ItemBatcher/MaxItemsPerBatch")},
    ),
    (
        "ItemBatcher BatchInput not an object",
        one(dmap(ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": 3})),
        {(SCHEMA, "/States/S/ItemBatcher/BatchInput")},
    ),
    ("ItemBatcher Path is fine", one(dmap(ItemBatcher={"MaxItemsPerBatchPath": "$.n"})), set()),
    ("ResultWriter empty", one(dmap(ResultWriter={})), {(SCHEMA, "/States/S/ResultWriter")}),
    (
        "ResultWriter WriterConfig only is fine",
        one(dmap(ResultWriter={"WriterConfig": {"OutputType": "JSON", "Transformation": "COMPACT"}})),
        set(),
    ),
    (
        "ResultWriter without Parameters",
        one(dmap(ResultWriter={"Resource": "arn:aws:states:::s3:putObject"})),
        {(SCHEMA, "/States/S/ResultWriter")},
    ),
    (
        "ResultWriter Parameters without Resource",
        one(dmap(ResultWriter={"Parameters": {"Bucket": "b"}})),
        {(SCHEMA, "/States/S/ResultWriter"), (SCHEMA, "/States/S/ResultWriter/Parameters")},
    ),
    (
        "ResultWriter bad resource",
        one(dmap(ResultWriter={"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b"}})),
        {("INVALID_RESOURCE", "/States/S/ResultWriter/Resource")},
    ),
    (
        "ResultWriter bad OutputType",
        one(dmap(ResultWriter={"WriterConfig": {"OutputType": "CSV"}})),
        {(SCHEMA, "/States/S/ResultWriter/WriterConfig/OutputType")},
    ),
    (
        "ResultWriter bad Transformation",
        one(dmap(ResultWriter={"WriterConfig": {"Transformation": "ZIP"}})),
        {(SCHEMA, "/States/S/ResultWriter/WriterConfig/Transformation")},
    ),
    (
        "ResultWriter without Bucket",
        one(dmap(ResultWriter={"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Prefix": "p"}})),
        {(SCHEMA, "/States/S/ResultWriter/Parameters")},
    ),
]


@pytest.mark.parametrize(("definition", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(definition: object, expected: set[tuple[str, str]]) -> None:
    assert found(definition) == expected


def test_many_mistakes_are_all_reported() -> None:
    definition = {
        "StartAt": "Start",
        "Commment": "typo",
        "States": {
            "Start": {"Type": "Task", "Resource": "work", "Nxt": "Choose", "TimeoutSeconds": -5},
            "Choose": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.x", "NumericEquals": "3", "Next": "Missing"},
                    {"Variable": "$.y", "Next": "Done"},
                ],
                "Default": "Done",
            },
            "Pause": {"Type": "Wait", "Seconds": 1, "Timestamp": "now", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    assert found(definition) == {
        (SCHEMA, "/Commment"),
        (SCHEMA, "/States/Start/Nxt"),
        (SCHEMA, "/States/Start/TimeoutSeconds"),
        (SCHEMA, "/States/Start"),  # neither Next nor End
        (SCHEMA, "/States/Choose/Choices/0/NumericEquals"),
        (TARGET, "/States/Choose/Choices/0/Next"),
        (SCHEMA, "/States/Choose/Choices/1"),  # no operator
        (SCHEMA, "/States/Pause"),  # two durations
        (SCHEMA, "/States/Pause/Timestamp"),
        (TARGET, "/States/Choose"),  # unreachable: Start has no Next
        (TARGET, "/States/Pause"),
        (TARGET, "/States/Done"),
    }


def test_messages_say_what_to_do() -> None:
    messages = {p.location: p.message for p in validate(one(pass_(Next="Doen"), Done=END))}
    assert messages["/States/S/Next"] == "Missing 'Next' target: Doen; did you mean 'Done'?"
    [unreachable] = validate(one(pass_(), Lost=pass_()))
    assert unreachable.message == 'State "Lost" is not reachable.'
    [enum] = validate(one(task(Retry=[{"ErrorEquals": ["X"], "JitterStrategy": "full"}])))
    assert "did you mean 'FULL'?" in enum.message
    [custom] = validate(one(task(Retry=[{"ErrorEquals": ["States.Timout"]}])))
    assert "did you mean 'States.Timeout'?" in custom.message
    [resource] = validate(one(task(Resource="arn:aws:states:::aws-sdk:ec2:describeInstances")))
    assert "'aws-sdk:ec2' is not supported by stepmap yet" in resource.message
    [seconds] = validate(one(task(TimeoutSeconds="$.t")))
    assert "TimeoutSecondsPath" in seconds.message


def test_warnings_have_warning_severity() -> None:
    [warning] = validate(one(pass_(Parameters={"a": "$.a"})))
    assert (warning.code, warning.severity) == ("NO_DOLLAR", "WARNING")


# --- JSONata ---------------------------------------------------------------------------------------------


def test_jsonata_definition_is_valid() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                "Output": "{% $states.result.Payload %}",
                "TimeoutSeconds": "{% $states.input.timeout %}",
                "Assign": {"x": "{% $states.result %}"},
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Next": "F", "Output": "{% $states.errorOutput %}"}
                ],
                "Next": "C",
            },
            "C": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "M", "Output": {"a": 1}}],
                "Default": "F",
            },
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.list %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "Next": "W",
            },
            "W": {"Type": "Wait", "Seconds": "{% 1 %}", "Next": "F"},
            "F": {"Type": "Fail", "Error": "{% 'E' %}", "Cause": "{% 'c' %}"},
        },
    }
    problems = validate(definition)
    assert problems == []


def test_jsonata_states_mix_with_jsonpath_states() -> None:
    state = {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "Next": "Done"}
    definition = {"StartAt": "A", "States": {"A": {**state, "Next": "B"}, "B": state, "Done": END}}
    assert found(definition) == set()


@pytest.mark.parametrize(
    ("expression", "code", "message"),
    [
        # AWS refuses these at CreateStateMachine, with the parser's message without its code
        ("{% 1 + %}", "INVALID_JSONATA_EXPRESSION", "Unexpected end of expression"),
        ("{% a[1,2) %}", "INVALID_JSONATA_EXPRESSION", None),
        ("{% 'unterminated %}", "INVALID_JSONATA_EXPRESSION", None),
        (
            "{% phone %}",
            "UNSUPPORTED_JSONATA_EXPRESSION",
            "Reference to 'phone' at the top level is not supported.",
        ),
        ("{% $ %}", "UNSUPPORTED_JSONATA_EXPRESSION", "Reference to '$' at the top level is not supported."),
        ("{% $$ %}", "UNSUPPORTED_JSONATA_EXPRESSION", None),
        (
            "{% a.b & 'x' %}",
            "UNSUPPORTED_JSONATA_EXPRESSION",
            "Reference to 'a' at the top level is not supported.",
        ),
    ],
)
def test_jsonata_expressions_are_checked(expression: str, code: str, message: str | None) -> None:
    definition = one(pass_(QueryLanguage="JSONata", Output={"v": expression}))
    [problem] = validate(definition)
    assert (problem.code, problem.location) == (code, "/States/S/Output/v")
    if message is not None:
        assert problem.message == message


@pytest.mark.parametrize(
    "expression",
    [
        "{% $states.input.items[price > 10].name %}",
        "{% $map($states.input.list, function($v) { $v.a }) %}",
        "{% {'a': $states.context.Execution.Id} %}",
        "{% $x.y %}",
        "{% ($n := $states.input.n; $n * 2) %}",
        "{% $states.input.items.$string(v * 10) %}",
        "{% $states.input.items.(price * qty) %}",
        "{% $match($states.input.s, /ab+c/i) %}",
        "{% $states.input ~> | Address | {'City': 'x'} | %}",
        "{% $states.input.a / 2 %}",
    ],
)
def test_jsonata_nested_references_are_fine(expression: str) -> None:
    assert validate(one(pass_(QueryLanguage="JSONata", Output=expression))) == []


@pytest.mark.parametrize(
    ("state", "where", "member"),
    [
        ({"Type": "Pass", "Output": {"v": "{% $states.result %}"}}, "/States/S/Output/v", "result"),
        (
            {"Type": "Task", "Resource": "echo", "Arguments": {"v": "{% $states.result.x %}"}},
            "/States/S/Arguments/v",
            "result",
        ),
        (
            {"Type": "Task", "Resource": "echo", "Output": "{% $states.errorOutput %}"},
            "/States/S/Output",
            "errorOutput",
        ),
        (
            {
                "Type": "Task",
                "Resource": "echo",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S", "Output": "{% $states.result %}"}],
            },
            "/States/S/Catch/0/Output",
            "result",
        ),
    ],
)
def test_states_members_where_they_do_not_exist(state: dict[str, Any], where: str, member: str) -> None:
    # AWS: UNSUPPORTED_JSONATA_EXPRESSION: Field '$states.errorOutput' does not exist.
    [problem] = validate(one({**state, "QueryLanguage": "JSONata", "End": True}))
    assert (problem.code, problem.location) == ("UNSUPPORTED_JSONATA_EXPRESSION", where)
    assert problem.message == f"Field '$states.{member}' does not exist."


def test_states_members_where_they_exist() -> None:
    state = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "echo",
        "End": True,
        "Output": "{% $states.result %}",
        "Assign": {"r": "{% $states.result %}"},
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "Next": "S",
                "Output": "{% $states.errorOutput %}",
                "Assign": {"e": "{% $states.errorOutput.Error %}"},
            }
        ],
    }
    assert validate(one(state)) == []


def test_a_jsonata_machine_cannot_mix_in_jsonpath_states() -> None:
    # statemachine-structure: "You cannot revert a top-level JSONata-based state machine to a mix of JSONata
    # and JSONPath states"; a JSONPath machine may convert state by state.
    jsonata_top = {**one(pass_(QueryLanguage="JSONPath")), "QueryLanguage": "JSONata"}
    assert found(jsonata_top) == {(SCHEMA, "/States/S/QueryLanguage")}
    jsonpath_top = one(pass_(QueryLanguage="JSONata"), Other=pass_(QueryLanguage="JSONPath"))
    assert not any(p.location.endswith("QueryLanguage") for p in validate(jsonpath_top))


def test_jsonata_expression_in_a_jsonpath_state_is_a_literal() -> None:
    assert validate(one(pass_(Result={"v": "{% 1 + %}"}))) == []


def test_fields_of_the_other_query_language() -> None:
    assert found(one(task(Arguments={}))) == {(SCHEMA, "/States/S/Arguments")}
    [problem] = validate(one(task(Arguments={})))
    assert "only supported for the 'JSONata' QueryLanguage" in problem.message
    jsonata = one(pass_(QueryLanguage="JSONata", Parameters={}, ResultPath="$.x"))
    assert found(jsonata) == {
        (SCHEMA, "/States/S/Parameters"),
        (SCHEMA, "/States/S/ResultPath"),
    }
    condition = one(choice({"Condition": "{% true %}", "Next": "Done"}))
    assert (SCHEMA, "/States/S/Choices/0/Condition") in found(condition)


# --- hostile input ---------------------------------------------------------------------------------------


def _nested_parallel(depth: int) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Pass", "End": True}
    for i in range(depth):
        branch = {"StartAt": f"S{i}", "States": {f"S{i}": state}}
        state = {"Type": "Parallel", "Branches": [branch], "End": True}
    return {"StartAt": "Top", "States": {"Top": state}}


def _nested(depth: int, make: Any, leaf: Any) -> Any:
    node = leaf
    for _ in range(depth):
        node = make(node)
    return node


@pytest.mark.parametrize(
    "definition",
    [
        _nested_parallel(3000),
        one(
            choice(
                {
                    "Not": _nested(5000, lambda r: {"Not": r}, {"Variable": "$.x", "IsNull": True}),
                    "Next": "Done",
                }
            )
        ),
        one(pass_(Parameters=_nested(20000, lambda v: {"a": v}, 1))),
        one(pass_(Result=_nested(20000, lambda v: [v], []))),
        one(pass_(Assign={"v": _nested(20000, lambda v: [{"x.$": "$"}, v], 0)})),
    ],
    ids=["parallel", "choice", "parameters", "result", "assign"],
)
def test_deep_nesting_is_reported_not_crashed(definition: dict[str, Any]) -> None:
    problems = validate(definition)
    assert problems, "a definition nested this deep must be rejected"
    assert {p.code for p in problems} <= {"TOO_DEEPLY_NESTED", "PASS_RESULT_IS_STATIC", "NO_DOLLAR"}
    assert "TOO_DEEPLY_NESTED" in {p.code for p in problems}
    assert not any("internal error" in p.message for p in problems)


def test_nesting_within_the_limit_is_fine() -> None:
    # Each Parallel level adds four pointer segments (States/<name>/Branches/<i>).
    assert validate(_nested_parallel((MAX_DEPTH - 4) // 4)) == []


def test_cyclic_and_odd_python_values_do_not_hang_or_crash() -> None:
    cyclic: dict[str, Any] = {"Type": "Pass", "End": True}
    cyclic["Result"] = cyclic
    problems = validate({"StartAt": "S", "States": {"S": cyclic}})
    assert "TOO_DEEPLY_NESTED" in {p.code for p in problems}
    # YAML can produce non-string keys, dates and sets; none of them may crash the validator.
    import datetime

    odd = {
        "StartAt": "S",
        "States": {"S": {"Type": "Pass", "End": True, 1: 2, "Result": {datetime.date(2026, 1, 1)}}},
    }
    assert (SCHEMA, "/States/S/1") in found(odd)
    assert found({"StartAt": "S", "States": {3: END}}) == {
        ("INVALID_STATE_NAME", "/States/3"),
        (TARGET, "/StartAt"),
    }
    assert validate("not parsed JSON")[0].code == SCHEMA


def _positions(value: Any, loc: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [loc]
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(_positions(child, (*loc, key)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out.extend(_positions(child, (*loc, i)))
    return out


POSITIONS = _positions(VALID)[1:]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["$", "$$", "$.a[*]", "$.x", "States.Format(", "States.UUID()", "arn:aws:x", "{% 1 %}"]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.sampled_from(POSITIONS), value=JSON, add_key=st.one_of(st.none(), st.text(max_size=10)))
def test_any_json_at_any_position_never_raises(
    position: tuple[Any, ...], value: Any, add_key: str | None
) -> None:
    definition = copy.deepcopy(VALID)
    parent: Any = definition
    for key in position[:-1]:
        parent = parent[key]
    if add_key is not None and isinstance(parent, dict):
        parent[add_key] = value
    else:
        parent[position[-1]] = value
    problems = validate(definition)
    assert isinstance(problems, list)
    assert all(isinstance(p, Problem) and (p.location.startswith("/") or p.location == "") for p in problems)
    assert not any("internal error" in p.message for p in problems), problems
    json.dumps([p.to_json() for p in problems])


@settings(max_examples=100, deadline=None)
@given(value=JSON)
def test_any_json_as_a_whole_definition_never_raises(value: Any) -> None:
    problems = validate(value)
    assert not any("internal error" in p.message for p in problems), problems
    if value != {} and not isinstance(value, dict):
        assert problems


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.sampled_from(POSITIONS), value=JSON)
def test_what_validate_accepts_the_parser_accepts(position: tuple[Any, ...], value: Any) -> None:
    """The contract with :func:`stepmap.asl.model.parse_machine`: no ERROR problem, no parse failure."""
    from stepmap.asl.model import parse_machine

    definition = copy.deepcopy(VALID)
    parent: Any = definition
    for key in position[:-1]:
        parent = parent[key]
    parent[position[-1]] = value
    if not any(p.severity == "ERROR" for p in validate(definition)):
        parse_machine(definition)
