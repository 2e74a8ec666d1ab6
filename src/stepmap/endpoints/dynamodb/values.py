"""DynamoDB attribute values (``{"S": "x"}``, ``{"N": "5"}``, ...): checking, comparing, sizing, and the
plain JSON view that :func:`stepmap.table` handlers see.

Values stay in their wire form (a one-key dict) everywhere in the endpoint: numbers as canonical decimal
strings, binaries as base64 text. :func:`check_value` validates what a client sent and normalizes numbers
the way DynamoDB does (``"1.0"`` -> ``"1"``, 38 significant digits, magnitudes 1e-130 to 1e126).

The plain view (:func:`to_plain` / :func:`from_plain`) is how the SQLite tables hold items, so
``stepmap.table()`` inside a handler reads what a boto3 client wrote and the other way round: strings,
numbers (``int``, or ``float`` when the decimal is exactly a float), booleans, null, maps and lists map to
JSON; binaries and sets have no JSON twin, so :func:`needs_typed` tells the store to keep the exact typed
item beside the plain one. No state.
"""

from __future__ import annotations

import base64
import binascii
import decimal
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stepmap.endpoints.protocol import AwsJsonError

__all__ = [
    "TYPES",
    "ValidationError",
    "check_item",
    "check_value",
    "compare",
    "from_plain",
    "item_size",
    "needs_typed",
    "to_plain",
    "value_size",
    "values_equal",
]

TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
_CTX = decimal.Context(prec=38, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


class ValidationError(AwsJsonError):
    def __init__(self, message: str) -> None:
        super().__init__("com.amazon.coral.validate#ValidationException", message, 400)


def _number(text: Any) -> str:
    """A DynamoDB number as its canonical text, or ValidationError."""
    if not isinstance(text, str):
        raise ValidationError("NUMBER_VALUE cannot be converted to String")
    try:
        value = Decimal(text.strip())
        if not value.is_finite():
            raise decimal.InvalidOperation
        value = _CTX.plus(value)
    except decimal.Inexact:
        raise ValidationError("Attempting to store more than 38 significant digits in a Number") from None
    except (decimal.InvalidOperation, ValueError):
        raise ValidationError(f"The parameter cannot be converted to a numeric value: {text}") from None
    if value != 0 and (value.adjusted() > 125 or value.adjusted() < -130):
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    return format_number(value)


def format_number(value: Decimal) -> str:
    if value == 0:
        return "0"
    value = value.normalize(_CTX)
    return f"{value:f}"


def _binary(text: Any) -> str:
    if not isinstance(text, str):
        raise ValidationError("Invalid binary value: expected base64 text")
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("Invalid binary value: not base64") from None
    return text


def check_value(value: Any, where: str = "") -> dict[str, Any]:
    """``value`` validated as an AttributeValue, numbers normalized."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValidationError(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
            "supported datatypes"
            if isinstance(value, Mapping) and value
            else "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    ((kind, inner),) = value.items()
    if kind == "S":
        if not isinstance(inner, str):
            raise ValidationError("Invalid attribute value type: S must be a string")
        return {"S": inner}
    if kind == "N":
        return {"N": _number(inner)}
    if kind == "B":
        return {"B": _binary(inner)}
    if kind == "BOOL":
        if not isinstance(inner, bool):
            raise ValidationError("Invalid attribute value type: BOOL must be a boolean")
        return {"BOOL": inner}
    if kind == "NULL":
        if inner is not True:
            raise ValidationError(
                "One or more parameter values were invalid: "
                "Null attribute value types must have the value of true"
            )
        return {"NULL": True}
    if kind in ("SS", "NS", "BS"):
        if not isinstance(inner, list) or not inner:
            raise ValidationError(
                "One or more parameter values were invalid: An string set  may not be empty"
                if kind == "SS"
                else "One or more parameter values were invalid: An number set  may not be empty"
                if kind == "NS"
                else "One or more parameter values were invalid: Binary sets should not be empty"
            )
        conv = {"SS": _string, "NS": _number, "BS": _binary}[kind]
        members = [conv(v) for v in inner]
        key = (lambda m: Decimal(m)) if kind == "NS" else (lambda m: m)
        if len({key(m) for m in members}) != len(members):
            raise ValidationError(
                f"One or more parameter values were invalid: Input collection {inner} contains duplicates."
            )
        return {kind: members}
    if kind == "M":
        if not isinstance(inner, Mapping):
            raise ValidationError("Invalid attribute value type: M must be a map")
        return {"M": {str(k): check_value(v) for k, v in inner.items()}}
    if kind == "L":
        if not isinstance(inner, list):
            raise ValidationError("Invalid attribute value type: L must be a list")
        return {"L": [check_value(v) for v in inner]}
    raise ValidationError(f"Supplied AttributeValue has an unknown datatype: {kind}")


def _string(v: Any) -> str:
    if not isinstance(v, str):
        raise ValidationError("Invalid attribute value type: SS members must be strings")
    return v


def check_item(item: Any, what: str = "Item") -> dict[str, dict[str, Any]]:
    if not isinstance(item, Mapping):
        raise ValidationError(f"{what} must be a map of attribute names to values")
    out = {}
    for name, value in item.items():
        if not isinstance(name, str) or not name:
            raise ValidationError("One or more parameter values were invalid: An attribute name is empty")
        out[name] = check_value(value)
    return out


# -- comparing ---------------------------------------------------------------------------------


def values_equal(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    if a is None or b is None:
        return False
    (ka, va), (kb, vb) = next(iter(a.items())), next(iter(b.items()))
    if ka != kb:
        return False
    if ka == "N":
        return Decimal(va) == Decimal(vb)
    if ka == "NS":
        return {Decimal(x) for x in va} == {Decimal(x) for x in vb}
    if ka in ("SS", "BS"):
        return set(va) == set(vb)
    if ka == "M":
        return va.keys() == vb.keys() and all(values_equal(va[k], vb[k]) for k in va)
    if ka == "L":
        return len(va) == len(vb) and all(values_equal(x, y) for x, y in zip(va, vb, strict=True))
    return bool(va == vb)


def sort_key(value: Mapping[str, Any]) -> Any:
    """An orderable form of an S, N or B value (strings by UTF-8 bytes, as DynamoDB orders them)."""
    ((kind, inner),) = value.items()
    if kind == "N":
        return Decimal(inner)
    if kind == "S":
        return inner.encode()
    if kind == "B":
        return base64.b64decode(inner)
    raise ValidationError(f"cannot order values of type {kind}")


def compare(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> int | None:
    """-1, 0, 1 for two comparable values of the same scalar type (S, N, B); None otherwise."""
    if a is None or b is None:
        return None
    ka, kb = next(iter(a)), next(iter(b))
    if ka != kb or ka not in ("S", "N", "B"):
        return None
    x, y = sort_key(a), sort_key(b)
    return (x > y) - (x < y)


# -- sizes ---------------------------------------------------------------------------------------


def value_size(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").strip("0")
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("NULL", "BOOL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    return 0


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


# -- the plain JSON view ---------------------------------------------------------------------------


def _plain_number(text: str) -> tuple[Any, bool]:
    """(int or float, exact?) for a canonical number text."""
    value = Decimal(text)
    if value == value.to_integral_value():
        return int(value), True
    as_float = float(value)
    return as_float, Decimal(repr(as_float)) == value


def to_plain(value: Mapping[str, Any]) -> tuple[Any, bool]:
    """(the JSON view of ``value``, whether it round-trips exactly through :func:`from_plain`)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return inner, True
    if kind == "N":
        return _plain_number(inner)
    if kind == "BOOL":
        return inner, True
    if kind == "NULL":
        return None, True
    if kind == "M":
        out, exact = {}, True
        for k, v in inner.items():
            out[k], ok = to_plain(v)
            exact = exact and ok
        return out, exact
    if kind == "L":
        items, exact = [], True
        for v in inner:
            p, ok = to_plain(v)
            items.append(p)
            exact = exact and ok
        return items, exact
    if kind == "NS":
        return [_plain_number(n)[0] for n in inner], False
    return inner, False  # B, SS, BS: base64 text / lists of text


def item_to_plain(item: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], bool]:
    out, exact = {}, True
    for name, value in item.items():
        out[name], ok = to_plain(value)
        exact = exact and ok
    return out, exact


def from_plain(value: Any) -> dict[str, Any]:
    """A JSON value (as ``stepmap.table()`` stores it) as an AttributeValue."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": format_number(Decimal(repr(value)))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [from_plain(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: from_plain(v) for k, v in value.items()}}
    raise ValidationError(f"a stored value of type {type(value).__name__} has no DynamoDB type")


def item_from_plain(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: from_plain(value) for name, value in item.items()}


def needs_typed(item: Mapping[str, Mapping[str, Any]]) -> bool:
    return not item_to_plain(item)[1]
