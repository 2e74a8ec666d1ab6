"""Handlers the mock tests register; a mocked state must never call them."""

from __future__ import annotations

from typing import Any


def real(event: Any, context: Any) -> Any:
    return {"real": True, "event": event}


def explode(event: Any, context: Any) -> Any:
    raise AssertionError("a mocked Task called its handler")
