# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: run test lint typecheck test-unit test-functional test-integration test-e2e venv clean \
        bench-langid train-langid bench-dispatch bench-incidents fake-platforms bench-parse \
        wheelhouse package policies bench-coldstart system bench-pages

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

test: system lint typecheck
	$(PY) -m pytest -q

# The browser tests (tests/e2e) drive Debian's chromium and need a Devanagari font (without it
# screenshots show boxes). Installed once, as root on a fresh machine or CI; skipped when there.
system:
	@if command -v chromium >/dev/null && fc-list :lang=hi 2>/dev/null | grep -q .; then :; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium fonts-lohit-deva; \
	fi

# Task page and inbox: bytes, and render time against the JSON of the same task (issue 11);
# the console pages against the API JSON of the same data (issue 14).
bench-pages: venv
	$(PY) bench/pages.py

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

# Rebuild chalicelib/domain/language/hinglish.json.gz from ../shared/data/langid (deterministic;
# permissively licensed sources only, L3Cube is never read: see PROVENANCE.md next to it).
train-langid: venv
	$(PY) local/train_langid.py

# --- Deployment (issue 8): docs/deploy.md ---------------------------------------------------
STAGE ?= prod
WHEELHOUSE := .wheelhouse
LAMBDA_PIP := --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.11 \
              --implementation cp --abi cp311

# The wheel cache that makes `make package` offline: Lambda's (manylinux, CPython 3.11) wheels
# of requirements.txt. Needs the package index once. `pip wheel` first turns sdist-only packages
# (langdetect, sgmllib3k) into pure-Python wheels; `pip download` then adds Lambda's platform
# wheels of the compiled ones (regex, pyahocorasick, wrapt) whatever this machine is.
wheelhouse: $(WHEELHOUSE)/.filled
$(WHEELHOUSE)/.filled: requirements.txt | venv
	mkdir -p $(WHEELHOUSE)
	$(PY) -m pip wheel --quiet -r requirements.txt -w $(WHEELHOUSE)
	$(PY) -m pip download --quiet -r requirements.txt -d $(WHEELHOUSE) --find-links $(WHEELHOUSE) $(LAMBDA_PIP)
	@touch $@

# build/$(STAGE)/{sam.json,deployment.zip}: chalice package + infra/ merge template + bytecode.
package: venv wheelhouse
	$(PY) -m infra.build package --stage $(STAGE) --out build/$(STAGE)
	$(VENV)/bin/cfn-lint build/$(STAGE)/sam.json

# Rewrite .chalice/policy-*.json after changing the grants in infra/stack.py.
policies: venv
	$(PY) -m infra.build policies

# Cold start of app.py and the first analyze/API invocation, with and without bytecode.
bench-coldstart: venv
	$(PY) bench/coldstart.py
