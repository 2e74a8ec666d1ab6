"""Lambda functions: the one registry that maps function names to what Lambda would run for them.

A function is a :class:`FunctionSpec`: its handler, its code root (the folder Lambda unpacks as
``/var/task``) and layers, its environment, timeout and memory. Every executor (the local pool, the
in-process executor, Ray) and every source of functions (the CLI, templates, the Python API) goes through
this registry; :mod:`stepmap.runtime` loads each function from its own code root in its own import
namespace, so two functions whose handlers are both ``app.lambda_handler`` in different folders each run
their own ``app.py``.

A handler is named as a :class:`HandlerRef` (module and attribute, imported lazily in whichever process
calls it) or given as a callable. Callables that live at module level are kept as references so that they
cross process boundaries by name, not by value.

How the CLI names a function (:func:`parse_function_option`)::

    NAME=module:attr             module found in exactly one --code folder: bound to it; found in several:
                                 bound to the --code given just before it when every such folder has its
                                 own --function (--code f1 --function F1=... --code f2 --function F2=...),
                                 else an error that says how to choose
    NAME=module.function         Lambda's Handler spelling, resolved the same way
    NAME=DIR/module.function     module.py in folder DIR (the code root)
    NAME=HANDLER@DIR             HANDLER (either spelling, Lambda's package/module.function too) under DIR
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from stepmap.errors import InputError

__all__ = [
    "FunctionRegistry",
    "FunctionSpec",
    "HandlerRef",
    "HandlerTarget",
    "add_code_paths",
    "function_name_of",
    "function_options",
    "parse_function_option",
]

Handler = Callable[[Any, Any], Any]

_LAMBDA_ARN = re.compile(
    r"^(?:arn:(?:aws[a-zA-Z-]*):lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:|function:)?"
    r"(?P<name>[A-Za-z0-9_.-]+)(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]+))?$"
)


def function_name_of(reference: str) -> tuple[str, str | None] | None:
    """(name, qualifier) of a Lambda FunctionName: a bare name, a partial ARN or a full ARN."""
    m = _LAMBDA_ARN.match(reference)
    if m is None:
        return None
    return m.group("name"), m.group("qualifier")


@dataclass(frozen=True)
class HandlerRef:
    """A handler named by module and attribute; loaded on first use in the process that calls it."""

    module: str
    attr: str

    @classmethod
    def parse(cls, text: str) -> HandlerRef:
        module, sep, attr = text.partition(":")
        if not sep or not module or not attr or not all(p.isidentifier() for p in attr.split(".")):
            raise InputError(f"handler reference {text!r} must look like 'package.module:function'")
        if not all(p.isidentifier() for p in module.split(".")):
            raise InputError(f"handler reference {text!r}: {module!r} is not a module name")
        return cls(module, attr)

    @classmethod
    def parse_lambda(cls, text: str) -> HandlerRef:
        """Lambda's ``Handler`` spelling: ``module.function`` or ``package/module.function``."""
        path, dot, attr = text.rpartition(".")
        module = path.replace("/", ".")
        if not dot or not attr.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
            raise InputError(
                f"handler {text!r} does not name a Python function: Lambda expects module.function "
                "(for example app.lambda_handler) or package/module.function"
            )
        return cls(module, attr)

    def __str__(self) -> str:
        return f"{self.module}:{self.attr}"

    def load(self) -> Handler:
        try:
            obj: Any = importlib.import_module(self.module)
        except ImportError as exc:
            raise InputError(
                f"cannot import module {self.module!r} for handler {self}: {exc}"
                " (use --code DIR to put its directory on the import path)"
            ) from exc
        for part in self.attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise InputError(f"module {self.module!r} has no attribute {self.attr!r}") from None
        if not callable(obj):
            raise InputError(f"handler {self} is not callable")
        return obj

    def find_in(self, roots: Iterable[str]) -> str | None:
        """The file (or package folder) of this handler's module under one of ``roots``, without importing
        anything; None when no root has it."""
        for root in roots:
            base = os.path.join(root, *self.module.split("."))
            if os.path.isfile(base + ".py"):
                return base + ".py"
            if os.path.isdir(base):
                return base
        return None

    def missing_in(self, root: str) -> str | None:
        """Why this handler names nothing under ``root``, read from its source without running it; None
        when it may well exist (a source that does not parse fails when called, as on Lambda)."""
        path = self.find_in([root])
        if path is None:
            expected = os.path.join(root, *self.module.split("."))
            return f"no module {self.module!r} in {root} (expected {expected}.py)"
        source = os.path.join(path, "__init__.py") if os.path.isdir(path) else path
        first = self.attr.split(".")[0]
        try:
            with open(source, encoding="utf-8") as fh:
                tree = ast.parse(fh.read(), source)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            return None
        names = _top_level_names(tree.body)
        if names is None or first in names:
            return None
        return f"module {self.module!r} has no attribute {self.attr!r} (nothing named {first!r} in {source})"


