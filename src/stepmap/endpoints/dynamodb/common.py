"""What every DynamoDB operation shares: AWS's error types, request field checks, keys of items."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepmap.endpoints.dynamodb.evaluation import project
from stepmap.endpoints.dynamodb.expressions import Placeholders, parse_projection
from stepmap.endpoints.dynamodb.store import DynamoStore, Item, TableInfo
from stepmap.endpoints.dynamodb.values import ValidationError, check_item, item_size
from stepmap.endpoints.protocol import AwsJsonError

__all__ = [
    "MAX_ITEM_BYTES",
    "DynamoError",
    "Request",
    "ValidationError",
    "conditional_check_failed",
    "resource_not_found",
]

MAX_ITEM_BYTES = 400 * 1024
_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_LEGACY = (
    "Expected",
    "AttributesToGet",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
    "AttributeUpdates",
    "ConditionalOperator",
)


class DynamoError(AwsJsonError):
    """A DynamoDB error; ``fields`` are extra members of the error body (CancellationReasons, Item)."""

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(_PREFIX + code, message, 400)
        self.fields = fields


def resource_not_found(message: str = "Requested resource not found") -> DynamoError:
    return DynamoError("ResourceNotFoundException", message)


def conditional_check_failed(old: Item | None, wanted: Any) -> DynamoError:
    fields = {"Item": old} if wanted == "ALL_OLD" and old is not None else {}
    return DynamoError("ConditionalCheckFailedException", "The conditional request failed", **fields)


class Request:
    """One operation's parameters, checked as they are read."""

    def __init__(self, store: DynamoStore, params: Mapping[str, Any]) -> None:
        self.store = store
        self.params = params
        for name in _LEGACY:
            if name in params:
                raise ValidationError(
                    f"stepmap's DynamoDB endpoint does not support the legacy parameter {name}; "
                    "use the expression parameters (ConditionExpression, KeyConditionExpression, ...)"
                )

    def string(self, name: str, required: bool = False, default: str | None = None) -> str | None:
        value = self.params.get(name, default)
        if value is None:
            if required:
                raise ValidationError(
                    f"1 validation error detected: Value null at '{_lower(name)}' failed to satisfy "
                    "constraint: Member must not be null"
                )
            return None
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string")
        return value

    def enum(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.string(name, default=default)
        if value not in allowed:
            raise ValidationError(
                f"1 validation error detected: Value '{value}' at '{_lower(name)}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
        return value

    def table(self, name_param: str = "TableName", name: str | None = None) -> TableInfo:
        name = name if name is not None else self.string(name_param, required=True)
        assert name is not None
        info = self.store.table(name)
        if info is None:
            raise resource_not_found()
        return info

    def placeholders(self, params: Mapping[str, Any] | None = None) -> Placeholders:
        params = self.params if params is None else params
        names = params.get("ExpressionAttributeNames") or {}
        values = params.get("ExpressionAttributeValues") or {}
        if not isinstance(names, Mapping) or not isinstance(values, Mapping):
            raise ValidationError("ExpressionAttributeNames and ExpressionAttributeValues must be maps")
        if "ExpressionAttributeNames" in params and not names:
            raise ValidationError("ExpressionAttributeNames must not be empty")
        if "ExpressionAttributeValues" in params and not values:
            raise ValidationError("ExpressionAttributeValues must not be empty")
        return Placeholders(names, values)


def check_key(info: TableInfo, key: Any) -> tuple[Item, tuple[Any, Any]]:
    """A Key parameter checked against the table's schema: (key item, (pk, sk) columns)."""
    key = check_item(key, "Key")
    schema = info.schema
    if set(key) != set(schema.key_names):
        raise ValidationError("The provided key element does not match the schema")
    for name, kind in (
        (schema.partition_key, schema.partition_key_type),
        (schema.sort_key, schema.sort_key_type),
    ):
        if name is None:
            continue
        if kind not in key[name]:
            raise ValidationError("The provided key element does not match the schema")
        if key[name].get("S") == "":
            raise ValidationError(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                f"contain an empty string value. Key: {name}"
            )
    return key, info.key_columns(key)


def check_new_item(info: TableInfo, item: Any) -> tuple[Item, tuple[Any, Any]]:
    """A full item to write: key attributes present with the schema's types, within the size limit."""
    item = check_item(item)
    schema = info.schema
    for name, kind in (
        (schema.partition_key, schema.partition_key_type),
        (schema.sort_key, schema.sort_key_type),
    ):
        if name is None:
            continue
        if name not in item:
            raise ValidationError(
                f"One or more parameter values were invalid: Missing the key {name} in the item"
            )
        actual = next(iter(item[name]))
        if actual != kind:
            raise ValidationError(
                f"One or more parameter values were invalid: Type mismatch for key {name} expected: {kind} "
                f"actual: {actual}"
            )
        if item[name].get("S") == "":
            raise ValidationError(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                f"contain an empty string value. Key: {name}"
            )
    check_size(item)
    return item, info.key_columns(item)


def check_size(item: Item) -> None:
    if item_size(item) > MAX_ITEM_BYTES:
        raise ValidationError("Item size has exceeded the maximum allowed size")


def projector(request: Request, params: Mapping[str, Any], ph: Placeholders) -> Any:
    """A function item -> projected item, for ProjectionExpression (identity without one)."""
    text = params.get("ProjectionExpression")
    if text is None:
        return lambda item: item
    paths = parse_projection(text, ph)
    return lambda item: project(item, paths)


def capacity(params: Mapping[str, Any], table: str, units: float) -> dict[str, Any]:
    wanted = params.get("ReturnConsumedCapacity", "NONE")
    if wanted in ("TOTAL", "INDEXES"):
        return {"ConsumedCapacity": {"TableName": table, "CapacityUnits": units}}
    return {}


def _lower(name: str) -> str:
    return name[0].lower() + name[1:]
