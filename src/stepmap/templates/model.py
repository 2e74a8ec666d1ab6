"""What a template declares that stepmap runs: state machines, functions, buckets and tables (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from stepmap.errors import InputError
from stepmap.functions import FunctionSpec
from stepmap.templates.wiring import Wiring

__all__ = ["App", "TemplateBucket", "TemplateStateMachine", "TemplateTable"]


@dataclass(frozen=True)
class TemplateStateMachine:
    logical_id: str
    name: str
    definition: dict[str, Any]
    type: Literal["STANDARD", "EXPRESS"] = "STANDARD"


@dataclass(frozen=True)
class TemplateBucket:
    logical_id: str
    name: str


@dataclass(frozen=True)
class TemplateTable:
    logical_id: str
    name: str
    partition_key: str
    partition_key_type: Literal["S", "N"] = "S"
    sort_key: str | None = None
    sort_key_type: Literal["S", "N"] = "S"


@dataclass(frozen=True)
class App:
    """A template, read: everything in it stepmap runs, and one note per thing it does not."""

    path: str
    state_machines: dict[str, TemplateStateMachine]  # by logical id, in template order
    functions: tuple[FunctionSpec, ...] = ()
    buckets: tuple[TemplateBucket, ...] = ()
    tables: tuple[TemplateTable, ...] = ()
    notes: tuple[str, ...] = field(default=())
    wiring: Wiring = field(default_factory=Wiring)  # topics, queues, subscriptions, rules

    def state_machine(self, selector: str | None = None) -> TemplateStateMachine:
        """The state machine named by logical id or name; the only one when ``selector`` is None."""
        machines = list(self.state_machines.values())
        choices = ", ".join(m.logical_id for m in machines)
        if selector is None:
            if len(machines) == 1:
                return machines[0]
            if not machines:
                raise InputError(f"template {self.path!r} declares no state machine")
            raise InputError(
                f"template {self.path!r} declares {len(machines)} state machines ({choices}): name one, "
                "as in `stepmap run --template TEMPLATE STATE_MACHINE`"
            )
        for machine in machines:
            if selector in (machine.logical_id, machine.name) or selector.endswith(
                f":stateMachine:{machine.name}"
            ):
                return machine
        raise InputError(
            f"template {self.path!r} has no state machine {selector!r} (it has: {choices or 'none'})"
        )

    def describe(self) -> dict[str, Any]:
        """A JSON summary (``stepmap describe-template``)."""
        return {
            "stateMachines": [
                {"logicalId": m.logical_id, "name": m.name, "type": m.type}
                for m in self.state_machines.values()
            ],
            "functions": [
                {
                    "name": f.name,
                    "handler": f.handler_text or str(f.handler),
                    "codeRoot": f.code_root,
                    "layers": list(f.layers),
                    "runtime": f.runtime,
                    "timeout": f.timeout,
                    "memorySize": f.memory,
                    "environment": dict(f.environment),
                }
                for f in self.functions
            ],
            "buckets": [{"logicalId": b.logical_id, "name": b.name} for b in self.buckets],
            "tables": [
                {
                    "logicalId": t.logical_id,
                    "name": t.name,
                    "partitionKey": [t.partition_key, t.partition_key_type],
                    "sortKey": [t.sort_key, t.sort_key_type] if t.sort_key else None,
                }
                for t in self.tables
            ],
            **({"wiring": self.wiring.describe()} if self.wiring != Wiring() else {}),
            "notes": list(self.notes),
        }
