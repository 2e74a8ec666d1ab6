"""Evaluating parsed DynamoDB expressions over items in wire form: conditions and filters, projections,
and update actions. Never raises for a missing attribute in a condition: comparisons with it are false
(``<>`` true), as on DynamoDB; updates raise DynamoDB's ValidationException for paths they cannot write.
No state.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stepmap.endpoints.dynamodb.expressions import (
    Arith,
    Between,
    Call,
    Compare,
    Const,
    In,
    Item,
    Logical,
    Path,
    PathElem,
    PathRef,
    Update,
)
from stepmap.endpoints.dynamodb.values import ValidationError, compare, format_number, values_equal

__all__ = ["apply_update", "evaluate", "project", "resolve"]


# -- evaluation ----------------------------------------------------------------------------------


def resolve(item: Mapping[str, Any], path: Path) -> dict[str, Any] | None:
    current: Any = item.get(str(path[0])) if isinstance(path[0], str) else None
    for elem in path[1:]:
        if current is None:
            return None
        if isinstance(elem, int):
            inner = current.get("L")
            current = inner[elem] if isinstance(inner, list) and elem < len(inner) else None
        else:
            inner = current.get("M")
            current = inner.get(elem) if isinstance(inner, dict) else None
    return current


def _size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    ((kind, inner),) = value.items()
    if kind == "S":
        n = len(inner)
    elif kind == "B":
        n = len(base64.b64decode(inner))
    elif kind in ("SS", "NS", "BS", "L", "M"):
        n = len(inner)
    else:
        return None
    return {"N": str(n)}


def operand_value(node: Any, item: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, PathRef):
        return resolve(item, node.path)
    if isinstance(node, Call) and node.name == "size":
        return _size(resolve(item, node.args[0].path))
    raise ValidationError(f"unsupported operand {node!r}")


def evaluate(node: Any, item: Mapping[str, Any] | None) -> bool:
    """Whether ``item`` (None: no item) satisfies the condition ``node``."""
    item = item or {}
    if isinstance(node, Logical):
        if node.op == "AND":
            return evaluate(node.args[0], item) and evaluate(node.args[1], item)
        if node.op == "OR":
            return evaluate(node.args[0], item) or evaluate(node.args[1], item)
        return not evaluate(node.args[0], item)
    if isinstance(node, Compare):
        a, b = operand_value(node.left, item), operand_value(node.right, item)
        if node.op == "=":
            return values_equal(a, b)
        if node.op == "<>":
            return not values_equal(a, b)
        c = compare(a, b)
        if c is None:
            return False
        return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[node.op]
    if isinstance(node, Between):
        a = operand_value(node.operand, item)
        low, high = operand_value(node.low, item), operand_value(node.high, item)
        lo, hi = compare(a, low), compare(a, high)
        return lo is not None and hi is not None and lo >= 0 and hi <= 0
    if isinstance(node, In):
        a = operand_value(node.operand, item)
        return any(values_equal(a, operand_value(o, item)) for o in node.options)
    if isinstance(node, Call):
        return _function(node, item)
    raise ValidationError(f"unsupported condition {node!r}")


def _function(node: Call, item: Mapping[str, Any]) -> bool:
    target = resolve(item, node.args[0].path)
    if node.name == "attribute_exists":
        return target is not None
    if node.name == "attribute_not_exists":
        return target is None
    if target is None:
        return False
    arg = operand_value(node.args[1], item)
    if arg is None:
        return False
    ((kind, inner),) = target.items()
    ((akind, ainner),) = arg.items()
    if node.name == "attribute_type":
        return bool(kind == ainner)
    if node.name == "begins_with":
        if kind != akind or kind not in ("S", "B"):
            return False
        if kind == "B":
            return base64.b64decode(inner).startswith(base64.b64decode(ainner))
        return bool(inner.startswith(ainner))
    # contains
    if kind == "S":
        return akind == "S" and ainner in inner
    if kind == "B":
        return akind == "B" and base64.b64decode(ainner) in base64.b64decode(inner)
    if kind in ("SS", "NS", "BS"):
        if akind != kind[0]:
            return False
        return any(values_equal({akind: m}, arg) for m in inner)
    if kind == "L":
        return any(values_equal(v, arg) for v in inner)
    return False


# -- projection -----------------------------------------------------------------------------------


def project(item: Mapping[str, Any], paths: list[Path]) -> Item:
    """The parts of ``item`` at ``paths`` (list elements compacted, as DynamoDB returns them)."""
    out: dict[str, Any] = {}
    for path in paths:
        value = resolve(item, path)
        if value is None:
            continue
        _merge(out, path, copy.deepcopy(value))
    return out


def _merge(out: dict[str, Any], path: Path, value: dict[str, Any]) -> None:
    # Build the nested containers; list indexes project into positions in order of appearance.
    head = str(path[0])
    if len(path) == 1:
        out[head] = value
        return
    container = out.get(head)
    kind = "L" if isinstance(path[1], int) else "M"
    if container is None:
        container = out[head] = {kind: {} if kind == "M" else []}
    _merge_into(container, path[1:], value)


def _merge_into(container: dict[str, Any], path: Path, value: dict[str, Any]) -> None:
    elem = path[0]
    if "M" in container and isinstance(elem, str):
        inner = container["M"]
        if len(path) == 1:
            inner[elem] = value
            return
        child = inner.get(elem)
        if child is None:
            child = inner[elem] = {"L": []} if isinstance(path[1], int) else {"M": {}}
        _merge_into(child, path[1:], value)
    elif "L" in container and isinstance(elem, int):
        inner = container["L"]
        if len(path) == 1:
            inner.append(value)
            return
        child = {"L": []} if isinstance(path[1], int) else {"M": {}}
        inner.append(child)
        _merge_into(child, path[1:], value)


# -- updates ---------------------------------------------------------------------------------------


def _invalid_path() -> ValidationError:
    return ValidationError("The document path provided in the update expression is invalid for update")


def _update_value(node: Any, item: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(node, Arith):
        a, b = _update_value(node.left, item), _update_value(node.right, item)
        if "N" not in a or "N" not in b:
            raise ValidationError("An operand in the update expression has an incorrect data type")
        x, y = Decimal(a["N"]), Decimal(b["N"])
        return {"N": format_number(x + y if node.op == "+" else x - y)}
    if isinstance(node, Call) and node.name == "if_not_exists":
        found = resolve(item, node.args[0].path)
        return found if found is not None else _update_value(node.args[1], item)
    if isinstance(node, Call) and node.name == "list_append":
        a, b = _update_value(node.args[0], item), _update_value(node.args[1], item)
        if "L" not in a or "L" not in b:
            raise ValidationError("An operand in the update expression has an incorrect data type")
        return {"L": a["L"] + b["L"]}
    value = operand_value(node, item)
    if value is None:
        raise ValidationError(
            "The provided expression refers to an attribute that does not exist in the item"
        )
    return value


def _parent(item: dict[str, Any], path: Path, create: bool) -> tuple[Any, PathElem] | None:
    """The container holding ``path``'s last element (a dict of attributes, an M's dict or an L's list)."""
    if len(path) == 1:
        return item, path[0]
    current = item.get(str(path[0]))
    for elem in path[1:-1]:
        if current is None:
            break
        if isinstance(elem, int):
            inner = current.get("L")
            current = inner[elem] if isinstance(inner, list) and elem < len(inner) else None
        else:
            inner = current.get("M")
            current = inner.get(elem) if isinstance(inner, dict) else None
    last = path[-1]
    if current is None:
        if create:
            raise _invalid_path()
        return None
    if isinstance(last, int):
        if "L" not in current:
            if create:
                raise _invalid_path()
            return None
        return current["L"], last
    if "M" not in current:
        if create:
            raise _invalid_path()
        return None
    return current["M"], last


