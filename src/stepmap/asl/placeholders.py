"""``${...}`` placeholders left in a definition: a template's ``DefinitionSubstitutions`` (or ``--sub``)
that nothing filled. Step Functions would run such a definition with the literal text in place, a wrong
answer or an obscure failure later; stepmap reports each one with its JSON pointer before anything runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["PLACEHOLDER", "placeholders"]

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def placeholders(definition: Any) -> Iterator[tuple[str, str]]:
    """(JSON pointer, placeholder) for every ``${...}`` in the definition's strings and keys."""
    stack: list[tuple[Any, str]] = [(definition, "")]
    seen: set[int] = set()  # a definition built in Python may hold a cycle
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict | list):
            if id(node) in seen:
                continue
            seen.add(id(node))
        if isinstance(node, str):
            for m in PLACEHOLDER.finditer(node):
                yield where, m.group(0)
        elif isinstance(node, dict):
            for key, value in reversed(list(node.items())):
                at = f"{where}/{_escape(key)}"
                if isinstance(key, str) and "${" in key:
                    for m in PLACEHOLDER.finditer(key):
                        yield at, m.group(0)
                stack.append((value, at))
        elif isinstance(node, list):
            stack.extend((value, f"{where}/{i}") for i, value in reversed(list(enumerate(node))))
