"""Single-item operations (GetItem, PutItem, UpdateItem, DeleteItem), their batches (BatchGetItem,
BatchWriteItem) and transactions (TransactWriteItems, TransactGetItems).

Every write that reads the current item (a ConditionExpression, an UpdateExpression, ReturnValues) runs in
one store transaction, so a condition and the write it guards are atomic, as on DynamoDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepmap.endpoints.dynamodb.common import (
    DynamoError,
    Request,
    ValidationError,
    capacity,
    check_key,
    check_new_item,
    check_size,
    conditional_check_failed,
    projector,
    resource_not_found,
)
from stepmap.endpoints.dynamodb.evaluation import apply_update, evaluate, project
from stepmap.endpoints.dynamodb.expressions import Placeholders, parse_condition, parse_update
from stepmap.endpoints.dynamodb.store import Item, TableInfo

__all__ = [
    "batch_get_item",
    "batch_write_item",
    "delete_item",
    "get_item",
    "put_item",
    "transact_get_items",
    "transact_write_items",
    "update_item",
]


def _condition(params: Mapping[str, Any], ph: Placeholders) -> Any:
    text = params.get("ConditionExpression")
    return None if text is None else parse_condition(text, ph)


def get_item(req: Request) -> dict[str, Any]:
    info = req.table()
    ph = req.placeholders()
    project_item = projector(req, req.params, ph)
    ph.check_all_used()
    _, (pk, sk) = check_key(info, req.params.get("Key"))
    item = req.store.get(info, pk, sk)
    out: dict[str, Any] = capacity(req.params, info.name, 1.0 if req.params.get("ConsistentRead") else 0.5)
    if item is not None:
        out["Item"] = project_item(item)
    return out


def put_item(req: Request) -> dict[str, Any]:
    info = req.table()
    returns = req.enum("ReturnValues", ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"), "NONE")
    if returns not in ("NONE", "ALL_OLD"):
        raise ValidationError("ReturnValues can only be ALL_OLD or NONE")
    ph = req.placeholders()
    condition = _condition(req.params, ph)
    ph.check_all_used()
    item, (pk, sk) = check_new_item(info, req.params.get("Item"))
    on_fail = req.params.get("ReturnValuesOnConditionCheckFailure")
    with req.store.transaction() as db:
        old = req.store.get(info, pk, sk, db) if condition is not None or returns == "ALL_OLD" else None
        if condition is not None and not evaluate(condition, old):
            raise conditional_check_failed(old, on_fail)
        req.store.put(db, info, item)
    out = capacity(req.params, info.name, 1.0)
    if returns == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    return out


def delete_item(req: Request) -> dict[str, Any]:
    info = req.table()
    returns = req.enum("ReturnValues", ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"), "NONE")
    if returns not in ("NONE", "ALL_OLD"):
        raise ValidationError("ReturnValues can only be ALL_OLD or NONE")
    ph = req.placeholders()
    condition = _condition(req.params, ph)
    ph.check_all_used()
    _, (pk, sk) = check_key(info, req.params.get("Key"))
    with req.store.transaction() as db:
        old = req.store.get(info, pk, sk, db)
        if condition is not None and not evaluate(condition, old):
            raise conditional_check_failed(old, req.params.get("ReturnValuesOnConditionCheckFailure"))
        if old is not None:
            req.store.delete(db, info, pk, sk)
    out = capacity(req.params, info.name, 1.0)
    if returns == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    return out


def _updated(info: TableInfo, params: Mapping[str, Any], ph: Placeholders) -> tuple[Any, Any]:
    text = params.get("UpdateExpression")
    update = parse_update(text, ph) if text is not None else None
    if update is not None:
        for path in update.paths():
            if path[0] in info.schema.key_names:
                raise ValidationError(
                    f"One or more parameter values were invalid: Cannot update attribute {path[0]}. This "
                    "attribute is part of the key"
                )
    return update, _condition(params, ph)


def _apply(update: Any, key: Item, old: Item | None) -> Item:
    base = old if old is not None else dict(key)
    new = apply_update(update, base) if update is not None else dict(base)
    check_size(new)
    return new


def update_item(req: Request) -> dict[str, Any]:
    info = req.table()
    returns = req.enum("ReturnValues", ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"), "NONE")
    ph = req.placeholders()
    update, condition = _updated(info, req.params, ph)
    ph.check_all_used()
    key, (pk, sk) = check_key(info, req.params.get("Key"))
    with req.store.transaction() as db:
        old = req.store.get(info, pk, sk, db)
        if condition is not None and not evaluate(condition, old):
            raise conditional_check_failed(old, req.params.get("ReturnValuesOnConditionCheckFailure"))
        new = _apply(update, key, old)
        req.store.put(db, info, new)
    out = capacity(req.params, info.name, 1.0)
    paths = update.paths() if update is not None else []
    if returns == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    elif returns == "ALL_NEW":
        out["Attributes"] = new
    elif returns == "UPDATED_OLD" and old is not None:
        attributes = project(old, paths)
        if attributes:
            out["Attributes"] = attributes
    elif returns == "UPDATED_NEW":
        attributes = project(new, paths)
        if attributes:
            out["Attributes"] = attributes
    return out


# -- batches ---------------------------------------------------------------------------------------


def batch_get_item(req: Request) -> dict[str, Any]:
    requested = req.params.get("RequestItems")
    if not isinstance(requested, Mapping) or not requested:
        raise ValidationError("1 validation error detected: RequestItems must not be empty")
    total = sum(len(t.get("Keys") or []) for t in requested.values() if isinstance(t, Mapping))
    if total > 100:
        raise ValidationError("Too many items requested for the BatchGetItem call")
    responses: dict[str, list[Item]] = {}
    for name, spec in requested.items():
        info = req.table(name=name)
        if not isinstance(spec, Mapping) or not isinstance(spec.get("Keys"), list) or not spec["Keys"]:
            raise ValidationError("1 validation error detected: Keys must not be empty")
        ph = req.placeholders(spec)
        project_item = projector(req, spec, ph)
        ph.check_all_used()
        seen: set[tuple[Any, Any]] = set()
        found = []
        for key in spec["Keys"]:
            _, columns = check_key(info, key)
            if columns in seen:
                raise ValidationError("Provided list of item keys contains duplicates")
            seen.add(columns)
            item = req.store.get(info, *columns)
            if item is not None:
                found.append(project_item(item))
        responses[name] = found
    return {"Responses": responses, "UnprocessedKeys": {}}


def batch_write_item(req: Request) -> dict[str, Any]:
    requested = req.params.get("RequestItems")
    if not isinstance(requested, Mapping) or not requested:
        raise ValidationError("1 validation error detected: RequestItems must not be empty")
    total = sum(len(v) for v in requested.values() if isinstance(v, list))
    if total > 25:
        raise ValidationError(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
            "Map value must "
            "satisfy constraint: [Member must have length less than or equal to 25, Member must have length "
            "greater than or equal to 1]"
        )
    plan: list[tuple[TableInfo, str, Any, tuple[Any, Any]]] = []
    for name, writes in requested.items():
        info = req.table(name=name)
        if not isinstance(writes, list) or not writes:
            raise ValidationError(
                "1 validation error detected: each table's write requests must not be empty"
            )
        seen: set[tuple[Any, Any]] = set()
        for write in writes:
            if not isinstance(write, Mapping) or len(write) != 1:
                raise ValidationError("Each write request holds exactly one of PutRequest or DeleteRequest")
            if "PutRequest" in write:
                item, columns = check_new_item(info, (write["PutRequest"] or {}).get("Item"))
                plan.append((info, "put", item, columns))
            elif "DeleteRequest" in write:
                _, columns = check_key(info, (write["DeleteRequest"] or {}).get("Key"))
                plan.append((info, "delete", None, columns))
            else:
                raise ValidationError("Each write request holds exactly one of PutRequest or DeleteRequest")
            if columns in seen:
                raise ValidationError("Provided list of item keys contains duplicates")
            seen.add(columns)
    with req.store.transaction() as db:
        for info, action, item, columns in plan:
            if action == "put":
                req.store.put(db, info, item)
            else:
                req.store.delete(db, info, *columns)
    return {"UnprocessedItems": {}}


# -- transactions ----------------------------------------------------------------------------------


def transact_write_items(req: Request) -> dict[str, Any]:
    actions = req.params.get("TransactItems")
    if not isinstance(actions, list) or not 1 <= len(actions) <= 100:
        raise ValidationError(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must "
            "have length less than or equal to 100, Member must have length greater than or equal to 1"
        )
    plan = []
    seen: set[tuple[str, Any, Any]] = set()
    for action in actions:
        if not isinstance(action, Mapping) or len(action) != 1:
            raise ValidationError(
                "Each TransactItem holds exactly one of ConditionCheck, Put, Delete, Update"
            )
        ((kind, params),) = action.items()
        if kind not in ("ConditionCheck", "Put", "Delete", "Update") or not isinstance(params, Mapping):
            raise ValidationError(f"Unknown TransactItem type: {kind}")
        info = req.table(name=params.get("TableName"))
        ph = req.placeholders(params)
        update = condition = None
        if kind == "Update":
            update, condition = _updated(info, params, ph)
        else:
            condition = _condition(params, ph)
        if kind == "ConditionCheck" and condition is None:
            raise ValidationError("The ConditionCheck of a transaction needs a ConditionExpression")
        ph.check_all_used()
        if kind == "Put":
            key, columns = check_new_item(info, params.get("Item"))
        else:
            key, columns = check_key(info, params.get("Key"))
        if (info.name, *columns) in seen:
            raise ValidationError("Transaction request cannot include multiple operations on one item")
        seen.add((info.name, *columns))
        plan.append((kind, info, params, key, columns, update, condition))
    with req.store.transaction() as db:
        reasons: list[dict[str, Any]] = []
        olds = []
        for _kind, info, params, _key, columns, _update, check in plan:
            old = req.store.get(info, *columns, db)
            olds.append(old)
            if check is not None and not evaluate(check, old):
                reason: dict[str, Any] = {
                    "Code": "ConditionalCheckFailed",
                    "Message": "The conditional request failed",
                }
                if params.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                    reason["Item"] = old
                reasons.append(reason)
            else:
                reasons.append({"Code": "None"})
        if any(r["Code"] != "None" for r in reasons):
            codes = ", ".join(r["Code"] for r in reasons)
            raise DynamoError(
                "TransactionCanceledException",
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                CancellationReasons=reasons,
            )
        for (kind, info, _params, key, columns, update, _check), old in zip(plan, olds, strict=True):
            if kind == "Put":
                req.store.put(db, info, key)
            elif kind == "Delete":
                req.store.delete(db, info, *columns)
            elif kind == "Update":
                req.store.put(db, info, _apply(update, key, old))
    return {}


def transact_get_items(req: Request) -> dict[str, Any]:
    actions = req.params.get("TransactItems")
    if not isinstance(actions, list) or not 1 <= len(actions) <= 100:
        raise ValidationError("1 validation error detected: TransactItems must hold 1 to 100 items")
    responses = []
    with req.store.transaction() as db:
        for action in actions:
            params = action.get("Get") if isinstance(action, Mapping) else None
            if not isinstance(params, Mapping):
                raise ValidationError("Each TransactItem of TransactGetItems holds a Get")
            info = req.store.table(str(params.get("TableName")))
            if info is None:
                raise resource_not_found()
            ph = req.placeholders(params)
            project_item = projector(req, params, ph)
            ph.check_all_used()
            _, columns = check_key(info, params.get("Key"))
            item = req.store.get(info, *columns, db)
            responses.append({"Item": project_item(item)} if item is not None else {})
    return {"Responses": responses}
