"""The DynamoDB API (AWS JSON 1.0, ``X-Amz-Target: DynamoDB_20120810.<Operation>``) over the SQLite tables
of the embedded store, the same tables ``stepmap.table()`` gives handlers.

:class:`DynamoDbService` is a :data:`~stepmap.endpoints.protocol.JsonService`: it parses the body, runs the
operation and returns the response document, or raises an :class:`~stepmap.endpoints.protocol.AwsJsonError`
with DynamoDB's error type (``ValidationException``, ``ResourceNotFoundException``,
``ConditionalCheckFailedException``, ``TransactionCanceledException`` with its ``CancellationReasons``,
``SerializationException`` for a body that is not a JSON object, ``UnknownOperationException``).

Modules: :mod:`.values` (attribute values, sizes, the plain view), :mod:`.expressions` (the expression
parser and evaluator), :mod:`.store` (the SQLite file), :mod:`.tables`, :mod:`.items`, :mod:`.reads` (the
operations). State: the store's connection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from stepmap.endpoints.dynamodb import items, reads, tables
from stepmap.endpoints.dynamodb.common import Request
from stepmap.endpoints.dynamodb.store import DynamoStore
from stepmap.endpoints.protocol import AwsJsonError, JsonRequest

__all__ = ["TARGET_PREFIX", "DynamoDbService", "dynamodb_service"]

TARGET_PREFIX = "DynamoDB_20120810"

OPERATIONS: dict[str, Callable[[Request], dict[str, Any]]] = {
    "CreateTable": tables.create_table,
    "DescribeTable": tables.describe_table,
    "ListTables": tables.list_tables,
    "DeleteTable": tables.delete_table,
    "UpdateTable": tables.update_table,
    "GetItem": items.get_item,
    "PutItem": items.put_item,
    "UpdateItem": items.update_item,
    "DeleteItem": items.delete_item,
    "BatchGetItem": items.batch_get_item,
    "BatchWriteItem": items.batch_write_item,
    "TransactWriteItems": items.transact_write_items,
    "TransactGetItems": items.transact_get_items,
    "Query": reads.query,
    "Scan": reads.scan,
}


class DynamoDbService:
    """The DynamoDB JSON service over the table file at ``path`` (``<state dir>/tables.sqlite``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.store = DynamoStore(path)

    def __call__(self, request: JsonRequest) -> Mapping[str, Any]:
        operation = OPERATIONS.get(request.operation)
        if operation is None:
            raise AwsJsonError(
                "com.amazon.coral.service#UnknownOperationException",
                f"The operation {request.operation} is not supported by stepmap's DynamoDB endpoint",
            )
        try:
            params = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise AwsJsonError(
                "com.amazon.coral.service#SerializationException",
                "Start of structure or map found where not expected",
            ) from None
        if not isinstance(params, dict):
            raise AwsJsonError(
                "com.amazon.coral.service#SerializationException", "The request body must be a JSON object"
            )
        return operation(Request(self.store, params))


def dynamodb_service(ctx: Any) -> DynamoDbService | None:
    """The service for an endpoint context, when its tables are the embedded SQLite ones."""
    config = ctx.table_config
    if config.backend != "sqlite":
        return None
    return DynamoDbService(config.path)
