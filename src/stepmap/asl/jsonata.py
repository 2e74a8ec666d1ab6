"""The JSONata query language of Step Functions: ``{% ... %}`` expressions, compiled once, run many times.

A JSONata state writes its data flow as expressions: ``"Output": "{% $states.input.a + 1 %}"``. A string
is an expression only when it starts with ``{%`` and ends with ``%}``; every other value is a literal, and
objects and arrays are walked so that expressions may sit at any depth. :func:`compile_value` turns such a
value into a :class:`JsonataTemplate` once per definition; evaluating one walks a tree of prepared leaves.
The engine's compiled expressions are kept per thread (they may not cross threads), each compiled once.

The engine underneath is ``jsonatapy`` (a Rust implementation of JSONata, chosen by measurement: 20x to
30x faster per evaluation than the pure-Python ``jsonata-python``; see benchmarks/RESULTS.md). Step Functions
adds six functions (``$partition``, ``$range``, ``$hash``, ``$random`` with a seed, ``$uuid``, ``$parse``)
and removes ``$eval``; both are done here, and ``$encodeUrl`` is given JavaScript's encodeURI rules, which
jsonatapy 2.2 does not follow. Every evaluation is bounded: 1 second (AWS's limit), a call
stack depth of 100, sequences of at most 1,000,000 values and string results of at most 6,990,256 bytes.
Any failure is ``States.QueryEvaluationError`` with the cause text AWS writes, naming the expression and
the field it was written in.

What an expression sees (the bindings): ``$states`` with ``input`` and ``context`` always, ``result`` in
the Output/Assign of Task, Map and Parallel states, ``errorOutput`` in a Catcher's Output/Assign; and the
workflow variables it names. Only the parts an expression mentions are converted for the engine (the
context object is built only when ``$states.context`` appears), which keeps evaluation cheap.

:func:`state_problems` is the static check the validator runs on a JSONata state: the parser's message for
an expression that does not parse (``INVALID_JSONATA_EXPRESSION``), a reference to ``$``, ``$$`` or a bare
field name at the top level, and ``$states.result`` / ``$states.errorOutput`` where they do not exist
(``UNSUPPORTED_JSONATA_EXPRESSION``), all of which AWS refuses. This module keeps no state beyond the
compiled expressions it returns.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonatapy

from stepmap.errors import StatesError

__all__ = [
    "MISSING",
    "EvaluationContext",
    "JsonataTemplate",
    "QueryEvaluationError",
    "check_expression",
    "compile_value",
    "contains_expression",
    "is_expression",
]

TIMEOUT_MS = 1000  # AWS: "evaluation timeout" after one second
MAX_STACK_DEPTH = 100
MAX_SEQUENCE = 1_000_000
MAX_STRING_BYTES = 6_990_256  # the largest string result AWS was seen to return
QUERY_ERROR = "States.QueryEvaluationError"
MISSING: Any = object()

_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_CODE = re.compile(r"^(?:Parse error: )?([A-Z]\d{4}): ?(.*)$", re.S)
_KEYWORDS = frozenset({"and", "or", "in", "true", "false", "null", "function", "λ"})


def is_expression(value: Any) -> bool:
    """True for a string that is a JSONata expression: ``{%`` at its start and ``%}`` at its end."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


def contains_expression(value: Any) -> bool:
    return any(True for _ in _expressions(value, ""))


