"""The 18 JSONPath intrinsic functions (``States.Format``, ``States.Array``, ...): parser and evaluator.

A ``.$`` field whose value is ``States.Name(arg, ...)`` is compiled once, at definition time, into an
immutable :class:`Intrinsic` (a small tree of calls, literals and compiled paths); :func:`compile_intrinsic`
raises :class:`IntrinsicSyntaxError` for anything AWS would reject when the machine is created (bad syntax,
unknown function, wrong argument count, more than 10 calls in one field, a literal ``States.Format`` template
whose ``{}`` count does not match its arguments). At run time :meth:`Intrinsic.evaluate` resolves each path
through a callback supplied by the interpreter (which owns the roots ``$``, ``$$`` and ``$var``) and fails
with ``States.IntrinsicFailure`` when an argument has the wrong type or breaks one of AWS's limits.

Argument grammar (AWS "intrinsic-functions" page and the ASL specification, Appendix B)::

    call    := "States." NAME "(" [arg ("," arg)*] ")"        whitespace allowed around arguments
    arg     := string | number | "true" | "false" | "null" | path | call
    string  := "'" (char | "\\'" | "\\{" | "\\}" | "\\\\")* "'"  any other backslash is an error
    number  := "-"? digits ("." digits)? (("e"|"E") ("+"|"-")? digits)?
    path    := "$" ...                                      up to the next top-level "," or ")"

The module keeps no state beyond the ``lru_cache`` of compiled texts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NoReturn

from stepmap.asl import jsontext
from stepmap.asl.jsonpath import JsonPath, compile_path
from stepmap.errors import StatesError

__all__ = [
    "MAX_CALLS_PER_FIELD",
    "Intrinsic",
    "IntrinsicSyntaxError",
    "compile_intrinsic",
    "looks_like_intrinsic",
]

MAX_CALLS_PER_FIELD = 10  # AWS: "You can nest up to 10 intrinsic functions within a field"
MAX_ARRAY_RANGE_ITEMS = 1000
MAX_ENCODE_CHARS = 10_000  # Base64Encode, Base64Decode and Hash inputs
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1  # MathAdd's documented argument range

_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_ESCAPABLE = "'{}\\"
_FAILURE = "States.IntrinsicFailure"


class IntrinsicSyntaxError(ValueError):
    """An intrinsic function text that AWS would reject when the state machine is created."""


def looks_like_intrinsic(text: str) -> bool:
    """Is ``text`` meant as an intrinsic call (rather than a path)? Says nothing about its validity."""
    stripped = text.strip()
    return stripped.startswith("States.") and "(" in stripped


@lru_cache(maxsize=4096)
def compile_intrinsic(text: str) -> Intrinsic:
    """Parse an intrinsic function call; raises :class:`IntrinsicSyntaxError` with a clear message."""
    call, paths = _Parser(text).parse()
    return Intrinsic(text=text, _call=call, _paths=paths)


# --- the parsed tree -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: Any
    # For string literals: the text split at unescaped "{}" (each piece already unescaped), so that
    # States.Format can tell a placeholder from an escaped "\{\}".
    pieces: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _PathArg:
    text: str
    path: JsonPath


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[_Literal | _PathArg | _Call, ...]


_Arg = _Literal | _PathArg | _Call


@dataclass(frozen=True)
class Intrinsic:
    """A compiled intrinsic function call; ``text`` is the source it came from."""

    text: str
    _call: _Call = field(repr=False, compare=False)
    _paths: tuple[JsonPath, ...] = field(repr=False, compare=False)

    def evaluate(self, resolve: Callable[[JsonPath], Any]) -> Any:
        """Run the call. ``resolve(path)`` supplies the value of each path argument (and raises the
        caller's own error when the path is missing); bad arguments raise ``States.IntrinsicFailure``."""
        return _evaluate(self._call, resolve)

    def paths(self) -> list[JsonPath]:
        """Every path argument, nested calls included, in source order."""
        return list(self._paths)


# --- parser ----------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over one field's text; the call limit also bounds the recursion depth."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.calls = 0
        self.paths: list[JsonPath] = []

    def parse(self) -> tuple[_Call, tuple[JsonPath, ...]]:
        self._skip_space()
        if not self.text.startswith("States.", self.pos):
            self._error("an intrinsic function must start with 'States.'")
        call = self._call()
        self._skip_space()
        if self.pos != len(self.text):
            self._error(f"unexpected {self.text[self.pos :]!r} after the closing ')'")
        return call, tuple(self.paths)

    def _error(self, message: str, pos: int | None = None) -> NoReturn:
        where = self.pos if pos is None else pos
        shown = self.text if len(self.text) <= 120 else self.text[:117] + "..."
        raise IntrinsicSyntaxError(
            f"invalid intrinsic function: {message} (at position {where} of {shown!r})"
        )

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _call(self) -> _Call:
        start = self.pos
        self.pos += len("States.")
        name_start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        name = "States." + self.text[name_start : self.pos]
        if name not in _FUNCTIONS:
            self._error(f"unknown function {name!r}", start)
        self.calls += 1
        if self.calls > MAX_CALLS_PER_FIELD:
            self._error(f"more than {MAX_CALLS_PER_FIELD} intrinsic function calls in one field", start)
        if self.text[self.pos : self.pos + 1] != "(":
            self._error(f"expected '(' after {name}")
        self.pos += 1
        args: list[_Arg] = []
        self._skip_space()
        if self.text[self.pos : self.pos + 1] == ")":
            self.pos += 1
        else:
            while True:
                self._skip_space()
                args.append(self._arg())
                self._skip_space()
                char = self.text[self.pos : self.pos + 1]
                self.pos += 1
                if char == ")":
                    break
                if char != ",":
                    self._error(f"expected ',' or ')' in the arguments of {name}", self.pos - 1)
        call = _Call(name, tuple(args))
        _check_static(call, self._error, start)
        return call

    def _arg(self) -> _Arg:
        rest = self.text[self.pos :]
        if rest.startswith("'"):
            return self._string()
        if rest.startswith("$"):
            return self._path()
        if rest.startswith("States."):
            return self._call()
        if rest[:1] == "-" or rest[:1].isdigit():
            return self._number()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if rest.startswith(word):
                self.pos += len(word)
                self._expect_delimiter(word)
                return _Literal(value)
        if not rest or rest[0] in ",)":
            self._error("missing argument")
        self._error(
            f"unexpected {rest[:20]!r}: an argument must be a 'string', number, true, false, null, "
            "path or States.* call"
        )

    def _expect_delimiter(self, token: str) -> None:
        nxt = self.text[self.pos : self.pos + 1]
        if nxt and not nxt.isspace() and nxt not in ",)":
            self._error(f"unexpected {nxt!r} after {token!r}")

    def _string(self) -> _Literal:
        start = self.pos
        self.pos += 1
        pieces: list[str] = []
        current: list[str] = []
        while True:
            if self.pos >= len(self.text):
                self._error("unterminated string literal", start)
            char = self.text[self.pos]
            if char == "'":
                self.pos += 1
                break
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if not escaped or escaped not in _ESCAPABLE:
                    self._error(
                        "open escape backslash in a string literal: only \\' \\{ \\} \\\\ are allowed",
                        self.pos,
                    )
                current.append(escaped)
                self.pos += 2
                continue
            if self.text.startswith("{}", self.pos):
                pieces.append("".join(current))
                current = []
                self.pos += 2
                continue
            current.append(char)
            self.pos += 1
        pieces.append("".join(current))
        self._expect_delimiter(self.text[start : self.pos])
        return _Literal("{}".join(pieces), tuple(pieces))

    def _number(self) -> _Literal:
        start = self.pos
        text = self.text
        if text.startswith("-", self.pos):
            self.pos += 1
        digits = self._digits()
        is_float = False
        if digits and text.startswith(".", self.pos):
            self.pos += 1
            is_float = True
            digits = self._digits()
        if digits and text[self.pos : self.pos + 1] in ("e", "E"):
            self.pos += 1
            if text[self.pos : self.pos + 1] in ("+", "-"):
                self.pos += 1
            is_float = True
            digits = self._digits()
        token = text[start : self.pos]
        if not digits:
            self._error(f"malformed number {token!r}", start)
        self._expect_delimiter(token)
        value: int | float = float(token) if is_float else int(token)
        if isinstance(value, float) and not math.isfinite(value):
            self._error(f"number {token!r} is out of range", start)
        return _Literal(value)

    def _digits(self) -> bool:
        begin = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in "0123456789":
            self.pos += 1
        return self.pos > begin

    def _path(self) -> _PathArg:
        # A path ends at the first "," or ")" outside brackets, parentheses (filters) and quotes, so that
        # $.a['x,y'] and $.a[?(@.b)] stay whole; compile_path then judges the text itself.
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"" and depth > 0:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])" and depth > 0:
                depth -= 1
            elif char in ",)":
                break
            self.pos += 1
        text = self.text[start : self.pos].rstrip()
        try:
            path = compile_path(text)
        except ValueError as exc:  # JsonPathError is a ValueError
            self._error(f"invalid path {text!r}: {exc}", start)
        self.paths.append(path)
        return _PathArg(text, path)


