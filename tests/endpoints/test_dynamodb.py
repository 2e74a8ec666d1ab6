"""The DynamoDB endpoint, through the real clients (boto3 client and resource) on a loopback server over a
temporary state directory. Expected answers are DynamoDB's documented behaviour."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError

from stepmap.endpoints import EndpointContext, build_server

S = lambda v: {"S": v}  # noqa: E731
N = lambda v: {"N": str(v)}  # noqa: E731


@pytest.fixture
def server(tmp_path):
    ctx = EndpointContext({"STEPMAP_STATE_DIR": str(tmp_path / "state")})
    with build_server(ctx) as srv:
        yield srv


def _session_kwargs(server) -> dict[str, Any]:
    return {
        "endpoint_url": server.url,
        "region_name": "us-east-1",
        "aws_access_key_id": "x",
        "aws_secret_access_key": "y",
        "config": Config(retries={"max_attempts": 1}),
    }


@pytest.fixture
def ddb(server):
    return boto3.client("dynamodb", **_session_kwargs(server))


def _table(ddb, name="tbl", sort_type: str | None = "S", **extra):
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort_type:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": sort_type})
    attrs += extra.pop("more_attrs", [])
    ddb.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST", **extra
    )
    return name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_put_get_delete_with_return_values(ddb):
    t = _table(ddb)
    item = {"pk": S("a"), "sk": S("1"), "n": N("1.50"), "tags": {"SS": ["x", "y"]}, "b": {"B": b"\x00\xff"}}
    assert "Attributes" not in ddb.put_item(TableName=t, Item=item, ReturnValues="ALL_OLD")
    got = ddb.get_item(TableName=t, Key={"pk": S("a"), "sk": S("1")})["Item"]
    assert got["n"] == N("1.5") and got["b"] == {"B": b"\x00\xff"} and sorted(got["tags"]["SS"]) == ["x", "y"]
    old = ddb.put_item(TableName=t, Item={"pk": S("a"), "sk": S("1")}, ReturnValues="ALL_OLD")["Attributes"]
    assert old["n"] == N("1.5")
    deleted = ddb.delete_item(TableName=t, Key={"pk": S("a"), "sk": S("1")}, ReturnValues="ALL_OLD")
    assert deleted["Attributes"] == {"pk": S("a"), "sk": S("1")}
    assert "Item" not in ddb.get_item(TableName=t, Key={"pk": S("a"), "sk": S("1")})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=t, Item={"pk": S("a"), "sk": S("1")}, ReturnValues="ALL_NEW")
    assert _code(exc) == "ValidationException"


def test_projection_expression_with_nested_paths(ddb):
    t = _table(ddb, sort_type=None)
    ddb.put_item(
        TableName=t,
        Item={
            "pk": S("a"),
            "m": {"M": {"x": N(1), "y": N(2)}},
            "l": {"L": [S("p"), S("q"), S("r")]},
            "z": S("z"),
        },
    )
    got = ddb.get_item(
        TableName=t,
        Key={"pk": S("a")},
        ProjectionExpression="#m.x, l[2], nothere",
        ExpressionAttributeNames={"#m": "m"},
    )["Item"]
    assert got == {"m": {"M": {"x": N(1)}}, "l": {"L": [S("r")]}}


def test_update_expressions(ddb):
    t = _table(ddb, sort_type=None)
    key = {"pk": S("a")}
    ddb.put_item(
        TableName=t,
        Item={
            **key,
            "n": N(10),
            "l": {"L": [S("b"), S("c")]},
            "l2": {"L": [S("a"), S("b")]},
            "s": {"SS": ["x", "y"]},
            "s3": {"SS": ["x", "q"]},
            "m": {"M": {}},
            "gone": S("g"),
        },
    )
    out = ddb.update_item(
        TableName=t,
        Key=key,
        UpdateExpression=(
            "SET n = n - :one, c = if_not_exists(c, :zero) + :one, l = list_append(l, :more), m.child = :v "
            "REMOVE gone, l2[0] ADD s :s2, cnt :one DELETE s3 :s1"
        ),
        ExpressionAttributeValues={
            ":one": N(1),
            ":zero": N(0),
            ":more": {"L": [S("d")]},
            ":v": S("deep"),
            ":s1": {"SS": ["x"]},
            ":s2": {"SS": ["z"]},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert out["n"] == N(9) and out["c"] == N(1) and out["cnt"] == N(1)
    assert out["l"] == {"L": [S("b"), S("c"), S("d")]} and out["l2"] == {"L": [S("b")]}
    assert out["m"] == {"M": {"child": S("deep")}}
    assert sorted(out["s"]["SS"]) == ["x", "y", "z"] and out["s3"] == {"SS": ["q"]} and "gone" not in out
    updated = ddb.update_item(
        TableName=t,
        Key=key,
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": N(3)},
        ReturnValues="UPDATED_OLD",
    )
    assert updated["Attributes"] == {"n": N(9)}
    # UpdateItem creates a missing item from its key
    ddb.update_item(
        TableName=t,
        Key={"pk": S("new")},
        UpdateExpression="ADD hits :one",
        ExpressionAttributeValues={":one": N(1)},
    )
    assert ddb.get_item(TableName=t, Key={"pk": S("new")})["Item"] == {"pk": S("new"), "hits": N(1)}


@pytest.mark.parametrize(
    ("expression", "values", "message"),
    [
        ("SET pk = :v", {":v": S("x")}, "part of the key"),
        ("SET a.b = :v", {":v": S("x")}, "document path provided in the update expression is invalid"),
        ("SET x = nothere + :v", {":v": N(1)}, "does not exist in the item"),
        ("SET x = :v + :v", {":v": S("x")}, "incorrect data type"),
        ("SET x = :v, x = :v", {":v": S("x")}, "Two document paths overlap"),
        ("SET x = :v SET y = :v", {":v": S("x")}, 'The "SET" section can only be used once'),
        ("SET x = :v", {":v": S("x"), ":unused": S("y")}, "unused in expressions: keys: {:unused}"),
        ("SET x = :nope", {":v": S("x")}, "attribute value: :nope"),
        ("SET x = = :v", {":v": S("x")}, "Syntax error"),
    ],
)
def test_bad_update_expressions_are_validation_errors(ddb, expression, values, message):
    t = _table(ddb, sort_type=None)
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=t, Key={"pk": S("a")}, UpdateExpression=expression, ExpressionAttributeValues=values
        )
    assert _code(exc) == "ValidationException" and message in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("attribute_exists(n)", True),
        ("attribute_not_exists(n)", False),
        ("n > :five AND NOT s = :x", True),
        ("n < :five OR s = :x", False),
        ("n BETWEEN :five AND :twenty", True),
        ("s IN (:x, :y, :hello)", True),
        ("size(s) = :five", True),
        ("size(l) = :five", False),
        ("contains(tags, :x)", True),
        ("contains(s, :ell)", True),
        ("begins_with(s, :he)", True),
        ("attribute_type(n, :N)", True),
        ("attribute_type(n, :S)", False),
        ("nothere <> :x", True),
        ("nothere = :x", False),
        ("n = :x", False),
        ("(n > :five OR n < :five) AND (s = :hello)", True),
        ("n > :five OR n < :five AND s = :x", True),  # AND binds tighter than OR
        ("m.child.deep = :x", True),
    ],
)
def test_condition_expressions(ddb, condition, holds):
    t = _table(ddb, sort_type=None)
    ddb.put_item(
        TableName=t,
        Item={
            "pk": S("a"),
            "n": N(10),
            "s": S("hello"),
            "tags": {"SS": ["x", "w"]},
            "l": {"L": [S("1")]},
            "m": {"M": {"child": {"M": {"deep": S("x")}}}},
        },
    )
    values = {
        ":five": N(5),
        ":twenty": N(20),
        ":x": S("x"),
        ":y": S("y"),
        ":hello": S("hello"),
        ":ell": S("ell"),
        ":he": S("he"),
        ":N": S("N"),
        ":S": S("S"),
    }
    used = {k: v for k, v in values.items() if re.search(re.escape(k) + r"\b", condition)}
    extra = {"ExpressionAttributeValues": used} if used else {}
    try:
        ddb.put_item(
            TableName=t,
            Item={
                "pk": S("a"),
                "n": N(10),
                "s": S("hello"),
                "tags": {"SS": ["x", "w"]},
                "l": {"L": [S("1")]},
                "m": {"M": {"child": {"M": {"deep": S("x")}}}},
            },
            ConditionExpression=condition,
            **extra,
        )
        assert holds
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
        assert not holds


def test_conditional_check_failed_can_return_the_item(ddb):
    t = _table(ddb, sort_type=None)
    ddb.put_item(TableName=t, Item={"pk": S("a"), "v": N(1)})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as exc:
        ddb.delete_item(
            TableName=t,
            Key={"pk": S("a")},
            ConditionExpression="v = :two",
            ExpressionAttributeValues={":two": N(2)},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert exc.value.response["Item"] == {"pk": S("a"), "v": N(1)}
    assert ddb.get_item(TableName=t, Key={"pk": S("a")})["Item"]["v"] == N(1)


def _fill(ddb, t, n=25):
    with_ = {
        "RequestItems": {
            t: [
                {"PutRequest": {"Item": {"pk": S("p"), "sk": N(i), "even": {"BOOL": i % 2 == 0}}}}
                for i in range(n)
            ]
        }
    }
    ddb.batch_write_item(**with_)


def test_query_key_conditions_order_and_pages(ddb):
    t = _table(ddb, sort_type="N")
    _fill(ddb, t)
    ddb.put_item(TableName=t, Item={"pk": S("other"), "sk": N(1)})

    def q(**kw):
        return ddb.query(TableName=t, ExpressionAttributeValues={":p": S("p"), **kw.pop("values", {})}, **kw)

    assert [
        i["sk"]["N"]
        for i in q(
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b", values={":a": N(3), ":b": N(5)}
        )["Items"]
    ] == ["3", "4", "5"]
    down = q(KeyConditionExpression="pk = :p AND sk >= :a", values={":a": N(22)}, ScanIndexForward=False)
    assert [i["sk"]["N"] for i in down["Items"]] == ["24", "23", "22"]
    seen, pages, start = [], 0, None
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        page = q(
            KeyConditionExpression="pk = :p",
            Limit=10,
            FilterExpression="even = :t",
            values={":t": {"BOOL": True}},
            **kw,
        )
        pages += 1
        assert page["ScannedCount"] <= 10
        seen += [int(i["sk"]["N"]) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
    assert seen == list(range(0, 25, 2)) and pages == 3
    count = q(KeyConditionExpression="pk = :p", Select="COUNT")
    assert count["Count"] == 25 and "Items" not in count


def test_query_begins_with_on_string_sort_keys(ddb):
    t = _table(ddb)
    for sk in ("order#1", "order#2", "user#1", "order"):
        ddb.put_item(TableName=t, Item={"pk": S("c"), "sk": S(sk)})
    items = ddb.query(
        TableName=t,
        KeyConditionExpression="pk = :c AND begins_with(sk, :o)",
        ExpressionAttributeValues={":c": S("c"), ":o": S("order#")},
    )["Items"]
    assert [i["sk"]["S"] for i in items] == ["order#1", "order#2"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("pk = :p OR sk = :p", "Invalid operator used in KeyConditionExpression: OR"),
        ("sk = :p", "Query condition missed key schema element"),
        ("pk = :p AND sk <> :p", "KeyConditionExpression"),
    ],
)
def test_bad_key_conditions(ddb, expression, message):
    t = _table(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=t, KeyConditionExpression=expression, ExpressionAttributeValues={":p": S("x")})
    assert _code(exc) == "ValidationException" and message in exc.value.response["Error"]["Message"]


def test_global_secondary_index_query(ddb):
    t = _table(
        ddb,
        more_attrs=[{"AttributeName": "status", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    for i, status in enumerate(["open", "done", "open"]):
        ddb.put_item(
            TableName=t, Item={"pk": S(f"o{i}"), "sk": S(str(i)), "status": S(status), "extra": S("e")}
        )
    items = ddb.query(
        TableName=t,
        IndexName="by-status",
        KeyConditionExpression="#s = :o",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":o": S("open")},
    )["Items"]
    assert items == [
        {"pk": S("o0"), "sk": S("0"), "status": S("open")},
        {"pk": S("o2"), "sk": S("2"), "status": S("open")},
    ]
    assert [i["IndexName"] for i in ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]] == [
        "by-status"
    ]
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=t,
            IndexName="by-status",
            ConsistentRead=True,
            KeyConditionExpression="#s = :o",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":o": S("open")},
        )
    assert "Consistent reads are not supported" in exc.value.response["Error"]["Message"]


def test_scan_pages_filters_and_segments(ddb):
    t = _table(ddb, sort_type="N")
    _fill(ddb, t)
    paginator = ddb.get_paginator("scan")
    pages = list(paginator.paginate(TableName=t, PaginationConfig={"PageSize": 7}))
    assert [len(p["Items"]) for p in pages] == [7, 7, 7, 4, 0] or [len(p["Items"]) for p in pages] == [
        7,
        7,
        7,
        4,
    ]
    assert sum(p["Count"] for p in pages) == 25
    odd = ddb.scan(
        TableName=t, FilterExpression="even = :f", ExpressionAttributeValues={":f": {"BOOL": False}}
    )
    assert odd["Count"] == 12 and odd["ScannedCount"] == 25
    segments = [ddb.scan(TableName=t, Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sum(len(s) for s in segments) == 25


def test_batches(ddb):
    t = _table(ddb, sort_type="N")
    _fill(ddb, t, 5)
    got = ddb.batch_get_item(
        RequestItems={t: {"Keys": [{"pk": S("p"), "sk": N(1)}, {"pk": S("p"), "sk": N(99)}]}}
    )
    assert (
        got["Responses"][t] == [{"pk": S("p"), "sk": N(1), "even": {"BOOL": False}}]
        and got["UnprocessedKeys"] == {}
    )
    ddb.batch_write_item(RequestItems={t: [{"DeleteRequest": {"Key": {"pk": S("p"), "sk": N(1)}}}]})
    assert ddb.scan(TableName=t)["Count"] == 4
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={t: [{"DeleteRequest": {"Key": {"pk": S("p"), "sk": N(2)}}}] * 2})
    assert "duplicates" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        _fill(ddb, t, 26)
    assert _code(exc) == "ValidationException"


def test_transactions_commit_or_cancel_with_reasons(ddb):
    t = _table(ddb, sort_type=None)
    ddb.put_item(TableName=t, Item={"pk": S("acct"), "balance": N(10)})
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": t,
                    "Key": {"pk": S("acct")},
                    "UpdateExpression": "SET balance = balance - :a",
                    "ConditionExpression": "balance >= :a",
                    "ExpressionAttributeValues": {":a": N(7)},
                }
            },
            {"Put": {"TableName": t, "Item": {"pk": S("log1"), "amount": N(7)}}},
        ]
    )
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": t, "Item": {"pk": S("log2"), "amount": N(7)}}},
                {
                    "Update": {
                        "TableName": t,
                        "Key": {"pk": S("acct")},
                        "UpdateExpression": "SET balance = balance - :a",
                        "ConditionExpression": "balance >= :a",
                        "ExpressionAttributeValues": {":a": N(7)},
                    }
                },
            ]
        )
    reasons = exc.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert "[None, ConditionalCheckFailed]" in exc.value.response["Error"]["Message"]
    got = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": t, "Key": {"pk": S("acct")}}},
            {"Get": {"TableName": t, "Key": {"pk": S("log2")}}},
        ]
    )["Responses"]
    assert got[0]["Item"]["balance"] == N(3) and got[1] == {}  # log2 was not written


def test_table_lifecycle_and_errors(ddb):
    t = _table(ddb)
    with pytest.raises(ddb.exceptions.ResourceInUseException):
        _table(ddb)
    desc = ddb.describe_table(TableName=t)["Table"]
    assert desc["TableStatus"] == "ACTIVE" and desc["KeySchema"][0] == {
        "AttributeName": "pk",
        "KeyType": "HASH",
    }
    assert desc["TableArn"] == "arn:aws:dynamodb:us-east-1:123456789012:table/tbl"
    assert ddb.list_tables()["TableNames"] == ["tbl"]
    ddb.delete_table(TableName=t)
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName=t)
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName=t, Key={"pk": S("a"), "sk": S("b")})
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName="bin",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "B"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _code(exc) == "ValidationException" and "binary" in exc.value.response["Error"]["Message"]


def test_keys_and_values_are_checked(ddb):
    t = _table(ddb)
    cases = [
        ({"pk": S("a")}, "Missing the key sk"),
        ({"pk": S("a"), "sk": N(1)}, "Type mismatch for key sk"),
        ({"pk": S(""), "sk": S("1")}, "empty string"),
        (
            {"pk": S("a"), "sk": S("1"), "big": S("x" * 400 * 1024)},
            "Item size has exceeded the maximum allowed size",
        ),
        ({"pk": S("a"), "sk": S("1"), "n": N("1" * 39)}, "38 significant digits"),
        ({"pk": S("a"), "sk": S("1"), "s": {"SS": ["a", "a"]}}, "duplicates"),
        ({"pk": S("a"), "sk": S("1"), "s": {"S": "a", "N": "1"}}, "more than one datatypes"),
    ]
    for item, message in cases:
        with pytest.raises(ClientError) as exc:
            ddb.put_item(TableName=t, Item=item)
        assert _code(exc) == "ValidationException", item
        assert message in exc.value.response["Error"]["Message"], item
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=t, Key={"pk": S("a")})
    assert "does not match the schema" in exc.value.response["Error"]["Message"]
    ddb.put_item(
        TableName=t, Item={"pk": S("a"), "sk": S("1"), "n": N("0012.500"), "e": N("1E+3"), "empty": S("")}
    )
    item = ddb.get_item(TableName=t, Key={"pk": S("a"), "sk": S("1")})["Item"]
    assert item["n"] == N("12.5") and item["e"] == N("1000") and item["empty"] == S("")


def _raw(server, body: bytes, target: str = "DynamoDB_20120810.ListTables"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/",
            body=body,
            headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_bad_requests_get_aws_error_types(server):
    status, body = _raw(server, b"{not json")
    assert status == 400 and body["__type"].endswith("#SerializationException")
    status, body = _raw(server, b"[1, 2]")
    assert status == 400 and body["__type"].endswith("#SerializationException")
    status, body = _raw(server, b"{}", "DynamoDB_20120810.RestoreTableFromBackup")
    assert status == 400 and body["__type"].endswith("#UnknownOperationException")
    status, body = _raw(server, b'{"TableName": "t", "Key": {}, "Expected": {}}', "DynamoDB_20120810.GetItem")
    assert status == 400 and body["__type"].endswith("#ValidationException") and "Expected" in body["message"]


def test_resource_api_and_stepmap_table_share_items(server, tmp_path, monkeypatch):
    dynamodb = boto3.resource("dynamodb", **_session_kwargs(server))
    table = dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    with table.batch_writer() as batch:
        for i in range(30):
            batch.put_item(Item={"id": "o", "n": i, "price": Decimal("1.25") * i, "tags": {"a", "b"}})
    got = table.query(
        KeyConditionExpression=Key("id").eq("o") & Key("n").lt(3), FilterExpression=Attr("price").gt(1)
    )
    assert [i["n"] for i in got["Items"]] == [1, 2] and got["Items"][0]["tags"] == {"a", "b"}
    table.update_item(
        Key={"id": "o", "n": 1},
        UpdateExpression="SET price = price + :d",
        ExpressionAttributeValues={":d": Decimal("0.5")},
    )

    import stepmap

    monkeypatch.setenv("STEPMAP_STATE_DIR", str(tmp_path / "state"))
    handler_view = stepmap.table("orders", partition_key="id", sort_key="n", sort_key_type="N")
    assert handler_view.get_item({"id": "o", "n": 1})["price"] == 1.75
    handler_view.put_item({"id": "o", "n": 100, "from": "handler", "nested": {"x": [1, 2.5, None, True]}})
    item = table.get_item(Key={"id": "o", "n": 100})["Item"]
    assert item == {"id": "o", "n": 100, "from": "handler", "nested": {"x": [1, Decimal("2.5"), None, True]}}
    # a handler overwriting an item with sets replaces the typed copy too
    handler_view.put_item({"id": "o", "n": 2, "tags": ["z"]})
    assert table.get_item(Key={"id": "o", "n": 2})["Item"]["tags"] == ["z"]
    assert table.item_count == 31


@pytest.mark.slow  # five AWS CLI start-ups
def test_aws_cli_create_put_get_scan(server, cli_env):
    cli = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
    if cli is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli; it is in the dev extra)")

    def aws(*args: str) -> Any:
        done = subprocess.run(
            [cli, "--endpoint-url", server.url, "--output", "json", "dynamodb", *args],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    aws(
        "create-table",
        "--table-name",
        "cli",
        "--attribute-definitions",
        "AttributeName=id,AttributeType=S",
        "--key-schema",
        "AttributeName=id,KeyType=HASH",
        "--billing-mode",
        "PAY_PER_REQUEST",
    )
    aws("put-item", "--table-name", "cli", "--item", '{"id": {"S": "1"}, "n": {"N": "42"}}')
    assert aws("get-item", "--table-name", "cli", "--key", '{"id": {"S": "1"}}')["Item"]["n"] == {"N": "42"}
    assert aws("scan", "--table-name", "cli")["Count"] == 1
    assert aws("list-tables")["TableNames"] == ["cli"]


def test_concurrent_conditional_updates_are_atomic(server):
    t = _table(boto3.client("dynamodb", **_session_kwargs(server)), sort_type=None)

    def bump(_: int) -> None:
        client = boto3.client("dynamodb", **_session_kwargs(server))
        for _ in range(20):
            client.update_item(
                TableName=t,
                Key={"pk": S("counter")},
                UpdateExpression="SET n = if_not_exists(n, :zero) + :one",
                ExpressionAttributeValues={":zero": N(0), ":one": N(1)},
            )

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(bump, range(6)))
    client = boto3.client("dynamodb", **_session_kwargs(server))
    assert client.get_item(TableName=t, Key={"pk": S("counter")})["Item"]["n"] == N(120)


def test_more_request_limits(ddb):
    t = _table(ddb, sort_type="N")
    key = {"pk": S("p"), "sk": N(1)}
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": t, "Item": key}}, {"Delete": {"TableName": t, "Key": key}}]
        )
    assert "multiple operations on one item" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={t: {"Keys": [{"pk": S("p"), "sk": N(i)} for i in range(101)]}})
    assert "Too many items requested" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=t,
            IndexName="nope",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": S("p")},
        )
    assert "does not have the specified index: nope" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": N(1)})
    assert "Condition parameter type does not match schema type" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=t, Segment=3, TotalSegments=2)
    assert _code(exc) == "ValidationException"
