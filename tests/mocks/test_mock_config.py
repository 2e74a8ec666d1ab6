"""Step Functions Local's MockConfigFile: the format, its semantics (numbered and ranged responses,
Return/Throw, every Task kind, Map children) and the errors for bad files, written from AWS's
"Configuration file for mocked service integrations"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepmap.errors import InputError, StatesError
from stepmap.integrations.mock import load_mock_config
from stepmap.interpreter.clock import ManualClock
from stepmap.service.runner import StepmapService
from tests.mocks.handlers_for_mocks import explode, real

# The example of AWS's documentation, unchanged: what users' files look like.
AWS_EXAMPLE: dict[str, Any] = {
    "StateMachines": {
        "LambdaSQSIntegration": {
            "TestCases": {
                "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
                "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
                "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
            }
        }
    },
    "MockedResponses": {
        "MockedLambdaSuccess": {
            "0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
        },
        "LambdaMockedResourceNotReady": {
            "0": {
                "Throw": {
                    "Error": "Lambda.ResourceNotReadyException",
                    "Cause": "Lambda resource is not ready.",
                }
            }
        },
        "MockedSQSSuccess": {
            "0": {
                "Return": {
                    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
                    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
                }
            }
        },
        "MockedLambdaRetry": {
            "0": {
                "Throw": {
                    "Error": "Lambda.ResourceNotReadyException",
                    "Cause": "Lambda resource is not ready.",
                }
            },
            "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
            "3": {
                "Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
            },
        },
    },
}

LAMBDA_SQS = {
    "StartAt": "LambdaState",
    "States": {
        "LambdaState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:HelloWorld"},
            "Retry": [
                {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}
            ],
            "Next": "SQSState",
        },
        "SQSState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "MessageBody.$": "$",
            },
            "End": True,
        },
    },
}


def service(tmp_path: Path, config: Any, case: str, **functions: Any) -> StepmapService:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(config))
    return StepmapService(
        functions=functions,
        executor="sync",
        clock=ManualClock(),
        state_dir=str(tmp_path / "state"),
        mock_config=str(path),
        test_case=case,
    )


def write(tmp_path: Path, name: str, definition: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.asl.json"
    path.write_text(json.dumps(definition))
    return str(path)


def events(execution: Any, kind: str) -> list[dict[str, Any]]:
    return [e for e in execution.history if e["type"] == kind]


def test_happy_path_returns_the_mocked_results_of_lambda_and_sqs(tmp_path: Path) -> None:
    svc = service(tmp_path, AWS_EXAMPLE, "HappyPath")
    execution = svc.start_execution(write(tmp_path, "LambdaSQSIntegration", LAMBDA_SQS), {"x": 1})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == AWS_EXAMPLE["MockedResponses"]["MockedSQSSuccess"]["0"]["Return"]
    # recorded as the real calls would be: lambda:invoke's result is the mocked envelope as written
    succeeded = events(execution, "TaskSucceeded")
    assert [e["taskSucceededEventDetails"]["resourceType"] for e in succeeded] == ["lambda", "sqs"]
    first = json.loads(succeeded[0]["taskSucceededEventDetails"]["output"])
    assert first == {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}


def test_numbered_and_ranged_responses_follow_the_retries(tmp_path: Path) -> None:
    svc = service(tmp_path, AWS_EXAMPLE, "RetryPath")
    execution = svc.start_execution(write(tmp_path, "LambdaSQSIntegration", LAMBDA_SQS), {})
    assert execution.status == "SUCCEEDED", execution.cause
    errors = [e["taskFailedEventDetails"]["error"] for e in events(execution, "TaskFailed")]
    # invocation 0 throws the first error, 1-2 (a range: both) the second, 3 returns
    assert errors == [
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
    ]
    assert len(events(execution, "TaskSucceeded")) == 2


def test_a_state_the_test_case_does_not_name_runs_for_real(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Mocked",
        "States": {
            "Mocked": {"Type": "Task", "Resource": "explode", "Next": "Real"},
            "Real": {"Type": "Task", "Resource": "real", "End": True},
        },
    }
    config = {
        "StateMachines": {"m": {"TestCases": {"T": {"Mocked": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": {"from": "mock"}}}},
    }
    execution = service(tmp_path, config, "T", explode=explode, real=real).start_execution(
        write(tmp_path, "m", definition), {}
    )
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"real": True, "event": {"from": "mock"}}
    # a plain Lambda ARN/name: LambdaFunction* events, the mocked value is the raw result
    assert events(execution, "LambdaFunctionSucceeded")[0]["lambdaFunctionSucceededEventDetails"][
        "output"
    ] == ('{"from":"mock"}')


def test_throw_is_caught_like_a_real_failure(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "nope"},
                "Catch": [{"ErrorEquals": ["Custom.Error"], "ResultPath": "$.err", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    config = {
        "StateMachines": {"m": {"TestCases": {"T": {"Call": "Boom"}}}},
        "MockedResponses": {"Boom": {"0": {"Throw": {"Error": "Custom.Error", "Cause": "mocked"}}}},
    }
    execution = service(tmp_path, config, "T").start_execution(write(tmp_path, "m", definition), {"a": 1})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"a": 1, "err": {"Error": "Custom.Error", "Cause": "mocked"}}


def test_an_invocation_past_the_last_response_fails_the_execution(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    config = {
        "StateMachines": {"m": {"TestCases": {"T": {"Call": "R"}}}},
        "MockedResponses": {"R": {"0-1": {"Throw": {"Error": "E", "Cause": "c"}}}},
    }
    execution = service(tmp_path, config, "T").start_execution(write(tmp_path, "m", definition), {})
    assert execution.status == "FAILED"
    assert execution.error == "States.Runtime"
    assert "invocation 2 of state 'Call'" in (execution.cause or "")


ATHENA_BEDROCK = {
    "Comment": "services stepmap cannot run locally: Athena (.sync) and Bedrock",
    "StartAt": "Query",
    "States": {
        "Query": {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
            "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "primary"},
            "ResultSelector": {"id.$": "$.QueryExecution.QueryExecutionId"},
            "ResultPath": "$.query",
            "Next": "Summarize",
        },
        "Summarize": {
            "Type": "Task",
            "Resource": "arn:aws:states:::bedrock:invokeModel",
            "Parameters": {"ModelId": "anthropic.claude-v2", "Body": {"prompt.$": "$.query.id"}},
            "ResultSelector": {"text.$": "$.Body.completion"},
            "End": True,
        },
    },
}
ATHENA_BEDROCK_MOCKS = {
    "StateMachines": {
        "Report": {"TestCases": {"HappyPath": {"Query": "AthenaOk", "Summarize": "BedrockOk"}}}
    },
    "MockedResponses": {
        "AthenaOk": {
            "0": {"Return": {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": "SUCCEEDED"}}}}
        },
        "BedrockOk": {
            "0": {"Return": {"Body": {"completion": "one row"}, "ContentType": "application/json"}}
        },
    },
}


def test_athena_and_bedrock_tasks_run_against_a_mock_file(tmp_path: Path) -> None:
    svc = service(tmp_path, ATHENA_BEDROCK_MOCKS, "HappyPath")
    execution = svc.start_execution(write(tmp_path, "Report", ATHENA_BEDROCK), {})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"text": "one row"}
    scheduled = [e["taskScheduledEventDetails"] for e in events(execution, "TaskScheduled")]
    assert [(d["resourceType"], d["resource"]) for d in scheduled] == [
        ("athena", "startQueryExecution.sync"),
        ("bedrock", "invokeModel"),
    ]


def test_without_the_mock_athena_is_refused_by_validation(tmp_path: Path) -> None:
    from stepmap.errors import DefinitionError

    svc = StepmapService(executor="sync", state_dir=str(tmp_path / "state"))
    with pytest.raises(DefinitionError) as info:
        svc.start_execution(write(tmp_path, "Report", ATHENA_BEDROCK), {})
    assert "athena" in str(info.value.problems[0])


def map_definition(distributed: bool) -> dict[str, Any]:
    processor: dict[str, Any] = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": "explode", "End": True}},
    }
    if distributed:
        processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "ItemProcessor": processor,
                "End": True,
            }
        },
    }


def test_inline_map_iterations_count_one_sequence_per_execution(tmp_path: Path) -> None:
    config = {
        "StateMachines": {"m": {"TestCases": {"T": {"Work": "R"}}}},
        "MockedResponses": {"R": {"0-1": {"Return": "a"}, "2": {"Return": "b"}}},
    }
    execution = service(tmp_path, config, "T", explode=explode).start_execution(
        write(tmp_path, "m", map_definition(False)), {"items": [1, 2, 3]}
    )
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == ["a", "a", "b"]


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_distributed_map_children_are_mocked_each_counting_from_zero(tmp_path: Path, executor: str) -> None:
    config = {
        "StateMachines": {"m": {"TestCases": {"T": {"Work": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": {"mocked": True}}}},
    }
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(config))
    svc = StepmapService(
        functions={"explode": "tests.mocks.handlers_for_mocks:explode"},
        executor=executor,
        max_workers=2,
        state_dir=str(tmp_path / "state"),
        mock_config=str(path),
        test_case="T",
    )
    try:
        execution = svc.start_execution(write(tmp_path, "m", map_definition(True)), {"items": list(range(5))})
    finally:
        svc.close()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == [{"mocked": True}] * 5


def test_a_mock_naming_a_missing_state_is_an_error(tmp_path: Path) -> None:
    config = {
        "StateMachines": {"m": {"TestCases": {"T": {"Nope": "R", "Each": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": 1}}},
    }
    with pytest.raises(InputError) as info:
        service(tmp_path, config, "T", explode=explode).start_execution(
            write(tmp_path, "m", map_definition(False)), {"items": []}
        )
    message = str(info.value)
    assert "no state 'Nope'" in message and "'Each' is a Map state" in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "must hold a JSON object"),
        ({"StateMachines": {}, "MockedResponse": {}}, "unknown top-level field(s) ['MockedResponse']"),
        ({"StateMachines": {}, "MockedResponses": {"R": {"x": {"Return": 1}}}}, "/MockedResponses/R/x"),
        ({"StateMachines": {}, "MockedResponses": {"R": {"3-1": {"Return": 1}}}}, "ends before it starts"),
        ({"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {}}}}}, "exactly one"),
        (
            {"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": {"Error": "E"}}}}},
            "Error and Cause",
        ),
        (
            {"StateMachines": {}, "MockedResponses": {"R": {"0-2": {"Return": 1}, "2": {"Return": 2}}}},
            "overlap",
        ),
        (
            {"StateMachines": {"m": {"TestCases": {"T": {"S": "Missing"}}}}, "MockedResponses": {}},
            "no mocked response 'Missing'",
        ),
        ({"StateMachines": {"m": {"Cases": {}}}, "MockedResponses": {}}, "TestCases"),
    ],
)
def test_bad_mock_files_are_refused_naming_the_place(document: Any, expected: str) -> None:
    with pytest.raises(InputError) as info:
        load_mock_config(document)
    assert expected in str(info.value)


def test_unknown_test_case_or_state_machine_names_the_known_ones() -> None:
    config = load_mock_config(AWS_EXAMPLE)
    with pytest.raises(InputError, match="test cases: HappyPath, HybridPath, RetryPath"):
        config.test_case("LambdaSQSIntegration", "Nope")
    two = load_mock_config(
        {**AWS_EXAMPLE, "StateMachines": {**AWS_EXAMPLE["StateMachines"], "Other": {"TestCases": {}}}}
    )
    with pytest.raises(InputError, match="configured: LambdaSQSIntegration, Other"):
        two.test_case("Third", "HappyPath")


def test_responses_are_fresh_copies() -> None:
    mocks = load_mock_config(AWS_EXAMPLE).test_case("LambdaSQSIntegration", "RetryPath")
    with pytest.raises(StatesError) as info:
        mocks.respond("LambdaState", 2)
    assert (info.value.error, info.value.cause) == ("Lambda.TimeoutException", "Lambda timed out.")
    value = mocks.respond("LambdaState", 3)
    value["Payload"]["body"] = "changed"
    assert mocks.respond("LambdaState", 3)["Payload"]["body"] == "Hello from Lambda!"
