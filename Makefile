# Two commands on a fresh machine: `make demo` and `make test`.
# Every target does its own set-up, idempotently.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tocsin-installed
VENDOR := src/tocsin/views/console/static/vendor

.PHONY: all setup system venv demo test lint typecheck unit bench golden clean matrix

all: test

setup: venv system

venv: $(STAMP) $(VENDOR)/.copied

# The console's front-end libraries (uPlot) come from npm at build time: package-lock.json pins them,
# node_modules and the copies in the package are git-ignored, nothing is loaded from a CDN at run time.
$(VENDOR)/.copied: package.json package-lock.json
	@command -v npm >/dev/null || scripts/ensure-system-packages.sh
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE $(VENDOR)/
	touch $@

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[all,dev,examples]'
	touch $(STAMP)

system:
	@scripts/ensure-system-packages.sh

lint: venv
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: venv
	$(BIN)/mypy

# Most of the suite waits on real binaries (scrapes, `for:` windows, restarts), not on the CPU: on
# 2 cores, 4 workers ran it in 16 min with the machine's load at 12, against 21 min in one process
# with it near idle. Each file stays on one worker (module fixtures start a stack once); the
# examples' end-to-end runs take two slots in turn (tests/examples/_e2e.py); 3 workers keep the
# machine's load low enough for their timing. TEST_WORKERS=0 runs it all in one process.
TEST_WORKERS ?= 3

test: setup lint typecheck
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
	$(MAKE) --no-print-directory matrix

# The framework versions users run, besides the newest the main venv has: the oldest the extras
# admit, and FastAPI 0.115 (Starlette 0.46, the line most apps are on). Each venv holds only what
# the HTTP, health and logging tests need (tests/matrix/<name>.txt), rebuilt when that list changes.
MATRIX_DIR := .venv-matrix
MATRIX_NAMES := oldest fastapi-0.115
MATRIX_TESTS := tests/sdk/http tests/sdk/health tests/sdk/logging

matrix: $(foreach n,$(MATRIX_NAMES),$(MATRIX_DIR)/$(n)/.installed)
	@for n in $(MATRIX_NAMES); do \
		echo "== matrix $$n: $$($(MATRIX_DIR)/$$n/bin/python -m pip list 2>/dev/null \
			| grep -iE '^(starlette|fastapi|flask|werkzeug|django|sqlalchemy|greenlet) ' | tr -s ' ' | paste -sd,)"; \
		$(MATRIX_DIR)/$$n/bin/python -m pytest -q $(MATRIX_TESTS) || exit 1; \
	done

$(MATRIX_DIR)/%/.installed: tests/matrix/%.txt tests/matrix/common.txt
	rm -rf $(MATRIX_DIR)/$*
	$(PYTHON) -m venv $(MATRIX_DIR)/$*
	$(MATRIX_DIR)/$*/bin/python -m pip install -q --disable-pip-version-check -r tests/matrix/$*.txt
	$(MATRIX_DIR)/$*/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# seed 000's OCR service (examples/ocr_service): traffic, faults to try, the stack, the console
demo: setup
	$(BIN)/tocsin demo ocr_service

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

golden: venv
	$(BIN)/python scripts/regen_golden.py

clean:
	rm -rf $(VENV) $(MATRIX_DIR) .tocsin .mypy_cache .ruff_cache node_modules $(VENDOR)
