"""Static validation of an ASL definition, the way AWS's ValidateStateMachineDefinition does it.

:func:`validate` walks an already-parsed definition once and returns every problem it finds as a
:class:`~stepmap.errors.Problem` with AWS's diagnostic code and a JSON pointer (RFC 6901) to the offending
value, e.g. ``/States/Choose/Choices/0/Next``. It never raises, whatever the input: the definition may come
from a user's file, so every value is checked for its type before it is used.

The walk: a cheap iterative scan first bounds size and depth (``TOO_DEEPLY_NESTED`` instead of a
``RecursionError``); then each scope (the top level, each Parallel branch, each Map item processor) is
checked field by field against the tables in :mod:`stepmap.asl.fields`, and its transitions last: targets
that name no state of the same scope, a scope without a terminal state (``MISSING_END_STATE``), and states
that cannot be reached from ``StartAt``. AWS reports unreachable states with ``MISSING_TRANSITION_TARGET``
(message ``State "X" is not reachable.``), and so does stepmap. Paths and intrinsic functions are checked by
compiling them with the same code the interpreter uses.

Both query languages are checked: the fields of the other language are refused, and in a JSONata state every
``{% %}`` expression is parsed (``INVALID_JSONATA_EXPRESSION``) and refused when it names ``$``, ``$$`` or a
bare field at the top level (``UNSUPPORTED_JSONATA_EXPRESSION``), see :mod:`stepmap.asl.jsonata`. The
validator keeps no state between calls.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stepmap.asl import fields as F
from stepmap.asl.fields import FieldSpec
from stepmap.asl.intrinsics import compile_intrinsic, looks_like_intrinsic
from stepmap.asl.jsonata import state_problems as jsonata_state_problems
from stepmap.asl.jsonpath import compile_path, is_variable_name
from stepmap.asl.placeholders import placeholders
from stepmap.asl.resources import parse_resource, unsupported_reason
from stepmap.asl.timestamps import is_timestamp
from stepmap.errors import Problem

__all__ = ["MAX_DEPTH", "validate"]

MAX_DEPTH = 128  # JSON nesting levels; deeper definitions get TOO_DEEPLY_NESTED
MAX_VALUES = 1_000_000  # a 1 MiB definition (AWS's limit) cannot hold more JSON values than this
MAX_NAME = 80

SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"

Loc = tuple[Any, ...]

_LAMBDA_INVOKE = re.compile(r"arn:aws[a-z-]*:states:::lambda:invoke")
_LAMBDA_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?"
)
_BARE_FUNCTION = re.compile(r"[A-Za-z0-9_.:-]+")
_VARIABLE_REF = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*([.\[].*)?")
_LABEL_FORBIDDEN = set('?*<>{}[]:;,\\|^~$#%&`"')
_WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
_DESCRIBE_KIND = {
    "string": "a string",
    "bool": "a boolean",
    "timestamp": "an RFC 3339 timestamp such as '2026-01-31T12:00:00Z' (upper-case T and Z, or an offset)",
    "template": "a JSON object",
}


def pointer(loc: Iterable[Any]) -> str:
    """The RFC 6901 JSON pointer of a location given as its keys and indexes."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


_LEFTOVER = (
    "{} was not substituted: give it a value in the template's DefinitionSubstitutions "
    "(or with --sub KEY=VALUE)"
)


def validate(definition: object) -> list[Problem]:
    """Every problem of an ASL definition (already parsed from JSON or YAML); ``[]`` when it is valid."""
    checker = _Checker()
    try:
        if definition is None or definition == "":
            checker.report("MISSING_DESCRIPTION", "The definition is empty", ())
        elif not isinstance(definition, Mapping):
            checker.schema(f"A state machine definition must be a JSON object, not {_kind(definition)}", ())
        elif checker.scan(definition):
            checker.machine(definition, (), "top", "JSONPath")
        if isinstance(definition, Mapping):
            for where, text in placeholders(definition):
                checker.problems.append(Problem("UNSUBSTITUTED_PLACEHOLDER", _LEFTOVER.format(text), where))
    except RecursionError:
        checker.report("TOO_DEEPLY_NESTED", "The definition is nested too deeply to validate", ())
    except Exception as exc:  # the promise is "never raises": a bug here must not hide the user's problems
        checker.schema(
            f"stepmap could not finish validating this definition (internal error: {exc!r:.200})", ()
        )
    return checker.problems


@dataclass
class _StateInfo:
    transitions: list[tuple[str, Loc]] = field(default_factory=list)
    terminal: bool = False


