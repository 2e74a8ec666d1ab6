"""Lambda-style handlers: the registry that maps function names to Python callables.

A handler is ``def handler(event, context)`` in any module. It is registered under a name, either as a
``"module:attr"`` reference (imported lazily, in whichever process calls it) or as a callable. Callables that
live at module level are kept as references so that they cross process boundaries by name, not by value.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from stepmap.errors import InputError

__all__ = ["FunctionRegistry", "HandlerRef", "HandlerTarget", "add_code_paths", "function_name_of"]

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


HandlerTarget = HandlerRef | Handler


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


class FunctionRegistry:
    """Function name -> handler. Picklable: it holds references, or module-level callables."""

    def __init__(self, functions: Mapping[str, str | Handler] | None = None) -> None:
        self._targets: dict[str, HandlerTarget] = {}
        for name, target in (functions or {}).items():
            self.register(name, target)

    def register(self, name: str, target: str | Handler) -> None:
        if not name or function_name_of(name) is None:
            raise InputError(f"{name!r} is not a valid function name (letters, digits, '-', '_', '.')")
        self._targets[name] = _as_target(target)

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
            self._targets[name] = HandlerRef(module.__name__, name)
            names.append(name)
        return sorted(names)

    def get(self, name: str) -> HandlerTarget | None:
        return self._targets.get(name)

    def names(self) -> list[str]:
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets
