"""Payload templates and reference resolution (JSONPath query language).

A payload template is a JSON value whose object keys ending in ``.$`` take their value from a path
(``$.x``), the context object (``$$.Execution.Id``), a workflow variable (``$name.x``) or an intrinsic
function (``States.Format(...)``). Templates are compiled once into a tree of small closures; evaluating
one walks that tree and never re-parses text.

:class:`References` is the one place that knows the three roots a path can start from. It keeps no state
beyond the values of one evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from stepmap.asl import jsontext
from stepmap.asl.intrinsics import compile_intrinsic, looks_like_intrinsic
from stepmap.asl.jsonpath import JsonPath, PathNotFound, compile_path
from stepmap.errors import StatesError

__all__ = ["References", "Template", "Variables", "compile_template", "compile_value_ref", "dumps"]


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """AWS's compact JSON text of a value (no spaces, non-ASCII kept)."""
    return _encode(value)


class Variables(Protocol):
    def lookup(self, name: str) -> Any: ...


class References:
    """The documents a path may name during one evaluation: state input, context object, variables.

    The context object is built lazily (``context_fn``) because most states never read ``$$``.
    """

    __slots__ = ("_context", "context_fn", "input", "variables")

    def __init__(
        self,
        input: Any,
        context_fn: Callable[[], Any] | None = None,
        variables: Variables | None = None,
    ) -> None:
        self.input = input
        self.context_fn = context_fn
        self.variables = variables
        self._context: Any = None

    def with_input(self, input: Any) -> References:
        return References(input, self.context_fn, self.variables)

    @property
    def context(self) -> Any:
        if self._context is None:
            self._context = self.context_fn() if self.context_fn is not None else {}
        return self._context

    def document(self, path: JsonPath) -> Any:
        root = path.root
        if root == "$":
            return self.input
        if root == "$$":
            return self.context
        if self.variables is None:
            raise StatesError("States.Runtime", f"Variable '{root}' is not defined")
        return self.variables.lookup(root)

    def resolve(self, path: JsonPath, field: str) -> Any:
        """The value ``path`` names; a missing path is ``States.Runtime`` in AWS's words."""
        doc = self.document(path)
        try:
            return path.get(doc)
        except PathNotFound:
            raise StatesError(
                "States.Runtime",
                f"The JSONPath '{path.text}' specified for the field '{field}' could not be found in the "
                f"input '{dumps(self.input if path.root == '$' else doc)}'",
            ) from None


Evaluator = Callable[[References], Any]


class Template:
    """A compiled payload template; ``evaluate`` builds a fresh value from references."""

    __slots__ = ("_eval", "is_static", "source")

    def __init__(self, source: Any, evaluator: Evaluator, is_static: bool) -> None:
        self.source = source
        self._eval = evaluator
        self.is_static = is_static

    def evaluate(self, refs: References) -> Any:
        value = self._eval(refs)
        if not self.is_static and jsontext.exceeds_payload_limit(value):
            # Checked on the object graph, before anything writes it as text (which could take GBs).
            raise StatesError(
                "States.DataLimitExceeded",
                f"The payload built from the template exceeds the maximum number of bytes service limit "
                f"({jsontext.MAX_PAYLOAD_BYTES})",
            )
        return value


def compile_value_ref(text: str, field: str) -> Evaluator:
    """An evaluator for the value of a ``.$`` field: a path, a context path, a variable or an intrinsic."""
    stripped = text.strip()
    if looks_like_intrinsic(stripped):
        intrinsic = compile_intrinsic(stripped)

        def eval_intrinsic(refs: References) -> Any:
            return intrinsic.evaluate(lambda p: refs.resolve(p, field))

        return eval_intrinsic
    path = compile_path(stripped)
    if path.root == "$" and path.text.strip() == "$":
        return lambda refs: refs.input

    def eval_path(refs: References) -> Any:
        return refs.resolve(path, field)

    return eval_path


def _compile(node: Any) -> tuple[Evaluator, bool]:
    if isinstance(node, Mapping):
        parts: list[tuple[str, Evaluator, bool]] = []
        static = True
        for key, value in node.items():
            if isinstance(key, str) and key.endswith(".$") and isinstance(value, str):
                parts.append((key[:-2], compile_value_ref(value, key), False))
                static = False
            else:
                evaluator, sub_static = _compile(value)
                parts.append((key, evaluator, sub_static))
                static = static and sub_static
        if static:
            # Documents are never mutated in place (ResultPath copies on write), so a static
            # value can be shared by every evaluation.
            frozen = json.loads(json.dumps(node))
            return (lambda refs: frozen), True

        def eval_object(refs: References) -> Any:
            return {key: ev(refs) for key, ev, _ in parts}

        return eval_object, False
    if isinstance(node, list):
        items = [_compile(v) for v in node]
        if all(s for _, s in items):
            frozen_list = json.loads(json.dumps(node))
            return (lambda refs: frozen_list), True
        evaluators = [ev for ev, _ in items]
        return (lambda refs: [ev(refs) for ev in evaluators]), False
    return (lambda refs: node), True


def compile_template(source: Any) -> Template:
    """Compile a payload template (Parameters, ResultSelector, ItemSelector, Assign, ...)."""
    evaluator, static = _compile(source)
    return Template(source, evaluator, static)
