"""AWS Step Functions' JSONPath dialect (Jayway-style): compile a path once, evaluate it millions of times.

A path text is parsed once (``compile_path`` is cached) into a :class:`JsonPath` that holds a tuple of
steps. A path made only of names and integer indexes ("definite") also keeps a plain tuple of keys, so
``get`` on ``$`` or ``$.a.b[0]`` is a tight loop of subscripts; other paths walk a list of nodes through
the steps. Nothing here keeps state between calls.

Roots: ``$`` (the document the caller passes: state input or effect input), ``$$`` (the caller passes the
context object) and ``$name`` (the caller passes the variable's value). Inside a filter ``@`` is the node
under test and ``$`` the document passed to ``find``/``get``.

How the dialect behaves where JSONPath implementations disagree (Jayway's choices, which AWS uses):

* A name or index that does not exist gives no match; ``get`` on a definite path then raises
  :class:`PathNotFound` ("No results for path: $['a']['b']"). A filter that matches nothing gives ``[]``.
* A filter applied to an object tests the object itself (``$.bike[?(@.color)]`` yields the bike); applied
  to an array it tests each element.
* ``['a','b']`` as the last step yields one object holding the present keys (Jayway's merge); before
  another step it iterates the values.
* A comparison whose definite operand path is missing (``@.x == 1`` on an element without ``x``) rejects
  the element outright, even under ``||`` or ``!``: Jayway aborts the predicate there.
* ``[?(@.x)]`` tests presence: a key holding ``null`` or ``false`` is present.
* Comparisons never coerce: ``1 == '1'`` and ``1 == true`` are false, ``1 == 1.0`` is true; ``<`` and
  friends compare two numbers or two strings, anything else is false. ``=~`` full-matches strings only.
* Functions end a path and apply to each match; after a leading ``..`` they take all matches at once
  (``$..book.length()`` counts the books). ``length()`` counts an array's elements or an object's keys
  (other values: ``null``); ``min() max() avg() sum() stddev()`` aggregate numbers and fail on none.
* Slices take a step (``[::2]``) with Python's semantics, which Jayway lacks.
* A dot before a bracket is ignored (``$.[0]``, ``$.a.[0].b``, ``$.[?(@.x > 1)]``), as Jayway reads it.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JsonPath", "JsonPathError", "PathNotFound", "compile_path", "is_variable_name"]


class JsonPathError(ValueError):
    """A path text is not valid JSONPath; the message says what is wrong and at which column."""

    def __init__(self, message: str, text: str | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.column = column


class PathNotFound(LookupError):
    """A definite path has no match in the document (or ``set`` cannot place a value there)."""

    def __init__(self, path: str, message: str | None = None) -> None:
        self.path = path
        self.message = message if message is not None else f"No results for path: {path}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


class _Abort(Exception):
    """A filter operand could not be evaluated: the element under test does not match (Jayway)."""


_ABORT = _Abort()

Test = Callable[[Any, Any], bool]  # (current node, root document) -> does the element match?
Value = Callable[[Any, Any], Any]  # (current node, root document) -> operand value, or raise _Abort


def is_variable_name(name: str) -> bool:
    """Can ``name`` name a workflow variable ($name)? Unicode identifier, 1..80 characters."""
    return isinstance(name, str) and 0 < len(name) <= 80 and name.isidentifier()


# ---------------------------------------------------------------------------------------------------------
# Steps. Each one maps a node to the nodes it selects, appending to ``out``.


def _quote(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Step:
    __slots__ = ()

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        raise NotImplementedError

    def scan_ok(self, node: Any, root: Any) -> bool:
        """Under ``..``: is this container one the step applies to?"""
        return True

    def render(self) -> str:
        raise NotImplementedError


class _Name(_Step):
    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, dict):
            value = node.get(self.key, _MISSING)
            if value is not _MISSING:
                out.append(value)

    def render(self) -> str:
        return f"[{_quote(self.key)}]"


class _Names(_Step):
    __slots__ = ("keys", "merge")

    def __init__(self, keys: tuple[str, ...], merge: bool = False) -> None:
        self.keys = keys
        self.merge = merge  # last step of the path: one merged object per parent (Jayway)

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if not isinstance(node, dict):
            return
        if self.merge:
            out.append({k: node[k] for k in self.keys if k in node})
        else:
            out.extend(node[k] for k in self.keys if k in node)

    def scan_ok(self, node: Any, root: Any) -> bool:
        return isinstance(node, dict) and all(k in node for k in self.keys)

    def render(self) -> str:
        return "[" + ",".join(_quote(k) for k in self.keys) + "]"


class _Index(_Step):
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, list) and -len(node) <= self.index < len(node):
            out.append(node[self.index])

    def render(self) -> str:
        return f"[{self.index}]"


class _Indexes(_Step):
    __slots__ = ("indexes",)

    def __init__(self, indexes: tuple[int, ...]) -> None:
        self.indexes = indexes

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, list):
            n = len(node)
            out.extend(node[i] for i in self.indexes if -n <= i < n)

    def render(self) -> str:
        return "[" + ",".join(str(i) for i in self.indexes) + "]"


class _Slice(_Step):
    __slots__ = ("slice",)

    def __init__(self, start: int | None, stop: int | None, step: int | None) -> None:
        self.slice = slice(start, stop, step)

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, list):
            out.extend(node[self.slice])

    def render(self) -> str:
        s = self.slice
        parts = ["" if v is None else str(v) for v in (s.start, s.stop)]
        if s.step is not None:
            parts.append(str(s.step))
        return "[" + ":".join(parts) + "]"


class _Wild(_Step):
    __slots__ = ()

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, dict):
            out.extend(node.values())
        elif isinstance(node, list):
            out.extend(node)

    def render(self) -> str:
        return "[*]"


class _Filter(_Step):
    __slots__ = ("source", "test")

    def __init__(self, test: Test, source: str) -> None:
        self.test = test
        self.source = source

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        test = self.test
        if isinstance(node, list):
            for item in node:
                try:
                    if test(item, root):
                        out.append(item)
                except _Abort:
                    pass
        elif isinstance(node, dict):
            try:
                if test(node, root):
                    out.append(node)
            except _Abort:
                pass

    def scan_ok(self, node: Any, root: Any) -> bool:
        # Jayway's deep scan offers each container to the filter as a whole first.
        try:
            return bool(self.test(node, root))
        except _Abort:
            return False

    def render(self) -> str:
        return f"[?({self.source})]"


class _Scan(_Step):
    """``..step``: apply ``step`` to every container of the subtree, in pre-order (parent first)."""

    __slots__ = ("inner",)

    def __init__(self, inner: _Step) -> None:
        self.inner = inner

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        inner = self.inner
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, dict):
                children: Any = current.values()
            elif isinstance(current, list):
                children = current
            else:
                continue
            if inner.scan_ok(current, root):
                inner.select(current, root, out)
            stack.extend(reversed([c for c in children if isinstance(c, (dict, list))]))

    def render(self) -> str:
        return ".." + self.inner.render()


# ---------------------------------------------------------------------------------------------------------
# Functions at the end of a path (Jayway's path functions).


def _numbers(value: Any) -> list[Any]:
    nums = [v for v in value if _kind(v) == "num"] if isinstance(value, list) else []
    if not nums:
        raise _Abort("Aggregation function attempted to calculate value using empty array")
    return nums


def _length(value: Any) -> Any:
    return len(value) if isinstance(value, (list, dict)) else None


def _stddev(value: Any) -> float:
    nums = _numbers(value)
    mean = sum(nums) / len(nums)
    return math.sqrt(max(0.0, sum(n * n for n in nums) / len(nums) - mean * mean))


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "length": _length,
    "min": lambda v: float(min(_numbers(v))),
    "max": lambda v: float(max(_numbers(v))),
    "sum": lambda v: float(sum(_numbers(v))),
    "avg": lambda v: float(sum(_numbers(v)) / len(_numbers(v))),
    "stddev": _stddev,
}


# ---------------------------------------------------------------------------------------------------------
# A compiled chain of steps: the whole of a top-level path, or a path operand inside a filter.


class _Plan:
    """Steps plus, for a definite chain, its keys; and an optional function at the end.

    Jayway applies a function to each match (``func_mode`` "value" for a definite path, "each" for an
    indefinite one), except after a leading ``..``, where it takes all matches at once ("scan"):
    ``$..book.length()`` counts the books, ``$..price.sum()`` adds every price.
    """

    __slots__ = ("definite", "func", "func_mode", "func_name", "keys", "names_only", "steps")

    def __init__(self, steps: list[_Step], func_name: str | None) -> None:
        self.steps = tuple(steps)
        self.func_name = func_name
        self.func = _FUNCTIONS[func_name] if func_name else None
        simple = all(type(s) in (_Name, _Index) for s in steps)
        self.keys: tuple[str | int, ...] | None = (
            tuple(s.key if isinstance(s, _Name) else s.index for s in steps)  # type: ignore[attr-defined]
            if simple
            else None
        )
        self.names_only = simple and func_name is None and all(type(s) is _Name for s in steps)
        self.func_mode: str | None = None
        if func_name is not None:
            if self.keys is not None:
                self.func_mode = "value"
            elif isinstance(steps[0], _Scan):
                self.func_mode = "scan"
            else:
                self.func_mode = "each"
        self.definite = self.keys is not None or self.func_mode == "scan"

    def render(self) -> str:
        return "".join(s.render() for s in self.steps) + (f".{self.func_name}()" if self.func_name else "")

    def lookup(self, doc: Any) -> Any:
        """Follow a definite chain of keys; ``_MISSING`` when some key is not there."""
        try:
            for key in self.keys:  # type: ignore[union-attr]
                # A str key must meet an object and an int key an array ("abc"[0] must not work).
                if type(key) is str:
                    if not isinstance(doc, dict):
                        return _MISSING
                elif not isinstance(doc, list):
                    return _MISSING
                doc = doc[key]
        except (KeyError, IndexError):
            return _MISSING
        return doc

    def walk(self, doc: Any, root: Any) -> list[Any]:
        nodes = [doc]
        for step in self.steps:
            out: list[Any] = []
            select = step.select
            for node in nodes:
                select(node, root, out)
            nodes = out
            if not nodes:
                break
        return nodes

    def value(self, doc: Any, root: Any) -> Any:
        """Definite: the node or the function's result (else raise _Abort); indefinite: a list."""
        if self.keys is not None:
            found = self.lookup(doc)
            if found is _MISSING:
                raise _ABORT
            return found if self.func is None else self._call(found)
        matches = self.walk(doc, root)
        if self.func is None:
            return matches
        if self.func_mode == "each":
            return [self._call(m) for m in matches]
        if self.func is _length:  # Jayway: length of $..x[*], i.e. all children of every match
            return sum(len(m) for m in matches if isinstance(m, (list, dict)))
        return self._call(matches)

    def _call(self, arg: Any) -> Any:
        try:
            return self.func(arg)  # type: ignore[misc]
        except (OverflowError, ValueError) as exc:  # e.g. sum() of integers too large for a float
            raise _Abort(f"{self.func_name}() failed: {exc}") from None

    def exists(self, doc: Any, root: Any) -> bool:
        if self.func is not None:
            try:
                found = self.value(doc, root)
            except _Abort:
                return False
            return found is not None and found != []
        if self.keys is not None:
            return self.lookup(doc) is not _MISSING
        return bool(self.walk(doc, root))


