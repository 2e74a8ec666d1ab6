"""A template's app, made runnable: its functions in a registry, its buckets and tables created in the
embedded store, a chosen state machine prepared; and a bare definition file with ``--sub`` substitutions.

The glue between :mod:`stepmap.templates` (pure data) and the service.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepmap.asl.loader import load_definition
from stepmap.errors import InputError
from stepmap.functions import FunctionRegistry
from stepmap.service.runner import PreparedMachine, prepare
from stepmap.templates import App, load_template, substitute_text, substitute_value

if TYPE_CHECKING:
    from stepmap.service.runner import StepmapService

__all__ = [
    "definition_with_subs",
    "install_app",
    "open_app",
    "prepare_app_machine",
    "provision",
    "registry_for",
]


def open_app(template: str, parameter_overrides: Mapping[str, str] | None = None) -> App:
    """The template read, and its EventBridge rules checked as EventBridge checks them."""
    from stepmap.events.rules import check_rule

    app = load_template(template, parameter_overrides)
    for rule in app.wiring.rules:
        problems = check_rule(rule.name, rule.pattern, list(rule.targets))
        if problems:
            raise InputError(f"resource {rule.logical_id}: invalid rule: " + "; ".join(problems))
    return app


def registry_for(app: App, extra: FunctionRegistry | None = None) -> FunctionRegistry:
    """The template's functions, with any registered by hand (``--function``) taking precedence."""
    registry = FunctionRegistry()
    for spec in app.functions:
        registry.add(spec)
    if extra is not None:
        for spec in extra.specs():
            registry.add(spec)
    return registry


def prepare_app_machine(app: App, selector: str | None) -> PreparedMachine:
    machine = app.state_machine(selector)
    return prepare(machine.definition, name=machine.name)


def provision(service: StepmapService, app: App) -> None:
    """Create the template's buckets and tables (with their key schema) where the service keeps them, and
    its queues, topics and SNS -> SQS subscriptions in the state directory's message store."""
    _wire_messaging(service.env["STEPMAP_STATE_DIR"], app)
    if app.buckets:
        store = service.store
        for bucket in app.buckets:
            if not store.bucket_exists(bucket.name):
                store.create_bucket(bucket.name)
    if app.tables:
        from stepmap.storage.config import TableConfig, open_table
        from stepmap.storage.tables import TableSchema

        config = TableConfig.from_env(service.env)
        for table in app.tables:
            schema = TableSchema(
                table.partition_key, table.sort_key, table.partition_key_type, table.sort_key_type
            )
            open_table(config, table.name, schema)


def definition_with_subs(source: str, substitutions: Mapping[str, Any]) -> tuple[Any, str | None]:
    """A definition file with ``${KEY}`` placeholders filled (textually for JSON, as Step Functions does),
    and the state machine name its file name gives."""
    if not substitutions:
        return source, None
    stem = os.path.basename(source).split(".", 1)[0] or None
    if Path(source).suffix.lower() in (".yaml", ".yml"):
        return substitute_value(load_definition(source), substitutions), stem
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return source, None  # load_definition reports it
    return load_definition(substitute_text(text, substitutions)), stem


def _wire_messaging(state_dir: str, app: App) -> None:
    wiring = app.wiring
    if not (wiring.queues or wiring.subscriptions):
        return
    from stepmap.storage.messages import MessageStore, queue_name_of

    store = MessageStore(state_dir)
    for name in wiring.queues:
        store.create_queue(name)
    for sub in wiring.subscriptions:
        store.create_queue(queue_name_of(sub.queue_arn))
        store.subscribe(sub.topic_arn, "sqs", sub.queue_arn, raw=sub.raw)


ROLE_ARN = "arn:aws:iam::123456789012:role/stepmap-template"


def install_app(step_functions: Any, app: App) -> list[str]:
    """What ``stepmap serve --template`` does before serving: provision the store, create (or update) every
    state machine of the template in the Step Functions API's registry under its template name, and put
    the template's EventBridge rules. ``step_functions`` is the API facade
    (:class:`stepmap.service.stepfunctions.StepFunctions`); returns the state machine ARNs."""
    from stepmap.service.machines import ApiError, machine_arn
    from stepmap.storage.messages import MessageStore

    provision(step_functions.service, app)
    arns = []
    for machine in app.state_machines.values():
        definition = json.dumps(machine.definition)
        request = {"name": machine.name, "definition": definition, "roleArn": ROLE_ARN, "type": machine.type}
        try:
            arn = step_functions.call("CreateStateMachine", request)["stateMachineArn"]
        except ApiError as exc:
            if exc.code != "StateMachineAlreadyExists":  # e.g. an invalid definition
                raise InputError(f"state machine {machine.logical_id}: {exc.code}: {exc.message}") from None
            # the template changed since a previous serve over this state directory: it wins
            arn = machine_arn(machine.name)
            described = step_functions.call("DescribeStateMachine", {"stateMachineArn": arn})
            if described.get("type") != machine.type:
                raise InputError(
                    f"state machine {machine.logical_id}: {machine.name!r} exists in this state directory "
                    f"as {described.get('type')}; delete it or use another --state-dir"
                ) from None
            step_functions.call("UpdateStateMachine", {"stateMachineArn": arn, "definition": definition})
        arns.append(arn)
    # the template's rules replace those a previous serve of the same template put (a rule deleted from
    # the template stops starting anything); rules put with `stepmap rules put` are left alone
    store = MessageStore(step_functions.service.env["STEPMAP_STATE_DIR"])
    origin = os.path.abspath(app.path)
    for old in store.rules():
        if old.get("Template") == origin and old["Name"] not in {r.name for r in app.wiring.rules}:
            store.delete_rule(old["Name"])
    for rule in app.wiring.rules:
        record = {"EventPattern": rule.pattern, "Targets": list(rule.targets), "Template": origin}
        store.put_rule(rule.name, rule.bus, record)
    return arns
