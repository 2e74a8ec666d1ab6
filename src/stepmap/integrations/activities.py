"""Activity tasks: a Task whose Resource is an activity ARN waits for a worker.

The task is queued under a task token (in the token table of the state directory, so it survives a restart);
a worker takes it with GetActivityTask, and answers with SendTaskSuccess/Failure/Heartbeat as for
callbacks. The token bookkeeping lives in the service (``tokens``); this is the integrations-table adapter.
"""

from __future__ import annotations

from typing import Any, Protocol

from stepmap.asl.payload import dumps
from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.interpreter.ports import TaskContext

__all__ = ["ActivityIntegration"]


class ActivityTokens(Protocol):
    def wait(self, token: str, execution_arn: str, state_name: str, heartbeat: float | None, dispatch: Any,
             extra: dict[str, Any] | None = None) -> Any: ...  # fmt: skip
    def activity_scheduled(self) -> None: ...


class ActivityIntegration:
    def __init__(self, tokens: ActivityTokens) -> None:
        self.tokens = tokens

    def __reduce__(self) -> tuple[Any, ...]:
        from stepmap.integrations.callbacks import _in_process_only

        return _in_process_only, ("an activity task",)

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        token = (ctx.context.get("Task") or {}).get("Token")
        if not token:
            raise StatesError("States.Runtime", "the activity task has no task token")

        async def dispatch() -> None:
            self.tokens.activity_scheduled()

        extra = {"activityArn": resource.arn, "input": dumps(parameters), "claimed": False}
        return self.tokens.wait(token, ctx.execution_arn, ctx.state_name, ctx.heartbeat, dispatch, extra)
