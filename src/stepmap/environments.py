"""Lambda execution environments inside one Python process: each function's own modules and variables.

Lambda runs each function in its own sandbox: its code root is ``/var/task``, its layers are under
``/opt``, its module-level state survives between invocations of a warm sandbox, and nothing of another
function is visible. A stepmap worker process serves many functions, so :class:`ExecutionEnvironment`
recreates that per function, around each call:

* **imports** -- the function's code root and layers go first on ``sys.path`` (other functions' roots
  are taken off), and the modules it loaded before (its namespace) are put back into ``sys.modules``;
  after the call, every module loaded from its roots is taken out again and kept in its namespace. Two
  functions with an ``app`` module in different folders therefore each import and keep their own.
* **variables** -- the function's ``Environment`` plus Lambda's reserved variables are layered over the
  process environment (so whatever the worker's environment carries, for example an endpoint another
  component injects, stays visible underneath); the previous values come back when another function
  runs in the process, or at :func:`release`.

State kept per process: one environment per :class:`~stepmap.functions.FunctionSpec` (warm starts), and
the set of code roots seen, so that one function never finds another's folder on its path.
Handlers are called one at a time per process (a pool worker, a Ray task, or the in-process executor), which
is what makes swapping ``sys.modules`` and ``os.environ`` around a call sound.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from stepmap.functions import FunctionSpec

__all__ = ["ExecutionEnvironment", "environment_for", "release", "reserved_variables"]

_known_roots: set[str] = set()
_environments: dict[FunctionSpec, ExecutionEnvironment] = {}
_current: ExecutionEnvironment | None = None  # whose variables are in os.environ now
_saved: dict[str, str | None] = {}  # the values they replaced


def reserved_variables(spec: FunctionSpec, region: str) -> dict[str, str]:
    """Lambda's reserved environment variables for ``spec`` (the ones a function cannot set itself)."""
    runtime = spec.runtime or f"python{sys.version_info.major}.{sys.version_info.minor}"
    # the region the worker was configured for (a real bucket's region, say) wins over the default
    region = _process_value("AWS_REGION") or _process_value("AWS_DEFAULT_REGION") or region
    handler = spec.handler_text or str(spec.handler)
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "stepmap/[$LATEST]local",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "LAMBDA_TASK_ROOT": spec.code_root or os.getcwd(),
        "LAMBDA_RUNTIME_DIR": os.path.dirname(os.path.abspath(__file__)),
        "_HANDLER": handler,
    }


def _process_value(key: str) -> str | None:
    """``key`` in the process's own environment (not as the function that ran last left it)."""
    if _current is not None and key in _saved:
        return _saved[key]
    return os.environ.get(key)


def _module_path(module: ModuleType) -> str | None:
    path = getattr(module, "__file__", None)
    if path:
        return str(path)
    paths = getattr(module, "__path__", None)  # a namespace package
    try:
        return next(iter(paths)) if paths is not None else None
    except (StopIteration, TypeError):
        return None


class ExecutionEnvironment:
    """One function's sandbox in this process: its modules (warm between calls) and its variables."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.spec = spec
        self.roots = tuple(dict.fromkeys(os.path.realpath(r) for r in spec.roots))
        self.modules: dict[str, ModuleType] = {}
        self.handler: Any = None
        variables = dict(spec.environment)
        variables.update(reserved_variables(spec, region))
        self.variables = variables
        _known_roots.update(self.roots)
        _known_roots.update(os.path.abspath(r) for r in spec.roots)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this function's imports and variables current for the duration of one call."""
        self._enter_variables()
        if not self.roots:
            yield
            return
        saved_path = sys.path[:]
        known = _known_prefixes()
        sys.path[:] = [*self.roots, *(p for p in saved_path if p and p not in _known_roots)]
        # import path entries inside a code root (a src/ folder, a virtualenv) hold other code, which
        # stays shared: only what is loaded from the roots themselves is the function's
        foreign = tuple(
            p + os.sep for p in saved_path if p and p not in _known_roots and (p + os.sep).startswith(known)
        )
        saved_modules: dict[str, ModuleType | None] = {}
        for name, module in self.modules.items():
            saved_modules[name] = sys.modules.get(name)
            sys.modules[name] = module
        if not self.modules:
            # first call: a module of a name this function imports, left loaded by someone else (the
            # process, or a function registered without a code root), would shadow its own: hide those
            for name, module in list(sys.modules.items()):
                path = _module_path(module)
                if path is not None and path.startswith(known) and not path.startswith(foreign or ("\0",)):
                    saved_modules[name] = sys.modules.pop(name)
        count = len(sys.modules)
        try:
            yield
        finally:
            if len(sys.modules) != count or not self.modules:
                mine = tuple(root + os.sep for root in self.roots)
                for name, module in list(sys.modules.items()):
                    path = _module_path(module)
                    if path is not None and path.startswith(mine) and not path.startswith(foreign or ("\0",)):
                        self.modules[name] = module
            for name in self.modules:
                sys.modules.pop(name, None)
            for name, previous in saved_modules.items():
                if previous is not None:
                    sys.modules[name] = previous
            sys.path[:] = saved_path

    def _enter_variables(self) -> None:
        # Switching variables costs a few microseconds per variable, so they stay in place between calls
        # of the same function and are swapped only when another function runs (or at release()).
        global _current, _saved
        if _current is self:
            return
        _restore_env(_saved)
        _saved = {k: os.environ.get(k) for k in self.variables}
        os.environ.update(self.variables)
        _current = self


def _known_prefixes() -> tuple[str, ...]:
    return tuple(root + os.sep for root in _known_roots)


def release() -> None:
    """Put back the process's own environment variables (after the last call of an in-process run)."""
    global _current, _saved
    _restore_env(_saved)
    _saved = {}
    _current = None


def _restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def environment_for(spec: FunctionSpec, region: str) -> ExecutionEnvironment:
    """The warm environment of ``spec`` in this process (created on first use)."""
    env = _environments.get(spec)
    if env is None:
        env = _environments[spec] = ExecutionEnvironment(spec, region)
    return env
