"""The ``stepmap`` command line: parses flags, builds the service, prints.

Exit codes: 0 the execution succeeded (or the definition is valid); 1 the execution failed, timed out or was
aborted (``{"error", "cause"}`` on stderr); 2 the definition is invalid or the input is wrong (every problem
on stderr); 130 / 143 interrupted by Ctrl-C / SIGTERM (one line on stderr says how to resume or stop the
execution). stdout carries only the result, so it can be piped. A mistake in the user's input never prints a
Python traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from stepmap.errors import DefinitionError, EngineError, InputError, StepmapError

__all__ = ["main"]

EXIT_FAILED = 1
EXIT_INVALID = 2


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    click.echo(f"stepmap: {message}", err=True)
    sys.exit(code)


MAX_INPUT_FILE_CHARS = 16 << 20  # read no further: execution input is at most 256 KiB anyway
EXIT_SIGNAL = 128  # + the signal's number: 130 for SIGINT (Ctrl-C), 143 for SIGTERM


@contextmanager
def _interruptible(execution: str | None, state_dir: str | None) -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into one line that says what state the execution is in and how to
    go on, then exit 128 + the signal's number, never with a traceback. Later signals are ignored while the
    workers are ended; if the first never got out (a handler running in this process swallowed it), the
    second ends the process at once with the same line. The journal is left alone: the execution stays
    RUNNING with its owner gone, which ``stepmap resume`` accepts."""
    import os
    import signal

    from stepmap.errors import Interrupted

    def again(signum: int, frame: Any) -> None:
        # A second signal: the first could not get out (a handler in this process swallowed it, with
        # --executor sync). Leave at once; the journal holds nothing half-written (SQLite transactions).
        line = f"stepmap: {_interrupted_line(signum, execution, state_dir)}\n"
        os.write(2, line.encode())  # fd 2: sys.stderr may be redirected into the handler's log capture
        os._exit(EXIT_SIGNAL + signum)

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, again)
        signal.signal(signal.SIGTERM, again)
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except Interrupted as exc:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the workers are being ended: no second message
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        from stepmap.backends.local import shutdown_pools

        shutdown_pools(kill=True)
        click.echo(f"stepmap: {_interrupted_line(exc.signum, execution, state_dir)}", err=True)
        sys.exit(EXIT_SIGNAL + exc.signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupted_line(signum: int, execution: str | None, state_dir: str | None) -> str:
    import os
    import signal

    what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    row = None
    if execution is not None:
        path = os.path.join(state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap", "journal.sqlite")
        try:
            from stepmap.journal import Journal

            row = Journal(path).find(execution) if os.path.exists(path) else None
        except Exception:  # the journal is unreadable: say what is known
            row = None
    if row is None:
        return f"{what}; no execution was started"
    name = row["name"]
    if row["status"] != "RUNNING":
        return f"{what}; execution {name} had already ended: {row['status']}"
    return f"{what}; execution {name} is resumable: stepmap resume {name} (or stepmap stop {name})"


def _read_input(text: str | None) -> Any:
    from stepmap.asl.loader import parse_json

    if text is None:
        return {}
    if text.startswith("@"):
        path = text[1:]
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read(MAX_INPUT_FILE_CHARS + 1)  # @/dev/zero or a FIFO must not read forever
        except OSError as exc:
            raise InputError(f"cannot read input file {path!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"input file {path!r} is not UTF-8 text") from None
        if len(text) > MAX_INPUT_FILE_CHARS:
            raise InputError(
                f"input file {path!r} is larger than {MAX_INPUT_FILE_CHARS} characters "
                "(AWS allows 262,144 bytes of execution input)"
            )
        return parse_json(text, f"input file {path!r}")
    return parse_json(text, "--input")


class _OrderedCommand(click.Command):
    """Keeps the raw arguments, so that a ``--function`` can be told which ``--code`` it followed."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["stepmap.args"] = list(args)
        return super().parse_args(ctx, args)


def _code_before_each_function(count: int) -> list[str | None]:
    """For each --function option in order, the --code folder given before it (None: none)."""
    ctx = click.get_current_context(silent=True)
    raw: list[str] = ctx.meta.get("stepmap.args", []) if ctx is not None else []
    groups: list[str | None] = []
    current: str | None = None
    i = 0
    while i < len(raw) and raw[i] != "--":
        token, value = raw[i], None
        for option in ("--code", "--function"):
            if token == option and i + 1 < len(raw):
                value, i = raw[i + 1], i + 1
            elif token.startswith(option + "="):
                value = token[len(option) + 1 :]
            if value is not None:
                if option == "--code":
                    current = value
                else:
                    groups.append(current)
                break
        i += 1
    return groups if len(groups) == count else [None] * count


def _registry(function: tuple[str, ...], functions: tuple[str, ...], code: tuple[str, ...]) -> Any:
    from stepmap.functions import FunctionRegistry, add_code_paths, function_options

    add_code_paths(code)
    registry = FunctionRegistry()
    for module in functions:
        registry.register_module(module)
    options = []
    for spec, group in zip(function, _code_before_each_function(len(function))):
        name, sep, target = spec.partition("=")
        if not sep:
            raise InputError(f"--function {spec!r} must look like NAME=module:attr (or NAME=DIR/app.handler)")
        options.append((name.strip(), target, group))
    for function_spec in function_options(options, code):
        registry.add(function_spec)
    return registry


def _print_problems(problems: list[Any]) -> None:
    for problem in problems:
        click.echo(f"  {problem}", err=True)


def store_options(fn: Any) -> Any:
    """--store, --s3-endpoint and --state-dir (each also read from its environment variable)."""
    fn = click.option(
        "--state-dir",
        envvar="STEPMAP_STATE_DIR",
        default=None,
        metavar="DIR",
        help="State directory: journal, tables, default store (default .stepmap).",
    )(fn)
    fn = click.option(
        "--s3-endpoint",
        envvar="STEPMAP_S3_ENDPOINT",
        default=None,
        metavar="URL",
        help="S3-compatible endpoint.",
    )(fn)
    fn = click.option(
        "--store",
        envvar="STEPMAP_STORE",
        default=None,
        metavar="DIR|s3://",
        help="Object store: a directory (buckets are folders) or s3:// (default <state-dir>/s3).",
    )(fn)
    return fn


def _journal(state_dir: str | None) -> Any:
    import os

    from stepmap.journal import Journal

    directory = state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap"
    path = os.path.join(directory, "journal.sqlite")
    if not os.path.exists(path):
        _fail(f"no journal in {directory!r} yet: run an execution first (or pass --state-dir)")
    return Journal(path)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stepmap")
def main() -> None:
    """Run AWS Step Functions (ASL) state machines locally with Python handlers."""


def template_options(fn: Any) -> Any:
    """--template, --parameter-overrides, --sub and --subs (templates and substitutions)."""
    fn = click.option(
        "--subs",
        "subs_files",
        multiple=True,
        metavar="FILE.json",
        help="Substitutions for ${KEY} (JSON object).",
    )(fn)
    fn = click.option(
        "--sub", "subs", multiple=True, metavar="KEY=VALUE", help="Fill the placeholder ${KEY} (repeatable)."
    )(fn)
    fn = click.option(
        "--parameter-overrides",
        "parameter_overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Template parameter values, as `sam deploy` takes them (repeatable).",
    )(fn)
    fn = click.option(
        "--template",
        "template",
        default=None,
        metavar="FILE",
        help="A SAM/CloudFormation template (YAML or JSON, or a CDK *.template.json); DEFINITION then names "
        "one of its state machines (logical id or name; optional when there is one).",
    )(fn)
    return fn


def _print_notes(app: Any) -> None:
    for note in app.notes:
        click.echo(f"stepmap: {app.path}: {note}", err=True)


def _load_app(template: str, parameter_overrides: tuple[str, ...], quiet: bool = False) -> Any:
    from stepmap.service.apps import open_app
    from stepmap.templates import parse_parameter_overrides

    app = open_app(template, parse_parameter_overrides(parameter_overrides))
    if not quiet:
        _print_notes(app)
    return app


@main.command(cls=_OrderedCommand)
@click.argument("definition", required=False)
@template_options
@click.option("--input", "input_text", metavar="JSON|@FILE", help="Execution input: JSON text or @file.json.")
@click.option(
    "--function",
    "function",
    multiple=True,
    metavar="NAME=HANDLER",
    help="Register a function (repeatable). HANDLER: module:attr or module.function (found in one --code "
    "folder), DIR/module.function (module.py in folder DIR), or either followed by @DIR.",
)
@click.option(
    "--functions", multiple=True, metavar="MODULE", help="Register every public function of a module."
)
@click.option("--code", multiple=True, metavar="DIR", help="Put DIR on the import path for handlers.")
@click.option(
    "--executor",
    type=click.Choice(["local", "sync", "ray"]),
    default="local",
    show_default=True,
    help="local: a pool of worker processes; sync: everything in-process (debugging); ray: a Ray cluster.",
)
@click.option(
    "--ray-address",
    envvar="RAY_ADDRESS",
    default=None,
    metavar="ADDRESS",
    help="Ray cluster to join with --executor ray (auto: the running one; none: start a local Ray).",
)
@click.option("--name", default=None, help="Execution name (default: a generated UUID).")
@click.option("--history", is_flag=True, help="Print the execution history (JSON lines) on stderr.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print handler logs or progress.")
@click.option(
    "--mock-config",
    default=None,
    metavar="FILE",
    help="Step Functions Local's MockConfigFile.json: mocked Task results (with --test-case).",
)
@click.option("--test-case", default=None, metavar="NAME", help="The test case of --mock-config to run.")
@click.option(
    "--open", "open_dashboard", is_flag=True, help="Serve the dashboard of this run (prints its URL)."
)
@click.option(
    "--aws",
    type=click.Choice(["local", "passthrough"]),
    default="local",
    show_default=True,
    help="passthrough: Task integrations stepmap does not run locally go to real AWS (your credentials).",
)
@store_options
def run(
    definition: str | None,
    template: str | None,
    parameter_overrides: tuple[str, ...],
    subs: tuple[str, ...],
    subs_files: tuple[str, ...],
    input_text: str | None,
    function: tuple[str, ...],
    functions: tuple[str, ...],
    code: tuple[str, ...],
    executor: str,
    ray_address: str | None,
    name: str | None,
    history: bool,
    quiet: bool,
    mock_config: str | None,
    test_case: str | None,
    open_dashboard: bool,
    aws: str,
    store: str | None,
    s3_endpoint: str | None,
    state_dir: str | None,
) -> None:
    """Run the state machine in DEFINITION (.json, .asl.json or .yaml file) and print its output.

    With --template, run a state machine of a SAM/CloudFormation/CDK template with its functions, buckets
    and tables: `stepmap run --template template.yaml [STATE_MACHINE]`."""
    import uuid
    from contextlib import ExitStack

    from stepmap.service.runner import StepmapService

    label = definition or template or "definition"
    name = name or str(uuid.uuid4())  # known here, so that an interruption can say how to resume it
    try:
        value = _read_input(input_text)
        if mock_config is not None and test_case is None:
            raise InputError("--mock-config needs the test case to run (--test-case NAME)")
        endpoint = None
        if function or functions or template is not None or open_dashboard:
            # handlers' boto3 reads AWS_ENDPOINT_URL: set before handler modules are imported. Without
            # handlers nothing needs it now (Task integrations start an endpoint on first use).
            endpoint = _handler_endpoint(store, s3_endpoint, state_dir)
        registry = _registry(function, functions, code)
        app = None
        source: Any = definition
        if template is not None:
            from stepmap.service.apps import prepare_app_machine, registry_for

            app = _load_app(template, parameter_overrides, quiet)
            registry = registry_for(app, registry)
            label = f"{template}: state machine {app.state_machine(definition).logical_id}"
            source = prepare_app_machine(app, definition)
        elif definition is None:
            raise InputError("give a DEFINITION file, or --template TEMPLATE")
        else:
            substitutions = None
            if subs or subs_files:  # the templates package only when there is something to substitute
                from stepmap.templates import parse_sub_options

                substitutions = parse_sub_options(subs, subs_files)
            if substitutions:
                from stepmap.service.apps import definition_with_subs
                from stepmap.service.runner import prepare

                loaded, stem = definition_with_subs(definition, substitutions)
                source = prepare(loaded, name=stem)
        with ExitStack() as stack:
            if open_dashboard:  # the dashboard finds the execution by its name
                from stepmap.dashboard.live import dashboard_for_run

                stack.enter_context(
                    dashboard_for_run(
                        name, endpoint=endpoint, store=store, s3_endpoint=s3_endpoint, state_dir=state_dir
                    )
                )
            observer = None
            if not quiet and sys.stderr.isatty():
                from stepmap.progress import MapRunProgress

                observer = stack.enter_context(MapRunProgress())
            if endpoint is not None:
                stack.callback(endpoint.stop)
            stack.enter_context(_interruptible(name, state_dir))
            service = StepmapService(
                functions=registry,
                executor=executor,
                code_paths=code,
                store=store,
                s3_endpoint=s3_endpoint,
                state_dir=state_dir,
                observer=observer,
                journal=True,
                ray_address=ray_address,
                endpoint=endpoint.url if endpoint is not None else False,
                mock_config=mock_config,
                test_case=test_case,
                aws=aws,
            )
            if app is not None:
                from stepmap.service.apps import provision

                provision(service, app)
            execution = service.start_execution(source, value, name=name)
    except DefinitionError as exc:
        click.echo(f"stepmap: {label}: invalid definition ({len(exc.problems)} problem(s)):", err=True)
        _print_problems(exc.problems)
        sys.exit(EXIT_INVALID)
    except InputError as exc:
        _fail(str(exc))
    except EngineError as exc:
        _fail(f"engine error: {exc}", EXIT_FAILED)
    except StepmapError as exc:
        _fail(str(exc), EXIT_FAILED)
    _report(execution, history=history, quiet=quiet)


def _handler_endpoint(store: str | None, s3_endpoint: str | None, state_dir: str | None) -> Any:
    """The S3/DynamoDB endpoint for handlers' boto3, on an ephemeral loopback port (docs/endpoints.md)."""
    from stepmap.endpoints.serve import export_handler_endpoint
    from stepmap.service.runner import storage_env

    return export_handler_endpoint(storage_env(store, s3_endpoint, state_dir))


def _report(execution: Any, *, history: bool = False, quiet: bool = False) -> None:
    """Print an execution's result the way ``stepmap run`` does, and exit with its code."""
    if execution.logs and not quiet:
        click.echo(execution.logs.rstrip("\n"), err=True)
    if history:
        for event in execution.history:
            click.echo(json.dumps(event, ensure_ascii=False), err=True)
    if execution.status == "SUCCEEDED":
        click.echo(json.dumps(execution.output, ensure_ascii=False, indent=2))
        return
    click.echo(json.dumps({"error": execution.error, "cause": execution.cause}, ensure_ascii=False), err=True)
    sys.exit(EXIT_FAILED)


def _continue(action: str, execution: str, state_dir: str | None, quiet: bool) -> None:
    """``resume`` or ``redrive`` an execution with the configuration it was started with."""
    from contextlib import ExitStack

    from stepmap.service.runner import StepmapService

    try:
        with _interruptible(execution, state_dir), ExitStack() as stack:
            observer = None
            if not quiet and sys.stderr.isatty():
                from stepmap.progress import MapRunProgress

                observer = stack.enter_context(MapRunProgress())
            service = StepmapService.for_execution(
                execution, state_dir=state_dir, observer=observer, endpoint=True
            )
            stack.callback(service.close)
            result = getattr(service, action)(execution)
    except InputError as exc:
        _fail(str(exc))
    except EngineError as exc:
        _fail(f"engine error: {exc}", EXIT_FAILED)
    _report(result, quiet=quiet)


@main.command()
@click.argument("definition", required=False)
@template_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print diagnostics as JSON (like ValidateStateMachineDefinition)."
)
def validate(
    definition: str | None,
    template: str | None,
    parameter_overrides: tuple[str, ...],
    subs: tuple[str, ...],
    subs_files: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check DEFINITION and print every problem; exit 0 when valid, 2 otherwise.

    With --template, check the template and every state machine in it (or the one DEFINITION names)."""
    from stepmap.api import validate as validate_definition

    try:
        if template is not None:
            app = _load_app(template, parameter_overrides)
            machines = [app.state_machine(definition)] if definition else list(app.state_machines.values())
            problems = []
            for machine in machines:
                for problem in validate_definition(machine.definition):
                    where = f"{machine.logical_id}:{problem.location or '/'}"
                    problems.append(dataclasses.replace(problem, location=where))
            if not machines:
                raise InputError(f"template {template!r} declares no state machine")
            definition = template
        elif definition is None:
            raise InputError("give a DEFINITION file, or --template TEMPLATE")
        else:
            from stepmap.service.apps import definition_with_subs
            from stepmap.templates import parse_sub_options

            loaded, _ = definition_with_subs(definition, parse_sub_options(subs, subs_files))
            problems = validate_definition(loaded)
    except InputError as exc:
        _fail(str(exc))
    errors = [p for p in problems if p.severity == "ERROR"]
    if as_json:
        result = {"result": "FAIL" if errors else "OK", "diagnostics": [p.to_json() for p in problems]}
        click.echo(json.dumps(result, indent=2))
    else:
        if problems:
            click.echo(
                f"{definition}: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)", err=True
            )
            _print_problems(problems)
        else:
            click.echo(f"{definition}: OK")
    sys.exit(EXIT_INVALID if errors else 0)


state_dir_option = click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR")


@main.command()
@state_dir_option
def executions(state_dir: str | None) -> None:
    """List executions, newest first."""
    for record in _journal(state_dir).executions():
        click.echo(
            f"{record['status']:<10} {record['startDate']}  {record['name']}  {record['executionArn']}"
        )


@main.command()
@click.argument("execution")
@state_dir_option
def describe(execution: str, state_dir: str | None) -> None:
    """Describe EXECUTION (its name or ARN), as DescribeExecution does."""
    try:
        _print_json(_journal(state_dir).execution(execution))
    except InputError as exc:
        _fail(str(exc))


@main.command(name="history")
@click.argument("execution")
@state_dir_option
def history_command(execution: str, state_dir: str | None) -> None:
    """Print the history events of EXECUTION (its name or ARN)."""
    try:
        _print_json(_journal(state_dir).history(execution))
    except InputError as exc:
        _fail(str(exc))


@main.command(name="map-runs")
@click.option("--execution", default=None, help="Only the Map Runs of this execution (name or ARN).")
@state_dir_option
def map_runs(execution: str | None, state_dir: str | None) -> None:
    """List Map Runs with their status and item counts."""
    try:
        records = _journal(state_dir).map_runs(execution)
    except InputError as exc:
        _fail(str(exc))
    for record in records:
        items = record["itemCounts"]
        click.echo(
            f"{record['status']:<10} {record['startDate']}  items {items['succeeded']}/{items['total']} "
            f"succeeded, {items['failed']} failed  {record['mapRunArn']}"
        )


@main.command(name="describe-map-run")
@click.argument("map_run_arn")
@state_dir_option
def describe_map_run(map_run_arn: str, state_dir: str | None) -> None:
    """Describe a Map Run, as DescribeMapRun does."""
    try:
        _print_json(_journal(state_dir).map_run(map_run_arn))
    except InputError as exc:
        _fail(str(exc))


@main.command(name="describe-template")
@click.argument("template")
@click.option(
    "--parameter-overrides",
    "parameter_overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Parameter values.",
)
def describe_template(template: str, parameter_overrides: tuple[str, ...]) -> None:
    """Print what stepmap reads from TEMPLATE: state machines, functions, buckets, tables, notes."""
    try:
        app = _load_app(template, parameter_overrides, quiet=True)
    except InputError as exc:
        _fail(str(exc))
    _print_json(app.describe())


@main.command()
@click.argument("execution")
@click.option("-o", "--output", "out", required=True, metavar="FILE", help="The HTML file to write.")
@store_options
def report(
    execution: str, out: str, store: str | None, s3_endpoint: str | None, state_dir: str | None
) -> None:
    """Write EXECUTION (name or ARN) as one self-contained HTML file: graph, timeline, Map Run charts."""
    from stepmap.dashboard import write_report
    from stepmap.endpoints import EndpointContext

    _journal(state_dir).close()  # a clear message when there is no journal
    ctx = EndpointContext.from_options(store, s3_endpoint, state_dir)
    try:
        write_report(ctx.state_dir, execution, out, store=lambda: ctx.store)
    except LookupError as exc:
        _fail(f"{exc.args[0] if exc.args else exc} (see `stepmap executions`)")
    except OSError as exc:
        _fail(f"cannot write {out!r}: {exc.strerror or exc}")
    click.echo(out)


@main.command()
@click.argument("execution")
@state_dir_option
@click.option("--quiet", "-q", is_flag=True, help="Do not print handler logs or progress.")
def resume(execution: str, state_dir: str | None, quiet: bool) -> None:
    """Go on with EXECUTION (name or ARN) after its process died: finished work is not done again."""
    _continue("resume", execution, state_dir, quiet)


@main.command()
@click.argument("execution")
@state_dir_option
@click.option("--quiet", "-q", is_flag=True, help="Do not print handler logs or progress.")
def redrive(execution: str, state_dir: str | None, quiet: bool) -> None:
    """Re-run a FAILED, TIMED_OUT or ABORTED EXECUTION from the state that failed (AWS's redrive)."""
    _continue("redrive", execution, state_dir, quiet)


@main.command()
@click.argument("execution")
@state_dir_option
def stop(execution: str, state_dir: str | None) -> None:
    """Stop a RUNNING EXECUTION: its children stop and its status becomes ABORTED."""
    from stepmap.service.runner import StepmapService

    try:
        record = StepmapService.for_execution(execution, state_dir=state_dir).stop(execution)
    except InputError as exc:
        _fail(str(exc))
    _print_json(record)


@main.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=4566,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind; not loopback needs --token."
)
@click.option(
    "--token", envvar="STEPMAP_ENDPOINT_TOKEN", default=None, help="Clients' access key id must equal it."
)
@click.option("--log", is_flag=True, help="Log every request on stderr.")
@click.option(
    "--function",
    "function",
    multiple=True,
    metavar="NAME=MODULE:ATTR",
    help="Register a handler (repeatable).",
)
@click.option(
    "--functions", multiple=True, metavar="MODULE", help="Register every public function of a module."
)
@click.option("--code", multiple=True, metavar="DIR", help="Put DIR on the import path for handlers.")
@click.option(
    "--executor",
    type=click.Choice(["local", "sync"]),
    default="local",
    show_default=True,
    help="Handler executor.",
)
@click.option(
    "--mock-config",
    default=None,
    metavar="FILE",
    help="Step Functions Local's MockConfigFile.json: StartExecution on '<stateMachineArn>#<TestCase>' "
    "runs that test case's mocks.",
)
@click.option(
    "--template",
    "template",
    default=None,
    metavar="FILE",
    help="A SAM/CloudFormation/CDK template: serve all its state machines, functions, buckets, tables, "
    "queues, topics and rules.",
)
@click.option(
    "--parameter-overrides",
    "parameter_overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Template parameter values, as `sam deploy` takes them (repeatable).",
)
@store_options
def serve(
    port: int,
    host: str,
    token: str | None,
    log: bool,
    function: tuple[str, ...],
    functions: tuple[str, ...],
    code: tuple[str, ...],
    executor: str,
    mock_config: str | None,
    template: str | None,
    parameter_overrides: tuple[str, ...],
    store: str | None,
    s3_endpoint: str | None,
    state_dir: str | None,
) -> None:
    """Serve the local AWS endpoints (S3, and the JSON APIs) over the embedded store until interrupted.

    Step Functions executions started through the API run in this process, with the handlers registered
    by --function/--functions/--code as for `stepmap run`. With --template, the template's state machines
    are created under their names, with its functions, buckets, tables, queues, topics and rules."""
    from stepmap.endpoints.serve import serve_until_signal

    try:
        run_options = {
            "functions": _registry(function, functions, code),
            "code_paths": code,
            "executor": executor,
        }
        if mock_config is not None:
            from stepmap.integrations.mock import load_mock_config

            run_options["mock_config"] = load_mock_config(mock_config)
        if template is not None:  # the template's functions, with --function ones taking precedence
            from stepmap.service.apps import registry_for

            run_options["app"] = _load_app(template, parameter_overrides)
            run_options["functions"] = registry_for(run_options["app"], run_options["functions"])
        serve_until_signal(
            host,
            port,
            token=token,
            log=log,
            store=store,
            s3_endpoint=s3_endpoint,
            state_dir=state_dir,
            run_options=run_options,
        )
    except InputError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@main.command(name="messages")
@click.option("--queue", default=None, help="Only the messages of this SQS queue (name, URL or ARN).")
@click.option("--topics", is_flag=True, help="List what was published to SNS topics instead.")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def messages(queue: str | None, topics: bool, state_dir: str | None) -> None:
    """List the SQS messages (or SNS publications) workflows and handlers sent, oldest first."""
    store = _message_store(state_dir)
    _print_json(store.publications() if topics else store.messages(queue))


@main.command(name="events")
@click.option("--bus", default=None, help="Only the events put on this event bus.")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def events(bus: str | None, state_dir: str | None) -> None:
    """List the EventBridge events workflows and handlers put, oldest first."""
    _print_json(_message_store(state_dir).events(bus))


@main.command(name="subscribe")
@click.argument("topic_arn")
@click.argument("queue")
@click.option("--raw", is_flag=True, help="RawMessageDelivery: the message itself, not SNS's JSON envelope.")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def subscribe(topic_arn: str, queue: str, raw: bool, state_dir: str | None) -> None:
    """Subscribe the SQS QUEUE (name, URL or ARN) to the SNS topic TOPIC_ARN: what workflows publish to
    the topic is delivered to the queue."""
    import os

    from stepmap.storage.messages import MessageStore, queue_name_of

    if not topic_arn.startswith("arn:") or ":sns:" not in topic_arn:
        _fail(f"{topic_arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
    store = MessageStore(state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap")
    name = queue_name_of(queue)
    store.create_queue(name)
    arn = store.subscribe(topic_arn, "sqs", f"arn:aws:sqs:{store.region}:{store.account}:{name}", raw=raw)
    _print_json({"SubscriptionArn": arn})


@main.group(name="rules")
def rules() -> None:
    """EventBridge rules: events matching a pattern start state machines while `stepmap serve` runs."""


@rules.command(name="put")
@click.argument("name")
@click.option("--pattern", "pattern_text", required=True, metavar="JSON|@FILE", help="The event pattern.")
@click.option(
    "--target", "targets", multiple=True, required=True, metavar="STATE_MACHINE_ARN", help="Repeatable."
)
@click.option("--input-path", default=None, metavar="PATH", help="Pass this part of the event (JSONPath).")
@click.option(
    "--input-transformer",
    default=None,
    metavar="JSON|@FILE",
    help='{"InputPathsMap": {...}, "InputTemplate": "..."}, as AWS::Events::Rule targets have.',
)
@click.option("--bus", default="default", show_default=True, help="The event bus.")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def rules_put(
    name: str,
    pattern_text: str,
    targets: tuple[str, ...],
    input_path: str | None,
    input_transformer: str | None,
    bus: str,
    state_dir: str | None,
) -> None:
    """Create or replace the rule NAME."""
    import os

    from stepmap.events.rules import check_rule
    from stepmap.storage.messages import MessageStore

    pattern = _json_option(pattern_text, "--pattern")
    target_options: dict[str, Any] = {}
    if input_path is not None:
        target_options["InputPath"] = input_path
    if input_transformer is not None:
        target_options["InputTransformer"] = _json_option(input_transformer, "--input-transformer")
    target_list = [{"Id": str(i), "Arn": arn, **target_options} for i, arn in enumerate(targets)]
    problems = check_rule(name, pattern, target_list)
    if problems:
        _fail("invalid rule: " + "; ".join(problems))
    store = MessageStore(state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap")
    store.put_rule(name, bus, {"EventPattern": pattern, "Targets": target_list})
    _print_json({"RuleArn": f"arn:aws:events:{store.region}:{store.account}:rule/{name}"})


@rules.command(name="list")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def rules_list(state_dir: str | None) -> None:
    """List the rules."""
    import os

    from stepmap.storage.messages import MessageStore

    _print_json(MessageStore(state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap").rules())


@rules.command(name="delete")
@click.argument("name")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def rules_delete(name: str, state_dir: str | None) -> None:
    """Delete the rule NAME."""
    import os

    from stepmap.storage.messages import MessageStore

    if not MessageStore(state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap").delete_rule(name):
        _fail(f"no rule {name!r}")


def _json_option(text: str, option: str) -> Any:
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            _fail(f"{option}: cannot read {text[1:]!r}: {exc.strerror}")
    try:
        return json.loads(text)
    except ValueError as exc:
        _fail(f"{option} is not JSON: {exc}")


def _message_store(state_dir: str | None) -> Any:
    import os

    from stepmap.storage.messages import MessageStore

    directory = state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap"
    if not os.path.exists(os.path.join(directory, "messages.sqlite")):
        _fail(f"no messages in {directory!r} yet: run a workflow that sends some first (or pass --state-dir)")
    return MessageStore(directory)


def _send_task(state_dir: str | None, token: str, answer: dict[str, Any]) -> None:
    import os

    from stepmap.journal.registry import Registry
    from stepmap.service.callbacks import send_to_registry
    from stepmap.service.machines import ApiError

    directory = state_dir or os.environ.get("STEPMAP_STATE_DIR") or ".stepmap"
    path = os.path.join(directory, "journal.sqlite")
    if not os.path.exists(path):
        _fail(f"no journal in {directory!r}: no task waits for a token there (pass --state-dir)")
    try:
        send_to_registry(Registry(path), token, answer)
    except ApiError as exc:
        _fail(f"{exc.code}: {exc.message}")


@main.command(name="send-task-success")
@click.argument("token")
@click.argument("output", metavar="OUTPUT_JSON|@FILE")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def send_task_success(token: str, output: str, state_dir: str | None) -> None:
    """Answer a .waitForTaskToken task: its result is OUTPUT (the task's execution goes on at once when
    `stepmap serve` runs it, or when it is next resumed)."""
    try:
        value = _read_input(output)
    except InputError as exc:
        _fail(str(exc))
    _send_task(state_dir, token, {"status": "SUCCEEDED", "output": json.dumps(value)})


@main.command(name="send-task-failure")
@click.argument("token")
@click.option("--error", default=None, help="The error name the task fails with.")
@click.option("--cause", default=None, help="A description of the failure.")
@click.option("--state-dir", envvar="STEPMAP_STATE_DIR", default=None, metavar="DIR", help="State directory.")
def send_task_failure(token: str, error: str | None, cause: str | None, state_dir: str | None) -> None:
    """Fail a .waitForTaskToken task with ERROR and CAUSE."""
    _send_task(state_dir, token, {"status": "FAILED", "error": error, "cause": cause})


if __name__ == "__main__":  # pragma: no cover
    main()
