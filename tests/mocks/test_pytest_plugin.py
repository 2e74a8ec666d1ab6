"""The pytest plugin in use: the ``stepmap_runner`` fixture (entry point ``pytest11``, no import needed)
runs a state machine with a Step Functions Local mock test case under a ManualClock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.mocks.test_mock_config import ATHENA_BEDROCK, ATHENA_BEDROCK_MOCKS

ORDER = {
    "StartAt": "Validate",
    "States": {
        "Validate": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "validate", "Payload.$": "$"},
            "ResultSelector": {"valid.$": "$.Payload.valid"},
            "ResultPath": "$.check",
            "Next": "Cool down",
        },
        "Cool down": {"Type": "Wait", "Seconds": 300, "Next": "Lines"},
        "Lines": {
            "Type": "Map",
            "ItemsPath": "$.lines",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Price",
                "States": {"Price": {"Type": "Task", "Resource": "price", "End": True}},
            },
            "ResultPath": "$.priced",
            "Next": "Notify",
        },
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:orders", "Message.$": "$.check"},
            "End": True,
        },
    },
}
ORDER["States"]["Notify"]["ResultPath"] = None  # JSON null: keep the input
MOCKS = {
    "StateMachines": {
        "Orders": {
            "TestCases": {
                "HappyPath": {"Validate": "Valid", "Price": "Priced", "Notify": "Published"},
                "NotifyDown": {"Validate": "Valid", "Price": "Priced", "Notify": "SnsDown"},
            }
        }
    },
    "MockedResponses": {
        "Valid": {"0": {"Return": {"StatusCode": 200, "Payload": {"valid": True}}}},
        "Priced": {"0": {"Return": {"price": 10}}},
        "Published": {"0": {"Return": {"MessageId": "m-1"}}},
        "SnsDown": {"0-2": {"Throw": {"Error": "SNS.InternalErrorException", "Cause": "down"}}},
    },
}


def price(event: Any, context: Any) -> Any:
    raise AssertionError("mocked")


def test_happy_path(stepmap_runner: Any, tmp_path: Path) -> None:
    (tmp_path / "MockConfigFile.json").write_text(json.dumps(MOCKS))
    result = stepmap_runner.run(
        ORDER,
        {"lines": [1, 2, 3]},
        mock_config=tmp_path / "MockConfigFile.json",
        test_case="HappyPath",
        state_machine="Orders",
    )
    result.assert_succeeded({"lines": [1, 2, 3], "check": {"valid": True}, "priced": [{"price": 10}] * 3})
    assert result.states_entered() == ["Validate", "Cool down", "Lines", "Notify"]
    assert result.clock.slept == [300.0]  # the Wait, in virtual time
    assert result.state_output("Validate")["check"] == {"valid": True}
    [map_run] = result.map_runs
    assert map_run["status"] == "SUCCEEDED"
    assert map_run["itemCounts"]["succeeded"] == 3
    assert "MapRunSucceeded" in result.event_types()


def test_a_failing_notification(stepmap_runner: Any) -> None:
    result = stepmap_runner.run(ORDER, {"lines": []}, mock_config=MOCKS, test_case="NotifyDown")
    result.assert_failed("SNS.InternalErrorException", "down")


def test_athena_and_bedrock_from_a_file(stepmap_runner: Any, tmp_path: Path) -> None:
    (tmp_path / "Report.asl.json").write_text(json.dumps(ATHENA_BEDROCK))
    result = stepmap_runner.run(
        tmp_path / "Report.asl.json", {}, mock_config=ATHENA_BEDROCK_MOCKS, test_case="HappyPath"
    )
    result.assert_succeeded({"text": "one row"})


def test_a_wrong_expectation_fails_the_test(stepmap_runner: Any) -> None:
    result = stepmap_runner.run(ORDER, {"lines": []}, mock_config=MOCKS, test_case="HappyPath")
    with pytest.raises(AssertionError):
        result.assert_succeeded({"something": "else"})
    with pytest.raises(AssertionError):
        result.assert_failed()


COLLIDING = Path(__file__).resolve().parents[2] / "examples" / "apps" / "colliding-handlers"


def test_a_template_state_machine_with_its_own_functions(stepmap_runner: Any) -> None:
    result = stepmap_runner.run(
        template=COLLIDING / "template.yaml",
        state_machine="OrderStateMachine",
        input={"items": {"apple": 3, "pear": 2}},
    )
    result.assert_succeeded()
    assert result.output["priced"] == {"subtotal": 3 * 40 + 2 * 55, "rule": "price list v1"}
    assert result.output["taxed"] == {"tax": 230 * 8 // 100, "rule": "flat 8%"}


def test_a_template_state_machine_with_a_mock_test_case_by_its_template_name(stepmap_runner: Any) -> None:
    first_state = json.loads((COLLIDING / "statemachine" / "order.asl.json").read_text())["StartAt"]
    mocks = {
        "StateMachines": {"OrderStateMachine": {"TestCases": {"PriceDown": {first_state: "Down"}}}},
        "MockedResponses": {"Down": {"0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "x"}}}},
    }
    result = stepmap_runner.run(
        template=COLLIDING / "template.yaml",
        input={"items": {"apple": 1}},
        mock_config=mocks,
        test_case="PriceDown",
    )
    result.assert_failed("Lambda.ServiceException")
    assert result.states_entered() == [first_state]


def test_a_template_and_a_definition_together_are_refused(stepmap_runner: Any) -> None:
    with pytest.raises(ValueError, match="not both"):
        stepmap_runner.run(ORDER, template=COLLIDING / "template.yaml")


def test_a_template_with_a_bucket_and_a_table_and_a_parameter_override(stepmap_runner: Any) -> None:
    template = COLLIDING.parent / "word-count-s3" / "template.yaml"
    result = stepmap_runner.run(template=template, input={}, parameter_overrides={"Files": "4"})
    result.assert_succeeded()
    assert result.output["files"] == 4 and result.output["words"] == 1 + 2 + 3 + 4
    assert len(result.map_runs) == 1
