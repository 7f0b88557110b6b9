# Two entry points: `make demo` and `make test`. Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
OUT ?= demo-out

.PHONY: demo test lint typecheck unit bench validate clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TESTSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/patrolwise demo --out $(OUT)

lint: $(TESTSTAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(TESTSTAMP)
	$(BIN)/mypy

# pytest-xdist: one worker per core, at most 4 (each worker starts its own PostgreSQL server);
# `make unit WORKERS=0` runs in one process. worksteal hands each worker a contiguous half of
# the suite (module fixtures built once) and lets an idle worker take tests from a busy one.
WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

unit: $(TESTSTAMP)
	$(BIN)/pytest -q -n $(WORKERS) --dist worksteal

test: lint typecheck unit validate

validate: $(TESTSTAMP)
	$(BIN)/patrolwise evaluate validate --trials 500

bench: $(TESTSTAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
