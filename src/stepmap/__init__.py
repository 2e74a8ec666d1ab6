"""stepmap: run AWS Step Functions (ASL) workflows with Python handlers, fast, on one machine.

The public API is what ``__all__`` lists; everything else is private and may change.
"""

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
