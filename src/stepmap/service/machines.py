"""State machines, versions and aliases as the Step Functions API knows them, over the registry tables.

A state machine record keeps DescribeStateMachine's fields (dates as epoch seconds). A version is an
immutable copy of the machine's definition and role at one revision; an alias routes to one or two versions
by weight. :meth:`Machines.resolve` turns any of the three ARNs into what an execution runs.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from stepmap.asl.loader import load_definition, parse_json
from stepmap.asl.validate import validate
from stepmap.errors import InputError, Problem
from stepmap.journal.registry import Registry
from stepmap.service.runner import PreparedMachine, prepare, valid_name

__all__ = ["ARN_PREFIX", "ApiError", "Machines", "Resolved", "machine_arn"]

REGION, ACCOUNT = "us-east-1", "123456789012"
ARN_PREFIX = f"arn:aws:states:{REGION}:{ACCOUNT}:"


class ApiError(Exception):
    """An error the Step Functions API answers with: an AWS code (``StateMachineDoesNotExist``), a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def machine_arn(name: str) -> str:
    return f"{ARN_PREFIX}stateMachine:{name}"


def check_name(name: str, what: str = "name") -> None:
    if not valid_name(name):
        raise ApiError("InvalidName", f"Invalid {what}: '{name}'")


def definition_problems(text: str, kind: str = "STANDARD") -> list[Problem]:
    """Every problem of a definition given as JSON text (parse errors included); an EXPRESS machine
    may not wait (activities, ``.sync``, ``.waitForTaskToken``), as AWS refuses."""
    try:
        definition = parse_definition(text)
    except InputError as exc:
        return [Problem("INVALID_JSON_DESCRIPTION", str(exc), "")]
    problems = validate(definition)
    if kind == "EXPRESS":
        problems.extend(_express_problems(definition, ""))
    return problems


def _express_problems(node: Any, where: str) -> list[Problem]:
    found = []
    for name, state in (node.get("States") or {}).items() if isinstance(node, dict) else ():
        if not isinstance(state, dict):
            continue
        at = f"{where}/States/{name.replace('~', '~0').replace('/', '~1')}"
        resource = state.get("Resource")
        waits = isinstance(resource, str) and (
            ":activity:" in resource or ".sync" in resource or resource.endswith(".waitForTaskToken")
        )
        if state.get("Type") == "Task" and waits:
            found.append(
                Problem(
                    "SCHEMA_VALIDATION_FAILED",
                    f"Express state machines do not support the resource {resource!r}",
                    f"{at}/Resource",
                )
            )
        for i, branch in enumerate(state.get("Branches") or ()):
            found.extend(_express_problems(branch, f"{at}/Branches/{i}"))
        for key in ("ItemProcessor", "Iterator"):
            processor = state.get(key)
            mode = (
                ((processor or {}).get("ProcessorConfig") or {}).get("Mode")
                if isinstance(processor, dict)
                else None
            )
            if isinstance(processor, dict) and mode != "DISTRIBUTED":
                found.extend(_express_problems(processor, f"{at}/{key}"))
    return found


def parse_definition(text: str) -> Any:
    """A definition from the API: JSON text only (never a path: the API reads no files)."""
    value = parse_json(text, "the definition")
    if not isinstance(value, dict):
        raise InputError("the definition is not a JSON object")
    return load_definition(value)


def check_definition(text: str, kind: str = "STANDARD", mocks: Any = None) -> None:
    errors = [p for p in definition_problems(text, kind) if p.severity == "ERROR"]
    if mocks is not None:  # serve --mock-config: what a mocked Task calls need not run locally
        errors = [p for p in errors if not (p.code == "INVALID_RESOURCE" and mocks.covers(p.location))]
    if errors:
        detail = "; ".join(f"{p.code} at {p.location or '/'}: {p.message}" for p in errors[:20])
        raise ApiError("InvalidDefinition", f"Invalid State Machine Definition: '{detail}'")


