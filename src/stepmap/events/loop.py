"""What ``stepmap serve`` runs beside its endpoints: every half second, the object watcher's scan (local
directory stores only: listing a real S3 bucket that often is not free) and the rule engine's step, which
asks the endpoint's own Step Functions API to StartExecution. Bounded: :meth:`EventLoop.stop` ends it.
State: none of its own (cursors and memory live in the message store)."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from stepmap.endpoints.protocol import AwsJsonError, Headers, JsonRequest
from stepmap.events.rules import ObjectWatcher, RuleEngine
from stepmap.storage.messages import MessageStore

__all__ = ["EventLoop"]


class EventLoop:
    def __init__(self, ctx: Any, step_functions: Any, *, interval: float = 0.5) -> None:
        self.store = MessageStore(ctx.state_dir)
        self.step_functions = step_functions
        self.engine = RuleEngine(self.store, self._start)
        local = "://" not in ctx.store_config.url or ctx.store_config.url.startswith("file://")
        self.watcher = ObjectWatcher(ctx.store, self.store) if local else None
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stepmap-events", daemon=True)

    def _start(self, arn: str, name: str, payload: str) -> None:
        body = json.dumps({"stateMachineArn": arn, "name": name, "input": payload}).encode()
        try:
            self.step_functions(JsonRequest("StartExecution", body, Headers()))
        except AwsJsonError as exc:
            if exc.code != "ExecutionAlreadyExists":  # already started for this event: nothing to do
                print(f"stepmap: rule target {arn}: {exc.code}: {exc.message}", file=sys.stderr, flush=True)

    def step(self) -> None:
        if self.watcher is not None:
            self.watcher.scan()
        self.engine.step()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception as exc:  # keep serving; say what went wrong
                print(f"stepmap: event rules: {exc!r}", file=sys.stderr, flush=True)

    def start(self) -> EventLoop:
        if self.watcher is not None and self.store.cursor("objects-scanned") == 0:
            # the baseline scan before serve says it is serving: an object put just after is announced
            self.watcher.scan()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
