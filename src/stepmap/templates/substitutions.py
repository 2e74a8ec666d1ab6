"""``${name}`` placeholders in a state machine definition, filled as Step Functions fills
``DefinitionSubstitutions`` (and as ``--sub KEY=VALUE`` / ``--subs file.json`` fill them for a bare ASL file).

Substitution is textual, as on AWS: a definition held as text (``DefinitionString``, a ``DefinitionUri``
JSON file) has its placeholders replaced before it is parsed, so a placeholder may even stand for a number
(``"MaxConcurrency": ${Max}``); a definition held as data has them replaced inside its strings. A placeholder
that nothing fills is left in place, for validation to report with its JSON pointer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from stepmap.errors import InputError

__all__ = ["PLACEHOLDER", "parse_sub_options", "substitute_text", "substitute_value"]

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def substitute_text(text: str, substitutions: Mapping[str, Any]) -> str:
    if not substitutions:
        return text

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        return _text(substitutions[key]) if key in substitutions else m.group(0)

    return PLACEHOLDER.sub(one, text)


def substitute_value(value: Any, substitutions: Mapping[str, Any]) -> Any:
    """``value`` (JSON data) with the placeholders in its strings (keys included) filled."""
    if not substitutions:
        return value
    if isinstance(value, str):
        return substitute_text(value, substitutions) if "${" in value else value
    if isinstance(value, list):
        return [substitute_value(v, substitutions) for v in value]
    if isinstance(value, dict):
        return {
            substitute_value(k, substitutions): substitute_value(v, substitutions) for k, v in value.items()
        }
    return value


def parse_sub_options(pairs: Iterable[str], files: Iterable[str] = ()) -> dict[str, str]:
    """``--subs file.json`` (a JSON object) then ``--sub KEY=VALUE`` options, later ones winning."""
    subs: dict[str, str] = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise InputError(f"cannot read substitutions file {path!r}: {exc.strerror}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"substitutions file {path!r} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"substitutions file {path!r} must hold a JSON object of KEY: VALUE")
        subs.update({str(k): _text(v) for k, v in data.items()})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--sub {pair!r} must look like KEY=VALUE")
        subs[key.strip()] = value
    return subs