class _Checker:
    """Collects problems for one definition; knows the state names and Map labels seen so far."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.state_names: dict[str, Loc] = {}
        self.labels: dict[str, Loc] = {}
        self.top_language = "JSONPath"

    # --- reporting ----------------------------------------------------------------------------------

    def report(self, code: str, message: str, loc: Loc, severity: str = "ERROR") -> None:
        self.problems.append(
            Problem(code, message, pointer(loc), "WARNING" if severity == "WARNING" else "ERROR")
        )

    def schema(self, message: str, loc: Loc) -> None:
        self.report(SCHEMA, message, loc)

    # --- size and depth -----------------------------------------------------------------------------

    def scan(self, root: Mapping[str, Any]) -> bool:
        """Bound the definition's size and depth without recursion; False when it is too large to walk."""
        stack: list[tuple[Any, Loc]] = [(root, ())]
        seen = 0
        deep = 0
        while stack:
            node, loc = stack.pop()
            seen += 1
            if seen > MAX_VALUES:
                self.schema(f"The definition is too large (more than {MAX_VALUES:,} JSON values)", ())
                return False
            if isinstance(node, Mapping):
                children: Iterable[tuple[Any, Any]] = node.items()
            elif isinstance(node, list):
                children = enumerate(node)
            else:
                continue
            if len(loc) >= MAX_DEPTH:
                if node and deep < 10:  # one problem per deep branch, and a few at most
                    self.report(
                        "TOO_DEEPLY_NESTED", f"The definition is nested more than {MAX_DEPTH} levels", loc
                    )
                deep += 1 if node else 0
                continue
            stack.extend((child, (*loc, key)) for key, child in children)
        return True

    # --- scopes -------------------------------------------------------------------------------------

    def machine(self, node: Any, loc: Loc, kind: str, lang: str) -> None:
        """A state machine scope: the top level, a Parallel branch or a Map item processor."""
        if len(loc) >= MAX_DEPTH:
            return
        where = {
            "top": "a state machine",
            "branch": "a Parallel branch",
            "processor": "an ItemProcessor",
            "iterator": "an Iterator",
        }[kind]
        if not isinstance(node, Mapping):
            self.schema(f"{where[0].upper()}{where[1:]} must be a JSON object, not {_kind(node)}", loc)
            return
        allowed = {
            "top": F.TOP_LEVEL_FIELDS,
            "branch": F.BRANCH_FIELDS,
            "processor": F.PROCESSOR_FIELDS,
            "iterator": F.PROCESSOR_FIELDS,
        }[kind]
        self.fields(node, loc, allowed, where, lang)
        if kind == "top":
            if "Version" in node and node["Version"] != "1.0":
                self.schema(f'Version must be "1.0", not {_show(node["Version"])}', (*loc, "Version"))
            if "TimeoutSeconds" in node:
                self.spec(
                    node["TimeoutSeconds"], F.STATE_SPECS["TimeoutSeconds"], (*loc, "TimeoutSeconds"), lang
                )
            lang = self.query_language(node, loc, lang)
            self.top_language = lang
        if "Comment" in node:
            self.spec(node["Comment"], F.STATE_SPECS["Comment"], (*loc, "Comment"), lang)

        start = node.get("StartAt")
        if "StartAt" not in node:
            self.schema(f"The field 'StartAt' is required in {where}", loc)
        elif not isinstance(start, str):
            self.schema(f"StartAt must be a state name (a string), not {_kind(start)}", (*loc, "StartAt"))
            start = None
        states = node.get("States")
        if "States" not in node:
            self.schema(f"The field 'States' is required in {where}", loc)
            return
        if not isinstance(states, Mapping):
            self.schema(
                f"States must be a JSON object of state names to states, not {_kind(states)}",
                (*loc, "States"),
            )
            return
        if not states:
            self.schema("States must contain at least one state", (*loc, "States"))
        # Names first, so that a duplicate is reported in the inner scope rather than the outer one.
        named = [name for name in states if self.state_name(name, (*loc, "States", name))]
        infos = {name: self.state(states[name], (*loc, "States", name), lang) for name in named}
        self.transitions(start, states, infos, loc)

    def transitions(
        self, start: str | None, states: Mapping[str, Any], infos: dict[str, _StateInfo], loc: Loc
    ) -> None:
        if start is not None and start not in states:
            self.report(MISSING_TARGET, _missing_target(start, states), (*loc, "StartAt"))
        for info in infos.values():
            for target, tloc in info.transitions:
                if target not in states:
                    self.report(MISSING_TARGET, _missing_target(target, states), tloc)
        if infos and not any(info.terminal for info in infos.values()):
            # AWS reports this alone: without a way out, "unreachable" would only add noise.
            self.report("MISSING_END_STATE", "Workflow has no terminal state", loc)
            return
        if start is None or start not in infos:
            return
        reached = {start}
        queue = [start]
        while queue:
            for target, _ in infos[queue.pop()].transitions:
                if target in infos and target not in reached:
                    reached.add(target)
                    queue.append(target)
        for name in infos:
            if name not in reached:
                self.report(
                    MISSING_TARGET, f'State "{_clip(name)}" is not reachable.', (*loc, "States", name)
                )

    def state_name(self, name: Any, loc: Loc) -> bool:
        if not isinstance(name, str):
            self.report("INVALID_STATE_NAME", f"State names must be strings, not {_kind(name)}", loc)
            return False
        if not 1 <= len(name) <= MAX_NAME:
            self.report(
                "INVALID_STATE_NAME",
                f"State names must be 1 to {MAX_NAME} characters long, not {len(name)}",
                loc,
            )
        elif any(_is_forbidden_char(c) for c in name):
            self.report("INVALID_STATE_NAME", f"State name {_show(name)} contains a control character", loc)
        if name in self.state_names:
            first = pointer(self.state_names[name])
            self.report(
                "DUPLICATE_STATE_NAME",
                f"Duplicate State name: {_clip(name)} (state names must be unique in the whole definition; "
                f"also at {first})",
                loc,
            )
        else:
            self.state_names[name] = loc
        return True

    # --- states -------------------------------------------------------------------------------------

    def state(self, node: Any, loc: Loc, lang: str) -> _StateInfo:
        if not isinstance(node, Mapping):
            self.schema(f"A state must be a JSON object, not {_kind(node)}", loc)
            return _StateInfo(terminal=True)
        kind = node.get("Type")
        if "Type" not in node:
            self.schema("The field 'Type' is required in a state", loc)
        elif kind not in F.STATE_TYPES:
            self.schema(
                f"{_show(kind)} is not a state type; use one of {', '.join(F.STATE_TYPES)}"
                + _did_you_mean(kind, F.STATE_TYPES),
                (*loc, "Type"),
            )
        if kind not in F.STATE_TYPES:
            # Unknown type: keep its transitions so that the states it leads to are not called unreachable.
            return _StateInfo(_loose_transitions(node, loc), terminal=True)
        lang = self.query_language(node, loc, lang)
        if lang == "JSONata":
            for code, message, where in jsonata_state_problems(node):
                self.report(code, message, (*loc, *where))
        allowed = F.STATE_FIELDS[kind]
        ok = self.fields(node, loc, allowed, f"a {kind} state", lang, F.KNOWN_STATE_FIELDS)
        for key in ok:
            spec = F.STATE_SPECS.get(key)
            if spec is not None and key not in F.DISTRIBUTED_ONLY:
                self.spec(node[key], spec, (*loc, key), lang, key)
        self.exclusive(node, loc)
        if "Assign" in ok:
            self.assign(node["Assign"], (*loc, "Assign"), lang)
        info = _StateInfo(terminal=kind in ("Succeed", "Fail"))
        if "Next" in allowed:
            self.flow(node, loc, info)
        handlers = {
            "Task": self.state_task,
            "Pass": self.state_pass,
            "Choice": self.state_choice,
            "Wait": self.state_wait,
            "Succeed": self.state_succeed,
            "Fail": self.state_fail,
            "Parallel": self.state_parallel,
            "Map": self.state_map,
        }
        handlers[kind](node, loc, lang, info, ok)
        if "Retry" in ok:
            self.retry(node["Retry"], (*loc, "Retry"))
        if "Catch" in ok:
            self.catch(node["Catch"], (*loc, "Catch"), lang, info)
        return info

    def flow(self, node: Mapping[str, Any], loc: Loc, info: _StateInfo) -> None:
        end = node.get("End")
        if "Next" in node and end is True:
            self.schema("A state cannot have both 'Next' and 'End': true", loc)
        elif "Next" not in node and "End" not in node:
            self.schema("The state must have either 'Next' or 'End': true", loc)
        elif "Next" not in node and end is False:
            self.schema("The state has 'End': false and no 'Next'; give it a 'Next' or set 'End': true", loc)
        info.terminal = end is True
        if isinstance(node.get("Next"), str):
            info.transitions.append((node["Next"], (*loc, "Next")))

    def state_task(
        self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]
    ) -> None:
        if "Resource" not in node:
            self.schema("The field 'Resource' is required in a Task state", loc)
        else:
            self.resource(node, loc, lang)
        timeout, heartbeat = node.get("TimeoutSeconds"), node.get("HeartbeatSeconds")
        if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout > 0:
            self.schema(
                f"HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})",
                (*loc, "HeartbeatSeconds"),
            )

    def resource(self, node: Mapping[str, Any], loc: Loc, lang: str) -> None:
        value = node["Resource"]
        rloc = (*loc, "Resource")
        if not isinstance(value, str):
            self.schema(f"Resource must be a constant string, not {_kind(value)}", rloc)
        elif _LAMBDA_INVOKE.fullmatch(value):
            if lang == "JSONPath":
                self.lambda_parameters(node, loc)
        elif _LAMBDA_ARN.fullmatch(value):
            pass
        elif (service := parse_resource(value)) is not None:
            reason = unsupported_reason(service)
            if reason is not None:
                self.report("INVALID_RESOURCE", f"Resource {_show(value)}: {reason}", rloc)
        elif value.startswith("arn:"):
            self.report(
                "INVALID_RESOURCE",
                f"Resource {_show(value)} is not supported by stepmap yet; use "
                "arn:aws:states:::lambda:invoke, a Lambda function ARN or a function name",
                rloc,
            )
        elif not _BARE_FUNCTION.fullmatch(value):
            self.report(
                "INVALID_RESOURCE",
                f"Resource {_show(value)} is neither an ARN nor a function name "
                "(letters, digits, '_', '.', ':', '-')",
                rloc,
            )

    def lambda_parameters(self, node: Mapping[str, Any], loc: Loc) -> None:
        params = node.get("Parameters")
        if "Parameters" not in node:
            self.schema("arn:aws:states:::lambda:invoke needs 'Parameters' with 'FunctionName'", loc)
            return
        if not isinstance(params, Mapping):
            return  # reported as a type error already
        ploc = (*loc, "Parameters")
        self.known_parameters(params, ploc, F.LAMBDA_INVOKE_PARAMETERS, "lambda:invoke Parameters")
        if "FunctionName" not in params and "FunctionName.$" not in params:
            self.schema("lambda:invoke Parameters must contain 'FunctionName' (or 'FunctionName.$')", ploc)
        elif "FunctionName" in params and not isinstance(params["FunctionName"], str):
            self.schema(
                f"FunctionName must be a string, not {_kind(params['FunctionName'])}", (*ploc, "FunctionName")
            )

    def state_pass(
        self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]
    ) -> None:
        if "Result" in ok:
            self.static_result(node["Result"], (*loc, "Result"))

    def state_choice(
        self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]
    ) -> None:
        choices = node.get("Choices")
        cloc = (*loc, "Choices")
        if "Choices" not in node:
            self.schema("The field 'Choices' is required in a Choice state", loc)
        elif not isinstance(choices, list) or not choices:
            self.schema(f"Choices must be a non-empty array of Choice rules, not {_kind(choices)}", cloc)
        else:
            for i, rule in enumerate(choices):
                info.transitions.extend(self.choice_rule(rule, (*cloc, i), lang, top=True))
        if isinstance(node.get("Default"), str):
            info.transitions.append((node["Default"], (*loc, "Default")))

    def choice_rule(self, rule: Any, loc: Loc, lang: str, *, top: bool) -> list[tuple[str, Loc]]:
        if len(loc) >= MAX_DEPTH:
            return []
        if not isinstance(rule, Mapping):
            self.schema(f"A Choice rule must be a JSON object, not {_kind(rule)}", loc)
            return []
        out: list[tuple[str, Loc]] = []
        if top:
            if "Next" not in rule:
                self.schema("The field 'Next' is required in a Choice rule", loc)
            elif not isinstance(rule["Next"], str):
                self.schema(
                    f"Next must be a state name (a string), not {_kind(rule['Next'])}", (*loc, "Next")
                )
            else:
                out.append((rule["Next"], (*loc, "Next")))
            if "Assign" in rule:
                self.assign(rule["Assign"], (*loc, "Assign"), lang)
        else:
            for key in ("Next", "Assign"):
                if key in rule:
                    self.schema(
                        f"Nested Choice rules (inside And, Or or Not) cannot have '{key}'", (*loc, key)
                    )
        if "Comment" in rule:
            self.spec(rule["Comment"], F.STATE_SPECS["Comment"], (*loc, "Comment"), lang)
        if lang == "JSONata":
            self.fields(rule, loc, F.JSONATA_RULE_FIELDS, "a JSONata Choice rule", lang, F.CHOICE_RULE_FIELDS)
            if "Condition" not in rule:
                self.schema("The field 'Condition' is required in a JSONata Choice rule", loc)
            return out
        self.fields(rule, loc, F.CHOICE_RULE_FIELDS | {"Condition", "Output"}, "a Choice rule", lang)
        operators = [k for k in rule if k in F.CHOICE_OPERATORS or k in F.CHOICE_COMBINATORS]
        if not operators:
            self.schema(
                "A Choice rule needs one comparison operator (such as 'StringEquals') or And, Or, Not", loc
            )
            return out
        if len(operators) > 1:
            self.schema(f"A Choice rule must have exactly one operator, not {', '.join(operators)}", loc)
            return out
        op = operators[0]
        value, oloc = rule[op], (*loc, op)
        if op in F.CHOICE_COMBINATORS:
            if "Variable" in rule:
                self.schema(
                    f"'Variable' has no meaning beside '{op}'; put it in the nested rules", (*loc, "Variable")
                )
            if op == "Not":
                self.choice_rule(value, oloc, lang, top=False)
            elif not isinstance(value, list) or not value:
                self.schema(f"{op} must be a non-empty array of Choice rules, not {_kind(value)}", oloc)
            else:
                for i, sub in enumerate(value):
                    self.choice_rule(sub, (*oloc, i), lang, top=False)
            return out
        if "Variable" not in rule:
            self.schema(f"The field 'Variable' is required with '{op}'", loc)
        else:
            self.spec(rule["Variable"], FieldSpec("refpath"), (*loc, "Variable"), lang, "Variable")
        self.spec(value, FieldSpec(F.CHOICE_OPERATORS[op]), oloc, lang, op)
        return out

    def state_wait(
        self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]
    ) -> None:
        present = [k for k in _WAIT_FIELDS if k in node]
        if len(present) != 1:
            found = f" (found {', '.join(present)})" if present else ""
            self.schema(f"A Wait state must have exactly one of {', '.join(_WAIT_FIELDS)}{found}", loc)

    def state_succeed(
        self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]
    ) -> None:
        pass

    def state_fail(
        self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]
    ) -> None:
        error = node.get("Error")
        if (
            "Error" in ok
            and isinstance(error, str)
            and error.startswith("States.")
            and (error not in F.PREDEFINED_ERRORS or error == "States.ALL")
        ):
            self.schema(
                f"Error {_show(error)} is not a predefined error; "
                "custom error names must not start with 'States.'",
                (*loc, "Error"),
            )
        for key in ("Error", "Cause"):
            value = node.get(key)
            if key in ok and isinstance(value, str) and _looks_like_path(value):
                self.report(
                    "NO_PATH",
                    f"{key} looks like a path but is used as a literal string; "
                    f"use '{key}Path' to read it from the input",
                    (*loc, key),
                    "WARNING",
                )

    def state_parallel(
        self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]
    ) -> None:
        branches = node.get("Branches")
        bloc = (*loc, "Branches")
        if "Branches" not in node:
            self.schema("The field 'Branches' is required in a Parallel state", loc)
        elif not isinstance(branches, list) or not branches:
            self.schema(f"Branches must be a non-empty array of state machines, not {_kind(branches)}", bloc)
        else:
            for i, branch in enumerate(branches):
                self.machine(branch, (*bloc, i), "branch", lang)

    def state_map(self, node: Mapping[str, Any], loc: Loc, lang: str, info: _StateInfo, ok: set[str]) -> None:
        mode = "INLINE"
        if "ItemProcessor" in node and "Iterator" in node:
            self.schema(
                "A Map state cannot have both 'ItemProcessor' and 'Iterator' (its legacy name)",
                (*loc, "Iterator"),
            )
        elif "ItemProcessor" not in node and "Iterator" not in node:
            self.schema("The field 'ItemProcessor' is required in a Map state", loc)
        # 'Iterator' is the legacy name of 'ItemProcessor' and AWS still runs it in either mode
        for name in ("ItemProcessor", "Iterator"):
            if name not in node:
                continue
            processor = node[name]
            if isinstance(processor, Mapping) and "ProcessorConfig" in processor:
                mode = self.processor_config(processor["ProcessorConfig"], (*loc, name, "ProcessorConfig"))
            self.machine(
                processor, (*loc, name), "processor" if name == "ItemProcessor" else "iterator", lang
            )
        if "Parameters" in node and "ItemSelector" in node:
            self.schema(
                "'Parameters' is the legacy name of 'ItemSelector'; use only one of them",
                (*loc, "Parameters"),
            )
        distributed = mode == "DISTRIBUTED"
        for key in F.DISTRIBUTED_ONLY:
            if key not in ok:
                continue
            if not distributed:
                self.schema(
                    f"Field '{key}' is only supported by a Map whose "
                    "ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED",
                    (*loc, key),
                )
            elif key in F.STATE_SPECS:
                self.spec(node[key], F.STATE_SPECS[key], (*loc, key), lang, key)
        if not distributed:
            return
        if "Label" in ok:
            self.label(node["Label"], (*loc, "Label"))
        if "ItemReader" in ok:
            self.item_reader(node["ItemReader"], (*loc, "ItemReader"), lang)
        if "ItemBatcher" in ok:
            self.item_batcher(node["ItemBatcher"], (*loc, "ItemBatcher"), lang)
        if "ResultWriter" in ok:
            self.result_writer(node["ResultWriter"], (*loc, "ResultWriter"), lang)

    def processor_config(self, config: Any, loc: Loc) -> str:
        """Check a ProcessorConfig; returns the Map's mode (INLINE when unknown)."""
        if not isinstance(config, Mapping):
            self.schema(f"ProcessorConfig must be a JSON object, not {_kind(config)}", loc)
            return "INLINE"
        ok = self.fields(config, loc, frozenset(F.PROCESSOR_CONFIG_SPECS), "a ProcessorConfig", "JSONPath")
        for key in ok:
            self.spec(config[key], F.PROCESSOR_CONFIG_SPECS[key], (*loc, key), "JSONPath", key)
        mode = config.get("Mode", "INLINE")
        if mode == "DISTRIBUTED" and "ExecutionType" not in config:
            self.schema("ExecutionType (STANDARD or EXPRESS) is required when Mode is DISTRIBUTED", loc)
        if mode == "INLINE" and "ExecutionType" in config:
            self.schema("ExecutionType is only supported when Mode is DISTRIBUTED", (*loc, "ExecutionType"))
        return mode if mode == "DISTRIBUTED" else "INLINE"

    def label(self, value: Any, loc: Loc) -> None:
        if not isinstance(value, str):
            self.schema(f"Label must be a string, not {_kind(value)}", loc)
            return
        if not 1 <= len(value) <= 40 or any(
            c.isspace() or c in _LABEL_FORBIDDEN or _is_forbidden_char(c) for c in value
        ):
            self.report(
                "INVALID_LABEL_NAME",
                f"Label {_show(value)} must be 1 to 40 characters without whitespace, control characters "
                'or any of ?*<>{}[]:;,\\|^~$#%&`"',
                loc,
            )
        elif value in self.labels:
            self.report(
                "DUPLICATE_LABEL_NAME",
                f"Label {_show(value)} is already used at {pointer(self.labels[value])}",
                loc,
            )
        else:
            self.labels[value] = loc

    def item_reader(self, reader: Any, loc: Loc, lang: str) -> None:
        if not isinstance(reader, Mapping):
            self.schema(f"ItemReader must be a JSON object, not {_kind(reader)}", loc)
            return
        self.fields(reader, loc, F.ITEM_READER_FIELDS, "an ItemReader", lang)
        resource = reader.get("Resource")
        if "Resource" not in reader:
            self.schema("The field 'Resource' is required in an ItemReader", loc)
        elif not isinstance(resource, str):
            self.schema(f"Resource must be a string, not {_kind(resource)}", (*loc, "Resource"))
        elif resource not in F.ITEM_READER_PARAMETERS:
            self.report(
                "INVALID_RESOURCE",
                f"ItemReader Resource {_show(resource)} is not supported; "
                f"use {F.LIST_OBJECTS} or {F.GET_OBJECT}",
                (*loc, "Resource"),
            )
        known = resource if isinstance(resource, str) and resource in F.ITEM_READER_PARAMETERS else None
        if lang == "JSONPath" and known is not None:
            params = reader.get("Parameters")
            if "Parameters" not in reader:
                self.schema("The field 'Parameters' (with 'Bucket') is required in an ItemReader", loc)
            elif not isinstance(params, Mapping):
                self.schema(f"Parameters must be a JSON object, not {_kind(params)}", (*loc, "Parameters"))
            else:
                ploc = (*loc, "Parameters")
                self.template(params, ploc)
                self.known_parameters(params, ploc, F.ITEM_READER_PARAMETERS[known], "ItemReader Parameters")
                required = ("Bucket", "Key") if known == F.GET_OBJECT else ("Bucket",)
                for key in required:
                    if key not in params and key + ".$" not in params:
                        self.schema(f"ItemReader Parameters must contain '{key}' (or '{key}.$')", ploc)
                    elif key in params and not isinstance(params[key], str):
                        self.schema(f"{key} must be a string, not {_kind(params[key])}", (*ploc, key))
        config = reader.get("ReaderConfig", {})
        if not isinstance(config, Mapping):
            self.schema(f"ReaderConfig must be a JSON object, not {_kind(config)}", (*loc, "ReaderConfig"))
            return
        self.reader_config(config, (*loc, "ReaderConfig"), known, lang, "ReaderConfig" in reader)

    def reader_config(
        self, config: Mapping[str, Any], loc: Loc, resource: str | None, lang: str, given: bool
    ) -> None:
        ok = self.fields(config, loc, F.READER_CONFIG_FIELDS, "a ReaderConfig", lang)
        for key in ok:
            if key in F.READER_CONFIG_SPECS:
                self.spec(config[key], F.READER_CONFIG_SPECS[key], (*loc, key), lang, key)
        self.exclusive(config, loc)
        where = loc if given else loc[:-1]
        input_type = config.get("InputType")
        if resource == F.GET_OBJECT and "InputType" not in config and "ManifestType" not in config:
            self.schema("ReaderConfig.InputType is required with s3:getObject", where)
        if input_type is not None and input_type != "CSV":
            for key in ("CSVHeaderLocation", "CSVDelimiter", "CSVHeaders"):
                if key in config:
                    self.schema(f"{key} is only used with InputType CSV", (*loc, key))
        if config.get("CSVHeaderLocation") == "GIVEN" and "CSVHeaders" not in config:
            self.schema("CSVHeaders is required when CSVHeaderLocation is GIVEN", loc)
        if "CSVHeaders" in config:
            headers = config["CSVHeaders"]
            if config.get("CSVHeaderLocation") != "GIVEN":
                self.schema("CSVHeaders is only used with CSVHeaderLocation GIVEN", (*loc, "CSVHeaders"))
            elif not isinstance(headers, list) or not headers or not all(isinstance(h, str) for h in headers):
                self.schema("CSVHeaders must be a non-empty array of strings", (*loc, "CSVHeaders"))
        if "ItemsPointer" in config:
            pointer_value = config["ItemsPointer"]
            if input_type != "JSON":
                self.schema("ItemsPointer is only used with InputType JSON", (*loc, "ItemsPointer"))
            elif not isinstance(pointer_value, str) or not (
                pointer_value == "" or pointer_value.startswith("/")
            ):
                self.schema(
                    "ItemsPointer must be a JSON pointer such as '/data/items'", (*loc, "ItemsPointer")
                )
            elif len(pointer_value) >= 2000:
                self.schema("ItemsPointer must be shorter than 2000 characters", (*loc, "ItemsPointer"))
        manifest = config.get("ManifestType")
        if "ManifestType" in config and resource == F.LIST_OBJECTS:
            self.schema("ManifestType is only used with s3:getObject", (*loc, "ManifestType"))
        if manifest == "ATHENA_DATA" and input_type not in ("CSV", "JSONL", "PARQUET"):
            self.schema("ManifestType ATHENA_DATA needs InputType CSV, JSONL or PARQUET", loc)
        if config.get("Transformation") == "LOAD_AND_FLATTEN":
            if resource == F.GET_OBJECT:
                self.schema(
                    "Transformation LOAD_AND_FLATTEN is only used with s3:listObjectsV2",
                    (*loc, "Transformation"),
                )
            if "InputType" not in config:
                self.schema("Transformation LOAD_AND_FLATTEN needs an InputType", loc)
        if "BlockSizeBytes" in config and input_type != "TEXT_BLOCKS":
            self.schema("BlockSizeBytes is only used with InputType TEXT_BLOCKS", (*loc, "BlockSizeBytes"))

    def item_batcher(self, batcher: Any, loc: Loc, lang: str) -> None:
        if not isinstance(batcher, Mapping):
            self.schema(f"ItemBatcher must be a JSON object, not {_kind(batcher)}", loc)
            return
        ok = self.fields(batcher, loc, frozenset(F.ITEM_BATCHER_SPECS), "an ItemBatcher", lang)
        for key in ok:
            self.spec(batcher[key], F.ITEM_BATCHER_SPECS[key], (*loc, key), lang, key)
        self.exclusive(batcher, loc)
        if not any(k in batcher for k in F.ITEM_BATCHER_SPECS if k != "BatchInput"):
            self.schema(
                "An ItemBatcher needs MaxItemsPerBatch(Path) or MaxInputBytesPerBatch(Path), or both", loc
            )

    def result_writer(self, writer: Any, loc: Loc, lang: str) -> None:
        if not isinstance(writer, Mapping):
            self.schema(f"ResultWriter must be a JSON object, not {_kind(writer)}", loc)
            return
        self.fields(writer, loc, F.RESULT_WRITER_FIELDS, "a ResultWriter", lang)
        params_key = "Arguments" if lang == "JSONata" else "Parameters"
        has_resource, has_params = "Resource" in writer, params_key in writer
        if not has_resource and "WriterConfig" not in writer:
            self.schema("A ResultWriter needs Resource and Parameters, WriterConfig, or all three", loc)
        if has_resource:
            resource = writer["Resource"]
            if not isinstance(resource, str):
                self.schema(f"Resource must be a string, not {_kind(resource)}", (*loc, "Resource"))
            elif resource != F.PUT_OBJECT:
                self.report(
                    "INVALID_RESOURCE",
                    f"ResultWriter Resource {_show(resource)} is not supported; use {F.PUT_OBJECT}",
                    (*loc, "Resource"),
                )
            if not has_params:
                self.schema(f"A ResultWriter with a Resource needs '{params_key}' with 'Bucket'", loc)
        elif has_params:
            self.schema(f"ResultWriter {params_key} need Resource {F.PUT_OBJECT}", (*loc, params_key))
        params = writer.get("Parameters")
        if lang == "JSONPath" and "Parameters" in writer:
            ploc = (*loc, "Parameters")
            if not isinstance(params, Mapping):
                self.schema(f"Parameters must be a JSON object, not {_kind(params)}", ploc)
            else:
                self.template(params, ploc)
                self.known_parameters(params, ploc, F.RESULT_WRITER_PARAMETERS, "ResultWriter Parameters")
                if "Bucket" not in params and "Bucket.$" not in params:
                    self.schema("ResultWriter Parameters must contain 'Bucket' (or 'Bucket.$')", ploc)
        if "WriterConfig" in writer:
            config, cloc = writer["WriterConfig"], (*loc, "WriterConfig")
            if not isinstance(config, Mapping):
                self.schema(f"WriterConfig must be a JSON object, not {_kind(config)}", cloc)
                return
            ok = self.fields(config, cloc, frozenset(F.WRITER_CONFIG_SPECS), "a WriterConfig", lang)
            for key in ok:
                self.spec(config[key], F.WRITER_CONFIG_SPECS[key], (*cloc, key), lang, key)

    # --- Retry and Catch ----------------------------------------------------------------------------

    def retry(self, retriers: Any, loc: Loc) -> None:
        if not isinstance(retriers, list):
            self.schema(f"Retry must be an array of Retriers, not {_kind(retriers)}", loc)
            return
        for i, retrier in enumerate(retriers):
            rloc = (*loc, i)
            if not isinstance(retrier, Mapping):
                self.schema(f"A Retrier must be a JSON object, not {_kind(retrier)}", rloc)
                continue
            ok = self.fields(retrier, rloc, F.RETRIER_FIELDS, "a Retrier", "JSONPath")
            for key in ok:
                if key in F.RETRIER_SPECS:
                    self.spec(retrier[key], F.RETRIER_SPECS[key], (*rloc, key), "JSONPath", key)
            if self.error_equals(retrier, rloc, "Retrier") and i != len(retriers) - 1:
                self.schema("States.ALL must appear only in the last Retrier", (*rloc, "ErrorEquals"))

    def catch(self, catchers: Any, loc: Loc, lang: str, info: _StateInfo) -> None:
        if not isinstance(catchers, list):
            self.schema(f"Catch must be an array of Catchers, not {_kind(catchers)}", loc)
            return
        for i, catcher in enumerate(catchers):
            cloc = (*loc, i)
            if not isinstance(catcher, Mapping):
                self.schema(f"A Catcher must be a JSON object, not {_kind(catcher)}", cloc)
                continue
            ok = self.fields(catcher, cloc, F.CATCHER_FIELDS, "a Catcher", lang)
            if self.error_equals(catcher, cloc, "Catcher") and i != len(catchers) - 1:
                self.schema("States.ALL must appear only in the last Catcher", (*cloc, "ErrorEquals"))
            target = catcher.get("Next")
            if "Next" not in catcher:
                self.schema("The field 'Next' is required in a Catcher", cloc)
            elif not isinstance(target, str):
                self.schema(f"Next must be a state name (a string), not {_kind(target)}", (*cloc, "Next"))
            else:
                info.transitions.append((target, (*cloc, "Next")))
            for key in ("ResultPath", "Comment"):
                if key in ok:
                    self.spec(catcher[key], F.STATE_SPECS[key], (*cloc, key), lang, key)
            if "Assign" in ok:
                self.assign(catcher["Assign"], (*cloc, "Assign"), lang)

    def error_equals(self, node: Mapping[str, Any], loc: Loc, where: str) -> bool:
        """Check ErrorEquals; True when it holds States.ALL."""
        names = node.get("ErrorEquals")
        eloc = (*loc, "ErrorEquals")
        if "ErrorEquals" not in node:
            self.schema(f"The field 'ErrorEquals' is required in a {where}", loc)
            return False
        if not isinstance(names, list) or not names:
            self.schema(f"ErrorEquals must be a non-empty array of error names, not {_kind(names)}", eloc)
            return False
        for j, name in enumerate(names):
            if not isinstance(name, str) or not name:
                self.schema(f"Error names must be non-empty strings, not {_show(name)}", (*eloc, j))
            elif name.startswith("States.") and name not in F.PREDEFINED_ERRORS:
                # AWS accepts any name here (such a name simply never matches a predefined error), so
                # this is a warning that catches typos, never a refusal of a definition AWS runs
                self.report(
                    "UNKNOWN_ERROR_NAME",
                    f"{_show(name)} is not a predefined error; "
                    "custom error names must not start with 'States.'"
                    + _did_you_mean(name, sorted(F.PREDEFINED_ERRORS)),
                    (*eloc, j),
                    "WARNING",
                )
        has_all = any(name == "States.ALL" for name in names)
        if has_all and len(names) > 1:
            self.schema("States.ALL must appear alone in ErrorEquals", eloc)
        return has_all

    # --- fields and values --------------------------------------------------------------------------

    def fields(
        self,
        node: Mapping[Any, Any],
        loc: Loc,
        allowed: frozenset[str],
        where: str,
        lang: str,
        known: frozenset[str] = frozenset(),
    ) -> set[str]:
        """Report unknown fields and fields of the other query language; returns the fields to check."""
        ok: set[str] = set()
        for key in node:
            kloc = (*loc, key)
            if not isinstance(key, str):
                self.schema(f"Field names must be strings, not {_kind(key)}", kloc)
            elif key in allowed:
                other = _other_language_field(key, lang)
                if other is None:
                    ok.add(key)
                else:
                    self.schema(
                        f"The QueryLanguage is set to '{lang}', but field '{key}' is only supported for the "
                        f"'{other}' QueryLanguage",
                        kloc,
                    )
            elif key in known:
                self.schema(f"Field '{key}' is not supported in {where}", kloc)
            else:
                self.schema(
                    f"Unknown field {_show(key)} in {where}{_did_you_mean(key, sorted(allowed))}", kloc
                )
        return ok

    def exclusive(self, node: Mapping[str, Any], loc: Loc) -> None:
        for value_key, path_key in F.EXCLUSIVE_PAIRS:
            if value_key in node and path_key in node:
                self.schema(f"Fields '{value_key}' and '{path_key}' are mutually exclusive", (*loc, path_key))

    def known_parameters(
        self, params: Mapping[Any, Any], loc: Loc, allowed: frozenset[str], where: str
    ) -> None:
        seen: set[str] = set()
        for key in params:
            if not isinstance(key, str):
                continue  # reported by the template check
            name = key[:-2] if key.endswith(".$") else key
            if name not in allowed:
                self.schema(
                    f"Unknown field {_show(key)} in {where}{_did_you_mean(name, sorted(allowed))}",
                    (*loc, key),
                )
            if name in seen:
                self.schema(f"'{name}' and '{name}.$' cannot both be given", (*loc, key))
            seen.add(name)

    def query_language(self, node: Mapping[str, Any], loc: Loc, inherited: str) -> str:
        if "QueryLanguage" not in node:
            return inherited
        value = node["QueryLanguage"]
        qloc = (*loc, "QueryLanguage")
        if value == "JSONata":
            return "JSONata"
        if value != "JSONPath":
            self.schema(f"QueryLanguage must be 'JSONPath' or 'JSONata', not {_show(value)}", qloc)
            return inherited
        if loc and self.top_language == "JSONata":
            # AWS: a state machine whose top-level QueryLanguage is JSONata cannot mix in JSONPath states.
            self.schema(
                "The top-level QueryLanguage is 'JSONata': a state of this machine cannot use 'JSONPath'",
                qloc,
            )
        return "JSONPath"

    def spec(self, value: Any, spec: FieldSpec, loc: Loc, lang: str, name: str = "") -> None:
        """Check a simple value against its :class:`FieldSpec`."""
        name = name or str(loc[-1])
        if _is_expression(value, lang):
            return
        kind = spec.kind
        if kind == "any":
            return
        if kind == "template":
            if lang == "JSONata":
                return
            if not isinstance(value, Mapping):
                self.schema(f"{name} must be a JSON object, not {_kind(value)}", loc)
            else:
                self.template(value, loc)
            return
        if kind in ("path", "resultpath") and value is None:
            return
        if kind in ("path", "refpath", "resultpath", "path_or_intrinsic"):
            if not isinstance(value, str):
                self.schema(f"{name} must be a path (a string), not {_kind(value)}", loc)
            elif kind == "path_or_intrinsic" and looks_like_intrinsic(value):
                self.intrinsic(value, loc, name)
            else:
                self.path(value, loc, name, reference=kind != "path", result=kind == "resultpath")
            return
        problem = _value_problem(value, spec)
        if problem is not None:
            hint = ""
            if isinstance(value, str) and _looks_like_path(value) and name + "Path" in F.STATE_SPECS:
                hint = f"; to read it from the input use '{name}Path'"
            self.schema(f"{name} must be {problem}, not {_show(value)}{hint}", loc)

    def path(self, text: str, loc: Loc, name: str, *, reference: bool, result: bool = False) -> None:
        try:
            compiled = compile_path(text)
        except Exception as exc:  # JsonPathError, and anything a hostile string provokes
            reason = _reason(exc)
            shown = "" if _clip(text) in reason else f" {_show(text)}"
            self.schema(f"{name}{shown} is not a valid JSONPath: {reason}", loc)
            return
        if result and compiled.root != "$":
            self.schema(
                f"{name} must start with '$' (not the context object or a variable): {_show(text)}", loc
            )
        elif reference and not compiled.is_reference:
            self.schema(
                f"{name} must be a reference path naming a single node "
                f"(no wildcards, filters, slices, unions, functions or '..'): {_show(text)}",
                loc,
            )

    def intrinsic(self, text: str, loc: Loc, name: str) -> None:
        try:
            compile_intrinsic(text.strip())
        except Exception as exc:  # IntrinsicSyntaxError, and anything a hostile string provokes
            reason = _reason(exc)
            shown = "" if _clip(text) in reason else f" {_show(text)}"
            self.schema(f"{name}{shown} is not a valid intrinsic function call: {reason}", loc)

    def value_ref(self, text: str, loc: Loc, key: str) -> None:
        """The value of a ``.$`` field: a path, a context path, a variable or an intrinsic function."""
        stripped = text.strip()
        if looks_like_intrinsic(stripped):
            self.intrinsic(stripped, loc, f"The value of '{key}'")
        elif not stripped.startswith("$"):
            self.schema(
                f"The value for the field '{key}' must be a valid JSONPath "
                f"or a valid intrinsic function call, not {_show(text)}",
                loc,
            )
        else:
            self.path(stripped, loc, f"The value of '{key}'", reference=False)

    def template(self, node: Any, loc: Loc) -> None:
        """A payload template: ``.$`` keys take paths or intrinsics, everything else is literal."""
        if len(loc) >= MAX_DEPTH:
            return
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, Mapping | list):
                    self.template(item, (*loc, i))
            return
        if not isinstance(node, Mapping):
            return
        for key, value in node.items():
            kloc = (*loc, key)
            if not isinstance(key, str):
                self.schema(f"Field names must be strings, not {_kind(key)}", kloc)
            elif key.endswith(".$"):
                if key[:-2] in node:
                    self.schema(f"'{key[:-2]}' and '{key}' cannot both be given", kloc)
                if isinstance(value, str):
                    self.value_ref(value, kloc, key)
                else:
                    self.schema(
                        f"The value for the field '{key}' must be a string holding a JSONPath "
                        f"or an intrinsic function call, not {_kind(value)}",
                        kloc,
                    )
            elif isinstance(value, str) and (_looks_like_path(value) or looks_like_intrinsic(value)):
                self.report(
                    "NO_DOLLAR",
                    f"The value of '{_clip(key)}' looks like a JSONPath or an intrinsic function "
                    f"but is passed as a literal string; name the field '{_clip(key)}.$' to evaluate it",
                    kloc,
                    "WARNING",
                )
            elif isinstance(value, Mapping | list):
                self.template(value, kloc)

    def assign(self, node: Any, loc: Loc, lang: str) -> None:
        if lang == "JSONata":
            if not isinstance(node, Mapping) and not _is_expression(node, lang):
                self.schema(f"Assign must be a JSON object, not {_kind(node)}", loc)
            return
        if not isinstance(node, Mapping):
            self.schema(f"Assign must be a JSON object of variable names to values, not {_kind(node)}", loc)
            return
        for key in node:
            if isinstance(key, str):
                name = key[:-2] if key.endswith(".$") else key
                if not is_variable_name(name):
                    self.schema(
                        f"{_show(name)} is not a valid variable name (a letter or '_' then letters, "
                        f"digits or '_', at most {MAX_NAME} characters)",
                        (*loc, key),
                    )
        self.template(node, loc)

    def static_result(self, result: Any, loc: Loc) -> None:
        """PASS_RESULT_IS_STATIC: a Pass state's Result is never evaluated, ``.$`` keys included."""
        stack: list[tuple[Any, Loc]] = [(result, loc)]
        while stack:
            node, nloc = stack.pop()
            if len(nloc) >= MAX_DEPTH:
                continue
            if isinstance(node, Mapping):
                for key, value in node.items():
                    if isinstance(key, str) and key.endswith(".$"):
                        self.report(
                            "PASS_RESULT_IS_STATIC",
                            f"A Pass state's Result is static: '{_clip(key)}' is not evaluated; "
                            "use Parameters to take values from the input",
                            (*nloc, key),
                            "WARNING",
                        )
                    stack.append((value, (*nloc, key)))
            elif isinstance(node, list):
                stack.extend((item, (*nloc, i)) for i, item in enumerate(node))


