"""The Step Functions protocol module calls the service only; integrations never touch the journal."""

from __future__ import annotations

from tests.unit.test_architecture import SRC, _imports


def test_protocol_module_never_reaches_into_the_interpreter_or_the_journal() -> None:
    names = _imports(SRC / "endpoints" / "stepfunctions.py")
    assert not any(n.startswith(("stepmap.interpreter", "stepmap.journal", "stepmap.asl")) for n in names), (
        names
    )


def test_api_integrations_reach_the_service_through_ports() -> None:
    for module in ("callbacks.py", "activities.py", "states.py"):
        names = _imports(SRC / "integrations" / module)
        assert not any(
            n.startswith(("stepmap.journal", "stepmap.service", "stepmap.storage")) for n in names
        ), (
            module,
            names,
        )
