"""Checks a raw JSON response against botocore's output shape for its operation: every required member is
there, no member is unknown, and every value has the shape's type (enums and timestamps included)."""

from __future__ import annotations

from typing import Any


def problems(value: Any, shape: Any, path: str = "") -> list[str]:
    kind = shape.type_name
    out: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path or '/'}: expected an object, got {value!r:.60}"]
        for name in shape.required_members:
            if name not in value:
                out.append(f"{path}/{name}: required member missing")
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                out.append(f"{path}/{name}: not a member of {shape.name}")
            else:
                out.extend(problems(item, member, f"{path}/{name}"))
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        for i, item in enumerate(value):
            out.extend(problems(item, shape.member, f"{path}/{i}"))
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        for k, item in value.items():
            out.extend(problems(item, shape.value, f"{path}/{k}"))
    elif kind == "string":
        if not isinstance(value, str):
            out.append(f"{path}: expected a string, got {value!r:.60}")
        elif shape.enum and value not in shape.enum:
            out.append(f"{path}: {value!r} is not one of {shape.enum}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{path}: expected an integer, got {value!r}")
    elif kind in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            out.append(f"{path}: expected a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected a boolean")
    elif kind == "timestamp" and (not isinstance(value, int | float) or isinstance(value, bool)):
        out.append(f"{path}: expected epoch seconds, got {value!r}")
    return out
