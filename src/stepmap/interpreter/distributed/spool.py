"""The outputs of a Map Run without a ResultWriter, kept durable so that a resume or a redrive rebuilds the
whole output array in item order.

Without a ResultWriter a Distributed Map's result is the array of its children's outputs. A resumed Map
Run skips the children its checkpoint says are done, and a redrive runs only the failed ones, so their
outputs must outlive the coordinator: each finished child's output is appended, with its index, to a spool
file in the state directory (``<index> <output JSON>`` per line). A checkpoint records the file's size;
:meth:`OutputSpool.restore` cuts what was appended after it (children that will run again) and reads the
rest back. The file is small: the whole output is capped at 256 KiB (``States.DataLimitExceeded``).
State: the open file and its size.
"""

from __future__ import annotations

import os
from typing import IO, Any

from stepmap.errors import EngineError

__all__ = ["OutputSpool"]


class OutputSpool:
    def __init__(self, path: str) -> None:
        self.path = path
        self.size = 0
        self._handle: IO[bytes] | None = None

    def _open(self) -> IO[bytes]:
        if self._handle is None:
            try:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                self._handle = open(self.path, "ab")  # noqa: SIM115 - closed by discard()
            except OSError as exc:
                raise EngineError(f"cannot open the Map Run's output spool {self.path}: {exc}") from exc
        return self._handle

    def append(self, index: int, text: str) -> None:
        # JSON from the workers never holds a raw line break outside a string (inside one it is escaped)
        line = f"{index} {text.replace(chr(10), ' ').replace(chr(13), ' ')}\n".encode()
        try:
            self._open().write(line)
        except OSError as exc:
            raise EngineError(f"cannot write the Map Run's output spool {self.path}: {exc}") from exc
        self.size += len(line)

    def state(self) -> dict[str, Any]:
        """The spool's position, for a checkpoint (flushed first)."""
        if self._handle is not None:
            try:
                self._handle.flush()
            except OSError as exc:
                raise EngineError(f"cannot write the Map Run's output spool {self.path}: {exc}") from exc
        return {"path": self.path, "size": self.size}

    def restore(self, state: dict[str, Any]) -> dict[int, str]:
        """Cut the spool back to a checkpoint's size and return the outputs it holds, by child index."""
        size = state["size"]
        outputs: dict[int, str] = {}
        if size == 0:
            if os.path.exists(self.path):
                self._truncate(0)
            return outputs
        try:
            with open(state["path"], "r+b") as handle:
                data = handle.read(size)
                if len(data) < size:
                    raise EngineError(
                        f"the Map Run's output spool {state['path']} holds {len(data)} bytes, fewer than "
                        f"the {size} its checkpoint recorded"
                    )
                handle.truncate(size)
        except OSError as exc:
            raise EngineError(f"cannot read the Map Run's output spool {state['path']}: {exc}") from exc
        for line in data.decode().splitlines():
            index, _, text = line.partition(" ")
            outputs[int(index)] = text
        self.path, self.size = state["path"], size
        return outputs

    def _truncate(self, size: int) -> None:
        try:
            with open(self.path, "ab") as handle:
                handle.truncate(size)
        except OSError as exc:
            raise EngineError(f"cannot write the Map Run's output spool {self.path}: {exc}") from exc
        self.size = size

    def discard(self) -> None:
        """Close and delete the spool (the Map Run succeeded: its result is in its checkpoint)."""
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:
                pass
            self._handle = None
        try:
            os.unlink(self.path)
        except OSError:
            pass