# ---------------------------------------------------------------------------------------------------------
# Filter semantics: strict JSON types, no coercion.

_NUMBER_TYPES = (int, float)


def _kind(v: Any) -> str:
    if isinstance(v, str):
        return "str"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, _NUMBER_TYPES):
        return "num"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "dict"
    return "other"


def _eq(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        return False
    if ka == "list":
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
    if ka == "dict":
        return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
    return bool(a == b)


def _ordered(a: Any, b: Any) -> bool:
    ka = _kind(a)
    return ka in ("num", "str") and ka == _kind(b)


def _member(item: Any, items: Any) -> bool:
    return any(_eq(item, x) for x in items)


def _as_list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise _ABORT
    return v


def _size(v: Any) -> int | None:
    return len(v) if isinstance(v, (str, list, dict)) else None


_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "!=": lambda a, b: not _eq(a, b),
    "<": lambda a, b: _ordered(a, b) and a < b,
    "<=": lambda a, b: _ordered(a, b) and a <= b,
    ">": lambda a, b: _ordered(a, b) and a > b,
    ">=": lambda a, b: _ordered(a, b) and a >= b,
    "in": lambda a, b: _member(a, _as_list(b)),
    "nin": lambda a, b: not _member(a, _as_list(b)),
    "subsetof": lambda a, b: all(_member(x, _as_list(b)) for x in _as_list(a)),
    "anyof": lambda a, b: any(_member(x, _as_list(b)) for x in _as_list(a)),
    "noneof": lambda a, b: not any(_member(x, _as_list(b)) for x in _as_list(a)),
    "contains": lambda a, b: (
        (isinstance(a, str) and isinstance(b, str) and b in a) or (isinstance(a, list) and _member(b, a))
    ),
    "size": lambda a, b: _kind(b) == "num" and _size(a) == b,
    "empty": lambda a, b: _kind(b) == "bool" and _size(a) is not None and (_size(a) == 0) == b,
}
_WORD_OPERATORS = frozenset(k for k in _RELATIONS if k.isalpha())

