"""Strict JSON text: what a workflow may receive as JSON, decided in one place.

Python's ``json`` accepts more than JSON data that can travel through a workflow: ``NaN`` and ``Infinity``
(not JSON at all), numbers such as ``1e999`` that overflow a double (parsed as ``inf``, printed back as
``Infinity``), integers of thousands of digits (which Python refuses to convert past 4,300 digits, with a
message about ``sys.set_int_max_str_digits``), and ``\\udc80`` escapes that decode to lone surrogates (which
no UTF-8 text can hold, so every later ``encode()`` fails). :func:`loads` rejects each of them with a
:class:`JsonValueError` that says what is wrong; it keeps no state.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = [
    "MAX_INT_DIGITS",
    "MAX_PAYLOAD_BYTES",
    "JsonValueError",
    "check_encodable",
    "exceeds_payload_limit",
    "loads",
    "min_json_chars",
]

MAX_PAYLOAD_BYTES = 262_144  # AWS's quota on a state's input, output, task result and built payload

MAX_INT_DIGITS = 4300  # Python's own limit on int <-> str conversion (sys.get_int_max_str_digits())
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonValueError(ValueError):
    """A JSON text holds a value that cannot travel through a workflow."""


def _constant(token: str) -> Any:
    raise JsonValueError(f"{token} is not a JSON value")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise JsonValueError(f"the number {shown} is beyond the range of a double-precision number")
    return value


# No parse_int hook (a Python call per integer would slow every item down): Python itself refuses
# integers past MAX_INT_DIGITS, and :func:`loads` rewords its message.
_decode = json.JSONDecoder(parse_constant=_constant, parse_float=_float).decode


def check_encodable(text: str, what: str = "the text") -> None:
    """Raise JsonValueError when ``text`` holds a lone surrogate (it has no UTF-8 form)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JsonValueError(
            f"{what} holds a lone surrogate ({text[exc.start]!r} at position {exc.start}), "
            "which is not valid Unicode"
        ) from None


def loads(text: str) -> Any:
    """Parse JSON text strictly (see the module docstring); raises ValueError (JSONDecodeError for bad
    syntax, JsonValueError for a value out of range), or RecursionError when nested too deeply."""
    try:
        value = _decode(text)
    except JsonValueError:
        raise
    except json.JSONDecodeError:
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion ..."
        raise JsonValueError(f"an integer has more than {MAX_INT_DIGITS} digits") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        # Only escapes can produce a lone surrogate from text that is itself valid; pairs are fine.
        check_encodable(json.dumps(value, ensure_ascii=False), "the JSON text")
    return value


def min_json_chars(value: Any, budget: int) -> int:
    """A lower bound on the length of ``value``'s JSON text, walked no further than ``budget``.

    Building a payload shares references (a template naming a 250 KB string 4,000 times builds a small
    object graph whose text is 1 GB), so sizes are checked on the graph, before any text exists. Every
    string counts its characters and every value at least one; the walk stops as soon as ``budget`` is
    passed, so a huge graph costs no more than ``budget`` worth of walking."""
    total = 0
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            total += len(node) + 2
        elif isinstance(node, dict):
            total += 2 + len(node)
            for key, item in node.items():
                total += len(key) + 3
                stack.append(item)
        elif isinstance(node, list):
            total += 2 + len(node)
            stack.extend(node)
        else:
            total += 1
        if total > budget:
            return total
    return total


def exceeds_payload_limit(value: Any) -> bool:
    """Is ``value``'s JSON text certainly over :data:`MAX_PAYLOAD_BYTES` (its UTF-8 is never shorter)?"""
    return min_json_chars(value, MAX_PAYLOAD_BYTES) > MAX_PAYLOAD_BYTES