@dataclass(frozen=True)
class Resolved:
    """What an execution runs: the machine, and the version/alias it was started through."""

    machine: dict[str, Any]  # the unqualified state machine's record
    definition: str
    role_arn: str
    version_arn: str | None
    alias_arn: str | None
    revision_id: str


class Machines:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._prepared: dict[tuple[str, str], PreparedMachine] = {}
        self.mock_config: Any = None  # serve --mock-config (stepmap.integrations.mock.MockConfig)

    def _mocks(self, name: str) -> Any:
        return self.mock_config.any_case(name) if self.mock_config is not None else None

    # -- state machines ------------------------------------------------------------------------------
    def create(self, req: dict[str, Any]) -> dict[str, Any]:
        name = req["name"]
        check_name(name)
        kind = req.get("type", "STANDARD")
        check_definition(req["definition"], kind, self._mocks(name))
        arn = machine_arn(name)
        now = time.time()
        record: dict[str, Any] = {
            "stateMachineArn": arn,
            "name": name,
            "status": "ACTIVE",
            "definition": req["definition"],
            "roleArn": req["roleArn"],
            "type": kind,
            "creationDate": now,
            "updateDate": now,
            "revisionId": str(uuid.uuid4()),
            "loggingConfiguration": req.get("loggingConfiguration")
            or {"level": "OFF", "includeExecutionData": False},
            "tracingConfiguration": req.get("tracingConfiguration") or {"enabled": False},
        }
        if not self.registry.insert("machines", arn, record, name=name):
            existing = self.get(arn)
            same = all(
                existing.get(k) == record[k]
                for k in ("definition", "type", "loggingConfiguration", "tracingConfiguration")
            )
            if not same or req.get("publish"):
                raise ApiError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
            return {"stateMachineArn": arn, "creationDate": existing["creationDate"]}
        self.registry.tag(arn, req.get("tags") or [])
        out: dict[str, Any] = {"stateMachineArn": arn, "creationDate": now}
        if req.get("publish"):
            out["stateMachineVersionArn"] = self.publish(arn, None, req.get("versionDescription"))[
                "stateMachineVersionArn"
            ]
        return out

    def get(self, arn: str) -> dict[str, Any]:
        record = self.registry.get("machines", arn)
        if record is None:
            raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return record

    def update(self, req: dict[str, Any]) -> dict[str, Any]:
        arn = req["stateMachineArn"]
        if self._qualifier(arn) is not None:
            raise ApiError("ValidationException", "Updating a qualified state machine ARN is not supported")
        record = self.get(arn)
        changes: dict[str, Any] = {
            k: req[k]
            for k in ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
            if k in req
        }
        if not {"definition", "roleArn", "loggingConfiguration", "tracingConfiguration"} & set(changes):
            raise ApiError(
                "MissingRequiredParameter", "Either the definition or the roleArn must be specified"
            )
        if "definition" in changes:
            check_definition(changes["definition"], record["type"], self._mocks(record["name"]))
        if any(record.get(k) != v for k, v in changes.items()):
            record.update(changes, updateDate=time.time(), revisionId=str(uuid.uuid4()))
            self.registry.update("machines", arn, record)
        out: dict[str, Any] = {"updateDate": record["updateDate"], "revisionId": record["revisionId"]}
        if req.get("publish"):
            out["stateMachineVersionArn"] = self.publish(arn, None, req.get("versionDescription"))[
                "stateMachineVersionArn"
            ]
        return out

    def delete(self, arn: str) -> None:
        if self._qualifier(arn) is not None:
            raise ApiError("ValidationException", "Deleting a qualified state machine ARN is not supported")
        self.registry.delete_machine_children(arn)
        self.registry.delete("machines", arn)

    def summaries(self) -> list[dict[str, Any]]:
        return [
            {k: r[k] for k in ("stateMachineArn", "name", "type", "creationDate")}
            for r in self.registry.records("machines")
        ]

    def describe(self, arn: str) -> dict[str, Any]:
        qualifier = self._qualifier(arn)
        if qualifier is not None and qualifier.isdigit():
            version = self.registry.get("versions", arn)
            if version is None:
                raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
            base = self.get(version["machineArn"])
            out = {**_public(base), **_public(version)}
            out["stateMachineArn"] = arn
            return out
        if qualifier is not None:
            raise ApiError(
                "InvalidArn", f"Invalid Arn: 'describe an alias with DescribeStateMachineAlias: {arn}'"
            )
        return _public(self.get(arn))

    # -- versions ------------------------------------------------------------------------------------
    def publish(self, arn: str, revision_id: str | None, description: str | None) -> dict[str, Any]:
        record = self.get(arn)
        if revision_id is not None and revision_id != record["revisionId"]:
            raise ApiError("ConflictException", f"The revision {revision_id!r} is not the current revision")
        for version in self.registry.records("versions", arn, newest_first=True):
            if version["revisionId"] == record["revisionId"]:  # publishing an unchanged revision again
                return {"creationDate": version["creationDate"], "stateMachineVersionArn": version["arn"]}
        number = self.registry.next_version(arn)
        version_arn = f"{arn}:{number}"
        now = time.time()
        version = {
            "arn": version_arn,
            "machineArn": arn,
            "definition": record["definition"],
            "roleArn": record["roleArn"],
            "revisionId": record["revisionId"],
            "creationDate": now,
        }
        if description:
            version["description"] = description
        self.registry.insert("versions", version_arn, version, machine_arn=arn, version=number)
        return {"creationDate": now, "stateMachineVersionArn": version_arn}

    def versions(self, arn: str) -> list[dict[str, Any]]:
        self.get(arn)
        return [
            {"stateMachineVersionArn": v["arn"], "creationDate": v["creationDate"]}
            for v in self.registry.records("versions", arn, newest_first=True)
        ]

    def delete_version(self, arn: str) -> None:
        version = self.registry.get("versions", arn)
        if version is None:
            return  # AWS: deleting a version that is not there succeeds
        for alias in self.registry.records("aliases", version["machineArn"]):
            if any(r["stateMachineVersionArn"] == arn for r in alias["routingConfiguration"]):
                raise ApiError(
                    "ConflictException",
                    f"Version to be deleted must not be referenced by an alias. Current list of aliases "
                    f"referencing this version: [{alias['stateMachineAliasArn']}]",
                )
        self.registry.delete("versions", arn)

    # -- aliases -------------------------------------------------------------------------------------
    def _check_routing(self, routing: list[dict[str, Any]]) -> str:
        machines = set()
        for route in routing:
            version = self.registry.get("versions", route["stateMachineVersionArn"])
            if version is None:
                raise ApiError("ResourceNotFound", f"Resource not found: '{route['stateMachineVersionArn']}'")
            machines.add(version["machineArn"])
        weights = [r["weight"] for r in routing]
        if (
            len(machines) != 1
            or sum(weights) != 100
            or len(set(r["stateMachineVersionArn"] for r in routing)) != len(routing)
        ):
            raise ApiError(
                "ValidationException",
                "Routing configuration must hold distinct versions of one state machine, "
                "with weights summing to 100",
            )
        return machines.pop()

    def create_alias(self, req: dict[str, Any]) -> dict[str, Any]:
        name = req["name"]
        if not valid_name(name) or name.isdigit():
            raise ApiError("InvalidName", f"Invalid alias name: '{name}'")
        machine = self._check_routing(req["routingConfiguration"])
        arn = f"{machine}:{name}"
        now = time.time()
        record: dict[str, Any] = {
            "stateMachineAliasArn": arn,
            "name": name,
            "routingConfiguration": req["routingConfiguration"],
            "creationDate": now,
            "updateDate": now,
        }
        if "description" in req:
            record["description"] = req["description"]
        if not self.registry.insert("aliases", arn, record, machine_arn=machine):
            existing = self.alias(arn)
            if any(existing.get(k) != record.get(k) for k in ("routingConfiguration", "description")):
                raise ApiError("ConflictException", f"Alias {arn} already exists with another configuration")
            return {"stateMachineAliasArn": arn, "creationDate": existing["creationDate"]}
        self.registry.tag(arn, req.get("tags") or [])
        return {"stateMachineAliasArn": arn, "creationDate": now}

    def alias(self, arn: str) -> dict[str, Any]:
        record = self.registry.get("aliases", arn)
        if record is None:
            raise ApiError("ResourceNotFound", f"Resource not found: '{arn}'")
        return record

    def update_alias(self, req: dict[str, Any]) -> dict[str, Any]:
        record = self.alias(req["stateMachineAliasArn"])
        if "routingConfiguration" not in req and "description" not in req:
            raise ApiError("ValidationException", "Specify a description or a routingConfiguration")
        if "routingConfiguration" in req:
            self._check_routing(req["routingConfiguration"])
            record["routingConfiguration"] = req["routingConfiguration"]
        if "description" in req:
            record["description"] = req["description"]
        record["updateDate"] = time.time()
        self.registry.update("aliases", record["stateMachineAliasArn"], record)
        return {"updateDate": record["updateDate"]}

    def delete_alias(self, arn: str) -> None:
        self.alias(arn)
        self.registry.delete("aliases", arn)

    def aliases(self, arn: str) -> list[dict[str, Any]]:
        qualifier = self._qualifier(arn)
        base = arn.rsplit(":", 1)[0] if qualifier else arn
        self.get(base)
        out = []
        for a in self.registry.records("aliases", base, newest_first=True):
            if qualifier and not any(r["stateMachineVersionArn"] == arn for r in a["routingConfiguration"]):
                continue
            out.append({"stateMachineAliasArn": a["stateMachineAliasArn"], "creationDate": a["creationDate"]})
        return out

    # -- what an execution runs ----------------------------------------------------------------------
    @staticmethod
    def _qualifier(arn: str) -> str | None:
        if not arn.startswith(f"{ARN_PREFIX}stateMachine:"):
            raise ApiError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
        parts = arn[len(ARN_PREFIX) :].split(":")
        if len(parts) == 2 and parts[1]:
            return None
        if len(parts) == 3 and parts[1] and parts[2]:
            return parts[2]
        raise ApiError("InvalidArn", f"Invalid Arn: '{arn}'")

    def resolve(self, arn: str) -> Resolved:
        """The definition an execution of ``arn`` runs (a weighted choice for a two-version alias)."""
        qualifier = self._qualifier(arn)
        if "/" in arn:
            raise ApiError("ValidationException", "Executions cannot be started on a Map Run's labelled ARN")
        if qualifier is None:
            record = self.get(arn)
            return Resolved(record, record["definition"], record["roleArn"], None, None, record["revisionId"])
        alias_arn = None
        version_arn = arn
        if not qualifier.isdigit():
            alias = self.registry.get("aliases", arn)
            if alias is None:
                raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
            routes = alias["routingConfiguration"]
            chosen = random.choices(routes, weights=[r["weight"] for r in routes])[0]
            alias_arn, version_arn = arn, chosen["stateMachineVersionArn"]
        version = self.registry.get("versions", version_arn)
        if version is None:
            raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{version_arn}'")
        record = self.get(version["machineArn"])
        return Resolved(
            record, version["definition"], version["roleArn"], version_arn, alias_arn, version["revisionId"]
        )

    def prepared(self, resolved: Resolved) -> PreparedMachine:
        key = (resolved.machine["stateMachineArn"], resolved.revision_id)
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = prepare(
                parse_definition(resolved.definition),
                name=resolved.machine["name"],
                mocks=self._mocks(resolved.machine["name"]),
            )
        return found


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record without the fields only stepmap keeps."""
    return {k: v for k, v in record.items() if k not in ("arn", "machineArn", "updateDate")}
