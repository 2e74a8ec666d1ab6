"""The default executor: worker processes, one per core, reused across calls and executions.

Workers are forked where the platform allows it (fast start, and handlers defined in ``__main__`` resolve);
the handler code directories and the handlers' environment are set in each worker by its initializer, which
also makes the worker ignore SIGINT (a Ctrl-C is the coordinator's to handle) and arms the runtime's
watchdog (a handler that outlives its timeout and will not let go ends its worker).

State: each worker is a one-process ``ProcessPoolExecutor`` running one call at a time; calls wait in a
queue for a free worker. A worker that dies (killed, out of memory, ``os._exit`` or a segfault in a handler)
fails only the call it was running, with :class:`~stepmap.errors.WorkerDied` and the worker's exit code,
and a fresh worker takes its place at the next call. (One pool of many processes would fail every call in
flight with ``BrokenProcessPool``, the innocent ones too.)
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from stepmap import runtime
from stepmap.errors import WorkerDied
from stepmap.functions import add_code_paths

__all__ = ["LocalPool", "local_pool", "shutdown_pools"]

T = TypeVar("T")
_PoolKey = tuple[tuple[str, ...], int, tuple[tuple[str, str], ...]]
_lock = threading.Lock()


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _init_worker(code_paths: tuple[str, ...], env: tuple[tuple[str, str], ...], parent: int) -> None:
    # A forked worker holds its own copy of the pool's pipes, so it never sees them close when the
    # coordinator is killed: watch the parent instead, and leave with it. ``parent`` is the coordinator's
    # pid as the coordinator knew it: a worker forked just before the coordinator died already has another
    # parent here (init), and must not take that one for its coordinator.
    if os.getppid() != parent:
        os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(dict(env))
    add_code_paths(code_paths)
    runtime.arm_watchdog()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="stepmap-watchdog").start()


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


class _Worker:
    """One worker process, as a one-process ``ProcessPoolExecutor``: its death breaks only itself."""

    def __init__(self, pool: LocalPool) -> None:
        self.executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(pool.code_paths, pool.env, os.getpid()),
        )
        self.process: Any = None  # the multiprocessing.Process, known once the first call started it

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[Any]:
        future = self.executor.submit(fn, *args, **kwargs)
        if self.process is None:
            processes = getattr(self.executor, "_processes", None) or {}
            self.process = next(iter(processes.values()), None)
        return future

    def exitcode(self) -> int | None:
        process = self.process
        if process is None:
            return None
        process.join(5.0)  # it is dead (its pool broke); reap it to learn how it ended
        code: int | None = process.exitcode
        return code

    @property
    def pid(self) -> int | None:
        return None if self.process is None else int(self.process.pid)


class LocalPool(Executor):
    """``workers`` worker processes, each running one call at a time; calls wait in a queue for a free one.

    A worker that dies fails only the call it was running, with :class:`~stepmap.errors.WorkerDied`
    (carrying its exit code), and is replaced before the next call. One ``ProcessPoolExecutor`` of many
    processes would fail every call in flight instead (``BrokenProcessPool``), the innocent ones too."""

    def __init__(self, workers: int, code_paths: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> None:
        self.workers = workers
        self.code_paths = code_paths
        self.env = env
        self.replacements = 0  # workers replaced after one died
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._started = 0  # live workers (idle or busy)
        self._queue: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        outer: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._queue.append((outer, fn, args, kwargs))
        self._dispatch()
        return outer

    def _dispatch(self) -> None:
        """Start queued calls on free workers (new ones while fewer than ``workers`` exist)."""
        while True:
            with self._lock:
                if self._closed or not self._queue:
                    return
                if self._idle:
                    worker = self._idle.pop()
                elif self._started < self.workers:
                    add_code_paths(self.code_paths)
                    worker = _Worker(self)
                    self._started += 1
                else:
                    return
                outer, fn, args, kwargs = self._queue.popleft()
                if not outer.running() and not outer.set_running_or_notify_cancel():  # (running: requeued)
                    self._idle.append(worker)
                    continue
                self._busy.add(worker)
            try:
                inner = worker.submit(fn, args, kwargs)
            except BrokenProcessPool:  # the worker died while idle (killed from outside): not this call's
                self._retire(worker)  # doing, so it waits for the next worker, at the front of the queue
                with self._lock:
                    self._queue.appendleft((outer, fn, args, kwargs))
                continue
            except BaseException as exc:  # e.g. the call's arguments cannot be pickled
                with self._lock:
                    self._busy.discard(worker)
                    self._idle.append(worker)
                outer.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                continue
            inner.add_done_callback(functools.partial(self._done, worker, outer))

    def _done(self, worker: _Worker, outer: Future[Any], inner: Future[Any]) -> None:
        exc = inner.exception()
        if isinstance(exc, BrokenProcessPool):
            died = WorkerDied(worker.exitcode())
            died.__cause__ = exc
            self._retire(worker)
            outer.set_exception(died)
        else:
            with self._lock:
                self._busy.discard(worker)
                closed = self._closed
                if not closed:
                    self._idle.append(worker)
            if closed:
                worker.executor.shutdown(wait=False)
            if exc is not None:
                outer.set_exception(exc)
            else:
                outer.set_result(inner.result())
        self._dispatch()

    def _retire(self, worker: _Worker) -> None:
        worker.executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._busy.discard(worker)
            self._started -= 1
            self.replacements += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            queued, self._queue = list(self._queue), deque()
        for outer, *_ in queued:
            outer.cancel()
        for worker in idle + busy:
            worker.executor.shutdown(wait=wait, cancel_futures=cancel_futures)

    def kill(self) -> None:
        """Stop at once: kill every worker (the coordinator was interrupted; nothing waits for them)."""
        with self._lock:
            self._closed = True
            workers = self._idle + list(self._busy)
            queued, self._queue = list(self._queue), deque()
        for outer, *_ in queued:
            outer.cancel()
        for worker in workers:
            if worker.process is not None and worker.process.is_alive():
                worker.process.kill()
            worker.executor.shutdown(wait=False, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """The pids of the current workers (for fault-injection tests)."""
        with self._lock:
            workers = self._idle + list(self._busy)
        return [pid for pid in (w.pid for w in workers) if pid is not None]


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


def shutdown_pools(*, kill: bool = False) -> None:
    """Shut every pool down (at exit); ``kill``: kill the workers instead of waiting for their calls."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        if kill:
            pool.kill()
        else:
            pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pools)