# --- small pure helpers ---------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return _is_int(value)


def _value_problem(value: Any, spec: FieldSpec) -> str | None:
    """What ``value`` should have been, or None when it fits ``spec`` (a scalar kind)."""
    kind, low, high = spec.kind, spec.low, spec.high
    if kind in ("int", "number"):
        fits = _is_int(value) if kind == "int" else _is_number(value)
        noun = "an integer" if kind == "int" else "a number"
        if low is not None and high is not None:
            want = f"{noun} from {_num(low)} to {_num(high)}"
        elif low is not None:
            want = f"{noun} >= {_num(low)}" if not (kind == "int" and low == 1) else "a positive integer"
        else:
            want = noun
        if not fits:
            return want
        if (low is not None and value < low) or (high is not None and value > high):
            return want
        return None
    if kind == "enum":
        if value in spec.choices and isinstance(value, str):
            return None
        return "one of " + ", ".join(spec.choices) + _did_you_mean(value, spec.choices)
    if kind == "string":
        return None if isinstance(value, str) else "a string"
    if kind == "bool":
        return None if isinstance(value, bool) else "a boolean"
    if kind == "timestamp":
        return None if is_timestamp(value) else _DESCRIBE_KIND["timestamp"]
    return None


def _num(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value):,}"


def _is_expression(value: Any, lang: str) -> bool:
    return lang == "JSONata" and isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def _other_language_field(key: str, lang: str) -> str | None:
    """The query language ``key`` belongs to when it is not ``lang``; None when it may be used."""
    if lang == "JSONPath" and key in F.JSONATA_ONLY:
        return "JSONata"
    if lang == "JSONata" and key in F.JSONPATH_ONLY:
        return "JSONPath"
    return None


