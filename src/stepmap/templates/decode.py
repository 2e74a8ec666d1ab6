"""Read a CloudFormation/SAM template file (YAML with the short forms ``!Ref``, ``!GetAtt``, ``!Sub``... or
JSON, as CDK writes it) into plain data: dicts, lists, strings, numbers, booleans.

YAML goes through cfn-lint's decoder (``cfnlint.decode``), the loader CloudFormation tooling uses, which
turns every short form into its long form (``!GetAtt A.Arn`` -> ``{"Fn::GetAtt": ["A", "Arn"]}``) and
rejects duplicate keys. It is imported only here, with an install hint when it is missing.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from stepmap.errors import InputError

__all__ = ["INSTALL_HINT", "MAX_TEMPLATE_BYTES", "read_template"]

INSTALL_HINT = "reading YAML templates needs cfn-lint's decoder: pip install 'stepmap[templates]'"
MAX_TEMPLATE_BYTES = 10 * 1024 * 1024  # far above CloudFormation's 1 MB (S3) template limit


def _plain(value: Any) -> Any:
    """Plain JSON-shaped data from the decoder's node types (dates become ISO text, as CFN reads them)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, int) else float(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)


def read_template(path: str) -> dict[str, Any]:
    """The template at ``path`` as plain data; InputError (with the file and why) when it is not one."""
    try:
        size = os.path.getsize(path)
        if size > MAX_TEMPLATE_BYTES:
            raise InputError(f"template {path!r} is {size} bytes, more than any CloudFormation template")
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read template {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"template {path!r} is not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"template {path!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except RecursionError:
            raise InputError(f"template {path!r} is nested too deeply") from None
    else:
        try:
            from cfnlint.decode import decode_str  # type: ignore[import-untyped]
        except ImportError:
            raise InputError(INSTALL_HINT) from None
        try:
            decoded, matches = decode_str(text)
        except RecursionError:
            raise InputError(f"template {path!r} is nested too deeply") from None
        if decoded is None or matches:
            reasons = "; ".join(sorted({getattr(m, "message", str(m)) for m in matches})) or "unreadable"
            raise InputError(f"template {path!r} is not valid YAML or JSON: {reasons}")
        data = _plain(decoded)
    if not isinstance(data, dict):
        raise InputError(
            f"template {path!r} is not a CloudFormation template (its top level is not a mapping)"
        )
    if not isinstance(data.get("Resources"), dict):
        if "StartAt" in data and "States" in data:
            raise InputError(
                f"{path!r} is a state machine definition, not a template: run it without --template"
            )
        raise InputError(f"template {path!r} has no Resources section")
    return data