def _put(item: dict[str, Any], path: Path, value: dict[str, Any]) -> None:
    found = _parent(item, path, create=True)
    assert found is not None
    container, last = found
    if isinstance(container, list):
        assert isinstance(last, int)
        if last < len(container):
            container[last] = value
        else:
            container.append(value)
    else:
        container[last] = value


def _remove(item: dict[str, Any], path: Path) -> None:
    found = _parent(item, path, create=False)
    if found is None:
        return
    container, last = found
    if isinstance(container, list):
        assert isinstance(last, int)
        if last < len(container):
            del container[last]
    else:
        container.pop(last, None)


def apply_update(update: Update, item: Mapping[str, Any]) -> Item:
    """The item after ``update`` (``item`` is not changed). Right-hand sides read the item as it was."""
    before = item
    after: Item = copy.deepcopy(dict(item))
    values = [(path, _update_value(node, before)) for path, node in update.set]
    for path, value in values:
        _put(after, path, value)
    # REMOVE of list elements: highest indexes first so earlier removals do not shift later ones.
    for path in sorted(update.remove, key=lambda p: [(-e if isinstance(e, int) else 0) for e in p]):
        _remove(after, path)
    for path, value in update.add:
        current = resolve(after, path)
        kind = next(iter(value))
        if kind == "N":
            if current is None:
                _put(after, path, value)
            elif "N" in current:
                _put(after, path, {"N": format_number(Decimal(current["N"]) + Decimal(value["N"]))})
            else:
                raise ValidationError("An operand in the update expression has an incorrect data type")
        elif kind in ("SS", "NS", "BS"):
            if current is None:
                _put(after, path, value)
            elif kind in current:
                merged = list(current[kind])
                for member in value[kind]:
                    if not any(values_equal({kind: [member]}, {kind: [m]}) for m in merged):
                        merged.append(member)
                _put(after, path, {kind: merged})
            else:
                raise ValidationError("An operand in the update expression has an incorrect data type")
        else:
            raise ValidationError(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
                f"operand type: {_type_name(kind)}"
            )
    for path, value in update.delete:
        kind = next(iter(value))
        if kind not in ("SS", "NS", "BS"):
            raise ValidationError(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; "
                "operator: DELETE, "
                f"operand type: {_type_name(kind)}"
            )
        current = resolve(after, path)
        if current is None:
            continue
        if kind not in current:
            raise ValidationError("An operand in the update expression has an incorrect data type")
        left = [
            m for m in current[kind] if not any(values_equal({kind: [m]}, {kind: [d]}) for d in value[kind])
        ]
        if left:
            _put(after, path, {kind: left})
        else:
            _remove(after, path)
    return after


def _type_name(kind: str) -> str:
    return {
        "S": "STRING",
        "N": "NUMBER",
        "B": "BINARY",
        "BOOL": "BOOLEAN",
        "NULL": "NULL",
        "M": "MAP",
        "L": "LIST",
    }.get(kind, kind)