def _looks_like_path(text: str) -> bool:
    return (
        text in ("$", "$$")
        or text.startswith(("$.", "$[", "$$."))
        or _VARIABLE_REF.fullmatch(text) is not None
    )


def _is_forbidden_char(c: str) -> bool:
    code = ord(c)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF)


def _loose_transitions(node: Mapping[Any, Any], loc: Loc) -> list[tuple[str, Loc]]:
    """The targets a state of unknown type names, read leniently."""
    out: list[tuple[str, Loc]] = []
    for key in ("Next", "Default"):
        if isinstance(node.get(key), str):
            out.append((node[key], (*loc, key)))
    for key in ("Choices", "Catch"):
        items = node.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, Mapping) and isinstance(item.get("Next"), str):
                    out.append((item["Next"], (*loc, key, i, "Next")))
    return out


def _missing_target(target: str, states: Mapping[Any, Any]) -> str:
    names = [n for n in states if isinstance(n, str)]
    return f"Missing 'Next' target: {_clip(target)}{_did_you_mean(target, names)}"


def _did_you_mean(word: Any, choices: Iterable[str]) -> str:
    if not isinstance(word, str) or len(word) > 100:
        return ""
    options = list(choices)
    if len(options) > 200:  # difflib is quadratic; a suggestion is not worth seconds on huge definitions
        return ""
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"; did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _kind(value: Any) -> str:
    """The JSON type of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: Any) -> str:
    if isinstance(value, str):
        return "'" + _clip(value) + "'"
    if isinstance(value, Mapping | list):
        return _kind(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _clip(repr(value))


def _reason(exc: Exception) -> str:
    return _clip(str(exc) or type(exc).__name__, 200)
