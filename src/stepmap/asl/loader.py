"""Load a definition from a dict, JSON text, or a ``.json`` / ``.asl.json`` / ``.yaml`` / ``.yml`` file.

Every failure is an :class:`~stepmap.errors.InputError` that says what is wrong and where (file, line,
column); nothing here raises a bare ``json`` or ``yaml`` exception.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stepmap.asl import jsontext
from stepmap.errors import InputError

__all__ = ["MAX_DEFINITION_CHARS", "load_definition", "parse_json"]

MAX_DEFINITION_CHARS = 1_048_576  # AWS's limit on a definition's size


def json_compatible(value: Any, what: str) -> Any:
    """``value`` if it is plain JSON data (as YAML can give dates, sets or bytes); else InputError."""
    try:
        jsontext.check_encodable(json.dumps(value, allow_nan=False, ensure_ascii=False), what)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} holds a value that is not JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply") from None
    return value


def parse_json(text: str, what: str) -> Any:
    """Parse JSON text, turning every failure into a clear InputError."""
    try:
        jsontext.check_encodable(text, what)
        return jsontext.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity, 1e999, 5,000-digit integers, lone surrogates
        raise InputError(f"{what} is not valid JSON: {exc}") from None


MAX_YAML_VALUES = 1_000_000  # values a YAML definition may expand to, aliases included


def _load_yaml(text: str, what: str) -> Any:
    import yaml

    try:
        # Aliases let a few lines expand to billions of values (or to a cycle): count the expansion on
        # the composed node graph before building any Python value.
        stack = [yaml.compose(text, Loader=yaml.SafeLoader)]
        seen = 0
        while stack:
            node = stack.pop()
            seen += 1
            if seen > MAX_YAML_VALUES:
                raise InputError(
                    f"{what} expands to more than {MAX_YAML_VALUES} values (YAML aliases, or a cycle of them)"
                )
            if isinstance(node, yaml.MappingNode):
                stack.extend(part for pair in node.value for part in pair)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
        return json_compatible(yaml.safe_load(text), what)
    except yaml.YAMLError as exc:
        raise InputError(f"{what} is not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply") from None


def load_definition(source: Mapping[str, Any] | str | os.PathLike[str]) -> Any:
    """The definition as a JSON value (validate it next); ``source`` is a dict, JSON text or a path."""
    if isinstance(source, Mapping):
        try:
            size = len(json.dumps(source))
        except (RecursionError, ValueError):
            size = 0  # too deep or circular: the validator reports it (TOO_DEEPLY_NESTED) with its location
        except TypeError as exc:
            raise InputError(f"the definition holds a value that is not JSON: {exc}") from None
        if size > MAX_DEFINITION_CHARS:
            raise InputError(f"the definition has {size} characters; AWS allows {MAX_DEFINITION_CHARS}")
        return dict(source)
    if isinstance(source, str) and source.lstrip().startswith("{"):
        if len(source) > MAX_DEFINITION_CHARS:
            raise InputError(
                f"the definition has {len(source)} characters; AWS allows {MAX_DEFINITION_CHARS}"
            )
        return parse_json(source, "the definition")
    path = Path(source)
    what = f"definition file {str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}") from None
    if len(text) > MAX_DEFINITION_CHARS:
        raise InputError(f"{what} has {len(text)} characters; AWS allows {MAX_DEFINITION_CHARS}")
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(text, what)
    return parse_json(text, what)
