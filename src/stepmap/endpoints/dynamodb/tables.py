"""CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable (billing only), DescribeTimeToLive.

A table made by a handler's ``stepmap.table()`` has no CreateTable record: it is described from its key
schema (on-demand billing, no indexes). Key attributes of type ``B`` are refused: the embedded tables
key on strings and numbers only.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from stepmap.endpoints.dynamodb.common import DynamoError, Request, ValidationError, resource_not_found
from stepmap.endpoints.dynamodb.store import TableInfo
from stepmap.storage.tables import TableSchema

__all__ = ["create_table", "delete_table", "describe_table", "list_tables", "update_table"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_REGION, _ACCOUNT = "us-east-1", "123456789012"


def _key_schema(schema: Any, defs: Mapping[str, str], what: str) -> tuple[str, str | None]:
    if not isinstance(schema, list) or not 1 <= len(schema) <= 2:
        raise ValidationError(f"1 validation error detected: {what} must have 1 or 2 elements")
    names: dict[str, str] = {}
    for element in schema:
        if not isinstance(element, Mapping) or element.get("KeyType") not in ("HASH", "RANGE"):
            raise ValidationError(f"Invalid {what}: each element has AttributeName and KeyType HASH or RANGE")
        names[element["KeyType"]] = str(element.get("AttributeName"))
    if len(names) != len(schema) or schema[0].get("KeyType") != "HASH":
        raise ValidationError(f"Invalid {what}: The first KeySchemaElement is not a HASH key type")
    for name in names.values():
        if name not in defs:
            raise ValidationError(
                "One or more parameter values were invalid: Some index key attributes are not defined in "
                f"AttributeDefinitions. Keys: [{name}], AttributeDefinitions: [{', '.join(defs)}]"
            )
    return names["HASH"], names.get("RANGE")


def create_table(req: Request) -> dict[str, Any]:
    p = req.params
    name = req.string("TableName", required=True)
    assert name is not None
    if not _NAME.fullmatch(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy "
            "constraint: Member "
            "must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )
    attrs = p.get("AttributeDefinitions")
    if not isinstance(attrs, list) or not attrs:
        raise ValidationError("1 validation error detected: AttributeDefinitions must not be empty")
    defs: dict[str, str] = {}
    for a in attrs:
        if not isinstance(a, Mapping) or a.get("AttributeType") not in ("S", "N", "B"):
            raise ValidationError("Invalid AttributeDefinitions: AttributeType is S, N or B")
        defs[str(a.get("AttributeName"))] = a["AttributeType"]
    hash_key, range_key = _key_schema(p.get("KeySchema"), defs, "KeySchema")
    used = {hash_key, *([range_key] if range_key else [])}
    indexes: dict[str, list[dict[str, Any]]] = {}
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        given = p.get(kind) or []
        if not isinstance(given, list):
            raise ValidationError(f"{kind} must be a list")
        out = []
        for index in given:
            if not isinstance(index, Mapping) or not isinstance(index.get("IndexName"), str):
                raise ValidationError(f"Invalid {kind}: each index has an IndexName")
            ih, ir = _key_schema(index.get("KeySchema"), defs, f"KeySchema of index {index['IndexName']}")
            if kind == "LocalSecondaryIndexes" and (ih != hash_key or ir is None):
                raise ValidationError("Local secondary indexes use the table's hash key and a range key")
            used.update(k for k in (ih, ir) if k)
            out.append(
                {
                    "IndexName": index["IndexName"],
                    "KeySchema": index["KeySchema"],
                    "Projection": index.get("Projection") or {"ProjectionType": "ALL"},
                }
            )
        if out:
            indexes[kind] = out
    if set(defs) != used:
        raise ValidationError(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly "
            "match number of attributes defined in AttributeDefinitions"
        )
    for key in (hash_key, range_key):
        if key is not None and defs[key] == "B":
            raise ValidationError(
                f"stepmap's embedded tables key on strings (S) and numbers (N); "
                f"key attribute {key} is binary (B)"
            )
    billing = p.get("BillingMode", "PROVISIONED")
    if billing == "PROVISIONED" and not isinstance(p.get("ProvisionedThroughput"), Mapping):
        raise ValidationError(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
            "must both be "
            "specified when BillingMode is PROVISIONED"
        )
    schema = TableSchema(
        hash_key,
        range_key,
        defs[hash_key],  # type: ignore[arg-type]  # S or N, checked above
        defs[range_key] if range_key else "S",  # type: ignore[arg-type]
    )
    meta = {
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": v} for k, v in defs.items()],
        "KeySchema": p["KeySchema"],
        "BillingMode": billing,
        "ProvisionedThroughput": p.get("ProvisionedThroughput"),
        "CreationDateTime": time.time(),
        "TableId": str(uuid.uuid4()),
        **indexes,
    }
    if not req.store.create_table(name, schema, meta):
        raise DynamoError("ResourceInUseException", f"Table already exists: {name}")
    info = req.store.table(name)
    assert info is not None
    return {"TableDescription": describe(req, info)}


def describe(req: Request, info: TableInfo) -> dict[str, Any]:
    s, meta = info.schema, info.meta
    key_schema = meta.get("KeySchema") or [
        {"AttributeName": s.partition_key, "KeyType": "HASH"},
        *([{"AttributeName": s.sort_key, "KeyType": "RANGE"}] if s.sort_key else []),
    ]
    defs = meta.get("AttributeDefinitions") or [
        {"AttributeName": s.partition_key, "AttributeType": s.partition_key_type},
        *([{"AttributeName": s.sort_key, "AttributeType": s.sort_key_type}] if s.sort_key else []),
    ]
    billing = meta.get("BillingMode", "PAY_PER_REQUEST")
    throughput = meta.get("ProvisionedThroughput") or {}
    arn = f"arn:aws:dynamodb:{_REGION}:{_ACCOUNT}:table/{info.name}"
    count = req.store.count(info.name)
    out: dict[str, Any] = {
        "AttributeDefinitions": defs,
        "TableName": info.name,
        "KeySchema": key_schema,
        "TableStatus": "ACTIVE",
        "CreationDateTime": meta.get("CreationDateTime", 0.0),
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": throughput.get("ReadCapacityUnits", 0),
            "WriteCapacityUnits": throughput.get("WriteCapacityUnits", 0),
        },
        "TableSizeBytes": 0,
        "ItemCount": count,
        "TableArn": arn,
        "TableId": meta.get("TableId", str(uuid.uuid5(uuid.NAMESPACE_URL, arn))),
        "BillingModeSummary": {"BillingMode": billing},
        "DeletionProtectionEnabled": False,
    }
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if meta.get(kind):
            out[kind] = [
                {
                    **index,
                    "IndexArn": f"{arn}/index/{index['IndexName']}",
                    "IndexSizeBytes": 0,
                    "ItemCount": count,
                    **({"IndexStatus": "ACTIVE"} if kind == "GlobalSecondaryIndexes" else {}),
                }
                for index in meta[kind]
            ]
    return out


def describe_table(req: Request) -> dict[str, Any]:
    name = req.string("TableName", required=True)
    info = req.store.table(name or "")
    if info is None:
        raise resource_not_found(f"Requested resource not found: Table: {name} not found")
    return {"Table": describe(req, info)}


def delete_table(req: Request) -> dict[str, Any]:
    name = req.string("TableName", required=True)
    info = req.store.table(name or "")
    if info is None:
        raise resource_not_found(f"Requested resource not found: Table: {name} not found")
    description = describe(req, info)
    req.store.delete_table(info.name)
    return {"TableDescription": {**description, "TableStatus": "DELETING"}}


def list_tables(req: Request) -> dict[str, Any]:
    start = req.string("ExclusiveStartTableName")
    limit = req.params.get("Limit", 100)
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ValidationError("1 validation error detected: Limit must be between 1 and 100")
    names = [n for n in req.store.table_names() if start is None or n.encode() > start.encode()]
    out: dict[str, Any] = {"TableNames": names[:limit]}
    if len(names) > limit:
        out["LastEvaluatedTableName"] = names[limit - 1]
    return out


def update_table(req: Request) -> dict[str, Any]:
    info = req.table()
    meta = dict(info.meta)
    for field in ("BillingMode", "ProvisionedThroughput"):
        if field in req.params:
            meta[field] = req.params[field]
    unsupported = set(req.params) - {
        "TableName",
        "BillingMode",
        "ProvisionedThroughput",
        "AttributeDefinitions",
    }
    if unsupported:
        raise ValidationError(
            "stepmap's UpdateTable changes BillingMode and ProvisionedThroughput only, "
            f"not {sorted(unsupported)}"
        )
    req.store.update_meta(info.name, meta)
    updated = req.store.table(info.name)
    assert updated is not None
    return {"TableDescription": describe(req, updated)}
