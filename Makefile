# The two commands a fresh machine needs: `make demo` and `make test`.
# Both create (or reuse) the virtualenv in .venv with everything the project needs.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo demo-wordfreq demo-orders bench test lint typecheck unit slow faults-long chromium clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ray]'
	$(BIN)/python -m compileall -q src  # bytecode now, so that no start-up compiles it (issue 16)
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
	$(BIN)/pytest -q -n 2 -m "not slow and not faults and not ray and not browser"

# Headless Chromium for the dashboard's browser tests: Debian's packages, installed once (as root).
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# The slower suites: fault injection, a real local Ray cluster, the browser, then a smoke run of the benchmarks.
# The random fault schedules run FAULT_SEEDS seeds here (bounded CI time); `make faults-long` runs 500.
FAULT_SEEDS ?= 120
slow: $(BIN)/.installed chromium
	STEPMAP_FAULT_SEEDS=$(FAULT_SEEDS) $(BIN)/pytest -q -m "slow or faults or ray or browser"
	$(BIN)/python benchmarks/run.py --quick --out benchmarks/out/smoke.json
	$(BIN)/python benchmarks/dashboard.py --quick --out benchmarks/out/dashboard-smoke.json
	$(BIN)/python benchmarks/bench_endpoints.py --quick
	$(BIN)/python benchmarks/bench_dynamodb.py --items 200
	$(BIN)/python benchmarks/api.py --quick

faults-long: $(BIN)/.installed
	STEPMAP_FAULT_SEEDS=500 $(BIN)/pytest -q -s tests/faults/test_fault_schedules.py -m slow

test: lint typecheck unit slow

clean:
	rm -rf $(VENV) .stepmap .pytest_cache .mypy_cache .ruff_cache
