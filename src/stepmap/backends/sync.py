"""The in-process executor: runs each call at ``submit`` time, in the caller's thread.

Deterministic and debuggable (breakpoints and tracebacks in handlers work); nothing runs in parallel.
The environment handlers need (store and table configuration) is set in ``os.environ`` for the duration of
each call only, so that two services in one process (tests, the API server) never see each other's store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

__all__ = ["SyncExecutor"]

T = TypeVar("T")


class SyncExecutor(Executor):
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._shutdown = False
        self._env = dict(env or {})

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if self._shutdown:
            raise RuntimeError("cannot schedule new calls after shutdown")
        future: Future[T] = Future()
        saved = {key: os.environ.get(key) for key in self._env}
        os.environ.update(self._env)
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True
