# Two commands on a fresh machine: `make demo` and `make test`.
# Every target does its own set-up, idempotently.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tocsin-installed

.PHONY: all setup system venv demo test lint typecheck unit bench golden clean

all: test

setup: venv system

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

system:
	@scripts/ensure-system-packages.sh

lint: venv
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: venv
	$(BIN)/mypy

test: setup lint typecheck
	$(BIN)/python -m pytest

demo: setup
	$(BIN)/python -m examples.demo

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

golden: venv
	$(BIN)/python scripts/regen_golden.py

clean:
	rm -rf $(VENV) .tocsin .mypy_cache .ruff_cache