def _check_static(call: _Call, error: Callable[[str, int], NoReturn], pos: int) -> None:
    """Argument checks AWS can make when the machine is created: counts, and literal Format templates."""
    low, high, _ = _FUNCTIONS[call.name]
    count = len(call.args)
    if count < low or (high is not None and count > high):
        if high is None:
            wanted = f"at least {low}"
        elif low == high:
            wanted = str(low)
        else:
            wanted = f"{low} to {high}"
        error(f"{call.name} takes {wanted} argument(s), got {count}", pos)
    if call.name == "States.Format":
        template = call.args[0]
        if isinstance(template, _Literal):
            if template.pieces is None:
                error("the first argument of States.Format must be a string", pos)
            placeholders = len(template.pieces) - 1
            if placeholders != count - 1:
                error(
                    f"States.Format template has {placeholders} '{{}}' placeholder(s) but {count - 1} "
                    "argument(s) follow it",
                    pos,
                )


# --- evaluation ------------------------------------------------------------------------------------------


def _evaluate(call: _Call, resolve: Callable[[JsonPath], Any]) -> Any:
    values: list[Any] = []
    for arg in call.args:
        if isinstance(arg, _Literal):
            values.append(arg.value)
        elif isinstance(arg, _PathArg):
            values.append(resolve(arg.path))
        else:
            values.append(_evaluate(arg, resolve))
    _, _, impl = _FUNCTIONS[call.name]
    return impl(values, call.args)


