"""EventBridge event patterns: check one, and match events against it. Pure; no state.

The rules, from EventBridge's documentation ("Creating event patterns", "Content filtering"):

* a pattern is a JSON object whose fields mirror the event's; a nested object matches a nested object;
  every field must match (AND), ``"$or": [pattern, ...]`` at any level matches when one of them does;
* a leaf is a non-empty array of matchers, any of which may match (OR); when the event's value is an array,
  the leaf matches when one of its elements does;
* matchers: a literal (string, number -- compared as numbers --, ``null``, ``true``/``false``);
  ``{"prefix": s}`` and ``{"suffix": s}`` (also ``{"prefix": {"equals-ignore-case": s}}``);
  ``{"equals-ignore-case": s}``; ``{"anything-but": literal | [literals] | {"prefix"|"suffix"|
  "equals-ignore-case": ...}}``; ``{"numeric": [op, n, (op, n)]}`` with ``=``, ``<``, ``<=``, ``>``, ``>=``;
  ``{"exists": true|false}``; ``{"wildcard": "a*b"}`` (``\\*`` is a literal star).
* only ``exists: false`` matches a field the event does not have.

:func:`pattern_problems` lists every problem of a pattern with its path (``/detail/state/0``); the CLI
refuses a rule with any (exit code 2). ``cidr`` matching is not supported and is refused, not ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["check_pattern", "matches", "pattern_problems"]

_NUMERIC_OPS = {"=", "<", "<=", ">", ">="}
_STRING_OPS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_MISSING = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def pattern_problems(pattern: Any, at: str = "") -> list[str]:
    return list(_problems(pattern, at))


def check_pattern(pattern: Any) -> None:
    """Raise ValueError naming every problem of ``pattern``."""
    problems = pattern_problems(pattern)
    if problems:
        raise ValueError("invalid event pattern: " + "; ".join(problems))


def _problems(pattern: Any, at: str) -> Iterator[str]:
    if not isinstance(pattern, Mapping):
        yield f"{at or '/'}: a pattern is a JSON object"
        return
    if not pattern and not at:
        yield "/: the pattern is empty"
    for key, rule in pattern.items():
        where = f"{at}/{key}"
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2:
                yield f"{where}: $or takes an array of at least two patterns"
                continue
            for i, sub in enumerate(rule):
                yield from _problems(sub, f"{where}/{i}")
        elif isinstance(rule, Mapping):
            yield from _problems(rule, where)
        elif not isinstance(rule, list) or not rule:
            yield f'{where}: a leaf is a non-empty array of values or matchers, such as ["x"]'
        else:
            for i, matcher in enumerate(rule):
                yield from _matcher_problems(matcher, f"{where}/{i}")


def _matcher_problems(m: Any, at: str) -> Iterator[str]:
    if m is None or isinstance(m, str | bool) or _is_number(m):
        return
    if not isinstance(m, Mapping) or len(m) != 1:
        yield f"{at}: a matcher is a literal or an object with one operator"
        return
    op, arg = next(iter(m.items()))
    if op in ("prefix", "suffix"):
        if isinstance(arg, Mapping) and set(arg) == {"equals-ignore-case"}:
            arg = arg["equals-ignore-case"]
        if not isinstance(arg, str):
            yield f"{at}: {op} takes a string"
    elif op in ("equals-ignore-case", "wildcard"):
        if not isinstance(arg, str):
            yield f"{at}: {op} takes a string"
        elif op == "wildcard" and "**" in arg:
            yield f"{at}: wildcard may not hold consecutive '*'"
    elif op == "exists":
        if not isinstance(arg, bool):
            yield f"{at}: exists takes true or false"
    elif op == "numeric":
        if not isinstance(arg, list) or len(arg) not in (2, 4):
            yield f"{at}: numeric takes [op, number] or [op, number, op, number]"
        else:
            for i in range(0, len(arg), 2):
                if arg[i] not in _NUMERIC_OPS or not _is_number(arg[i + 1]):
                    yield f"{at}: numeric operators are =, <, <=, >, >= each followed by a number"
                    break
            if len(arg) == 4 and (arg[0] not in (">", ">=") or arg[2] not in ("<", "<=")):
                yield f'{at}: a numeric range is [">"|">=", low, "<"|"<=", high]'
    elif op == "anything-but":
        if isinstance(arg, Mapping):
            if len(arg) != 1 or next(iter(arg)) not in ("prefix", "suffix", "equals-ignore-case"):
                yield (
                    f"{at}: anything-but takes a literal, an array of literals, "
                    "or prefix/suffix/equals-ignore-case"
                )
            elif not isinstance(next(iter(arg.values())), str | list):
                yield f"{at}: anything-but's {next(iter(arg))} takes a string"
        elif isinstance(arg, list):
            if not arg or not all(isinstance(v, str) or _is_number(v) for v in arg):
                yield f"{at}: anything-but's array holds strings or numbers"
        elif not (isinstance(arg, str) or _is_number(arg)):
            yield f"{at}: anything-but takes a string, a number or an array of them"
    elif op == "cidr":
        yield f"{at}: cidr matching is not supported by stepmap yet"
    else:
        yield (
            f"{at}: unknown operator {op!r} "
            "(prefix, suffix, anything-but, numeric, exists, wildcard, equals-ignore-case)"
        )


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` (a JSON object) matches ``pattern`` (checked with :func:`check_pattern`)."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(sub, event) for sub in rule):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if not matches(rule, value if isinstance(value, Mapping) else {}):
                return False
        elif not _leaf(rule, value):
            return False
    return True


def _leaf(matchers: list[Any], value: Any) -> bool:
    present = value is not _MISSING
    values = value if isinstance(value, list) else [value]
    for m in matchers:
        if isinstance(m, Mapping) and "exists" in m:
            if m["exists"] == (present and not isinstance(value, Mapping)):
                return True
        elif present and any(_one(m, v) for v in values):
            return True
    return False


def _equal(m: Any, v: Any) -> bool:
    if _is_number(m) and _is_number(v):
        return float(m) == float(v)
    return type(m) is type(v) and m == v


def _one(m: Any, v: Any) -> bool:
    if not isinstance(m, Mapping):
        return _equal(m, v)
    op, arg = next(iter(m.items()))
    if op == "numeric":
        return _is_number(v) and all(_compare(v, arg[i], arg[i + 1]) for i in range(0, len(arg), 2))
    if op == "anything-but":
        if isinstance(arg, Mapping):
            return isinstance(v, str) and not _string(next(iter(arg)), next(iter(arg.values())), v)
        return not any(_equal(a, v) for a in (arg if isinstance(arg, list) else [arg]))
    if op in _STRING_OPS:
        return isinstance(v, str) and _string(op, arg, v)
    return False


def _string(op: str, arg: Any, v: str) -> bool:
    if isinstance(arg, list):  # anything-but {"prefix": [..]}
        return any(_string(op, a, v) for a in arg)
    if isinstance(arg, Mapping):  # {"prefix": {"equals-ignore-case": "x"}}
        arg, v = str(arg["equals-ignore-case"]).casefold(), v.casefold()
    if op == "prefix":
        return v.startswith(arg)
    if op == "suffix":
        return v.endswith(arg)
    if op == "equals-ignore-case":
        return v.casefold() == str(arg).casefold()
    return _wildcard(arg).fullmatch(v) is not None


def _wildcard(text: str) -> re.Pattern[str]:
    parts = re.split(r"(\\\*|\*)", text)
    return re.compile("".join(".*" if p == "*" else re.escape("*" if p == "\\*" else p) for p in parts), re.S)


def _compare(v: float, op: str, n: float) -> bool:
    return {"=": v == n, "<": v < n, "<=": v <= n, ">": v > n, ">=": v >= n}[op]


def load_pattern(text: str) -> Any:
    """A pattern from JSON text; ValueError when it is not JSON or has problems."""
    try:
        pattern = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the event pattern is not JSON: {exc}") from None
    check_pattern(pattern)
    return pattern
