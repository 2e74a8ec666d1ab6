"""stepmap: run AWS Step Functions (ASL) workflows with Python handlers, fast, on one machine.

The public API is what ``__all__`` lists; everything else is private and may change.

The names are imported on first use (PEP 562 ``__getattr__``), so that ``import stepmap`` (and every
``stepmap`` command, which imports a submodule) does not pay for the interpreter, the service and their
dependencies before it needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stepmap.api import objects, run, table, validate
    from stepmap.codefirst import MapItemError, map, map_reduce
    from stepmap.errors import (
        DefinitionError,
        EngineError,
        InputError,
        Problem,
        StatesError,
        StepmapError,
    )
    from stepmap.interpreter.clock import ManualClock
    from stepmap.interpreter.execution import Execution

__version__ = "0.1.0"

__all__ = [
    "DefinitionError",
    "EngineError",
    "Execution",
    "InputError",
    "ManualClock",
    "MapItemError",
    "Problem",
    "StatesError",
    "StepmapError",
    "__version__",
    "map",
    "map_reduce",
    "objects",
    "run",
    "table",
    "validate",
]

_HOME = {
    "objects": "stepmap.api",
    "run": "stepmap.api",
    "table": "stepmap.api",
    "validate": "stepmap.api",
    "MapItemError": "stepmap.codefirst",
    "map": "stepmap.codefirst",
    "map_reduce": "stepmap.codefirst",
    "DefinitionError": "stepmap.errors",
    "EngineError": "stepmap.errors",
    "InputError": "stepmap.errors",
    "Problem": "stepmap.errors",
    "StatesError": "stepmap.errors",
    "StepmapError": "stepmap.errors",
    "ManualClock": "stepmap.interpreter.clock",
    "Execution": "stepmap.interpreter.execution",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'stepmap' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
