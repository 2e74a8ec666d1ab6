"""CloudFormation intrinsic functions, evaluated the way a deployment would, against a local "stack".

A :class:`Stack` holds what the functions read: parameter values, mappings, evaluated conditions, and
for every resource the values ``Ref`` and ``Fn::GetAtt`` return (names and ARNs, computed locally with the
stack's account and region). :meth:`Stack.resolve` turns a template value into plain data; every failure is
a :class:`~stepmap.errors.InputError` that names the resource (logical id) and what is wrong.

Supported: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` (both forms, ``${!Literal}``), ``Fn::Join``, ``Fn::Select``,
``Fn::Split``, ``Fn::If`` with ``Conditions`` (``Fn::Equals``/``And``/``Or``/``Not``/``Condition``),
``Fn::FindInMap``, ``Fn::Base64``, ``Fn::GetAZs``, ``Fn::ToJsonString``, ``Fn::Length`` and the pseudo
parameters. ``Fn::ImportValue`` (another stack's output) and dynamic references are refused, clearly.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stepmap.errors import InputError

__all__ = ["NO_VALUE", "Stack", "references_of"]

_SUB = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


def sub_names(text: str) -> list[str]:
    """The variables a ``Fn::Sub`` string reads (``${!Literal}`` is not one)."""
    return [m.group(1).strip() for m in _SUB.finditer(text) if not m.group(1).startswith("!")]


def references_of(value: Any, sub_vars: frozenset[str] = frozenset()) -> set[str]:
    """The names ``value`` refers to with Ref, Fn::GetAtt and Fn::Sub (resources, parameters, pseudo)."""
    found: set[str] = set()
    stack: list[tuple[Any, frozenset[str]]] = [(value, sub_vars)]
    while stack:
        node, local = stack.pop()
        if isinstance(node, list):
            stack.extend((v, local) for v in node)
        elif isinstance(node, dict):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key == "Ref" and isinstance(arg, str):
                    found.add(arg)
                    continue
                if key == "Fn::GetAtt":
                    target = arg.split(".", 1)[0] if isinstance(arg, str) else (arg or [None])[0]
                    if isinstance(target, str):
                        found.add(target)
                    continue
                if key == "Fn::Sub":
                    text, variables = (arg, {}) if isinstance(arg, str) else [*list(arg), None, None][:2]
                    variables = variables if isinstance(variables, dict) else {}
                    names = frozenset(variables)
                    if isinstance(text, str):
                        found.update(n.split(".", 1)[0] for n in sub_names(text) if n not in names)
                    stack.extend((v, local) for v in variables.values())
                    continue
            stack.extend((v, local) for v in node.values())
    return found


@dataclass
class Stack:
    """The values intrinsic functions read. ``refs``/``attrs`` are filled by the caller, lazily through
    ``physical`` (logical id -> callable computing Ref and GetAtt values, so that names depending on other
    names resolve in order and a cycle is reported rather than looping)."""

    region: str = "us-east-1"
    account: str = "123456789012"
    stack_name: str = "stepmap"
    parameters: dict[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    physical: dict[str, Callable[[], tuple[Any, dict[str, Any]]]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # parameter -> why it has no local value
    _resolved: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    _resolving: list[str] = field(default_factory=list)
    _conditions: dict[str, bool] = field(default_factory=dict)

    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/"
            "00000000-0000-0000-0000-000000000000",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }

    # -- resources ------------------------------------------------------------------------------------

    def _resource(self, logical_id: str, where: str) -> tuple[Any, dict[str, Any]]:
        done = self._resolved.get(logical_id)
        if done is not None:
            return done
        if logical_id in self._resolving:
            cycle = [*self._resolving[self._resolving.index(logical_id) :], logical_id]
            raise InputError(f"circular reference between resources: {' -> '.join(cycle)}")
        compute = self.physical.get(logical_id)
        if compute is None:
            raise InputError(
                f"{where}: unresolved resource dependency {logical_id!r} (no such resource or parameter)"
            )
        self._resolving.append(logical_id)
        try:
            done = self._resolved[logical_id] = compute()
        finally:
            self._resolving.pop()
        return done

    def ref(self, name: str, where: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.unavailable:
            raise InputError(f"{where}: {self.unavailable[name]}")
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        return self._resource(name, where)[0]

    def get_att(self, logical_id: str, attribute: str, where: str) -> Any:
        _, attrs = self._resource(logical_id, where)
        if attribute not in attrs:
            known = ", ".join(sorted(attrs)) or "none"
            raise InputError(
                f"{where}: Fn::GetAtt {logical_id}.{attribute}: stepmap does not know attribute "
                f"{attribute!r} of {logical_id} (known: {known})"
            )
        return attrs[attribute]

    # -- conditions -----------------------------------------------------------------------------------

    def condition(self, name: str, where: str = "Conditions") -> bool:
        if name in self._conditions:
            return self._conditions[name]
        if name not in self.conditions:
            raise InputError(f"{where}: condition {name!r} is not defined in Conditions")
        if name in self._resolving:
            raise InputError(
                f"circular reference between conditions: {' -> '.join([*self._resolving, name])}"
            )
        self._resolving.append(name)
        try:
            value = self._truth(self.conditions[name], f"Conditions/{name}")
        finally:
            self._resolving.pop()
        self._conditions[name] = value
        return value

    def _truth(self, node: Any, where: str) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg, where)
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                a, b = (self.resolve(v, where) for v in arg)
                return _text(a) == _text(b)
            if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not self._truth(arg[0], where)
            if key in ("Fn::And", "Fn::Or") and isinstance(arg, list) and 2 <= len(arg) <= 10:
                values = [self._truth(v, where) for v in arg]
                return all(values) if key == "Fn::And" else any(values)
        value = self.resolve(node, where)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InputError(f"{where}: {json.dumps(node)[:200]} is not a condition")

    # -- values ---------------------------------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with every intrinsic function evaluated (``AWS::NoValue`` removes the key)."""
        if isinstance(value, list):
            items = [self.resolve(v, where) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, arg, where)
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v, where)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    def _function(self, key: str, arg: Any, where: str) -> Any:
        if key == "Ref":
            if not isinstance(arg, str):
                raise InputError(f"{where}: Ref takes a name, not {json.dumps(arg)[:100]}")
            return self.ref(arg, where)
        if key == "Condition":
            return self.condition(arg, where) if isinstance(arg, str) else self.resolve(arg, where)
        handler = _FUNCTIONS.get(key)
        if handler is None:
            if key in ("Fn::ImportValue", "Fn::Transform"):
                raise InputError(
                    f"{where}: {key} reads from outside this template, which stepmap cannot do locally"
                )
            raise InputError(f"{where}: {key} is not an intrinsic function stepmap knows")
        return handler(self, arg, where)

    def _get_att(self, arg: Any, where: str) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        arg = [self.resolve(a, where) for a in arg] if isinstance(arg, list) else arg
        if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
            raise InputError(f"{where}: Fn::GetAtt takes [LogicalId, Attribute]")
        return self.get_att(arg[0], arg[1], where)

    def _sub(self, arg: Any, where: str) -> Any:
        if isinstance(arg, str):
            text, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
            text, variables = arg[0], {k: self.resolve(v, where) for k, v in arg[1].items()}
        else:
            raise InputError(f"{where}: Fn::Sub takes a string or [string, {{variables}}]")

        def one(m: re.Match[str]) -> str:
            name = m.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name])
            if "." in name and name not in self.parameters and name not in self.pseudo():
                logical_id, attribute = name.split(".", 1)
                return _text(self.get_att(logical_id, attribute, where))
            return _text(self.ref(name, where))

        return _SUB.sub(one, text)

    def _join(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise InputError(f"{where}: Fn::Join takes [delimiter, [values]]")
        delimiter = self.resolve(arg[0], where)
        values = self.resolve(arg[1], where)
        if not isinstance(values, list):
            raise InputError(f"{where}: Fn::Join: the second element must be a list")
        return str(delimiter).join(_text(v) for v in values)

    def _select(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise InputError(f"{where}: Fn::Select takes [index, [values]]")
        index, values = self.resolve(arg[0], where), self.resolve(arg[1], where)
        try:
            return values[int(index)]
        except (ValueError, TypeError, IndexError, KeyError):
            raise InputError(
                f"{where}: Fn::Select: index {index!r} is not in {json.dumps(values)[:100]}"
            ) from None

    def _split(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise InputError(f"{where}: Fn::Split takes [delimiter, string]")
        delimiter, text = self.resolve(arg[0], where), self.resolve(arg[1], where)
        if not isinstance(delimiter, str) or not isinstance(text, str) or not delimiter:
            raise InputError(f"{where}: Fn::Split takes a delimiter and a string")
        return text.split(delimiter)

    def _if(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
            raise InputError(f"{where}: Fn::If takes [condition, value if true, value if false]")
        return self.resolve(arg[1] if self.condition(arg[0], where) else arg[2], where)

    def _find_in_map(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            raise InputError(f"{where}: Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
        keys = [self.resolve(a, where) for a in arg[:3]]
        try:
            return self.mappings[keys[0]][_text(keys[1])][_text(keys[2])]
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.resolve(arg[3]["DefaultValue"], where)
            raise InputError(f"{where}: Fn::FindInMap: no {'/'.join(map(str, keys))} in Mappings") from None

    def _base64(self, arg: Any, where: str) -> Any:
        return base64.b64encode(_text(self.resolve(arg, where)).encode()).decode()

    def _get_azs(self, arg: Any, where: str) -> Any:
        region = self.resolve(arg, where) or self.region
        return [f"{region}{zone}" for zone in "abc"]

    def _to_json_string(self, arg: Any, where: str) -> Any:
        return json.dumps(self.resolve(arg, where), separators=(",", ":"))

    def _length(self, arg: Any, where: str) -> Any:
        value = self.resolve(arg, where)
        if not isinstance(value, list):
            raise InputError(f"{where}: Fn::Length takes a list")
        return len(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    raise InputError(f"cannot use {json.dumps(value)[:100]} where a string is needed")


_FUNCTIONS: dict[str, Callable[[Stack, Any, str], Any]] = {
    "Fn::GetAtt": Stack._get_att,
    "Fn::Sub": Stack._sub,
    "Fn::Join": Stack._join,
    "Fn::Select": Stack._select,
    "Fn::Split": Stack._split,
    "Fn::If": Stack._if,
    "Fn::FindInMap": Stack._find_in_map,
    "Fn::Base64": Stack._base64,
    "Fn::GetAZs": Stack._get_azs,
    "Fn::ToJsonString": Stack._to_json_string,
    "Fn::Length": Stack._length,
    "Fn::Equals": lambda s, a, w: s._truth({"Fn::Equals": a}, w),
    "Fn::And": lambda s, a, w: s._truth({"Fn::And": a}, w),
    "Fn::Or": lambda s, a, w: s._truth({"Fn::Or": a}, w),
    "Fn::Not": lambda s, a, w: s._truth({"Fn::Not": a}, w),
}
