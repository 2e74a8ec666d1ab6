"""Choice rules (JSONPath query language), compiled once into predicates.

Every comparison operator, its ``...Path`` variant, the ``Is*`` type tests and ``And``/``Or``/``Not``.
No implicit coercion: a numeric operator never matches a string, a boolean is not a number. A
``Variable`` path that names nothing is ``States.Runtime`` unless the rule is ``IsPresent``.
``StringMatches`` runs in linear time (literal segments found left to right, no backtracking).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from stepmap.asl.jsonpath import JsonPath, PathNotFound, compile_path
from stepmap.asl.payload import References
from stepmap.asl.timestamps import parse_timestamp
from stepmap.errors import StatesError

__all__ = ["COMPARISONS", "Predicate", "compile_rule", "string_matches"]

Predicate = Callable[[References], bool]

_MISSING = object()


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _as_string(v: Any) -> Any:
    return v if isinstance(v, str) else _MISSING


def _as_number(v: Any) -> Any:
    return v if _is_number(v) else _MISSING


def _as_bool(v: Any) -> Any:
    return v if isinstance(v, bool) else _MISSING


def _as_time(v: Any) -> Any:
    t = parse_timestamp(v)
    return _MISSING if t is None else t


_EQ, _LT, _GT, _LE, _GE = operator.eq, operator.lt, operator.gt, operator.le, operator.ge

# operator name -> (coercion to the comparable domain, comparison)
COMPARISONS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], bool]]] = {
    "StringEquals": (_as_string, _EQ),
    "StringLessThan": (_as_string, _LT),
    "StringGreaterThan": (_as_string, _GT),
    "StringLessThanEquals": (_as_string, _LE),
    "StringGreaterThanEquals": (_as_string, _GE),
    "NumericEquals": (_as_number, _EQ),
    "NumericLessThan": (_as_number, _LT),
    "NumericGreaterThan": (_as_number, _GT),
    "NumericLessThanEquals": (_as_number, _LE),
    "NumericGreaterThanEquals": (_as_number, _GE),
    "BooleanEquals": (_as_bool, _EQ),
    "TimestampEquals": (_as_time, _EQ),
    "TimestampLessThan": (_as_time, _LT),
    "TimestampGreaterThan": (_as_time, _GT),
    "TimestampLessThanEquals": (_as_time, _LE),
    "TimestampGreaterThanEquals": (_as_time, _GE),
}

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}


def _split_pattern(pattern: str) -> list[str]:
    """Split a StringMatches pattern at unescaped ``*``; ``\\*`` and ``\\\\`` are literal."""
    segments: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            current.append(pattern[i + 1])
            i += 2
            continue
        if ch == "*":
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    segments.append("".join(current))
    return segments


def string_matches(value: str, pattern: str) -> bool:
    """Glob match with ``*`` only, in linear time: greedy leftmost search of each literal segment."""
    segments = _split_pattern(pattern)
    if len(segments) == 1:
        return value == segments[0]
    first, last, middle = segments[0], segments[-1], segments[1:-1]
    if len(value) < len(first) + len(last) or not value.startswith(first) or not value.endswith(last):
        return False
    pos, end = len(first), len(value) - len(last)
    for seg in middle:
        found = value.find(seg, pos, end)
        if found < 0:
            return False
        pos = found + len(seg)
    return True


def _variable_getter(path: JsonPath) -> Callable[[References], Any]:
    def get(refs: References) -> Any:
        try:
            return path.get(refs.document(path))
        except PathNotFound:
            return _MISSING

    return get


def _missing_variable(path: JsonPath) -> StatesError:
    return StatesError(
        "States.Runtime",
        f"Invalid path '{path.text}': The choice state's condition path references an invalid value.",
    )


def compile_rule(rule: Mapping[str, Any]) -> Predicate:
    """Compile one Choice rule (a top-level rule or a nested one) into a predicate."""
    if "And" in rule:
        parts = [compile_rule(r) for r in rule["And"]]
        return lambda refs: all(p(refs) for p in parts)
    if "Or" in rule:
        parts = [compile_rule(r) for r in rule["Or"]]
        return lambda refs: any(p(refs) for p in parts)
    if "Not" in rule:
        inner = compile_rule(rule["Not"])
        return lambda refs: not inner(refs)

    variable = compile_path(rule["Variable"])
    get = _variable_getter(variable)

    if "IsPresent" in rule:
        want = bool(rule["IsPresent"])
        return lambda refs: (get(refs) is not _MISSING) == want

    for name, test in TYPE_TESTS.items():
        if name in rule:
            want = bool(rule[name])

            def type_test(refs: References, test: Callable[[Any], bool] = test, want: bool = want) -> bool:
                value = get(refs)
                if value is _MISSING:
                    raise _missing_variable(variable)
                return test(value) == want

            return type_test

    if "StringMatches" in rule:
        pattern = rule["StringMatches"]

        def matches(refs: References) -> bool:
            value = get(refs)
            if value is _MISSING:
                raise _missing_variable(variable)
            return isinstance(value, str) and string_matches(value, pattern)

        return matches

    for name, (coerce, compare) in COMPARISONS.items():
        if name in rule:
            right_const = coerce(rule[name])

            def compare_const(refs: References, coerce=coerce, compare=compare, right=right_const) -> bool:
                value = get(refs)
                if value is _MISSING:
                    raise _missing_variable(variable)
                left = coerce(value)
                return left is not _MISSING and right is not _MISSING and compare(left, right)

            return compare_const
        path_key = name + "Path"
        if path_key in rule:
            other = compile_path(rule[path_key])
            get_other = _variable_getter(other)

            def compare_paths(
                refs: References, coerce=coerce, compare=compare, get_other=get_other, other=other
            ) -> bool:
                value = get(refs)
                if value is _MISSING:
                    raise _missing_variable(variable)
                right = get_other(refs)
                if right is _MISSING:
                    raise _missing_variable(other)
                left, right = coerce(value), coerce(right)
                return left is not _MISSING and right is not _MISSING and compare(left, right)

            return compare_paths
    raise ValueError(f"Choice rule has no comparison operator: {sorted(rule)}")
