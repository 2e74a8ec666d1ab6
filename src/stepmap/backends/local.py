"""The default executor: a pool of worker processes, one per core, reused across calls and executions.

Workers are forked where the platform allows it (fast start, and handlers defined in ``__main__`` resolve);
the handler code directories and the handlers' environment are set in each worker by the pool initializer.

A worker that dies (killed, out of memory, ``os._exit`` in a handler) breaks a ``ProcessPoolExecutor`` for
good: every call in flight fails with ``BrokenProcessPool``. :class:`LocalPool` replaces the broken pool by a
fresh one at the next ``submit``, so the caller can resubmit the calls that failed (the Map Run scheduler
does, for chunks of children).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, TypeVar

from stepmap.functions import add_code_paths

__all__ = ["LocalPool", "local_pool", "shutdown_pools"]

T = TypeVar("T")
_PoolKey = tuple[tuple[str, ...], int, tuple[tuple[str, str], ...]]
_lock = threading.Lock()


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _init_worker(code_paths: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> None:
    os.environ.update(dict(env))
    add_code_paths(code_paths)
    # A forked worker holds its own copy of the pool's pipes, so it never sees them close when the
    # coordinator is killed: watch the parent instead, and leave with it.
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="stepmap-watchdog").start()


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


class LocalPool(Executor):
    """A process pool that heals: a broken inner pool is replaced at the next ``submit``.

    ``workers`` is the pool's size."""

    def __init__(self, workers: int, code_paths: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> None:
        self.workers = workers
        self.code_paths = code_paths
        self.env = env
        self.replacements = 0  # pools replaced after a worker died
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._closed = False

    def _current(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            pool = self._pool
            if pool is not None and getattr(pool, "_broken", False):
                pool.shutdown(wait=False, cancel_futures=True)
                self.replacements += 1
                pool = None
            if pool is None:
                add_code_paths(self.code_paths)
                pool = self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=_context(),
                    initializer=_init_worker,
                    initargs=(self.code_paths, self.env),
                )
            return pool

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._current().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def worker_pids(self) -> list[int]:
        """The pids of the current workers (for fault-injection tests)."""
        pool = self._pool
        processes = getattr(pool, "_processes", None) or {}
        return list(processes)


_pools: dict[_PoolKey, LocalPool] = {}


def local_pool(
    code_paths: tuple[str, ...] = (), max_workers: int | None = None, env: tuple[tuple[str, str], ...] = ()
) -> LocalPool:
    """The shared pool for this configuration (code paths, size, handler environment)."""
    workers = max_workers or os.cpu_count() or 1
    key = (code_paths, workers, env)
    with _lock:
        pool = _pools.get(key)
        if pool is None or pool._closed:
            pool = _pools[key] = LocalPool(workers, code_paths, env)
        return pool


def shutdown_pools() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pools)