def _expressions(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every expression string in a JSON value, with its field path (``Output/a/b[0]``)."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        node, path = stack.pop()
        if is_expression(node):
            yield node, path
        elif isinstance(node, Mapping):
            stack.extend((v, f"{path}/{k}" if path else str(k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))


# --- Step Functions' own functions -------------------------------------------------------------------


class _FunctionError(ValueError):
    pass


def _integer(value: Any, name: str, position: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _FunctionError(f"Argument {position} of function {name} must be a number")
    return math.floor(value)


def _partition(array: Any = None, size: Any = None) -> Any:
    if not isinstance(array, list):
        array = [] if array is None else [array]
    chunk = _integer(size, "$partition", 2)
    if chunk <= 0:
        raise _FunctionError("Argument 2 of function $partition must be a positive integer")
    return [array[i : i + chunk] for i in range(0, len(array), chunk)]


def _range(start: Any = None, end: Any = None, step: Any = None) -> Any:
    first, last, by = _integer(start, "$range", 1), _integer(end, "$range", 2), _integer(step, "$range", 3)
    if by == 0:
        raise _FunctionError("Argument 3 of function $range must not be zero")
    count = max(0, (last - first) // by + 1)
    if count > MAX_SEQUENCE:  # the engine's own bound on sequences
        raise _FunctionError(f"The function $range cannot produce more than {MAX_SEQUENCE} elements")
    return [first + i * by for i in range(count)]


def _hash(data: Any = None, algorithm: Any = None) -> Any:
    if not isinstance(data, str):
        raise _FunctionError("Argument 1 of function $hash must be a string")
    if algorithm not in _HASHES:
        raise _FunctionError(f"Argument 2 of function $hash must be one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def _random(seed: Any = MISSING) -> Any:
    if seed is MISSING or seed is None:
        return random.random()
    return random.Random(_integer(seed, "$random", 1)).random()


def _uuid() -> Any:
    return str(uuid.uuid4())


def _parse(text: Any = None) -> Any:
    if not isinstance(text, str):
        raise _FunctionError("Argument 1 of function $parse must be a string")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _FunctionError(f"Unable to parse JSON: {exc}") from None


def _encode_url(text: Any = None) -> Any:
    """JavaScript's encodeURI, which JSONata's $encodeUrl is (jsonatapy 2.2 leaves ASCII such as spaces)."""
    if not isinstance(text, str):
        raise _FunctionError('T0410: Argument 1 of function "encodeUrl" does not match function signature')
    try:
        return urllib.parse.quote(text, safe=";,/?:@&=+$-_.!~*'()#", errors="strict")
    except UnicodeEncodeError:  # a lone surrogate, which encodeURI refuses too
        raise _FunctionError("D3140: Malformed URL passed to $encodeUrl()") from None


# Undefined stays undefined: the replacement is called only for a defined argument.
_ENCODE_URL_PRELUDE = "($encodeUrl := function($s) { $exists($s) ? $__encodeUrl($s) : $s }; "


def _no_eval(*_args: Any) -> Any:
    raise _FunctionError("T1006: Attempted to invoke a non-function")


_ADDED: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "uuid": _uuid,
    "parse": _parse,
    "__encodeUrl": _encode_url,
}
_OVERRIDDEN: dict[str, Callable[..., Any]] = {"random": _random, "eval": _no_eval}


# --- static analysis ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s+|/\*.*?\*/|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`"""
    r"""|(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"""
    r"""|(?P<var>\$\$|\$[A-Za-z0-9_]*)"""
    r"""|(?P<name>[^\s\d\[\]{}().,;:'"`$?&|<>=!+\-*/%~^@#][^\s\[\]{}().,;:'"`$?&|<>=!+\-*/%~^@#]*)"""
    r"""|(?P<op>\.\.|:=|~>|!=|<=|>=|\*\*|.)""",
    re.S,
)


_REGEX = re.compile(r"/(?:[^/\\\n]|\\.)*/[a-z]*")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "/" and (not out or (out[-1][0] == "op" and out[-1][1] not in ")]}")):
            regex = _REGEX.match(text, pos)  # a '/' where an operand is expected starts a regex literal
            if regex is not None:
                out.append(("str", regex.group(0)))
                pos = regex.end()
                continue
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the last alternative matches any character
            break
        pos = m.end()
        kind = m.lastgroup
        if kind is None:
            token = m.group(0)
            if token[:1] in "\"'":
                out.append(("str", token))
            elif token[:1] == "`":
                out.append(("name", token))
            continue
        out.append((kind, m.group(0)))
    return out


def _analyse(text: str) -> tuple[frozenset[str], frozenset[str], str | None]:
    """(``$states`` members named, variables named, the first top-level bare reference or None)."""
    tokens = _tokens(text)
    members: set[str] = set()
    variables: set[str] = set()
    top_ref: str | None = None
    stack: list[str] = []  # open brackets: '(' keeps the top level, '[' '{' and function bodies leave it
    function_body_pending = False
    prev: tuple[str, str] | None = None
    for i, (kind, token) in enumerate(tokens):
        if kind == "var":
            name = token[1:]
            if name == "states":
                if i + 2 < len(tokens) and tokens[i + 1][1] == "." and tokens[i + 2][0] == "name":
                    members.add(tokens[i + 2][1])
                else:
                    members.update(("input", "context", "result", "errorOutput"))
            elif name and not (i + 1 < len(tokens) and tokens[i + 1][1] == "("):
                variables.add(name)  # a call ($sum(...)) names a function, never a workflow variable
            at_top = all(b == "(" for b in stack)
            follows_path = prev is not None and prev[1] in (".", "@", "#")
            if at_top and not follows_path and token in ("$", "$$") and top_ref is None:
                nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
                if not (token == "$" and nxt == "("):  # not a call of a lambda bound to '$'
                    top_ref = token
        elif kind == "name":
            at_top = all(b == "(" for b in stack)
            follows_path = prev is not None and prev[1] in (".", "@", "#")
            nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
            if token == "function" or token == "λ":
                function_body_pending = True
            elif at_top and not follows_path and token not in _KEYWORDS and nxt != ":" and top_ref is None:
                # an object key ("a": ...) is followed by ':', not a reference
                top_ref = token.strip("`")
        elif kind == "op":
            if token in "([{":
                before = tokens[i - 2][1] if i >= 2 else ""
                if token == "{" and function_body_pending:
                    stack.append("f")
                    function_body_pending = False
                elif token == "(" and (
                    (prev is not None and prev[1] == ".") or (prev and prev[0] == "var" and before == ".")
                ):
                    stack.append("s")  # a path step ($x.(a) or $x.$f(a)): evaluated against each item
                else:
                    stack.append(token)
            elif token in ")]}" and stack:
                stack.pop()
            elif token == "|":  # a transform | location | update |: not evaluated against the top level
                if stack and stack[-1] == "|":
                    stack.pop()
                else:
                    stack.append("|")
        prev = (kind, token)
    return frozenset(members), frozenset(variables), top_ref


def _strip_code(message: str) -> tuple[str | None, str]:
    match = _CODE.match(message.strip())
    if match is None:
        return None, message.strip()
    return match.group(1), match.group(2).strip()


def check_expression(value: str) -> tuple[str, str] | None:
    """The definition-time problem of one ``{% %}`` string as (AWS diagnostic code, message), or None."""
    body = value[2:-2]
    if not body.strip():
        return "INVALID_JSONATA_EXPRESSION", "The JSONata expression is empty"
    try:
        jsonatapy.compile(body)
    except Exception as exc:  # the parser's ValueError, and anything a hostile string provokes
        return "INVALID_JSONATA_EXPRESSION", _strip_code(str(exc))[1]
    _, _, top_ref = _analyse(body)
    if top_ref is not None:
        return (
            "UNSUPPORTED_JSONATA_EXPRESSION",
            f"Reference to '{top_ref}' at the top level is not supported.",
        )
    return None


# --- evaluation ---------------------------------------------------------------------------------------


class EvaluationContext:
    """What one evaluation may read: state input, context object (lazily), variables, result, error.

    Duck-compatible with :class:`stepmap.asl.payload.References` (``input``, ``context``, ``variables``), so
    the interpreter's code that evaluates JSONPath templates can hand the same object to JSONata ones.
    """

    __slots__ = ("_context", "context_fn", "error_output", "input", "result", "state_label", "variables")

    def __init__(
        self,
        input: Any,
        context_fn: Callable[[], Any] | None = None,
        variables: Any = None,
        *,
        result: Any = MISSING,
        error_output: Any = MISSING,
        state_label: str = "",
    ) -> None:
        self.input = input
        self.context_fn = context_fn
        self.variables = variables
        self.result = result
        self.error_output = error_output
        self.state_label = state_label
        self._context: Any = None

    @property
    def context(self) -> Any:
        if self._context is None:
            self._context = self.context_fn() if self.context_fn is not None else {}
        return self._context


class QueryEvaluationError(StatesError):
    """``States.QueryEvaluationError`` that also knows the field it happened in (the ``location`` of AWS's
    ``EvaluationFailed`` history event)."""

    def __init__(self, cause: str, location: str) -> None:
        super().__init__(QUERY_ERROR, cause)
        self.location = location


def _query_error(refs: Any, text: str, field: str, tail: str) -> StatesError:
    label = getattr(refs, "state_label", "")
    prefix = f"{label} " if label else ""
    return QueryEvaluationError(
        f"{prefix}The JSONata expression '{text}' specified for the field '{field}' {tail}", field
    )


_PER_THREAD = threading.local()
_CACHE_SIZE = 4096  # compiled expressions kept per thread


def _engine_expression(source: str) -> Any:
    """The compiled engine expression for ``source`` in this thread.

    jsonatapy's compiled expressions belong to the thread that compiled them: used from another thread they
    panic, and dropped on another thread (a garbage collection may run anywhere) they leak with a warning.
    So none is ever stored in a shared object: each thread compiles (once) and keeps its own, here.
    """
    cache: dict[str, Any] | None = getattr(_PER_THREAD, "cache", None)
    if cache is None:
        cache = _PER_THREAD.cache = {}
    compiled = cache.get(source)
    if compiled is None:
        compiled = jsonatapy.compile(source)
        for name, fn in _ADDED.items():
            compiled.register(name, fn)
        for name, fn in _OVERRIDDEN.items():
            compiled.register_override(name, fn)
        if len(cache) >= _CACHE_SIZE:
            del cache[next(iter(cache))]  # the oldest; dropped in its own thread
        cache[source] = compiled
    return compiled


class _Leaf:
    """One ``{% %}`` expression (compiled per thread, see :func:`_engine_expression`) and its bindings."""

    __slots__ = ("field", "members", "source", "text", "variables")

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        uses_encode_url = any(kind == "var" and token == "$encodeUrl" for kind, token in _tokens(text))
        self.source = _ENCODE_URL_PRELUDE + text + "\n)" if uses_encode_url else text
        jsonatapy.compile(self.source)  # a syntax error shows now, once, not at every evaluation
        members, variables, _ = _analyse(text)
        self.members = members
        self.variables = tuple(sorted(variables))

    def bindings(self, refs: Any) -> dict[str, Any]:
        bound: dict[str, Any] = {}
        if self.members:
            states: dict[str, Any] = {}
            for member in self.members:
                if member == "input":
                    states["input"] = refs.input
                elif member == "context":
                    states["context"] = refs.context
                elif member == "result":
                    value = getattr(refs, "result", MISSING)
                    if value is not MISSING:
                        states["result"] = value
                elif member == "errorOutput":
                    value = getattr(refs, "error_output", MISSING)
                    if value is not MISSING:
                        states["errorOutput"] = value
            bound["states"] = states
        variables = getattr(refs, "variables", None)
        if self.variables and variables is not None:
            for name in self.variables:
                try:
                    bound[name] = variables.lookup(name)
                except Exception:  # not a workflow variable: a local one, a function, or undefined
                    continue
        return bound

    def run(self, refs: Any) -> Any:
        """The engine's raw result (None for both null and undefined); the engine's errors propagate."""
        return _engine_expression(self.source).evaluate(
            None,
            self.bindings(refs),
            timeout=TIMEOUT_MS,
            max_stack_depth=MAX_STACK_DEPTH,
            max_sequence_length=MAX_SEQUENCE,
        )

    def evaluate(self, refs: Any) -> Any:
        bound = self.bindings(refs)
        compiled = _engine_expression(self.source)
        try:
            result = compiled.evaluate(
                None,
                bound,
                timeout=TIMEOUT_MS,
                max_stack_depth=MAX_STACK_DEPTH,
                max_sequence_length=MAX_SEQUENCE,
            )
            if result is None and (
                compiled.evaluate_json_or_none(
                    None,
                    bound,
                    timeout=TIMEOUT_MS,
                    max_stack_depth=MAX_STACK_DEPTH,
                    max_sequence_length=MAX_SEQUENCE,
                )
                is None
            ):
                raise _query_error(refs, self.text, self.field, "returned nothing (undefined).")
        except StatesError:
            raise
        except RecursionError:
            raise _query_error(
                refs, self.text, self.field, "threw an error during evaluation. D1011: Stack overflow"
            ) from None
        except Exception as exc:  # the engine's ValueError, a host function's error, a conversion error
            message = str(exc)
            if message.startswith("host function raised "):
                message = message.split(": ", 1)[-1]
            code, text = _strip_code(message)
            tail = f"{code}: {text}" if code else text
            raise _query_error(
                refs, self.text, self.field, f"threw an error during evaluation. {tail}"
            ) from None
        if type(result) is str:
            if len(result) > MAX_STRING_BYTES // 4 and len(result.encode()) > MAX_STRING_BYTES:
                raise _query_error(
                    refs,
                    self.text,
                    self.field,
                    f"threw an error during evaluation. The result exceeds {MAX_STRING_BYTES} bytes",
                )
        elif type(result) is float and not math.isfinite(result):
            raise _query_error(
                refs, self.text, self.field, "threw an error during evaluation. D1001: Number out of range"
            )
        return result


class JsonataTemplate:
    """A JSON value with ``{% %}`` expressions at any depth, compiled; ``evaluate`` builds the value.

    Has the same ``evaluate(refs)`` shape as a JSONPath :class:`~stepmap.asl.payload.Template`.
    """

    __slots__ = ("_build", "field", "is_constant", "raw")

    def __init__(self, raw: Any, field: str) -> None:
        self.raw = raw
        self.field = field
        self.is_constant = not contains_expression(raw)
        self._build = _compile(raw, field)

    def evaluate(self, refs: Any) -> Any:
        return self._build(refs)


def _plain(value: Any) -> bool:
    """A result that needs none of the checks :meth:`_Leaf.evaluate` makes after the engine returns."""
    if type(value) is str:
        return len(value) <= MAX_STRING_BYTES // 4
    if type(value) is float:
        return math.isfinite(value)
    return True  # null included: inside an object a null is a key with a value, undefined is no key


class _Fused:
    """The expression values of one object evaluated as one JSONata object constructor: one call into the
    engine (one conversion of ``$states``) instead of one per key. Whenever the fused result is not plainly
    right (an error, a key left out because its value was undefined, a null, a very long string), every
    key is evaluated on its own, so that the outcome and the error naming the field are exactly those of
    evaluating the keys one by one."""

    __slots__ = ("builders", "expression_keys", "fused", "keys")

    def __init__(self, node: Mapping[str, Any], field: str, fused: _Leaf) -> None:
        self.keys = list(node)
        self.builders = {key: _compile(value, f"{field}/{key}") for key, value in node.items()}
        self.expression_keys = [key for key, value in node.items() if is_expression(value)]
        self.fused = fused

    def evaluate(self, refs: Any) -> Any:
        try:
            values = self.fused.run(refs)
        except Exception:
            values = None
        if (
            not isinstance(values, dict)
            or len(values) != len(self.expression_keys)
            or not all(_plain(v) for v in values.values())
        ):
            return {key: build(refs) for key, build in self.builders.items()}
        return {key: values[key] if key in values else self.builders[key](refs) for key in self.keys}


def _fuse(node: Mapping[str, Any], field: str) -> _Fused | None:
    expressions = [(key, value[2:-2].strip()) for key, value in node.items() if is_expression(value)]
    if len(expressions) < 2 or not all(isinstance(key, str) for key, _ in expressions):
        return None
    text = "{" + ", ".join(f"{json.dumps(key)}: ({body}\n)" for key, body in expressions) + "}"
    try:
        return _Fused(node, field, _Leaf(text, field))
    except Exception:  # a body that only parses on its own: evaluate the keys one by one
        return None


def _compile(node: Any, field: str) -> Callable[[Any], Any]:
    if is_expression(node):
        return _Leaf(node[2:-2].strip(), field).evaluate
    if isinstance(node, Mapping):
        if not contains_expression(node):
            frozen = json.dumps(node)
            return lambda _refs: json.loads(frozen)
        fused = _fuse(node, field)
        if fused is not None:
            return fused.evaluate
        parts = [(key, _compile(value, f"{field}/{key}")) for key, value in node.items()]
        return lambda refs: {key: build(refs) for key, build in parts}
    if isinstance(node, list):
        if not contains_expression(node):
            frozen = json.dumps(node)
            return lambda _refs: json.loads(frozen)
        items = [_compile(value, f"{field}[{i}]") for i, value in enumerate(node)]
        return lambda refs: [build(refs) for build in items]
    return lambda _refs: node


def compile_value(raw: Any, field: str) -> JsonataTemplate:
    """Compile a field's value (expression, literal, or object/array holding expressions) once."""
    return JsonataTemplate(raw, field)


def require(value: Any, refs: Any, template: JsonataTemplate, check: Callable[[Any], bool], want: str) -> Any:
    """An evaluated value that must be of one kind (an integer for TimeoutSeconds, a string for Error...)."""
    if not check(value):
        text = template.raw[2:-2].strip() if is_expression(template.raw) else json.dumps(template.raw)
        shown = json.dumps(value)[:200]
        raise _query_error(
            refs, text, template.field, f"returned an unexpected value: expected {want}, got {shown}."
        )
    return value


_NOT_EXPRESSIONS = frozenset({"Type", "Resource", "Next", "Default", "Comment", "End", "QueryLanguage"})
_NESTED_MACHINES = frozenset({"Branches", "ItemProcessor", "Iterator"})


_STATES_MEMBER = re.compile(r"\$states\.(result|errorOutput)\b")


def _unavailable_member(value: str, kind: Any, loc: tuple[Any, ...]) -> tuple[str, str] | None:
    """``$states.result`` outside a Task/Map/Parallel's Output and Assign, ``$states.errorOutput`` outside a
    Catcher's: AWS refuses the definition (``Field '$states.errorOutput' does not exist.``)."""
    in_catcher = len(loc) >= 3 and loc[0] == "Catch" and loc[2] in ("Output", "Assign")
    result_ok = loc[0] in ("Output", "Assign") and kind in ("Task", "Map", "Parallel")
    for match in _STATES_MEMBER.finditer(value):
        member = match.group(1)
        if (member == "result" and not result_ok) or (member == "errorOutput" and not in_catcher):
            return "UNSUPPORTED_JSONATA_EXPRESSION", f"Field '$states.{member}' does not exist."
    return None


def state_problems(state: Mapping[str, Any]) -> list[tuple[str, str, tuple[Any, ...]]]:
    """Definition-time problems of every expression in one JSONata state, as (code, message, location).

    The location is relative to the state; nested state machines (Branches, ItemProcessor) are their own
    states' business.
    """
    problems: list[tuple[str, str, tuple[Any, ...]]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [
        (value, (key,))
        for key, value in state.items()
        if key not in _NESTED_MACHINES and key not in _NOT_EXPRESSIONS
    ]
    while stack:
        node, loc = stack.pop()
        if is_expression(node):
            problem = check_expression(node)
            if problem is None:
                problem = _unavailable_member(node, state.get("Type"), loc)
            if problem is not None:
                problems.append((problem[0], problem[1], loc))
        elif isinstance(node, Mapping):
            stack.extend((v, (*loc, k)) for k, v in node.items() if k != "Comment")
        elif isinstance(node, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(node))
    problems.sort(key=lambda p: [str(x) for x in p[2]])
    return problems
