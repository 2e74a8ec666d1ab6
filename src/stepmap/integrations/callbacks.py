"""``.waitForTaskToken``: a Task hands out ``$$.Task.Token`` and waits until someone answers it.

The resource's own call (for ``lambda:invoke.waitForTaskToken``, the handler call) hands the token out; the
answer arrives through the Step Functions API (SendTaskSuccess/Failure/Heartbeat) and is the task's result.
The token bookkeeping lives in the service (:class:`stepmap.service.callbacks.TaskTokens`, passed in as
``tokens``); this module is the adapter the integrations table calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.interpreter.ports import TaskContext

__all__ = ["CallbackIntegration"]


class Tokens(Protocol):
    def wait(
        self,
        token: str,
        execution_arn: str,
        state_name: str,
        heartbeat: float | None,
        dispatch: Callable[[], Awaitable[Any]],
    ) -> Awaitable[Any]: ...


# (function name, payload) -> awaitable of the handler's result
LambdaCall = Callable[[Any], Awaitable[Any]]


class CallbackIntegration:
    """``lambda:invoke.waitForTaskToken``: call the handler with the token, then wait for the answer."""

    def __init__(self, tokens: Tokens, invoke_lambda: LambdaCall) -> None:
        self.tokens = tokens
        self.invoke_lambda = invoke_lambda

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        token = (ctx.context.get("Task") or {}).get("Token")
        if not token:
            raise StatesError("States.Runtime", "the task has no $$.Task.Token")
        if not isinstance(parameters, dict) or "FunctionName" not in parameters:
            raise StatesError(
                "States.Runtime", "lambda:invoke.waitForTaskToken needs Parameters.FunctionName"
            )

        async def dispatch() -> None:
            await self.invoke_lambda(parameters)

        return self.tokens.wait(token, ctx.execution_arn, ctx.state_name, ctx.heartbeat, dispatch)

    def __reduce__(self) -> tuple[Any, ...]:
        return _in_process_only, (".waitForTaskToken",)


class InProcessOnly:
    """What a server-side integration becomes when pickled into a worker process (a Distributed Map's
    child executions): the task fails clearly instead of waiting on a token table it cannot watch."""

    def __init__(self, what: str) -> None:
        self.what = what

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        raise StatesError(
            "States.Runtime",
            f"{self.what} is not available inside a Distributed Map's child executions in stepmap",
        )


def _in_process_only(what: str) -> InProcessOnly:
    return InProcessOnly(what)
