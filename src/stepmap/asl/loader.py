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

from stepmap.errors import InputError

__all__ = ["MAX_DEFINITION_CHARS", "load_definition", "parse_json"]

MAX_DEFINITION_CHARS = 1_048_576  # AWS's limit on a definition's size


def parse_json(text: str, what: str) -> Any:
    """Parse JSON text, turning every failure into a clear InputError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply") from None


def _load_yaml(text: str, what: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{what} is not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply") from None


def load_definition(source: Mapping[str, Any] | str | os.PathLike[str]) -> Any:
    """The definition as a JSON value (validate it next); ``source`` is a dict, JSON text or a path."""
    if isinstance(source, Mapping):
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
