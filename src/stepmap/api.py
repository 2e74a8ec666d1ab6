"""The Python API: ``stepmap.run`` and ``stepmap.validate``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from stepmap.errors import Problem
from stepmap.interpreter.clock import Clock
from stepmap.interpreter.execution import Execution
from stepmap.service.runner import StepmapService

if TYPE_CHECKING:
    from stepmap.storage import ObjectStore, Table

__all__ = ["objects", "run", "table", "validate"]


def objects() -> ObjectStore:
    """The configured object store, for use inside handlers: get/put/list/get_range/open/head/delete."""
    from stepmap.storage.handles import objects as _objects

    return _objects()


def table(
    name: str,
    *,
    partition_key: str = "pk",
    sort_key: str | None = None,
    partition_key_type: Literal["S", "N"] = "S",
    sort_key_type: Literal["S", "N"] = "S",
) -> Table:
    """A results table, for use inside handlers: put_item/get_item/query/scan/delete_item.

    Key types are ``"S"`` (string) or ``"N"`` (number), as in DynamoDB."""
    from stepmap.storage.handles import table as _table

    return _table(
        name,
        partition_key=partition_key,
        sort_key=sort_key,
        partition_key_type=partition_key_type,
        sort_key_type=sort_key_type,
    )


def run(
    definition: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    input: Any = None,
    *,
    functions: Mapping[str, str | Callable[[Any, Any], Any]] | None = None,
    executor: str = "local",
    code: tuple[str, ...] | list[str] = (),
    clock: Clock | None = None,
    name: str | None = None,
    store: str | None = None,
    s3_endpoint: str | None = None,
    state_dir: str | None = None,
    template: str | os.PathLike[str] | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
) -> Execution:
    """Run a state machine to completion and return its :class:`Execution`.

    With ``template`` (a SAM/CloudFormation/CDK template file), ``definition`` names one of its state
    machines (logical id or name; None when it has one) and the template's functions, buckets and tables
    are used; ``functions`` may add or replace functions.

    ``definition`` is a dict, JSON text or a path to a ``.json``/``.yaml`` file. ``functions`` maps function
    names to handlers (``"module:attr"`` strings or callables). ``executor`` is ``"local"`` (a pool of worker
    processes, the default) or ``"sync"`` (in-process, for debugging). An invalid definition raises
    :class:`~stepmap.errors.DefinitionError` carrying every problem; a failed execution does not raise:
    look at ``status``, ``error`` and ``cause``.

    ``store`` is where Distributed Map reads items and writes results: a directory (each bucket a folder;
    default ``<state_dir>/s3``) or ``"s3://"`` (with ``s3_endpoint`` for an S3-compatible server).
    ``state_dir`` (default ``.stepmap``) holds the results tables and temporary files.
    """
    app = None
    source: Any = definition
    registry: Any = functions
    if template is not None:
        from stepmap.functions import FunctionRegistry
        from stepmap.service.apps import prepare_app_machine, registry_for
        from stepmap.templates import load_template

        app = load_template(os.fspath(template), parameter_overrides)
        registry = registry_for(app, FunctionRegistry(functions))
        source = prepare_app_machine(app, None if definition is None else str(definition))
    elif definition is None:
        from stepmap.errors import InputError

        raise InputError("stepmap.run needs a definition, or template=")
    service = StepmapService(
        functions=registry,
        executor=executor,
        code_paths=tuple(code),
        clock=clock,
        store=store,
        s3_endpoint=s3_endpoint,
        state_dir=state_dir,
    )
    if app is not None:
        from stepmap.service.apps import provision

        provision(service, app)
    return service.start_execution(source, input, name=name)


def validate(definition: Mapping[str, Any] | str | os.PathLike[str]) -> list[Problem]:
    """Every problem of a definition (empty when it is valid)."""
    from stepmap.asl.loader import load_definition
    from stepmap.asl.validate import validate as _validate

    return _validate(load_definition(definition))