_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "u": 0, "d": 0}
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_JAVA_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z])")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "/": "/", "\\": "\\", "'": "'", '"': '"'}
_DIGITS = "0123456789"
_WS = " \t\r\n"
# Characters that end a name after '.': at the top level, and also inside a filter expression.
_NAME_END = frozenset(".[()]" + _WS)
_NAME_END_IN_FILTER = _NAME_END | frozenset("=!<>~&|,")
_MAX_DEPTH = 48


@dataclass(frozen=True)
class _Operand:
    value: Value
    constant: Any = _MISSING  # set for literals
    plan: _Plan | None = None  # set for paths
    from_root: bool = False
    pattern: re.Pattern[str] | None = None  # set for /regex/


# ---------------------------------------------------------------------------------------------------------
# The parser: recursive descent over the text, positions reported 1-based.


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.end = len(text.rstrip(_WS))
        self.pos = 0
        self.depth = 0

    def error(self, what: str, pos: int | None = None) -> JsonPathError:
        column = (self.pos if pos is None else pos) + 1
        return JsonPathError(f"Invalid JSONPath {self.text!r}: {what} at column {column}", self.text, column)

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < self.end else ""

    def skip_ws(self) -> None:
        while self.pos < self.end and self.text[self.pos] in _WS:
            self.pos += 1

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"expected {what} but found {found}")
        self.pos += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply")

    # -- paths ---------------------------------------------------------------------------------------------

    def parse_top(self) -> tuple[str, _Plan]:
        self.skip_ws()
        if self.peek() != "$":
            raise self.error("a path must start with '$'")
        self.pos += 1
        root = "$"
        c = self.peek()
        if c == "$":
            self.pos += 1
            root = "$$"
        elif c.isidentifier():
            start = self.pos
            while self.pos < self.end and ("a" + self.text[self.pos]).isidentifier():
                self.pos += 1
            root = self.text[start : self.pos]
            if len(root) > 80:
                raise self.error("a variable name has at most 80 characters", start)
        plan = self.parse_steps(in_filter=False)
        if self.pos < self.end:
            c = self.peek()
            if plan.func_name is not None:
                raise self.error("a function call must end the path")
            if c in _WS:
                raise self.error("use bracket notation ['my name'] for a name with blanks")
            raise self.error(f"unexpected {c!r}; expected '.', '..' or '['")
        return root, plan

    def parse_steps(self, in_filter: bool) -> _Plan:
        steps: list[_Step] = []
        func: str | None = None
        while True:
            c = self.peek()
            if c == "." and self.peek(1) == ".":
                self.pos += 2
                c = self.peek()
                if c == "[":
                    steps.append(_Scan(self.parse_bracket()))
                elif c == "*":
                    self.pos += 1
                    steps.append(_Scan(_Wild()))
                else:
                    steps.append(_Scan(_Name(self.parse_dot_name(in_filter, after=".."))))
                    if self.peek() == "(":
                        raise self.error("a function needs a path before it, not '..'")
            elif c == ".":
                self.pos += 1
                if self.peek() == "*":
                    self.pos += 1
                    steps.append(_Wild())
                    continue
                if self.peek() == "[":  # Jayway reads '.[0]' as '[0]' ('$.[0]', '$.a.[?(@.x > 1)]')
                    steps.append(self.parse_bracket())
                    continue
                name = self.parse_dot_name(in_filter, after=".")
                if self.peek() == "(":
                    func = self.parse_call(name)
                    break
                steps.append(_Name(name))
            elif c == "[":
                steps.append(self.parse_bracket())
            else:
                break
        if func is None and steps:
            last = steps[-1]
            if isinstance(last, _Names):
                steps[-1] = _Names(last.keys, merge=True)
            elif isinstance(last, _Scan) and isinstance(last.inner, _Names):
                steps[-1] = _Scan(_Names(last.inner.keys, merge=True))
        return _Plan(steps, func)

    def parse_dot_name(self, in_filter: bool, after: str) -> str:
        stop = _NAME_END_IN_FILTER if in_filter else _NAME_END
        start = self.pos
        while self.pos < self.end and self.text[self.pos] not in stop:
            self.pos += 1
        if self.pos == start:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"expected a name or '*' after '{after}' but found {found}")
        return self.text[start : self.pos]

    def parse_call(self, name: str) -> str:
        start = self.pos - len(name)
        if name not in _FUNCTIONS:
            raise self.error(f"unknown function {name}(); known: {', '.join(sorted(_FUNCTIONS))}", start)
        self.pos += 1
        self.skip_ws()
        self.expect(")", f"')' ({name}() takes no arguments)")
        return name

    def parse_bracket(self) -> _Step:
        self.pos += 1
        self.skip_ws()
        c = self.peek()
        step: _Step
        if c in ("'", '"'):
            names = [self.parse_string()]
            self.skip_ws()
            while self.peek() == ",":
                self.pos += 1
                self.skip_ws()
                if self.peek() not in ("'", '"') or not self.peek():
                    raise self.error("expected a quoted name after ','")
                names.append(self.parse_string())
                self.skip_ws()
            step = _Name(names[0]) if len(names) == 1 else _Names(tuple(names))
        elif c == "*":
            self.pos += 1
            step = _Wild()
        elif c == "?":
            self.pos += 1
            self.skip_ws()
            self.expect("(", "'(' after '[?'")
            start = self.pos
            test = self.parse_or()
            self.skip_ws()
            source = self.text[start : self.pos].strip()
            self.expect(")", "')' to close the filter")
            step = _Filter(test, source)
        elif c and (c in _DIGITS or c in "-:"):
            step = self.parse_indexes()
        else:
            found = repr(c) if c else "the end"
            raise self.error(
                f"expected a quoted name, an index, a slice, '*' or '?(' after '[' but found {found}"
            )
        self.skip_ws()
        self.expect("]", "']'")
        return step

    def parse_int(self) -> int | None:
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        while self.pos < self.end and self.text[self.pos] in _DIGITS:
            self.pos += 1
        digits = self.text[start : self.pos]
        if digits in ("", "-"):
            if digits:
                raise self.error("expected digits after '-'")
            return None
        if len(digits) > 18:
            raise self.error("index out of range", start)
        return int(digits)

    def parse_indexes(self) -> _Step:
        first = self.parse_int()
        self.skip_ws()
        if self.peek() == ":":
            bounds = [first]
            while self.peek() == ":" and len(bounds) < 3:
                self.pos += 1
                self.skip_ws()
                bounds.append(self.parse_int())
                self.skip_ws()
            start, stop, step = [*bounds, None][:3]
            if step == 0:
                raise self.error("a slice step cannot be 0")
            return _Slice(start, stop, step)
        if first is None:
            raise self.error("expected an index")
        indexes = [first]
        while self.peek() == ",":
            self.pos += 1
            self.skip_ws()
            index = self.parse_int()
            if index is None:
                raise self.error("expected an index after ','")
            indexes.append(index)
            self.skip_ws()
        return _Index(first) if len(indexes) == 1 else _Indexes(tuple(indexes))

    def parse_string(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= self.end:
                raise self.error("unterminated string", start)
            c = self.text[self.pos]
            self.pos += 1
            if c == quote:
                break
            if c != "\\":
                out.append(c)
                continue
            e = self.peek()
            if not e:
                raise self.error("unterminated string", start)
            self.pos += 1
            if e == "u":
                hex4 = self.text[self.pos : self.pos + 4]
                if len(hex4) != 4 or any(h not in "0123456789abcdefABCDEF" for h in hex4):
                    raise self.error("expected 4 hex digits after \\u", self.pos)
                out.append(chr(int(hex4, 16)))
                self.pos += 4
            else:
                out.append(_ESCAPES.get(e, "\\" + e))
        text = "".join(out)
        try:  # join \ud83d\ude00-style surrogate pairs into one character
            return text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeError:
            return text

    # -- filter expressions --------------------------------------------------------------------------------

    def parse_or(self) -> Test:
        self.enter()
        parts = [self.parse_and()]
        self.skip_ws()
        while self.text.startswith("||", self.pos):
            self.pos += 2
            parts.append(self.parse_and())
            self.skip_ws()
        self.depth -= 1
        if len(parts) == 1:
            return parts[0]
        return lambda cur, root: any(p(cur, root) for p in parts)

    def parse_and(self) -> Test:
        parts = [self.parse_unary()]
        self.skip_ws()
        while self.text.startswith("&&", self.pos):
            self.pos += 2
            parts.append(self.parse_unary())
            self.skip_ws()
        if len(parts) == 1:
            return parts[0]
        return lambda cur, root: all(p(cur, root) for p in parts)

    def parse_unary(self) -> Test:
        self.skip_ws()
        c = self.peek()
        if c == "!" and self.peek(1) != "=":
            self.pos += 1
            self.enter()
            inner = self.parse_unary()
            self.depth -= 1
            return lambda cur, root: not inner(cur, root)
        if c == "(":
            self.pos += 1
            test = self.parse_or()
            self.skip_ws()
            self.expect(")", "')'")
            return test
        return self.parse_relation()

    def parse_relation(self) -> Test:
        start = self.pos
        left = self.parse_operand()
        self.skip_ws()
        op_pos = self.pos
        op = self.parse_operator()
        if op is None:
            plan = left.plan
            if plan is None:
                raise self.error("expected a comparison after a literal", op_pos)
            if left.from_root:
                return lambda cur, root: plan.exists(root, root)
            return lambda cur, root: plan.exists(cur, root)
        self.skip_ws()
        right = self.parse_operand()
        if op == "=~":
            return self.regex_test(left, right, start)
        if left.pattern is not None or right.pattern is not None:
            raise self.error(f"a /regex/ can only be used with =~, not {op}", op_pos)
        relation = _RELATIONS[op]
        lv = left.value
        if right.constant is not _MISSING:
            const = right.constant
            return lambda cur, root: relation(lv(cur, root), const)
        rv = right.value
        return lambda cur, root: relation(lv(cur, root), rv(cur, root))

    def regex_test(self, left: _Operand, right: _Operand, start: int) -> Test:
        if (left.pattern is None) == (right.pattern is None):
            raise self.error("=~ needs a /regex/ on exactly one side", start)
        pattern = left.pattern or right.pattern
        subject = right.value if left.pattern is not None else left.value
        assert pattern is not None

        def test(cur: Any, root: Any) -> bool:
            v = subject(cur, root)
            return isinstance(v, str) and pattern.fullmatch(v) is not None

        return test

    def parse_operator(self) -> str | None:
        two = self.text[self.pos : self.pos + 2] if self.pos + 2 <= self.end else ""
        if two in ("==", "!=", "<=", ">=", "=~"):
            self.pos += 2
            return two
        c = self.peek()
        if c in ("<", ">"):
            self.pos += 1
            return c
        if c == "=":
            raise self.error("use '==' to compare")
        if c.isalpha():
            start = self.pos
            while self.pos < self.end and self.text[self.pos].isalpha():
                self.pos += 1
            word = self.text[start : self.pos]
            if word not in _WORD_OPERATORS:
                raise self.error(f"unknown operator {word!r}", start)
            return word
        return None

    def parse_operand(self) -> _Operand:
        c = self.peek()
        if c == "@" or c == "$":
            start = self.pos
            self.pos += 1
            if c == "$" and (self.peek() == "$" or self.peek().isidentifier()):
                raise self.error("inside a filter a path starts with '@' or '$'", start)
            self.enter()
            plan = self.parse_steps(in_filter=True)
            self.depth -= 1
            if c == "$":
                return _Operand(lambda cur, root: plan.value(root, root), plan=plan, from_root=True)
            return _Operand(lambda cur, root: plan.value(cur, root), plan=plan)
        if c == "/":
            return self.parse_regex()
        value = self.parse_literal()
        return _Operand(lambda cur, root: value, constant=value)

    def parse_literal(self) -> Any:
        c = self.peek()
        if c in ("'", '"') and c:
            return self.parse_string()
        if c == "[" or c == "{":
            self.enter()
            self.pos += 1
            self.skip_ws()
            close = "]" if c == "[" else "}"
            items: list[Any] = []
            obj: dict[str, Any] = {}
            while self.peek() != close:
                if items or obj:
                    self.expect(",", f"',' or '{close}'")
                    self.skip_ws()
                if c == "[":
                    items.append(self.parse_literal())
                else:
                    if self.peek() not in ("'", '"') or not self.peek():
                        raise self.error("expected a quoted key")
                    key = self.parse_string()
                    self.skip_ws()
                    self.expect(":", "':'")
                    self.skip_ws()
                    obj[key] = self.parse_literal()
                self.skip_ws()
            self.pos += 1
            self.depth -= 1
            return items if c == "[" else obj
        m = _NUMBER.match(self.text, self.pos, self.end)
        if m:
            self.pos = m.end()
            if m.group(1) or m.group(2):
                return float(m.group())
            if len(m.group()) > 300:
                raise self.error("number literal too long", m.start())
            return int(m.group())
        start = self.pos
        while self.pos < self.end and self.text[self.pos].isalpha():
            self.pos += 1
        word = self.text[start : self.pos]
        if word in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[word]
        found = repr(word or c) if (word or c) else "the end"
        raise self.error(f"expected a path (@ or $), a literal or a /regex/ but found {found}", start)

    def parse_regex(self) -> _Operand:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= self.end:
                raise self.error("unterminated /regex/", start)
            c = self.text[self.pos]
            self.pos += 1
            if c == "/":
                break
            if c == "\\" and self.peek() == "/":
                out.append("/")
                self.pos += 1
            elif c == "\\" and self.peek():
                out.append(c + self.peek())
                self.pos += 1
            else:
                out.append(c)
        flags = 0
        while self.peek().isalpha():
            flag = self.peek()
            if flag not in _REGEX_FLAGS:
                raise self.error(f"unknown regex flag {flag!r}")
            flags |= _REGEX_FLAGS[flag]
            self.pos += 1
        source = _JAVA_NAMED_GROUP.sub("(?P<", "".join(out))
        try:
            pattern = re.compile(source, flags)
        except Exception as exc:  # re.error, or RecursionError/OverflowError on pathological patterns
            raise self.error(f"invalid regex: {exc}", start) from None
        return _Operand(lambda cur, root: pattern, pattern=pattern)


# ---------------------------------------------------------------------------------------------------------
# The public face.


@dataclass(frozen=True)
class JsonPath:
    """A compiled path. Build it with :func:`compile_path`.

    ``definite`` is true when the path can name at most one node (only names and integer indexes; with a
    function at the end, its one result); ``get`` then returns that value or raises :class:`PathNotFound`,
    and otherwise returns the list of matches. ``$..x.length()`` is definite too: it counts all matches.
    """

    text: str
    root: str
    definite: bool
    _plan: _Plan = field(repr=False, compare=False)
    _normalized: str = field(repr=False, compare=False)

    def find(self, doc: Any) -> list[Any]:
        """Every match, in document order (``[]`` when none)."""
        plan = self._plan
        if plan.func is not None:
            try:
                found = plan.value(doc, doc)
            except _Abort:
                return []
            return found if plan.func_mode == "each" else [found]
        if plan.keys is not None:
            found = plan.lookup(doc)
            return [] if found is _MISSING else [found]
        return plan.walk(doc, doc)

    def get(self, doc: Any) -> Any:
        """Definite path: the value, else raise :class:`PathNotFound`. Indefinite: the list of matches.

        An aggregate function (``sum()`` ...) that finds no numbers raises :class:`PathNotFound` too.
        """
        plan = self._plan
        if plan.names_only:
            # The hot path ($, $.a.b): any non-dict on the way raises TypeError (str/list/number/None).
            try:
                for key in plan.keys:  # type: ignore[union-attr]
                    doc = doc[key]
                return doc
            except (KeyError, TypeError):
                raise self._not_found() from None
        if plan.func is None:
            if plan.keys is None:
                return plan.walk(doc, doc)
            found = plan.lookup(doc)
            if found is _MISSING:
                raise self._not_found()
            return found
        try:
            return plan.value(doc, doc)
        except _Abort as exc:
            raise self._not_found(str(exc) or None) from None

    def set(self, doc: Any, value: Any) -> Any:
        """A new document with ``value`` at this (definite, name/index) path; ``doc`` is never mutated.

        Only the containers on the way are copied. Missing objects on the way are created; a name step
        into a non-object, an index step into a non-array or out of range raises :class:`PathNotFound`.
        """
        keys = self._plan.keys
        if keys is None or self._plan.func is not None:
            raise ValueError(f"cannot set a value at {self.text!r}: only names and indexes are allowed")
        return self._set(doc, keys, 0, value)

    def _set(self, node: Any, keys: tuple[str | int, ...], i: int, value: Any) -> Any:
        if i == len(keys):
            return value
        key = keys[i]
        if type(key) is str:
            if node is _MISSING:
                node = {}
            elif not isinstance(node, dict):
                raise self._cannot_set(keys, i, node)
            copy = node.copy()
            copy[key] = self._set(node.get(key, _MISSING), keys, i + 1, value)
            return copy
        if not isinstance(node, list) or not -len(node) <= key < len(node):  # type: ignore[operator]
            raise self._cannot_set(keys, i, node)
        copy = node.copy()
        copy[key] = self._set(node[key], keys, i + 1, value)  # type: ignore[index]
        return copy

    def _cannot_set(self, keys: tuple[str | int, ...], i: int, node: Any) -> PathNotFound:
        where = self.root + _Plan([_step_for(k) for k in keys[:i]], None).render()
        step = _step_for(keys[i]).render()
        if node is _MISSING:
            why = f"{where} does not exist, so index {step} cannot be created"
        elif isinstance(keys[i], int) and isinstance(node, list):
            why = f"index {step} is out of range for the array at {where} (length {len(node)})"
        else:
            want = "an object" if isinstance(keys[i], str) else "an array"
            why = f"{where} is {_describe(node)}, not {want}, so {step} cannot be set"
        return PathNotFound(self.text, f"Unable to set {self._normalized}: {why}")

    def _not_found(self, message: str | None = None) -> PathNotFound:
        return PathNotFound(self.text, message or f"No results for path: {self._normalized}")

    @property
    def is_reference(self) -> bool:
        """Only names and integer indexes (no function): what ASL calls a reference path."""
        return self._plan.keys is not None and self._plan.func is None

    def normalized(self) -> str:
        """The AWS-style normalized form used in messages, e.g. ``$['a']['b'][0]``."""
        return self._normalized

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Filters compile to closures, which do not pickle; the text is all a worker process needs.
        return (compile_path, (self.text,))


def _step_for(key: str | int) -> _Step:
    return _Name(key) if isinstance(key, str) else _Index(key)


def _describe(value: Any) -> str:
    kind = _kind(value)
    return {
        "str": "a string",
        "num": "a number",
        "bool": "a boolean",
        "null": "null",
        "list": "an array",
        "dict": "an object",
    }.get(kind, type(value).__name__)


@functools.lru_cache(maxsize=8192)
def _compile(text: str) -> JsonPath:
    parser = _Parser(text)
    root, plan = parser.parse_top()
    prefix = "$" if root == "$" else ("$$" if root == "$$" else "$" + root)
    path = JsonPath(text, root, plan.definite, plan, prefix + plan.render())
    if plan.names_only:
        # Shadow the generic method with a closure: no attribute lookups on the hottest path.
        object.__setattr__(path, "get", _names_getter(path, plan.keys))  # type: ignore[arg-type]
    elif plan.keys is not None and plan.func is None:
        object.__setattr__(path, "get", _keys_getter(path, plan.keys))
    return path


def _keys_getter(path: JsonPath, keys: tuple[str | int, ...]) -> Callable[[Any], Any]:
    # A str key must meet an object and an int key an array ("abc"[0] must not work).
    pairs = tuple((key, dict if isinstance(key, str) else list) for key in keys)

    def get(doc: Any) -> Any:
        try:
            for key, kind in pairs:
                if not isinstance(doc, kind):
                    raise path._not_found()
                doc = doc[key]  # type: ignore[index]
            return doc
        except (KeyError, IndexError):
            raise path._not_found() from None

    return get


def _names_getter(path: JsonPath, keys: tuple[str, ...]) -> Callable[[Any], Any]:
    # Subscripting anything but a dict with a str key raises TypeError (str, list, number, None).
    missing = (KeyError, TypeError)
    if not keys:
        return lambda doc: doc
    if len(keys) == 1:
        (k0,) = keys

        def get1(doc: Any) -> Any:
            try:
                return doc[k0]
            except missing:
                raise path._not_found() from None

        return get1
    if len(keys) == 2:
        k0, k1 = keys

        def get2(doc: Any) -> Any:
            try:
                return doc[k0][k1]
            except missing:
                raise path._not_found() from None

        return get2

    def get(doc: Any) -> Any:
        try:
            for key in keys:
                doc = doc[key]
            return doc
        except missing:
            raise path._not_found() from None

    return get


def compile_path(text: str) -> JsonPath:
    """Compile a JSONPath text (cached); raise :class:`JsonPathError` when it is not valid."""
    if not isinstance(text, str):
        raise JsonPathError(f"a path must be a string, not {type(text).__name__}")
    return _compile(text)
