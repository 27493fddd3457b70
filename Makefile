# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: run test lint typecheck test-unit test-functional test-integration test-e2e venv clean \
        bench-langid train-langid bench-dispatch bench-incidents fake-platforms bench-parse

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (see README)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip>=24,<26.3'  # chalice 1.34 needs pip<26.3
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

bench-dispatch: venv
	$(PY) bench/dispatch.py

bench-incidents: venv
	$(PY) bench/incidents.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache

# The recorded platform APIs on 127.0.0.1:8765 (see docs/platforms.md).
fake-platforms: venv
	$(PY) -m local.fake_platforms --port 8765

# Parser throughput on the recorded fixtures, against a bare decode in the same run.
bench-parse: venv
	$(PY) bench/parse.py

# Language identification: accuracy vs seeded langdetect, throughput, cold start (issue 3).
bench-langid: venv
	$(PY) bench/langid_eval.py

# Rebuild chalicelib/domain/language/hinglish.json.gz from ../shared/data/langid (deterministic).
train-langid: venv
	$(PY) local/train_langid.py
