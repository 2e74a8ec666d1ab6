"""The whole error vocabulary of stepmap.

Two families live here, and they never mix:

* **ASL errors** are data that travels through a workflow. A state fails with an
  ``(error, cause)`` pair; ``Retry`` and ``Catch`` see it. :class:`StatesError` carries one
  inside the interpreter; the table :data:`STATES_ERRORS` says which predefined names
  ``States.ALL`` and ``States.TaskFailed`` match.

* **Python exceptions** for the people and programs that drive stepmap::

    StepmapError
    ├── DefinitionError      the definition is invalid; .problems lists every Problem
    ├── InputError           bad input from outside: JSON, files, function names, flags
    ├── EngineError          stepmap itself failed (store unreachable, worker pool broken);
    │   │                    ASL Catch never sees these
    │   └── StoreUnavailable a store kept failing after every retry
    └── StatesError          an ASL error (error, cause) raised while a state runs

Two more, outside that tree. :class:`WorkerDied` is a ``concurrent.futures.BrokenExecutor``: what an
executor sets on the future of the one call whose worker process died under it. :class:`Interrupted` (a
``BaseException``, like ``KeyboardInterrupt``) is what the command line raises in the coordinator on SIGINT
or SIGTERM. Nothing catches it on the way out, so the execution stays RUNNING in the journal, resumable; a
handler that raises ``KeyboardInterrupt`` itself fails only its own call.

A user never sees a traceback for their own mistake: the CLI prints ``str()`` of an
``InputError`` or the problems of a ``DefinitionError`` and exits with a documented code.
"""

from __future__ import annotations

import signal
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_CAUSE_CHARS",
    "STATES_ERRORS",
    "DefinitionError",
    "EngineError",
    "ErrorName",
    "InputError",
    "Interrupted",
    "Problem",
    "StatesError",
    "StepmapError",
    "StoreUnavailable",
    "WorkerDied",
    "error_matches",
    "truncate_cause",
]


class StepmapError(Exception):
    """Base of every exception stepmap raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a definition, shaped like AWS's ValidateStateMachineDefinition diagnostic."""

    code: str  # AWS diagnostic code, e.g. SCHEMA_VALIDATION_FAILED
    message: str
    location: str  # JSON pointer into the definition, e.g. /States/Choose/Choices/0/Next
    severity: Literal["ERROR", "WARNING"] = "ERROR"

    def __str__(self) -> str:
        where = self.location or "/"
        return f"{self.severity} {self.code} at {where}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "location": self.location,
        }


class DefinitionError(StepmapError):
    """A definition has one or more problems; ``problems`` holds all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid state machine definition ({len(self.problems)} problem(s)):\n{lines}")


class InputError(StepmapError):
    """Bad input from outside stepmap (a file, a JSON text, a flag, a function name)."""


class EngineError(StepmapError):
    """stepmap itself could not go on; never visible to an ASL Catch."""


class Interrupted(BaseException):
    """The coordinator got SIGINT or SIGTERM (``signum``); the execution is left to be resumed."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)


class WorkerDied(BrokenExecutor):
    """The worker process running one call died under it (``os._exit``, a crash in a C extension, a
    kill): only that call fails. ``exitcode`` is the process's, negative for a signal (None: unknown).

    A worker whose handler outlived its timeout and would not let go ends itself with
    :data:`TIMED_OUT_EXIT` (see :mod:`stepmap.runtime`), so the caller can say ``States.Timeout``."""

    TIMED_OUT_EXIT = 124

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        super().__init__(f"the worker process died ({self.reason})")

    @property
    def timed_out(self) -> bool:
        return self.exitcode == self.TIMED_OUT_EXIT

    @property
    def reason(self) -> str:
        """Lambda's words for how a runtime ended: ``exit status 13``, ``signal: segmentation fault``."""
        code = self.exitcode
        if code is None:
            return "Runtime exited without providing a reason"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            words = {"SIGSEGV": "segmentation fault", "SIGKILL": "killed", "SIGABRT": "aborted"}
            return f"Runtime exited with error: signal: {words.get(name, name)}"
        return f"Runtime exited with error: exit status {code}"


class StoreUnavailable(EngineError):
    """An object store or table kept failing with transient errors after every allowed retry.

    The ItemReader and ResultWriter turn it into ``States.ItemReaderFailed`` / ``States.ResultWriterFailed``
    (the workflow may Catch those); anywhere else it stops the engine."""


MAX_CAUSE_CHARS = 32_768  # AWS: every *FailedEventDetails ``cause`` is at most 32,768 characters


def truncate_cause(cause: str) -> str:
    """``cause`` cut to AWS's limit (a 10 MB exception message must not reach the terminal or journal)."""
    if len(cause) <= MAX_CAUSE_CHARS:
        return cause
    note = f"... [truncated {len(cause) - MAX_CAUSE_CHARS} characters]"
    return cause[: MAX_CAUSE_CHARS - len(note)] + note


class StatesError(StepmapError):
    """An ASL error: what a failing state produces and Retry/Catch match on. ``cause`` is truncated to
    :data:`MAX_CAUSE_CHARS`, as AWS truncates it."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        if cause is not None and len(cause) > MAX_CAUSE_CHARS:
            cause = truncate_cause(cause)
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else error)

    def to_json(self) -> dict[str, str]:
        out = {"Error": self.error}
        if self.cause is not None:
            out["Cause"] = self.cause
        return out


@dataclass(frozen=True)
class ErrorName:
    """A predefined ``States.*`` error and how the matchers treat it."""

    name: str
    caught_by_all: bool = True  # does ``States.ALL`` match it?
    retryable: bool = True  # may a Retrier naming it (or States.ALL) retry it?
    task_failure: bool = True  # does ``States.TaskFailed`` match it?


_TABLE = [
    # Terminal errors: States.ALL does not match them (AWS: "A retry or catch on States.ALL
    # won't catch States.Runtime errors"; DataLimitExceeded is terminal too).
    ErrorName("States.Runtime", caught_by_all=False, retryable=False, task_failure=False),
    ErrorName("States.DataLimitExceeded", caught_by_all=False, retryable=False, task_failure=False),
    # States.TaskFailed matches any error except States.Timeout.
    ErrorName("States.Timeout", task_failure=False),
    ErrorName("States.HeartbeatTimeout", task_failure=False),
    ErrorName("States.TaskFailed"),
    ErrorName("States.Permissions"),
    ErrorName("States.ResultPathMatchFailure"),
    ErrorName("States.ParameterPathFailure"),
    ErrorName("States.BranchFailed"),
    ErrorName("States.NoChoiceMatched"),
    ErrorName("States.IntrinsicFailure"),
    ErrorName("States.ExceedToleratedFailureThreshold"),
    ErrorName("States.ItemReaderFailed"),
    ErrorName("States.ResultWriterFailed"),
    ErrorName("States.QueryEvaluationError"),
    ErrorName("States.Http.Socket"),
]

STATES_ERRORS: dict[str, ErrorName] = {e.name: e for e in _TABLE}


def error_matches(error_equals: list[str] | tuple[str, ...], error: str) -> bool:
    """Does a Retrier's or Catcher's ``ErrorEquals`` list match ``error``?

    ``States.ALL`` matches every error but the terminal ones; ``States.TaskFailed`` matches every
    error except ``States.Timeout`` (and the terminal ones); any other name matches itself.
    """
    info = STATES_ERRORS.get(error)
    for name in error_equals:
        if name == error:
            return True
        if name == "States.ALL" and (info is None or info.caught_by_all):
            return True
        if name == "States.TaskFailed" and (info is None or info.task_failure):
            return True
    return False
