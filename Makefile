# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: run test lint typecheck test-unit test-functional test-integration test-e2e venv clean \
        bench

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (see README)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . \
	  || $(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: venv
	$(PY) -m local

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest -q

# Keyword matcher vs one regex alternation, checked against the reference (issue 4; ~15 s).
.PHONY: bench-keywords
bench-keywords: venv
	$(PY) bench/keywords.py

test-unit: venv
	$(PY) -m pytest -q tests/unit
test-functional: venv
	$(PY) -m pytest -q tests/functional
test-integration: venv
	$(PY) -m pytest -q tests/integration
test-e2e: venv
	$(PY) -m pytest -q tests/e2e

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
