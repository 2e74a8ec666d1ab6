"""The default executor: a pool of worker processes, one per core, reused across calls and executions.

Workers are forked where the platform allows it (fast start, and handlers defined in ``__main__`` resolve);
the handler code directories are put on each worker's import path by the pool initializer.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from stepmap.functions import add_code_paths

__all__ = ["local_pool", "shutdown_pools"]

_PoolKey = tuple[tuple[str, ...], int, tuple[tuple[str, str], ...]]
_pools: dict[_PoolKey, ProcessPoolExecutor] = {}
_lock = threading.Lock()


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _init_worker(code_paths: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> None:
    os.environ.update(dict(env))
    add_code_paths(code_paths)


def local_pool(
    code_paths: tuple[str, ...] = (), max_workers: int | None = None, env: tuple[tuple[str, str], ...] = ()
) -> ProcessPoolExecutor:
    """The shared pool for this configuration; created on first use, replaced if it broke.

    ``env`` is set in each worker (where handlers find the store and tables)."""
    workers = max_workers or os.cpu_count() or 1
    key = (code_paths, workers, env)
    with _lock:
        pool = _pools.get(key)
        if pool is None or getattr(pool, "_broken", False) or getattr(pool, "_shutdown_thread", False):
            add_code_paths(code_paths)
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=_context(),
                initializer=_init_worker,
                initargs=(code_paths, env),
            )
            _pools[key] = pool
        return pool


def shutdown_pools() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pools)
