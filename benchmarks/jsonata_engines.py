"""Per-evaluation cost of the JSONata engines: ``python benchmarks/jsonata_engines.py``.

jsonatapy (Rust, what stepmap uses) against jsonata-python (pure Python), on expressions the shape of
Step Functions states, with the same ``$states`` bindings; prints microseconds per evaluation and the
ratio. jsonata-python is not a dependency: ``pip install jsonata-python`` to measure it.
"""

from __future__ import annotations

import time
from typing import Any

import jsonatapy

ITEMS = [{"name": f"n{i}", "price": i} for i in range(20)]
CASES: list[tuple[str, dict[str, Any]]] = [
    ("$states.input.a + 1", {"states": {"input": {"a": 1}}}),
    (
        "$states.input.name & '-' & $string($states.context.Map.Item.Index)",
        {"states": {"input": {"name": "a"}, "context": {"Map": {"Item": {"Index": 3}}}}},
    ),
    (
        "{'id': $states.input.id, 'total': $sum($states.input.items.price), "
        "'big': $states.input.items[price > 10].name}",
        {"states": {"input": {"id": "x", "items": ITEMS}}},
    ),
]


def per_call(fn: Any, n: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    try:
        import jsonata  # jsonata-python
    except ImportError:
        jsonata = None
    for text, bindings in CASES:
        compiled = jsonatapy.compile(text)
        rust = per_call(lambda c=compiled, b=bindings: c.evaluate(None, b, timeout=1000), 5000)
        line = f"{text[:60]:<62} jsonatapy {rust:8.1f} us"
        if jsonata is not None:
            expr = jsonata.Jsonata(text)

            def python(e: Any = expr, b: dict[str, Any] = bindings) -> Any:
                frame = e.create_frame()
                for key, value in b.items():
                    frame.bind(key, value)
                return e.evaluate(None, frame)

            pure = per_call(python, 300)
            line += f"  jsonata-python {pure:8.1f} us  ratio {pure / rust:6.1f}x"
        print(line)


if __name__ == "__main__":
    main()
