"""Read a SAM / CloudFormation / CDK template into an :class:`~stepmap.templates.model.App`.

The steps a deployment takes, done locally: parameters (defaults, then ``--parameter-overrides``),
conditions, a dependency check (a cycle of ``Ref``/``Fn::GetAtt``/``DependsOn`` is refused, as CloudFormation
refuses it), physical names and ARNs for every resource (the ``Name``-like property, else the logical id),
SAM ``Globals``, then each resource type stepmap runs:

* ``AWS::Serverless::Function`` / ``AWS::Lambda::Function`` -> a :class:`~stepmap.functions.FunctionSpec`
  (code folder from ``CodeUri``/``Code`` or a CDK asset, Lambda ``Handler``, ``Environment``, ``Timeout``,
  ``MemorySize``, ``Layers`` of this template);
* ``AWS::Serverless::StateMachine`` / ``AWS::StepFunctions::StateMachine`` -> a definition, from
  ``Definition``, ``DefinitionUri``, ``DefinitionString`` or a local ``DefinitionS3Location``, with
  ``DefinitionSubstitutions`` filled;
* ``AWS::S3::Bucket``, ``AWS::DynamoDB::Table``, ``AWS::Serverless::SimpleTable`` -> buckets and tables.

Everything else gets one note line (ignored because it has no local meaning, or not run locally).
Mistakes are InputErrors naming the resource's logical id.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from stepmap.errors import InputError
from stepmap.functions import LAMBDA_DEFAULT_MEMORY, LAMBDA_DEFAULT_TIMEOUT, FunctionSpec, HandlerRef
from stepmap.templates.decode import read_template
from stepmap.templates.intrinsics import Stack, references_of
from stepmap.templates.model import App, TemplateBucket, TemplateStateMachine, TemplateTable
from stepmap.templates.substitutions import substitute_text, substitute_value
from stepmap.templates.wiring import WIRED, read_wiring

__all__ = ["load_template", "parse_parameter_overrides"]

FUNCTION = ("AWS::Serverless::Function", "AWS::Lambda::Function")
STATE_MACHINE = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
LAYER = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
TABLE = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")

# Resource types with no local meaning: references to them resolve, nothing else happens.
IGNORED = {
    "AWS::IAM::Role": "permissions are not checked locally",
    "AWS::IAM::Policy": "permissions are not checked locally",
    "AWS::IAM::ManagedPolicy": "permissions are not checked locally",
    "AWS::Lambda::Permission": "permissions are not checked locally",
    "AWS::S3::BucketPolicy": "permissions are not checked locally",
    "AWS::Logs::LogGroup": "handler logs go to stderr",
    "AWS::Lambda::EventInvokeConfig": "asynchronous invocation is not used by Step Functions tasks",
    "AWS::Lambda::Version": "every function runs as $LATEST",
    "AWS::Lambda::Alias": "every function runs as $LATEST",
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::KMS::Key": "the local store is not encrypted",
    "AWS::CloudWatch::Alarm": "no metrics locally",
    "AWS::SQS::QueuePolicy": "permissions are not checked locally",
    "AWS::SNS::TopicPolicy": "permissions are not checked locally",
    "AWS::Events::EventBus": "an event bus exists locally from its first use",
}

# name property, Ref value and GetAtt attributes of the types whose identifiers matter
_NAME_PROPERTY = {
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
}


def parse_parameter_overrides(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--parameter-overrides`` as ``sam deploy`` spells it: ``Key=Value`` pairs (several per option,
    separated by spaces) or ``ParameterKey=Key,ParameterValue=Value``."""
    out: dict[str, str] = {}
    for value in values:
        for pair in value.split():
            m = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", pair)
            if m:
                out[m.group(1)] = m.group(2)
                continue
            key, sep, val = pair.partition("=")
            if not sep or not key:
                raise InputError(f"--parameter-overrides {pair!r} must look like Key=Value")
            out[key] = val
    return out


