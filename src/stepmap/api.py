"""The Python API: ``stepmap.run`` and ``stepmap.validate``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from stepmap.errors import Problem
from stepmap.interpreter.clock import Clock
from stepmap.interpreter.execution import Execution
from stepmap.service.runner import StepmapService

__all__ = ["run", "validate"]


def run(
    definition: Mapping[str, Any] | str | os.PathLike[str],
    input: Any = None,
    *,
    functions: Mapping[str, str | Callable[[Any, Any], Any]] | None = None,
    executor: str = "local",
    code: tuple[str, ...] | list[str] = (),
    clock: Clock | None = None,
    name: str | None = None,
) -> Execution:
    """Run a state machine to completion and return its :class:`Execution`.

    ``definition`` is a dict, JSON text or a path to a ``.json``/``.yaml`` file. ``functions`` maps function
    names to handlers (``"module:attr"`` strings or callables). ``executor`` is ``"local"`` (a pool of worker
    processes, the default) or ``"sync"`` (in-process, for debugging). An invalid definition raises
    :class:`~stepmap.errors.DefinitionError` carrying every problem; a failed execution does not raise:
    look at ``status``, ``error`` and ``cause``.
    """
    service = StepmapService(functions=functions, executor=executor, code_paths=tuple(code), clock=clock)
    return service.start_execution(definition, input, name=name)


def validate(definition: Mapping[str, Any] | str | os.PathLike[str]) -> list[Problem]:
    """Every problem of a definition (empty when it is valid)."""
    from stepmap.asl.loader import load_definition
    from stepmap.asl.validate import validate as _validate

    return _validate(load_definition(definition))