def _top_level_names(body: list[ast.stmt]) -> set[str] | None:
    """Names a module body binds (None when it cannot be told: ``import *`` or a module ``__getattr__``)."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [h.body for h in getattr(node, "handlers", [])]
            for block in blocks:
                inner = _top_level_names(block)
                if inner is None:
                    return None
                names |= inner
        elif not isinstance(node, ast.Expr | ast.Pass | ast.Assert | ast.Delete | ast.Raise):
            return None  # match statements, global tricks: do not guess
    if "__getattr__" in names:
        return None
    return names


HandlerTarget = HandlerRef | Handler

LAMBDA_DEFAULT_TIMEOUT = 3.0  # seconds, Lambda's (and SAM's) default Timeout
LAMBDA_DEFAULT_MEMORY = 128  # MB


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function as stepmap runs it.

    ``code_root`` is None for a handler found on the process's import path (a module of an installed
    package, or a callable); otherwise the handler's module is loaded from that folder (and ``layers``,
    Lambda's ``/opt/python``), in the function's own import namespace. ``environment`` is layered over the
    worker's environment for the duration of each call. ``timeout`` is the function's own Timeout
    (None: none besides the Task's ``TimeoutSeconds``)."""

    name: str
    handler: HandlerTarget
    code_root: str | None = None
    layers: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None
    memory: int = LAMBDA_DEFAULT_MEMORY
    runtime: str | None = None
    handler_text: str = field(default="", compare=False)  # as the user spelled it, for messages

    @property
    def roots(self) -> tuple[str, ...]:
        return (self.code_root, *self.layers) if self.code_root else self.layers

    def to_json(self) -> dict[str, Any] | None:
        """A JSON form (for the journal, to resume an execution in another process); None for a callable
        that is not importable by name."""
        if not isinstance(self.handler, HandlerRef):
            return None
        return {
            "handler": str(self.handler),
            "codeRoot": self.code_root,
            "layers": list(self.layers),
            "environment": dict(self.environment),
            "timeout": self.timeout,
            "memory": self.memory,
            "runtime": self.runtime,
        }

    @classmethod
    def from_json(cls, name: str, value: Any) -> FunctionSpec:
        if isinstance(value, str):  # journals written before function specs
            return cls(name, HandlerRef.parse(value))
        return cls(
            name,
            HandlerRef.parse(value["handler"]),
            value.get("codeRoot"),
            tuple(value.get("layers") or ()),
            tuple(sorted((value.get("environment") or {}).items())),
            value.get("timeout"),
            int(value.get("memory") or LAMBDA_DEFAULT_MEMORY),
            value.get("runtime"),
        )


def _as_target(target: str | Handler) -> HandlerTarget:
    if isinstance(target, str):
        return HandlerRef.parse(target)
    if not callable(target):
        raise InputError(f"handler {target!r} is neither a 'module:attr' string nor a callable")
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", "")
    if inspect.isfunction(target) and module and module != "__main__" and "<" not in qualname:
        return HandlerRef(module, qualname)
    return target


def add_code_paths(paths: Iterable[str]) -> None:
    """Put handler code directories at the front of the import path (idempotent)."""
    for path in reversed(list(paths)):
        if path not in sys.path:
            sys.path.insert(0, path)


def _check_name(name: str) -> None:
    if not name or function_name_of(name) is None or ":" in name:
        raise InputError(f"{name!r} is not a valid function name (letters, digits, '-', '_', '.')")


def _split_option(name: str, text: str) -> tuple[HandlerRef, str]:
    """(handler, explicit folder or "") of a ``--function`` value."""
    target, at, root = text.rpartition("@") if "@" in text else (text, "", "")
    if at:
        if not root:
            raise InputError(f"--function {name}={text}: nothing after '@' (expected a folder)")
    elif "/" in target and ":" not in target:
        root, _, target = target.rpartition("/")
        root = root or "/"
    return (HandlerRef.parse(target) if ":" in target else HandlerRef.parse_lambda(target)), root


