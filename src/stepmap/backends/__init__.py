"""Executors: where leaf work (handler calls, chunks of child executions) runs.

The executor port *is* ``concurrent.futures.Executor``. This module is the one place that maps an executor
name to an implementation; heavy backends are imported lazily, with an install hint when missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Executor

from stepmap.errors import InputError

__all__ = ["EXECUTORS", "make_executor"]

EXECUTORS = ("local", "sync", "ray")


def make_executor(
    name: str,
    *,
    code_paths: tuple[str, ...] = (),
    max_workers: int | None = None,
    env: Mapping[str, str] | None = None,
    ray_address: str | None = None,
) -> Executor:
    """The executor called ``name``: ``local`` (process pool, default), ``sync`` (in-process) or ``ray``
    (tasks on the Ray cluster at ``ray_address`` or ``RAY_ADDRESS``; ``auto`` joins a running cluster;
    neither: a local Ray).

    ``env`` holds the environment handlers need (store and table configuration) in whatever process
    runs them."""
    env_items = tuple(sorted((env or {}).items()))
    if name == "local":
        from stepmap.backends.local import local_pool

        return local_pool(code_paths, max_workers, env_items)
    if name == "sync":
        from stepmap.backends.sync import SyncExecutor
        from stepmap.functions import add_code_paths

        add_code_paths(code_paths)
        return SyncExecutor(dict(env_items))
    if name == "ray":
        from stepmap.backends.ray import ray_executor

        return ray_executor(ray_address or os.environ.get("RAY_ADDRESS") or None, code_paths, env_items)
    raise InputError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
