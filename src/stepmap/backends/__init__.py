"""Executors: where leaf work (handler calls, chunks of child executions) runs.

The executor port *is* ``concurrent.futures.Executor``. This module is the one place that maps an executor
name to an implementation; heavy backends are imported lazily, with an install hint when missing.
"""

from __future__ import annotations

from concurrent.futures import Executor

from stepmap.errors import InputError

__all__ = ["EXECUTORS", "make_executor"]

EXECUTORS = ("local", "sync")


def make_executor(name: str, *, code_paths: tuple[str, ...] = (), max_workers: int | None = None) -> Executor:
    """The executor called ``name``: ``local`` (process pool, default) or ``sync`` (in-process)."""
    if name == "local":
        from stepmap.backends.local import local_pool

        return local_pool(code_paths, max_workers)
    if name == "sync":
        from stepmap.backends.sync import SyncExecutor
        from stepmap.functions import add_code_paths

        add_code_paths(code_paths)
        return SyncExecutor()
    raise InputError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
