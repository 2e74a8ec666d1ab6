"""State machines, versions, aliases, tags and validation through boto3."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.stepfunctions.conftest import PASS, ROLE


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_describe_list_update_delete(sfn):
    created = sfn.create_state_machine(
        name="m1", definition=PASS, roleArn=ROLE, tags=[{"key": "a", "value": "1"}]
    )
    arn = created["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:m1"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (
        described["definition"] == PASS
        and described["type"] == "STANDARD"
        and described["status"] == "ACTIVE"
    )
    assert described["roleArn"] == ROLE
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["m1"]
    # idempotent create: same definition gives the same ARN; another definition is refused
    assert sfn.create_state_machine(name="m1", definition=PASS, roleArn=ROLE)["stateMachineArn"] == arn
    other = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}})
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="m1", definition=other, roleArn=ROLE)
    assert code(exc) == "StateMachineAlreadyExists"
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=other)
    assert updated["revisionId"] != described["revisionId"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == other
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "1"}]
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert code(exc) == "StateMachineDoesNotExist"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invalid_definition_and_name(sfn):
    bad = json.dumps({"StartAt": "Nope", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="bad", definition=bad, roleArn=ROLE)
    assert code(exc) == "InvalidDefinition"
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="bad", definition="not json", roleArn=ROLE)
    assert code(exc) == "InvalidDefinition"
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="bad name", definition=PASS, roleArn=ROLE)
    assert code(exc) == "InvalidName"
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:none", definition=PASS
        )
    assert code(exc) == "StateMachineDoesNotExist"


def test_validation_exception_from_the_service_model(endpoint):
    # boto3 validates client-side; a raw request without a required member gets AWS's ValidationException
    import urllib.request

    request = urllib.request.Request(
        endpoint.url,
        data=json.dumps({"name": "x"}).encode(),
        headers={
            "X-Amz-Target": "AWSStepFunctions.CreateStateMachine",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request)
    assert exc.value.code == 400
    body = json.loads(exc.value.read())
    assert body["__type"] == "ValidationException" and "definition" in body["message"]


def test_definition_limit(sfn):
    big = json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "x" * 1_048_576, "End": True}}}
    )
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="big", definition=big, roleArn=ROLE)
    assert code(exc) == "ValidationException"


def test_validate_state_machine_definition(sfn):
    ok = sfn.validate_state_machine_definition(definition=PASS)
    assert (ok["result"], ok["diagnostics"], ok["truncated"]) == ("OK", [], False)
    bad = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Missing"}}})
    out = sfn.validate_state_machine_definition(definition=bad)
    assert out["result"] == "FAIL"
    assert out["diagnostics"] and all(d["severity"] == "ERROR" for d in out["diagnostics"])
    assert any(d["location"].startswith("/States/P") for d in out["diagnostics"])


def test_versions_and_aliases(sfn):
    arn = sfn.create_state_machine(name="v", definition=PASS, roleArn=ROLE, publish=True)
    v1 = arn["stateMachineVersionArn"]
    assert v1 == arn["stateMachineArn"] + ":1"
    other = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": 2, "End": True}}})
    v2 = sfn.update_state_machine(stateMachineArn=arn["stateMachineArn"], definition=other, publish=True)[
        "stateMachineVersionArn"
    ]
    assert v2.endswith(":2")
    versions = sfn.list_state_machine_versions(stateMachineArn=arn["stateMachineArn"])["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [v2, v1]
    assert sfn.describe_state_machine(stateMachineArn=v1)["definition"] == PASS
    alias = sfn.create_state_machine_alias(
        name="prod", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )["stateMachineAliasArn"]
    assert alias == arn["stateMachineArn"] + ":prod"
    assert sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["name"] == "prod"
    with pytest.raises(ClientError) as exc:
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    assert code(exc) == "ConflictException"
    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias, routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
    )
    run = sfn.start_execution(stateMachineArn=alias)
    done = wait(sfn, run["executionArn"])
    assert (
        done["output"] == "2"
        and done["stateMachineAliasArn"] == alias
        and done["stateMachineVersionArn"] == v2
    )
    assert [
        a["stateMachineAliasArn"]
        for a in sfn.list_state_machine_aliases(stateMachineArn=arn["stateMachineArn"])["stateMachineAliases"]
    ] == [alias]
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    third = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": 3, "End": True}}})
    revision = sfn.update_state_machine(stateMachineArn=arn["stateMachineArn"], definition=third)[
        "revisionId"
    ]
    v3 = sfn.publish_state_machine_version(stateMachineArn=arn["stateMachineArn"], revisionId=revision)
    assert v3["stateMachineVersionArn"].endswith(":3")
    again = sfn.publish_state_machine_version(stateMachineArn=arn["stateMachineArn"])
    assert again["stateMachineVersionArn"] == v3["stateMachineVersionArn"]  # same revision, same version
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn=arn["stateMachineArn"], revisionId="stale")
    assert code(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert code(exc) == "ResourceNotFound"


def test_tags(sfn):
    arn = sfn.create_state_machine(name="t", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}, {"key": "j", "value": "w"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["j"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]
    with pytest.raises(ClientError) as exc:
        sfn.list_tags_for_resource(resourceArn=arn + "x")
    assert code(exc) == "ResourceNotFound"


def test_state_machines_persist_across_restarts(endpoint, tmp_path):
    from tests.stepfunctions.conftest import Endpoint

    sfn = endpoint.client()
    arn = sfn.create_state_machine(name="keep", definition=PASS, roleArn=ROLE, publish=True)[
        "stateMachineArn"
    ]
    endpoint.close()
    again = Endpoint(endpoint.state_dir)
    try:
        client = again.client()
        assert client.describe_state_machine(stateMachineArn=arn)["name"] == "keep"
        assert len(client.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]) == 1
    finally:
        again.close()


def wait(sfn, arn, status=("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")):
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = sfn.describe_execution(executionArn=arn)
        if out["status"] in status:
            return out
        time.sleep(0.01)
    raise AssertionError(f"{arn} did not reach {status}")


def test_express_machines_may_not_wait(sfn):
    waits = json.dumps(
        {
            "StartAt": "W",
            "States": {
                "W": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
    )
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="ex", definition=waits, roleArn=ROLE, type="EXPRESS")
    assert code(exc) == "InvalidDefinition"
    out = sfn.validate_state_machine_definition(definition=waits, type="EXPRESS")
    assert out["result"] == "FAIL" and out["diagnostics"][0]["location"] == "/States/W/Resource"
    assert sfn.validate_state_machine_definition(definition=waits)["result"] == "OK"