def _fail(name: str, message: str) -> NoReturn:
    raise StatesError(_FAILURE, f"Invalid arguments in {name}: {message}")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _ordinal(index: int) -> str:
    return ("first", "second", "third")[index]


def _want(name: str, values: Sequence[Any], index: int, kind: type, label: str) -> Any:
    value = values[index]
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        _fail(name, f"the {_ordinal(index)} argument must be {label}, got {_type_name(value)}")
    return value


def _want_int(name: str, values: Sequence[Any], index: int, *, round_floats: bool = True) -> int:
    """AWS: "If you specify a non-integer value ... Step Functions will round it off to the nearest
    integer" (Java Math.round, i.e. half up: 2.5 -> 3, -2.5 -> -2)."""
    value = values[index]
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(name, f"the {_ordinal(index)} argument must be an integer, got {_type_name(value)}")
    if isinstance(value, int):
        return value
    if not math.isfinite(value) or (not round_floats and not value.is_integer()):
        _fail(name, f"the {_ordinal(index)} argument must be an integer, got {value!r}")
    return math.floor(value + 0.5)


def _to_json(value: Any) -> str:
    """Compact JSON like AWS (Jackson): no spaces, non-ASCII kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _canonical(value: Any) -> Any:
    """A hashable key with JSON equality: true is not 1, 1 equals 1.0, object key order is irrelevant."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    return ("other", repr(value))


