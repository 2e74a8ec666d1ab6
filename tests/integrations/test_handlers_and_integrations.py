"""`stepmap run` with no AWS environment: a boto3 handler and the workflow's DynamoDB integrations read and
write the same table, which stepmap.table() sees too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import stepmap

ROOT = Path(__file__).parent.parent.parent
DDB = "arn:aws:states:::dynamodb:"

WORKFLOW = {
    "StartAt": "CreateTable",
    "States": {
        "CreateTable": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:createTable",
            "Parameters": {
                "TableName": "orders",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "customer", "AttributeType": "S"},
                    {"AttributeName": "n", "AttributeType": "N"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
            "ResultPath": None,
            "Next": "Record",
        },
        "Record": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "record", "Payload": {"count": 4}},
            "ResultSelector": {"written.$": "$.Payload.written"},
            "ResultPath": "$.record",
            "Next": "GetFirst",
        },
        "GetFirst": {
            "Type": "Task",
            "Resource": DDB + "getItem",
            "Parameters": {"TableName": "orders", "Key": {"customer": {"S": "c1"}, "n": {"N": "0"}}},
            "ResultSelector": {"status.$": "$.Item.status.S"},
            "ResultPath": "$.first",
            "Next": "Query",
        },
        "Query": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:query",
            "Parameters": {
                "TableName": "orders",
                "KeyConditionExpression": "customer = :c AND n >= :two",
                "ExpressionAttributeValues": {":c": {"S": "c1"}, ":two": {"N": "2"}},
                "ProjectionExpression": "n, #t",
                "ExpressionAttributeNames": {"#t": "total"},
            },
            "ResultSelector": {"items.$": "$.Items", "count.$": "$.Count"},
            "ResultPath": "$.query",
            "End": True,
        },
    },
}


def test_boto3_handler_and_dynamodb_integrations_share_a_table(tmp_path: Path) -> None:
    (tmp_path / "flow.asl.json").write_text(json.dumps(WORKFLOW))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STEPMAP_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    state = tmp_path / "state"
    out = subprocess.run(
        [
            sys.executable, "-m", "stepmap.cli", "run", str(tmp_path / "flow.asl.json"),
            "--state-dir", str(state), "--function", "record=tests.integrations.ddb_handlers:record", "-q",
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["record"] == {"written": 4}
    assert result["first"] == {"status": "first"}
    assert result["query"] == {
        "count": 2,
        "items": [{"n": {"N": "2"}, "total": {"N": "19.98"}}, {"n": {"N": "3"}, "total": {"N": "29.97"}}],
    }
    os.environ["STEPMAP_STATE_DIR"] = str(state)
    try:
        table = stepmap.table("orders", partition_key="customer", sort_key="n", sort_key_type="N")
        assert table.get_item({"customer": "c1", "n": 1}) == {
            "customer": "c1",
            "n": 1,
            "total": 9.99,
            "tags": ["new"],
        }
    finally:
        del os.environ["STEPMAP_STATE_DIR"]
