"""The state loop: runs a parsed state machine with AWS's semantics.

The loop looks up each state's type in :data:`~stepmap.interpreter.states.STATE_TYPES`, a table of small
async functions; the state of a running execution (:class:`Run`, :class:`Frame`, :class:`StateCall`) lives in
:mod:`stepmap.interpreter.run`. Retry and Catch live in one place, :func:`run_state`, for every state type;
:func:`run_machine` walks from state to state and checkpoints top-level transitions to the run's journal.

Orchestration (the loop, Parallel branches, inline Map iterations) runs as coroutines on one event loop in
the coordinator; only handler calls leave it, through the :class:`HandlerInvoker` port, and whole Distributed
Map runs go through the :class:`DistributedMapRunner` port.
"""

from __future__ import annotations

import math
import random
from typing import Any

from stepmap.asl import model
from stepmap.asl.payload import dumps
from stepmap.errors import STATES_ERRORS, StatesError, error_matches
from stepmap.interpreter.run import ExecutionAborted, Frame, Run, StateCall
from stepmap.interpreter.states import (
    STATE_TYPES,
    Outcome,
    apply_result_path,
    assign_variables,
    size_check,
)

__all__ = ["run_machine", "run_state"]


MAX_RETRY_DELAY = 31_622_400.0  # AWS's ceiling on MaxDelaySeconds (366 days): no retry waits longer


def _retry_delay(retrier: model.Retrier, attempt: int) -> float:
    cap = MAX_RETRY_DELAY
    if retrier.max_delay_seconds is not None:
        cap = min(cap, float(retrier.max_delay_seconds))
    interval, rate = retrier.interval_seconds, retrier.backoff_rate  # math.log takes ints of any size
    # Compare in log space before multiplying: BackoffRate 1e308, or 2.0 past ~1,024 attempts, would
    # overflow a float (OverflowError) long before the cap applies.
    if interval <= 0:
        delay = 0.0
    elif rate > 1.0 and math.log(interval) + attempt * math.log(rate) >= math.log(cap):
        delay = cap
    else:
        delay = min(cap, float(interval * rate**attempt))
    if retrier.jitter == "FULL":
        delay = random.uniform(0, delay)
    return delay


def _retryable(error: str) -> bool:
    info = STATES_ERRORS.get(error)
    return info is None or info.retryable


def _too_deep(state: model.State) -> StatesError:
    return StatesError(
        "States.Runtime",
        f"The state '{state.name}' produced data nested too deeply to be represented as JSON",
    )


async def run_state(state: model.State, raw: Any, run: Run, frame: Frame) -> tuple[Any, str | None]:
    """Run one state with its Retry and Catch; return (output, next state or None at the end)."""
    cursor = frame.cursor
    entered = run.clock.now()
    history_on = cursor.enabled
    if history_on:
        cursor.add(
            f"{state.type}StateEntered",
            {"name": state.name, "input": dumps(raw), "inputDetails": {"truncated": False}},
        )
    # Per retrier: attempts so far (the back-off grows with them) and attempts per error name (what
    # MaxAttempts bounds, as AWS's "complex retry scenarios" example shows).
    attempts = [0] * len(state.retry)
    per_error: list[dict[str, int]] = [{} for _ in state.retry]
    retry_count = 0
    execute = STATE_TYPES[state.type]
    while True:
        call = StateCall(run, frame, state, entered, retry_count)
        try:
            try:
                outcome = await execute(state, raw, call)
            except RecursionError:
                raise _too_deep(state) from None
            break
        except StatesError as exc:
            if state.type == "Fail":
                raise
            retrier_index = next(
                (i for i, r in enumerate(state.retry) if error_matches(r.error_equals, exc.error)), None
            )
            if retrier_index is not None and _retryable(exc.error):
                retrier = state.retry[retrier_index]
                seen = per_error[retrier_index]
                if seen.get(exc.error, 0) < retrier.max_attempts:
                    delay = _retry_delay(retrier, attempts[retrier_index])
                    attempts[retrier_index] += 1
                    seen[exc.error] = seen.get(exc.error, 0) + 1
                    retry_count += 1
                    await run.sleep(delay)
                    run.check_deadline()
                    continue
            catcher = next((c for c in state.catch if error_matches(c.error_equals, exc.error)), None)
            if catcher is None:
                raise
            error_output = exc.to_json()
            if "Cause" not in error_output:
                error_output["Cause"] = ""
            assigned = assign_variables(catcher.assign, call, error_output)
            output = apply_result_path(catcher.result_path, raw, error_output)
            outcome = Outcome(output, catcher.next, assigned, caught=True)
            break
    if outcome.assigned:
        frame.scope.values.update(outcome.assigned)
    if history_on:
        try:
            text = dumps(outcome.output)
        except RecursionError:
            raise _too_deep(state) from None
        size_check(state, text)
        details: dict[str, Any] = {"name": state.name, "output": text, "outputDetails": {"truncated": False}}
        if outcome.assigned:
            details["assignedVariables"] = {k: dumps(v) for k, v in outcome.assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        cursor.add(f"{state.type}StateExited", details)
    if not outcome.caught and (state.type == "Succeed" or state.end):
        return outcome.output, None
    return outcome.output, outcome.next


async def run_machine(
    machine: model.StateMachine, input: Any, run: Run, frame: Frame, start_at: str | None = None
) -> Any:
    """Run states from StartAt (or ``start_at``, when resuming) until one ends the machine."""
    name: str | None = start_at or machine.start_at
    value = input
    states = machine.states
    journal = run.journal if frame.top else None
    while name is not None:
        run.check_deadline()
        if journal is not None:
            journal.checkpoint(name, value, frame.scope.values)
            if journal.should_stop():
                raise ExecutionAborted()
        value, name = await run_state(states[name], value, run, frame)
    return value