def _java_text(value: Any) -> str:
    """A value as AWS's States.Format prints it: Java's ``Map``/``List`` ``toString`` (``{key=value, k2=[1,
    2]}``), strings without quotes, numbers, booleans and null as JSON writes them."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_java_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(item) for item in value) + "]"
    if isinstance(value, str):
        return value
    return _to_json(value)


def _format(values: Sequence[Any], args: Sequence[_Arg]) -> str:
    name = "States.Format"
    template_arg = args[0]
    if isinstance(template_arg, _Literal) and template_arg.pieces is not None:
        pieces: Sequence[str] = template_arg.pieces
    else:
        template = _want(name, values, 0, str, "a string")
        pieces = template.split("{}")
    fillers = values[1:]
    if len(pieces) - 1 != len(fillers):
        _fail(
            name,
            f"the template has {len(pieces) - 1} '{{}}' placeholder(s) but {len(fillers)} "
            "argument(s) follow it",
        )
    out = [pieces[0]]
    size = len(pieces[0])
    for filler, piece in zip(fillers, pieces[1:]):
        text = _java_text(_bounded(name, filler))
        out.append(text)
        out.append(piece)
        size += len(text) + len(piece)
        if size > jsontext.MAX_PAYLOAD_BYTES:  # stop before joining a string of GBs
            _too_large(name)
    return "".join(out)


def _string_to_json(values: Sequence[Any], _: Sequence[_Arg]) -> Any:
    text = _want("States.StringToJson", values, 0, str, "a string")

    try:
        return jsontext.loads(text)
    except ValueError as exc:
        _fail("States.StringToJson", f"the string is not valid JSON ({exc})")
    except RecursionError:
        _fail("States.StringToJson", "the JSON is nested too deeply")


def _too_large(name: str) -> NoReturn:
    raise StatesError(
        "States.DataLimitExceeded",
        f"The result of {name} exceeds the maximum number of bytes service limit "
        f"({jsontext.MAX_PAYLOAD_BYTES})",
    )


def _bounded(name: str, value: Any) -> Any:
    """``value``, unless its JSON text would certainly exceed the payload limit."""
    if jsontext.exceeds_payload_limit(value):
        _too_large(name)
    return value


def _json_to_string(values: Sequence[Any], _: Sequence[_Arg]) -> str:
    try:
        return _to_json(_bounded("States.JsonToString", values[0]))
    except (TypeError, ValueError) as exc:
        _fail("States.JsonToString", f"the value cannot be written as JSON ({exc})")


def _array(values: Sequence[Any], _: Sequence[_Arg]) -> list[Any]:
    return list(values)


def _array_partition(values: Sequence[Any], _: Sequence[_Arg]) -> list[list[Any]]:
    name = "States.ArrayPartition"
    items = _want(name, values, 0, list, "an array")
    size = _want_int(name, values, 1)
    if size <= 0:
        _fail(name, f"the chunk size must be a positive integer, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(values: Sequence[Any], _: Sequence[_Arg]) -> bool:
    items = _want("States.ArrayContains", values, 0, list, "an array")
    wanted = _canonical(values[1])
    return any(_canonical(item) == wanted for item in items)


def _array_range(values: Sequence[Any], _: Sequence[_Arg]) -> list[int]:
    name = "States.ArrayRange"
    first, last, step = (_want_int(name, values, i) for i in range(3))
    if step == 0:
        _fail(name, "the step (third argument) must not be zero")
    count = max(0, (last - first) // step + 1)
    if count > MAX_ARRAY_RANGE_ITEMS:
        _fail(name, f"the range has {count} items; the limit is {MAX_ARRAY_RANGE_ITEMS}")
    return [first + i * step for i in range(count)]


def _array_get_item(values: Sequence[Any], _: Sequence[_Arg]) -> Any:
    name = "States.ArrayGetItem"
    items = _want(name, values, 0, list, "an array")
    index = _want_int(name, values, 1, round_floats=False)
    if not 0 <= index < len(items):
        _fail(name, f"index {index} is out of bounds for an array of length {len(items)}")
    return items[index]


def _array_length(values: Sequence[Any], _: Sequence[_Arg]) -> int:
    return len(_want("States.ArrayLength", values, 0, list, "an array"))


def _array_unique(values: Sequence[Any], _: Sequence[_Arg]) -> list[Any]:
    items = _want("States.ArrayUnique", values, 0, list, "an array")
    seen: set[Any] = set()
    out = []
    for item in items:
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _limited_string(name: str, values: Sequence[Any]) -> str:
    text: str = _want(name, values, 0, str, "a string")
    if len(text) > MAX_ENCODE_CHARS:
        _fail(name, f"the input has {len(text)} characters; the limit is {MAX_ENCODE_CHARS}")
    return text


def _base64_encode(values: Sequence[Any], _: Sequence[_Arg]) -> str:
    text = _limited_string("States.Base64Encode", values)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(values: Sequence[Any], _: Sequence[_Arg]) -> str:
    name = "States.Base64Decode"
    text = _limited_string(name, values)
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        _fail(name, f"the input is not Base64-encoded UTF-8 text ({exc})")


def _hash(values: Sequence[Any], _: Sequence[_Arg]) -> str:
    name = "States.Hash"
    data = values[0]
    if data is None:
        _fail(name, "the data to hash (first argument) must not be null")
    # AWS hashes "the stringified version of the first argument"; a string is taken as is.
    text = data if isinstance(data, str) else _to_json(data)
    if len(text) > MAX_ENCODE_CHARS:
        _fail(name, f"the data has {len(text)} characters; the limit is {MAX_ENCODE_CHARS}")
    algorithm = _want(name, values, 1, str, "a string")
    if algorithm not in _HASHES:
        _fail(name, f"unsupported hash algorithm {algorithm!r}; use one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], text.encode("utf-8")).hexdigest()


def _json_merge(values: Sequence[Any], _: Sequence[_Arg]) -> dict[str, Any]:
    name = "States.JsonMerge"
    left = _want(name, values, 0, dict, "an object")
    right = _want(name, values, 1, dict, "an object")
    deep = _want(name, values, 2, bool, "a boolean")
    if deep:
        _fail(name, "deep merging is not supported; the third argument must be false")
    return {**left, **right}


def _math_random(values: Sequence[Any], _: Sequence[_Arg]) -> int:
    # AWS: "a random number between the specified start number (inclusive) and end number (exclusive)".
    name = "States.MathRandom"
    start = _want_int(name, values, 0)
    end = _want_int(name, values, 1)
    if start >= end:
        _fail(name, f"the start ({start}) must be less than the end ({end}), which is exclusive")
    rng = random.Random(_want_int(name, values, 2)) if len(values) == 3 else random.SystemRandom()
    return rng.randrange(start, end)


def _math_add(values: Sequence[Any], _: Sequence[_Arg]) -> int:
    name = "States.MathAdd"
    total = 0
    for index in range(2):
        number = _want_int(name, values, index)
        if not INT32_MIN <= number <= INT32_MAX:
            _fail(name, f"the {_ordinal(index)} argument {number} is outside [{INT32_MIN}, {INT32_MAX}]")
        total += number
    return total


def _string_split(values: Sequence[Any], _: Sequence[_Arg]) -> list[str]:
    # Every character of the second argument is a delimiter and empty tokens are dropped (the way
    # java.util.StringTokenizer splits).
    name = "States.StringSplit"
    text = _want(name, values, 0, str, "a string")
    delimiters = set(_want(name, values, 1, str, "a string"))
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        if char in delimiters:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens


def _uuid(values: Sequence[Any], _: Sequence[_Arg]) -> str:
    return str(uuid.uuid4())


_Impl = Callable[[Sequence[Any], Sequence[_Arg]], Any]

# name -> (min args, max args or None for no limit, implementation)
_FUNCTIONS: dict[str, tuple[int, int | None, _Impl]] = {
    "States.Format": (1, None, _format),
    "States.StringToJson": (1, 1, _string_to_json),
    "States.JsonToString": (1, 1, _json_to_string),
    "States.Array": (0, None, _array),
    "States.ArrayPartition": (2, 2, _array_partition),
    "States.ArrayContains": (2, 2, _array_contains),
    "States.ArrayRange": (3, 3, _array_range),
    "States.ArrayGetItem": (2, 2, _array_get_item),
    "States.ArrayLength": (1, 1, _array_length),
    "States.ArrayUnique": (1, 1, _array_unique),
    "States.Base64Encode": (1, 1, _base64_encode),
    "States.Base64Decode": (1, 1, _base64_decode),
    "States.Hash": (2, 2, _hash),
    "States.JsonMerge": (3, 3, _json_merge),
    "States.MathRandom": (2, 3, _math_random),
    "States.MathAdd": (2, 2, _math_add),
    "States.StringSplit": (2, 2, _string_split),
    "States.UUID": (0, 0, _uuid),
}
