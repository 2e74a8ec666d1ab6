"""The DynamoDB adapter of the table port, through boto3 and any DynamoDB-compatible endpoint.

The table is created on first use (on-demand capacity) when it does not exist, and checked
against the wanted key schema when it does. Values cross the boundary as DynamoDB's typed
attribute values: numbers as ``Decimal`` on the way in (floats through their shortest ``repr``,
so 0.1 stays 0.1) and back to ``int`` or ``float``; maps and lists nest as they are.

Every request runs under a :class:`~stepmap.storage.retry.Backoff` (throttling, 5xx, broken
connections); reads are strongly consistent so a reducer sees what handlers just wrote.

State: the boto3 client, the retry counter.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from stepmap.storage.aws import ClientError, cause_code, error_code, is_transient, make_client
from stepmap.storage.errors import StoreError
from stepmap.storage.retry import Backoff, RetryPolicy
from stepmap.storage.tables import Table, TableSchema, check_item, check_table_name

__all__ = ["DynamoDBTable", "from_dynamodb", "to_dynamodb"]

T = TypeVar("T")
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_dynamodb(item: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-like item as DynamoDB attribute values."""
    return {name: _serializer.serialize(_decimals(value)) for name, value in item.items()}


def from_dynamodb(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as a JSON-like item."""
    return {name: _plain(_deserializer.deserialize(value)) for name, value in attributes.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list | tuple):
        return [_decimals(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _decimals(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class DynamoDBTable(Table):
    """A DynamoDB table named ``name`` (created on first use if missing)."""

    def __init__(
        self,
        name: str,
        schema: TableSchema | None = None,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        page_size: int | None = None,
    ) -> None:
        check_table_name(name)
        self.name = name
        self.schema = schema or TableSchema()
        self.client = client or make_client("dynamodb", endpoint_url=endpoint_url, region=region)
        self.backoff = Backoff(retry, sleep=sleep, rng=rng)
        self.sleep = sleep
        self.page_size = page_size  # Limit per Query/Scan page; None lets DynamoDB fill 1 MB pages
        self._ensure_table()

    def __repr__(self) -> str:
        return f"DynamoDBTable({self.name!r}, endpoint={self.client.meta.endpoint_url!r})"

    @property
    def retries(self) -> int:
        """Retries made so far because DynamoDB throttled, failed or dropped the connection."""
        return self.backoff.retries

    def _call(self, request: Callable[[], T], what: str) -> T:
        try:
            return self.backoff.run(request, transient=is_transient, what=f"DynamoDB {what} on {self.name}")
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            raise StoreError(
                f"DynamoDB {what} on table {self.name!r} failed: {error_code(exc)}: {message}"
            ) from exc

    # -- the table itself -------------------------------------------------------------------
    def _ensure_table(self) -> None:
        for _ in range(120):
            try:
                table = self._call(lambda: self.client.describe_table(TableName=self.name), "DescribeTable")
            except StoreError as exc:
                if cause_code(exc) != "ResourceNotFoundException":
                    raise
                self._create_table()
                continue
            description = table["Table"]
            self._check_schema(description)
            if description.get("TableStatus", "ACTIVE") == "ACTIVE":
                return
            self.sleep(1.0)
        raise StoreError(f"DynamoDB table {self.name!r} did not become ACTIVE")

    def _create_table(self) -> None:
        keys = [(self.schema.partition_key, self.schema.partition_key_type, "HASH")]
        if self.schema.sort_key is not None:
            keys.append((self.schema.sort_key, self.schema.sort_key_type, "RANGE"))
        try:
            self._call(
                lambda: self.client.create_table(
                    TableName=self.name,
                    KeySchema=[{"AttributeName": n, "KeyType": role} for n, _, role in keys],
                    AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t, _ in keys],
                    BillingMode="PAY_PER_REQUEST",
                ),
                "CreateTable",
            )
        except StoreError as exc:
            if cause_code(exc) != "ResourceInUseException":  # another process created it first
                raise

    def _check_schema(self, description: Mapping[str, Any]) -> None:
        types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
        roles = {k["KeyType"]: k["AttributeName"] for k in description.get("KeySchema", [])}
        found = TableSchema(
            partition_key=roles["HASH"],
            sort_key=roles.get("RANGE"),
            partition_key_type=types.get(roles["HASH"], "S"),
            sort_key_type=types.get(roles.get("RANGE", ""), "S"),
        )
        if found != self.schema:
            raise StoreError(
                f"DynamoDB table {self.name!r} exists with key schema {found}, not {self.schema}"
            )

    # -- items ------------------------------------------------------------------------------
    def put_item(self, item: Mapping[str, Any]) -> None:
        check_item(item)
        self.schema.key_of(item)
        attributes = to_dynamodb(item)
        self._call(lambda: self.client.put_item(TableName=self.name, Item=attributes), "PutItem")

    def get_item(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        wire = to_dynamodb(self.schema.check_key(key))
        r = self._call(
            lambda: self.client.get_item(TableName=self.name, Key=wire, ConsistentRead=True), "GetItem"
        )
        return from_dynamodb(r["Item"]) if "Item" in r else None

    def delete_item(self, key: Mapping[str, Any]) -> None:
        wire = to_dynamodb(self.schema.check_key(key))
        self._call(lambda: self.client.delete_item(TableName=self.name, Key=wire), "DeleteItem")

    def query(
        self, partition_key_value: Any, *, descending: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        value = self.schema.partition_value(partition_key_value)
        args: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": self.schema.partition_key},
            "ExpressionAttributeValues": to_dynamodb({":pk": value}),
            "ScanIndexForward": not descending,
            "ConsistentRead": True,
        }
        return self._pages(self.client.query, "Query", args, limit)

    def scan(self) -> Iterator[dict[str, Any]]:
        args = {"TableName": self.name, "ConsistentRead": True}
        return self._pages(self.client.scan, "Scan", args, None)

    def _pages(
        self, operation: Callable[..., Any], what: str, args: dict[str, Any], limit: int | None
    ) -> Iterator[dict[str, Any]]:
        left = limit
        start: dict[str, Any] | None = None
        while left is None or left > 0:
            page_args = dict(args)
            if self.page_size is not None or left is not None:
                page_args["Limit"] = min(n for n in (self.page_size, left) if n is not None)
            if start is not None:
                page_args["ExclusiveStartKey"] = start
            page = self._call(functools.partial(operation, **page_args), what)
            for attributes in page.get("Items", []):
                yield from_dynamodb(attributes)
            if left is not None:
                left -= len(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return