def function_options(
    options: Iterable[tuple[str, str, str | None]], code_dirs: Iterable[str] = ()
) -> list[FunctionSpec]:
    """The functions of ``--function NAME=TEXT`` options, each with the ``--code`` folder given before it
    on the command line (None: none was), as :func:`parse_function_option` binds them.

    A module found in several ``--code`` folders is bound by command-line order only when every one of
    those folders is followed by a ``--function`` of that module (``--code f1 --function F1=app:h --code f2
    --function F2=app:h``): then each option says which folder it means. Otherwise it is ambiguous."""
    options = [(n, t.strip(), g) for n, t, g in options]
    dirs = [os.path.abspath(d) for d in code_dirs]
    claimed: dict[str, set[str]] = {}
    for name, text, group in options:
        _check_name(name)
        ref, root = _split_option(name, text)
        if not root and group is not None:
            claimed.setdefault(ref.module, set()).add(os.path.abspath(group))
    specs = []
    for name, text, group in options:
        ref, root = _split_option(name, text)
        found = {d for d in dirs if ref.find_in([d]) is not None}
        mine = os.path.abspath(group) if group is not None else None
        if not root and len(found) > 1 and mine in found and found <= claimed.get(ref.module, set()):
            text = f"{text}@{mine}"
        specs.append(parse_function_option(name, text, dirs))
    return specs


def parse_function_option(name: str, text: str, code_dirs: Iterable[str] = ()) -> FunctionSpec:
    """The function ``--function NAME=TEXT`` means (see the module docstring for the spellings).

    A handler without an explicit folder is looked up in every ``code_dirs`` folder: found in exactly one,
    the function is bound to it; found in several, the choice would be a guess, so it is an error that
    says how to choose; found in none, the handler is imported from the process's import path."""
    _check_name(name)
    text = text.strip()
    ref, root = _split_option(name, text)
    if root:
        folder = os.path.abspath(root)
        if not os.path.isdir(folder):
            raise InputError(f"--function {name}={text}: code folder {root!r} does not exist")
        problem = ref.missing_in(folder)
        if problem is not None:
            raise InputError(f"--function {name}={text}: {problem}")
        return FunctionSpec(name, ref, folder, handler_text=text)
    dirs = list(dict.fromkeys(os.path.abspath(d) for d in code_dirs))
    found = [d for d in dirs if ref.find_in([d]) is not None]
    if len(found) > 1:
        choices = " or ".join(f"{name}={ref}@{os.path.relpath(d)}" for d in found)
        raise InputError(
            f"--function {name}={text} is ambiguous: module {ref.module!r} is in {len(found)} --code "
            f"folders ({', '.join(os.path.relpath(d) for d in found)}); say which with {choices}"
        )
    if found:
        problem = ref.missing_in(found[0])
        if problem is not None:
            raise InputError(
                f"--function {name}={text}: {problem} (a handler must look like module:attr, "
                "module.function or DIR/module.function)"
            )
        return FunctionSpec(name, ref, found[0], handler_text=text)
    return FunctionSpec(name, ref, handler_text=text)


class FunctionRegistry:
    """Function name -> :class:`FunctionSpec`. Picklable: it holds references, or module-level callables.

    Lookups accept what a Task may name a function by: its name, a partial or full ARN, with or without
    a version or alias qualifier."""

    def __init__(self, functions: Mapping[str, str | Handler | FunctionSpec] | None = None) -> None:
        self._specs: dict[str, FunctionSpec] = {}
        for name, target in (functions or {}).items():
            self.register(name, target)

    def register(self, name: str, target: str | Handler | FunctionSpec) -> None:
        _check_name(name)
        if isinstance(target, FunctionSpec):
            self._specs[name] = target if target.name == name else replace(target, name=name)
        else:
            self._specs[name] = FunctionSpec(name, _as_target(target))

    def add(self, spec: FunctionSpec) -> None:
        self.register(spec.name, spec)

    def register_module(self, module_name: str) -> list[str]:
        """Register every public function defined in a module under its own name."""
        try:
            module: ModuleType = importlib.import_module(module_name)
        except ImportError as exc:
            raise InputError(f"cannot import module {module_name!r}: {exc}") from exc
        names = []
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
                continue
            self._specs[name] = FunctionSpec(name, HandlerRef(module.__name__, name))
            names.append(name)
        return sorted(names)

    def get(self, name: str) -> FunctionSpec | None:
        spec = self._specs.get(name)
        if spec is None:
            parsed = function_name_of(name)
            if parsed is not None:
                spec = self._specs.get(parsed[0])
        return spec

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[FunctionSpec]:
        return [self._specs[n] for n in sorted(self._specs)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __len__(self) -> int:
        return len(self._specs)
