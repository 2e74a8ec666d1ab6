# The two commands a fresh machine needs: `make demo` and `make test`.
# Both create (or reuse) the virtualenv in .venv with everything the project needs.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo demo-wordfreq demo-orders bench test lint typecheck unit slow clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ray]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python -m examples.gsod.demo

demo-wordfreq: $(BIN)/.installed
	$(BIN)/python -m examples.wordfreq.demo --size 64MB --check

demo-orders: $(BIN)/.installed
	$(BIN)/stepmap run examples/orders/workflow.asl.json --code examples/orders --functions handlers \
		--input @examples/orders/input.json

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed
	$(BIN)/pytest -q -n 2 -m "not slow and not faults and not ray"

# The slower suites: fault injection, a real local Ray cluster, then a smoke run of the benchmarks.
slow: $(BIN)/.installed
	$(BIN)/pytest -q -m "slow or faults or ray"
	$(BIN)/python benchmarks/run.py --quick --out benchmarks/out/smoke.json
	$(BIN)/python benchmarks/bench_endpoints.py --quick
	$(BIN)/python benchmarks/bench_dynamodb.py --items 200
	$(BIN)/python benchmarks/api.py --quick

test: lint typecheck unit slow

clean:
	rm -rf $(VENV) .stepmap .pytest_cache .mypy_cache .ruff_cache