class _Reader:
    def __init__(self, path: str, overrides: Mapping[str, str], region: str, account: str) -> None:
        self.path = path
        self.directory = os.path.dirname(os.path.abspath(path))
        self.template = read_template(path)
        self.resources: dict[str, dict[str, Any]] = {}
        for logical_id, resource in self.template["Resources"].items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
                raise InputError(f"resource {logical_id}: not a resource (it needs a Type)")
            if not isinstance(resource.get("Properties", {}), dict):
                raise InputError(f"resource {logical_id}: Properties must be a mapping")
            self.resources[logical_id] = resource
        self.notes: list[str] = []
        self.stack = Stack(region=region, account=account)
        self.stack.parameters = self._parameters(overrides)
        self.stack.mappings = self.template.get("Mappings") or {}
        self.stack.conditions = self.template.get("Conditions") or {}
        self._check_cycles()
        self.globals = self.template.get("Globals") or {}
        for logical_id, resource in self.resources.items():
            self.stack.physical[logical_id] = self._identifiers(logical_id, resource)
            if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
                role = f"{logical_id}Role"  # the role SAM generates for it
                if role not in self.resources:
                    self.stack.physical[role] = self._identifiers(role, {"Type": "AWS::IAM::Role"})

    # -- parameters, conditions, dependencies ---------------------------------------------------------

    def _parameters(self, overrides: Mapping[str, str]) -> dict[str, Any]:
        declared = self.template.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise InputError(
                f"--parameter-overrides names {', '.join(unknown)}, which the template does not declare "
                f"(its Parameters: {', '.join(declared) or 'none'})"
            )
        values: dict[str, Any] = {}
        for name, decl in declared.items():
            decl = decl if isinstance(decl, dict) else {}
            kind = str(decl.get("Type", "String"))
            if name in overrides:
                value: Any = overrides[name]
            elif "Default" in decl:
                if kind.startswith("AWS::SSM::Parameter"):
                    # an error only if something uses it (CDK declares BootstrapVersion for its Rules)
                    self.stack.unavailable[name] = (
                        f"parameter {name} reads SSM parameter {decl['Default']!r}, which stepmap cannot "
                        f"read locally: pass --parameter-overrides {name}=VALUE"
                    )
                    continue
                value = decl["Default"]
            else:
                raise InputError(f"parameter {name} has no Default: pass --parameter-overrides {name}=VALUE")
            allowed = decl.get("AllowedValues")
            if isinstance(allowed, list) and str(value) not in [str(a) for a in allowed]:
                raise InputError(f"parameter {name}: {value!r} is not one of its AllowedValues {allowed}")
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                value = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
            elif kind == "Number":
                value = str(value)
            values[name] = value
        return values

    def _check_cycles(self) -> None:
        graph: dict[str, set[str]] = {}
        for logical_id, resource in self.resources.items():
            refs = references_of(resource.get("Properties", {})) | references_of(resource.get("Metadata", {}))
            depends = resource.get("DependsOn") or []
            refs |= {depends} if isinstance(depends, str) else {d for d in depends if isinstance(d, str)}
            graph[logical_id] = {r for r in refs if r in self.resources}
        state: dict[str, int] = {}
        path: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            path.append(node)
            for nxt in sorted(graph[node]):
                if state.get(nxt) == 1:
                    cycle = [*path[path.index(nxt) :], nxt]
                    raise InputError(f"circular dependency between resources: {' -> '.join(cycle)}")
                if nxt not in state:
                    visit(nxt)
            path.pop()
            state[node] = 2

        for node in graph:
            if node not in state:
                visit(node)

    def active(self, logical_id: str, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or self.stack.condition(str(condition), f"resource {logical_id}")

    # -- identifiers ----------------------------------------------------------------------------------

    def _identifiers(
        self, logical_id: str, resource: Mapping[str, Any]
    ) -> Callable[[], tuple[Any, dict[str, Any]]]:
        kind = resource["Type"]

        def compute() -> tuple[Any, dict[str, Any]]:
            props = resource.get("Properties") or {}
            prop = _NAME_PROPERTY.get(kind)
            name = self.stack.resolve(props.get(prop), f"resource {logical_id}") if prop else None
            r, a = self.stack.region, self.stack.account
            if kind == "AWS::S3::Bucket":
                name = str(name) if name else re.sub(r"[^a-z0-9-]", "-", logical_id.lower())
                arn = f"arn:aws:s3:::{name}"
                return name, {"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com",
                              "RegionalDomainName": f"{name}.s3.{r}.amazonaws.com",
                              "WebsiteURL": f"http://{name}.s3-website-{r}.amazonaws.com"}  # fmt: skip
            name = str(name) if name else logical_id
            if kind in FUNCTION:
                return name, {"Arn": f"arn:aws:lambda:{r}:{a}:function:{name}"}
            if kind in STATE_MACHINE:
                arn = f"arn:aws:states:{r}:{a}:stateMachine:{name}"
                return arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": arn}
            if kind in LAYER:
                return f"arn:aws:lambda:{r}:{a}:layer:{name}:1", {}
            if kind in TABLE:
                arn = f"arn:aws:dynamodb:{r}:{a}:table/{name}"
                return name, {"Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}
            if kind == "AWS::SQS::Queue":
                url = f"https://sqs.{r}.amazonaws.com/{a}/{name}"
                return url, {"Arn": f"arn:aws:sqs:{r}:{a}:{name}", "QueueName": name, "QueueUrl": url}
            if kind == "AWS::SNS::Topic":
                arn = f"arn:aws:sns:{r}:{a}:{name}"
                return arn, {"TopicArn": arn, "TopicName": name}
            if kind == "AWS::IAM::Role":
                return name, {"Arn": f"arn:aws:iam::{a}:role/{name}", "RoleId": f"AROA{name.upper()[:16]}"}
            if kind == "AWS::Events::EventBus":
                return name, {"Arn": f"arn:aws:events:{r}:{a}:event-bus/{name}", "Name": name}
            if kind == "AWS::Logs::LogGroup":
                return name, {"Arn": f"arn:aws:logs:{r}:{a}:log-group:{name}:*"}
            service = kind.split("::")[1].lower() if kind.count("::") == 2 else "custom"
            arn = f"arn:aws:{service}:{r}:{a}:{name}"
            return name, {"Arn": arn, "Name": name, "Id": name}

        return compute

    # -- resources ------------------------------------------------------------------------------------

    def _path(self, logical_id: str, prop: str, value: Any) -> str:
        if isinstance(value, dict) and ("Bucket" in value or "S3Bucket" in value):
            raise InputError(
                f"resource {logical_id}: {prop} points to S3 ({json.dumps(value)[:120]}); stepmap runs a "
                "template's local files: give a local path (as before `sam package`)"
            )
        if not isinstance(value, str) or not value:
            raise InputError(
                f"resource {logical_id}: {prop} must be a local path, not {json.dumps(value)[:80]}"
            )
        if value.startswith("s3://"):
            raise InputError(f"resource {logical_id}: {prop} {value!r} is on S3; give a local path instead")
        return os.path.normpath(os.path.join(self.directory, value))

    def _props(self, logical_id: str, resource: Mapping[str, Any], globals_key: str | None) -> dict[str, Any]:
        props = dict(resource.get("Properties") or {})
        defaults = self.globals.get(globals_key) if globals_key else None
        if isinstance(defaults, dict):
            merged = dict(defaults)
            for key, value in props.items():
                if key == "Environment" and isinstance(value, dict) and isinstance(merged.get(key), dict):
                    variables = {**(merged[key].get("Variables") or {}), **(value.get("Variables") or {})}
                    merged[key] = {**merged[key], **value, "Variables": variables}
                elif key == "Layers" and isinstance(value, list) and isinstance(merged.get(key), list):
                    merged[key] = [*merged[key], *value]
                else:
                    merged[key] = value
            props = merged
        resolved = self.stack.resolve(props, f"resource {logical_id}")
        assert isinstance(resolved, dict)
        return resolved

    def layers(self) -> dict[str, tuple[str, ...]]:
        """Layer ARN -> its folders on the import path (``python/`` inside the content, as Lambda's
        ``/opt/python``; the content itself when it has none, as ``sam build`` would put it there)."""
        out: dict[str, tuple[str, ...]] = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] not in LAYER or not self.active(logical_id, resource):
                continue
            props = self._props(logical_id, resource, "LayerVersion")
            key = "ContentUri" if resource["Type"] == "AWS::Serverless::LayerVersion" else "Content"
            content = self._asset(logical_id, resource, key, props.get(key))
            if not os.path.isdir(content):
                raise InputError(f"resource {logical_id}: {key} folder {content!r} does not exist")
            python = os.path.join(content, "python")
            folders = [python] if os.path.isdir(python) else [content]
            ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
            site = os.path.join(python, "lib", ver, "site-packages")
            if os.path.isdir(site):
                folders.append(site)
            out[self.stack.ref(logical_id, logical_id)] = tuple(folders)
        return out

    def _asset(self, logical_id: str, resource: Mapping[str, Any], prop: str, value: Any) -> str:
        asset = (resource.get("Metadata") or {}).get("aws:asset:path")
        if isinstance(asset, str) and not isinstance(value, str):  # CDK: the asset folder in cdk.out
            return os.path.normpath(os.path.join(self.directory, asset))
        return self._path(logical_id, prop, value)

    def function(
        self, logical_id: str, resource: Mapping[str, Any], layers: Mapping[str, tuple[str, ...]]
    ) -> FunctionSpec | None:
        serverless = resource["Type"] == "AWS::Serverless::Function"
        props = self._props(logical_id, resource, "Function" if serverless else None)
        name = self.stack.ref(logical_id, logical_id)
        if props.get("PackageType") == "Image" or "ImageUri" in props:
            self.notes.append(f"function {logical_id}: container image functions are not run locally")
            return None
        runtime = props.get("Runtime")
        if not isinstance(runtime, str) or not runtime.startswith("python"):
            self.notes.append(
                f"function {logical_id}: runtime {runtime!r} is not run locally (Python handlers only)"
            )
            return None
        have = (sys.version_info.major, sys.version_info.minor)
        m = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
        if m and (int(m.group(1)), int(m.group(2))) > have:
            self.notes.append(
                f"warning: function {logical_id} declares {runtime}; "
                f"stepmap runs it on Python {have[0]}.{have[1]}"
            )
        if serverless:
            if "InlineCode" in props:
                self.notes.append(f"function {logical_id}: InlineCode is not run locally; use CodeUri")
                return None
            code_value = props.get("CodeUri")
            if code_value is None:
                raise InputError(f"resource {logical_id}: a function needs CodeUri (the folder of its code)")
            code = self._asset(logical_id, resource, "CodeUri", code_value)
        else:
            value = props.get("Code")
            if isinstance(value, dict) and "ZipFile" in value:
                self.notes.append(f"function {logical_id}: inline ZipFile code is not run locally")
                return None
            code = self._asset(logical_id, resource, "Code", value)
        if not os.path.isdir(code):
            what = "a file (unzip it into a folder)" if os.path.isfile(code) else "missing"
            raise InputError(f"resource {logical_id}: code folder {code!r} is {what}")
        handler_text = props.get("Handler")
        if not isinstance(handler_text, str):
            raise InputError(
                f"resource {logical_id}: Handler is missing (module.function, e.g. app.lambda_handler)"
            )
        try:
            handler = HandlerRef.parse_lambda(handler_text)
        except InputError as exc:
            raise InputError(f"resource {logical_id}: {exc}") from None
        roots: list[str] = []
        for arn in props.get("Layers") or []:
            if arn in layers:
                roots.extend(layers[arn])
            else:
                self.notes.append(
                    f"function {logical_id}: layer {arn} is not in this template; its modules must be "
                    "installed locally"
                )
        problem = handler.missing_in(code)
        if problem is not None and not any(handler.find_in([r]) for r in roots):
            raise InputError(f"resource {logical_id}: Handler {handler_text!r} names nothing: {problem}")
        variables = ((props.get("Environment") or {}).get("Variables")) or {}
        if not isinstance(variables, dict):
            raise InputError(f"resource {logical_id}: Environment.Variables must be a mapping")
        environment = tuple(sorted((str(k), _env_text(logical_id, k, v)) for k, v in variables.items()))
        try:
            timeout = float(props.get("Timeout", LAMBDA_DEFAULT_TIMEOUT))
            memory = int(props.get("MemorySize", LAMBDA_DEFAULT_MEMORY))
        except (TypeError, ValueError):
            raise InputError(f"resource {logical_id}: Timeout and MemorySize must be numbers") from None
        return FunctionSpec(
            name,
            handler,
            code,
            tuple(roots),
            environment,
            timeout,
            memory,
            runtime,
            handler_text=handler_text,
        )

    def state_machine(self, logical_id: str, resource: Mapping[str, Any]) -> TemplateStateMachine:
        serverless = resource["Type"] == "AWS::Serverless::StateMachine"
        where = f"resource {logical_id}"
        raw = resource.get("Properties") or {}
        # the definition itself is resolved separately: substitutions apply after intrinsics
        props = self.stack.resolve({k: v for k, v in raw.items() if k != "Definition"}, where)
        substitutions = props.get("DefinitionSubstitutions") or {}
        if not isinstance(substitutions, dict):
            raise InputError(f"{where}: DefinitionSubstitutions must be a mapping")
        definition: Any
        if "Definition" in raw:
            definition = substitute_value(self.stack.resolve(raw["Definition"], where), substitutions)
        elif "DefinitionString" in props:
            text = props["DefinitionString"]
            if not isinstance(text, str):
                raise InputError(f"{where}: DefinitionString must be a string")
            definition = _parse(substitute_text(text, substitutions), f"{where}: DefinitionString")
        else:
            key = "DefinitionUri" if serverless else "DefinitionS3Location"
            if key not in props:
                raise InputError(f"{where}: a state machine needs Definition, DefinitionString or {key}")
            path = self._path(logical_id, key, props[key])
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError as exc:
                raise InputError(f"{where}: cannot read {key} {path!r}: {exc.strerror}") from None
            if path.endswith((".yaml", ".yml")):
                from stepmap.asl.loader import load_definition

                definition = substitute_value(dict(load_definition(path)), substitutions)
            else:
                definition = _parse(substitute_text(text, substitutions), f"{where}: {key} {path!r}")
        if not isinstance(definition, dict):
            raise InputError(f"{where}: the definition is not a JSON object")
        kind = props.get("Type" if serverless else "StateMachineType") or "STANDARD"
        if kind not in ("STANDARD", "EXPRESS"):
            raise InputError(f"{where}: state machine type {kind!r} is not STANDARD or EXPRESS")
        for ignored in (  # Events: stepmap.templates.wiring reads them
            "Policies",
            "Role",
            "RoleArn",
            "Logging",
            "LoggingConfiguration",
            "Tracing",
        ):
            if ignored in props:
                self.notes.append(f"state machine {logical_id}: {ignored} ignored locally")
        if kind == "EXPRESS":
            self.notes.append(f"state machine {logical_id}: EXPRESS runs with STANDARD semantics locally")
        name = self.stack.get_att(logical_id, "Name", where)
        return TemplateStateMachine(
            logical_id, name, definition, "EXPRESS" if kind == "EXPRESS" else "STANDARD"
        )

    def table(self, logical_id: str, resource: Mapping[str, Any]) -> TemplateTable:
        where = f"resource {logical_id}"
        name = self.stack.ref(logical_id, where)
        if resource["Type"] == "AWS::Serverless::SimpleTable":
            props = self._props(logical_id, resource, "SimpleTable")
            key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
            number = key.get("Type") == "Number"
            return TemplateTable(logical_id, name, str(key.get("Name", "id")), "N" if number else "S")
        props = self._props(logical_id, resource, None)
        types = {
            d.get("AttributeName"): d.get("AttributeType") for d in props.get("AttributeDefinitions") or []
        }
        hash_key = range_key = None
        for element in props.get("KeySchema") or []:
            if element.get("KeyType") == "HASH":
                hash_key = element.get("AttributeName")
            elif element.get("KeyType") == "RANGE":
                range_key = element.get("AttributeName")
        if not isinstance(hash_key, str):
            raise InputError(f"{where}: KeySchema has no HASH key")
        for key_name in filter(None, (hash_key, range_key)):
            if types.get(key_name) not in ("S", "N"):
                raise InputError(
                    f"{where}: key {key_name!r} must be declared in AttributeDefinitions as S or N "
                    f"(binary keys are not supported locally)"
                )
        return TemplateTable(
            logical_id,
            name,
            hash_key,
            types[hash_key],
            range_key,
            types.get(range_key, "S") if range_key else "S",
        )

    def read(self) -> App:
        layers = self.layers()
        machines: dict[str, TemplateStateMachine] = {}
        functions: list[FunctionSpec] = []
        buckets: list[TemplateBucket] = []
        tables: list[TemplateTable] = []
        for logical_id, resource in self.resources.items():
            kind = resource["Type"]
            if not self.active(logical_id, resource):
                continue
            if kind in FUNCTION:
                spec = self.function(logical_id, resource, layers)
                if spec is not None:
                    functions.append(spec)
            elif kind in STATE_MACHINE:
                machines[logical_id] = self.state_machine(logical_id, resource)
            elif kind == "AWS::S3::Bucket":
                buckets.append(TemplateBucket(logical_id, self.stack.ref(logical_id, logical_id)))
            elif kind in TABLE:
                tables.append(self.table(logical_id, resource))
            elif kind in LAYER or kind in WIRED:
                continue
            elif kind in IGNORED:
                self.notes.append(f"ignored: {kind} {logical_id} ({IGNORED[kind]})")
            else:
                self.notes.append(f"not run locally: {kind} {logical_id}")
        names = [f.name for f in functions]
        for duplicate in sorted({n for n in names if names.count(n) > 1}):
            raise InputError(f"two functions are named {duplicate!r} (FunctionName must be unique)")
        wiring = read_wiring(self)  # topics, queues, subscriptions, rules
        return App(
            self.path, machines, tuple(functions), tuple(buckets), tuple(tables), tuple(self.notes), wiring
        )


def _env_text(logical_id: str, key: Any, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InputError(
        f"resource {logical_id}: environment variable {key} is not a string ({json.dumps(value)[:80]})"
    )


def _parse(text: str, what: str) -> Any:
    from stepmap.asl.loader import parse_json

    return parse_json(text, what)


def load_template(
    path: str,
    parameter_overrides: Mapping[str, str] | None = None,
    *,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> App:
    """Read the template at ``path`` (SAM, CloudFormation YAML/JSON, or a CDK ``*.template.json``)."""
    if os.path.isdir(path):
        candidates = sorted(f for f in os.listdir(path) if f.endswith(".template.json"))
        for name in ("template.yaml", "template.yml", "template.json"):
            if os.path.exists(os.path.join(path, name)):
                candidates = [name]
                break
        if len(candidates) != 1:
            raise InputError(
                f"{path!r} is a folder: name the template in it ({', '.join(candidates) or 'none found'})"
            )
        path = os.path.join(path, candidates[0])
    return _Reader(path, parameter_overrides or {}, region, account).read()
