"""The dependency direction STYLE.md asks for, checked on the source rather than remembered."""

from __future__ import annotations

import ast
from pathlib import Path

import stepmap

SRC = Path(stepmap.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def test_asl_imports_nothing_of_stepmap_but_errors_and_itself() -> None:
    for path in _modules("asl"):
        for name in _imports(path):
            if name.startswith("stepmap"):
                allowed = name == "stepmap.errors" or name.startswith("stepmap.asl")
                assert allowed, f"{path.name} imports {name}"


def test_interpreter_never_imports_backends_storage_service_or_cloud_libraries() -> None:
    forbidden = (
        "stepmap.backends",
        "stepmap.storage",
        "stepmap.service",
        "stepmap.cli",
        "stepmap.integrations",
        "boto3",
        "ray",
    )
    for path in _modules("interpreter"):
        for name in _imports(path):
            where = path.relative_to(SRC / "interpreter")
            assert not name.startswith(forbidden), f"interpreter/{where} imports {name}"


def test_public_api_is_curated() -> None:
    assert sorted(stepmap.__all__) == sorted(
        [
            "DefinitionError",
            "EngineError",
            "Execution",
            "InputError",
            "MapItemError",
            "ManualClock",
            "Problem",
            "StatesError",
            "StepmapError",
            "__version__",
            "map",
            "map_reduce",
            "objects",
            "run",
            "table",
            "validate",
        ]
    )
    for name in stepmap.__all__:
        assert hasattr(stepmap, name)


def test_templates_are_pure_data_in_and_out() -> None:
    # a template becomes data (state machines, FunctionSpecs, buckets, tables); the service runs it
    allowed = ("stepmap.errors", "stepmap.functions", "stepmap.asl", "stepmap.templates")
    for path in _modules("templates"):
        for name in _imports(path):
            if name.startswith("stepmap"):
                assert name.startswith(allowed), f"templates/{path.name} imports {name}"
