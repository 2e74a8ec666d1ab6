"""Ray as an executor: the same ``concurrent.futures.Executor`` port, work shipped as Ray tasks.

What is submitted is what the local pool gets: a handler call, or a whole chunk of child executions of a
Distributed Map (one Ray task runs many children). ``ObjectRef.future()`` turns a Ray result into a
``concurrent.futures.Future``. Ray retries a task whose worker or node died (``max_retries``); the Map Run
counts a chunk's children only when a run of the chunk returns, so a retried chunk is never counted twice.
A task whose worker crashed every time (a child calling ``os._exit`` or crashing in a C extension) fails
with :class:`~stepmap.errors.WorkerDied`, and the Map Run splits the chunk to find that child.

Handler code reaches the workers in two ways: the first ``--code`` directory becomes the Ray job's
``working_dir`` (uploaded to every node), and every code directory is also put on ``sys.path`` in the task,
which is enough on a cluster whose nodes share this file system (a local cluster). The handlers'
environment (store and table configuration) travels as the job's ``env_vars``. Ray is imported only here
(``pip install stepmap[ray]``).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from stepmap import runtime
from stepmap.errors import InputError, WorkerDied
from stepmap.functions import add_code_paths

__all__ = ["RayExecutor", "ray_executor"]

T = TypeVar("T")
INSTALL_HINT = "--executor ray needs Ray, which is not installed: pip install 'stepmap[ray]'"
TASK_RETRIES = 3  # Ray re-runs a task whose worker or node died


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return ray


def _call(
    setup: tuple[tuple[str, ...], tuple[tuple[str, str], ...]], fn: Callable[..., Any], *args: Any
) -> Any:
    """Runs in the Ray worker: make the handler code and environment visible, then call ``fn``."""
    code_paths, env = setup
    os.environ.update(dict(env))
    add_code_paths(code_paths)
    runtime.arm_watchdog()  # a handler that will not let go after its timeout ends this worker
    return fn(*args)


class RayExecutor(Executor):
    """Submits calls as Ray tasks on the cluster at ``address`` (None: start a local Ray)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        code_paths: tuple[str, ...] = (),
        env: tuple[tuple[str, str], ...] = (),
        num_cpus: int | None = None,
    ) -> None:
        self.ray = _import_ray()
        self.code_paths = tuple(os.path.abspath(p) for p in code_paths)
        self.env = env
        if not self.ray.is_initialized():
            runtime_env: dict[str, Any] = {"env_vars": dict(env)}
            if self.code_paths:
                runtime_env["working_dir"] = self.code_paths[0]
            kwargs: dict[str, Any] = {
                "address": address,
                "runtime_env": runtime_env,
                "log_to_driver": False,
                "include_dashboard": False,
            }
            if address is None and num_cpus is not None:
                kwargs["num_cpus"] = num_cpus
            try:
                self.ray.init(**kwargs)
            except ConnectionError as exc:
                raise InputError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from None
        self._remote = self.ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(_call)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def workers(self) -> int:
        """How many CPUs the cluster offers (the scheduler keeps about twice as many chunks in flight)."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if kwargs:
            raise TypeError("RayExecutor.submit takes positional arguments only")
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
        ref = self._remote.remote((self.code_paths, self.env), fn, *args)
        inner: Future[T] = ref.future()
        outer: Future[T] = Future()
        outer.set_running_or_notify_cancel()
        inner.add_done_callback(functools.partial(self._settle, outer))
        return outer

    def _settle(self, outer: Future[Any], inner: Future[Any]) -> None:
        """Pass the result on; a worker that crashed under the task (after Ray's own retries) becomes
        :class:`~stepmap.errors.WorkerDied`, as with the local pool, so that only that call fails."""
        if inner.cancelled():
            outer.cancel()
            return
        exc = inner.exception()
        if exc is None:
            outer.set_result(inner.result())
        elif isinstance(exc, self.ray.exceptions.WorkerCrashedError):
            died = WorkerDied(None)
            died.__cause__ = exc
            outer.set_exception(died)
        else:
            outer.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True


_executors: dict[tuple[Any, ...], RayExecutor] = {}


def ray_executor(
    address: str | None, code_paths: tuple[str, ...], env: tuple[tuple[str, str], ...]
) -> RayExecutor:
    """One RayExecutor per configuration and process (``ray.init`` happens once per process)."""
    key = (address, code_paths, env)
    executor = _executors.get(key)
    if executor is None:
        executor = _executors[key] = RayExecutor(address, code_paths=code_paths, env=env)
    return executor
