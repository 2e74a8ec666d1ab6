"""The DynamoDB table: the contract against a real DynamoDB-protocol server (moto) on loopback,
creation on first use, and the value conversions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from stepmap.storage import TableSchema
from stepmap.storage.dynamodb import DynamoDBTable, from_dynamodb, to_dynamodb
from tests.storage.conftest import unique_name
from tests.storage.table_contract import Opener, TableContract


class TestDynamoDBTable(TableContract):
    @pytest.fixture
    def open_table(self, aws_clients: dict[str, Any]) -> Opener:
        # A small page makes scans and queries in the contract cross several pages.
        return lambda name, schema: DynamoDBTable(name, schema, client=aws_clients["dynamodb"], page_size=7)


def test_the_table_is_created_on_first_use(aws_clients: dict[str, Any]) -> None:
    client = aws_clients["dynamodb"]
    name = unique_name("created")
    assert name not in client.list_tables()["TableNames"]
    DynamoDBTable(name, TableSchema("station", "day", "S", "N"), client=client)
    description = client.describe_table(TableName=name)["Table"]
    assert description["TableStatus"] == "ACTIVE"
    assert {k["AttributeName"]: k["KeyType"] for k in description["KeySchema"]} == {
        "station": "HASH",
        "day": "RANGE",
    }
    assert {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]} == {
        "station": "S",
        "day": "N",
    }


def test_items_are_stored_as_dynamodb_types(aws_clients: dict[str, Any]) -> None:
    client = aws_clients["dynamodb"]
    table = DynamoDBTable(unique_name("typed"), TableSchema("pk"), client=client)
    table.put_item({"pk": "a", "n": 0.1, "list": [1, {"m": None}], "flag": True})
    raw = client.get_item(TableName=table.name, Key={"pk": {"S": "a"}})["Item"]
    assert raw["n"] == {"N": "0.1"}
    assert raw["list"] == {"L": [{"N": "1"}, {"M": {"m": {"NULL": True}}}]}
    assert raw["flag"] == {"BOOL": True}


def test_value_conversions() -> None:
    item = {"f": 0.1, "i": 3, "neg": -2.5, "nested": {"l": [1.5, "s", None, False]}}
    wire = to_dynamodb(item)
    assert wire["f"] == {"N": "0.1"}
    assert wire["nested"]["M"]["l"]["L"][0] == {"N": "1.5"}
    assert from_dynamodb(wire) == item
    back = from_dynamodb({"whole": {"N": "10"}, "frac": {"N": "2.50"}, "set": {"NS": ["1"]}})
    assert back == {"whole": 10, "frac": 2.5, "set": [1]}
    assert isinstance(back["whole"], int) and isinstance(back["frac"], float)
    assert to_dynamodb({"d": Decimal("1.25")}) == {"d": {"N": "1.25"}}
