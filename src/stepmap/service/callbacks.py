"""Task tokens: the callback pattern (``.waitForTaskToken``) and SendTaskSuccess/Failure/Heartbeat.

A waiting task's token lives in the registry's ``sfn_tokens`` table with its status (WAITING, then
SUCCEEDED, FAILED, TIMED_OUT or CLOSED), its heartbeat deadline, and the answer once it came. The answer is
written there first and the waiter is woken second, so an answer survives a crash of the server, and an
answer written by another process (``stepmap send-task-success`` on the state directory) is found by the
waiter's poll. State in memory: the futures of the tasks waiting in this process, by token.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from stepmap.errors import StatesError
from stepmap.journal.registry import Registry
from stepmap.service.machines import ApiError

__all__ = ["TaskTokens", "register_callbacks", "send_to_registry"]

POLL_SECONDS = 0.5  # how often a waiter looks for an answer another process wrote
OUTPUT_LIMIT = 262_144


def send_to_registry(registry: Registry, token: str, answer: dict[str, Any]) -> None:
    """Record the answer to a task token (or a heartbeat); AWS's errors for unknown and finished tasks."""
    record = registry.token(token)
    if record is None:
        raise ApiError("InvalidToken", "Invalid Token: 'Provided task token is invalid'")
    if record["status"] != "WAITING":
        raise ApiError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
    if answer["status"] == "HEARTBEAT":
        if record.get("heartbeatSeconds"):
            record["heartbeatDeadline"] = time.time() + record["heartbeatSeconds"]
            registry.set_token(token, record, expected_status="WAITING")
        return
    if not registry.set_token(token, {**record, **answer}, expected_status="WAITING"):
        raise ApiError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class TaskTokens:
    """The token table of one state directory (opened on first use) and this process's waiters."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._registry: Registry | None = None
        self._waiters: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = {}
        self._lock = threading.Lock()
        self._scheduled = threading.Condition()  # activity tasks were scheduled: wake GetActivityTask

    # -- activities ----------------------------------------------------------------------------------
    def activity_scheduled(self) -> None:
        with self._scheduled:
            self._scheduled.notify_all()

    def next_activity_task(self, activity_arn: str, worker: str | None, hold: float) -> dict[str, Any]:
        """GetActivityTask: the oldest unclaimed task of the activity, waiting up to ``hold`` seconds."""
        deadline = time.monotonic() + hold
        while True:
            with self._lock:  # one claim at a time in this process
                for record in self.registry.tokens("WAITING"):
                    if record.get("activityArn") == activity_arn and not record.get("claimed"):
                        claimed = {**record, "claimed": True, "workerName": worker}
                        if self.registry.set_token(record["token"], claimed, expected_status="WAITING"):
                            return {"taskToken": record["token"], "input": record["input"]}
            left = deadline - time.monotonic()
            if left <= 0:
                return {}
            with self._scheduled:
                self._scheduled.wait(min(left, POLL_SECONDS))

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry(self.path)
        return self._registry

    # -- the API side (any thread) -------------------------------------------------------------------
    def send_success(self, token: str, output: str) -> None:
        if len(output.encode()) > OUTPUT_LIMIT:
            raise ApiError(
                "InvalidOutput", f"Invalid Output: 'the output is larger than {OUTPUT_LIMIT} bytes'"
            )
        try:
            json.loads(output)
        except ValueError:
            raise ApiError("InvalidOutput", "Invalid Output: 'the output is not valid JSON'") from None
        send_to_registry(self.registry, token, {"status": "SUCCEEDED", "output": output})
        self._wake(token)

    def send_failure(self, token: str, error: str | None, cause: str | None) -> None:
        send_to_registry(self.registry, token, {"status": "FAILED", "error": error, "cause": cause})
        self._wake(token)

    def send_heartbeat(self, token: str) -> None:
        send_to_registry(self.registry, token, {"status": "HEARTBEAT"})

    def _wake(self, token: str) -> None:
        with self._lock:
            waiter = self._waiters.get(token)
        if waiter is not None:
            loop, future = waiter
            loop.call_soon_threadsafe(_resolve, future)

    # -- the waiting task's side (the execution's event loop) ----------------------------------------
    async def wait(
        self,
        token: str,
        execution_arn: str,
        state_name: str,
        heartbeat: float | None,
        dispatch: Callable[[], Awaitable[Any]],
        extra: dict[str, Any] | None = None,
    ) -> Any:
        """Record the token, run ``dispatch`` (the call that hands the token out) unless a previous run of
        this very attempt did already, then wait for the answer: the output, or a StatesError."""
        now = time.time()
        record: dict[str, Any] = {
            "token": token,
            "status": "WAITING",
            "executionArn": execution_arn,
            "stateName": state_name,
            "created": now,
        }
        if heartbeat:
            record.update(heartbeatSeconds=heartbeat, heartbeatDeadline=now + heartbeat)
        record.update(extra or {})
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters[token] = (loop, future)
        try:
            if self.registry.add_token(token, execution_arn, record):
                try:
                    await dispatch()
                except BaseException:
                    self._close(token, "CLOSED")
                    raise
            while True:
                found = self.registry.token(token)
                if found is None:  # pragma: no cover - tokens are never deleted
                    raise StatesError("States.Runtime", "the task token disappeared from the state directory")
                if found["status"] == "SUCCEEDED":
                    return json.loads(found["output"])
                if found["status"] == "FAILED":
                    raise StatesError(found.get("error") or "", found.get("cause"))
                if found["status"] != "WAITING":
                    raise StatesError("States.Timeout", "The task's token is no longer valid")
                wait = POLL_SECONDS
                if found.get("heartbeatDeadline") is not None:
                    left = found["heartbeatDeadline"] - time.time()
                    if left <= 0:
                        self._close(token, "TIMED_OUT")
                        raise StatesError(
                            "States.HeartbeatTimeout", f"Task sent no heartbeat for {heartbeat:g} seconds"
                        )
                    wait = min(wait, left)
                try:
                    await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    pass
        except asyncio.CancelledError:  # the task's TimeoutSeconds, or the execution was stopped
            self._close(token, "TIMED_OUT")
            raise
        finally:
            with self._lock:
                if self._waiters.get(token, (None, None))[1] is future:
                    del self._waiters[token]

    def _close(self, token: str, status: str) -> None:
        record = self.registry.token(token)
        if record is not None and record["status"] == "WAITING":
            self.registry.set_token(token, {**record, "status": status}, expected_status="WAITING")


def register_callbacks(table: Any, service: Any) -> TaskTokens:
    """Add ``lambda:invoke.waitForTaskToken`` to an integrations table, over the service's state directory
    and its handlers; return the tokens (SendTask* answer them)."""
    import os

    from stepmap.asl.payload import dumps
    from stepmap.integrations.callbacks import CallbackIntegration
    from stepmap.interpreter.tasks import LAMBDA_INVOKE, HandlerInvoker, resolve_task

    tokens = TaskTokens(os.path.join(service.env["STEPMAP_STATE_DIR"], "journal.sqlite"))

    async def invoke_lambda(parameters: Any) -> Any:
        target = resolve_task(LAMBDA_INVOKE, parameters)
        invoker = HandlerInvoker(service.executor, service.functions)
        result, _, _ = await invoker.invoke(target.function_name, dumps(target.payload), None, [])
        return result

    table.register("lambda:invoke.waitForTaskToken", CallbackIntegration(tokens, invoke_lambda))
    return tokens
