# The two commands of the README: `make run` (set up and run the app) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test system-packages js-packages clean bench soak

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Stamp files so requirements are reinstalled only when a requirements file or pyproject.toml changes. The project
# itself is installed editable (pyproject.toml), so its packages import from anywhere without path edits.
# The runtime packages come from the hashed lock (docs/deployment.md: how to update it): pip refuses any file
# whose hash differs from PyPI's. The sandbox and test tools are pinned by version only.
$(VENV)/.run-installed: requirements.lock requirements.txt requirements-sandbox.txt pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q --require-hashes -r requirements.lock
	$(PIP) install -q -r requirements-sandbox.txt
	$(PIP) install -q --no-deps -e .
	touch $@

$(VENV)/.test-installed: requirements.lock requirements.txt requirements-sandbox.txt requirements-dev.txt pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q --require-hashes -r requirements.lock
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps -e .
	touch $@

# ESLint for static/js; OpenAI's browser Agents SDK (tests/e2e/test_agents_sdk.py) and axe-core, the accessibility
# checker, for the browser tests (package.json, package-lock.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

run: $(VENV)/.run-installed
	$(PY) -m scripts.run_dev

system-packages:
	bash scripts/install-system-packages.sh

js-packages: system-packages node_modules/.installed

# The dependency audit says so when PyPI's vulnerability service cannot be reached, and fails on a known one.
# lint-imports checks pyproject.toml's import contracts (core <- agent <- ... <- blueprints) in well under a second.
test: system-packages js-packages $(VENV)/.test-installed
	$(PY) -m scripts.audit_dependencies
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# Performance figures (docs/performance.md); wrk is optional but makes the load generator cheap.
bench: $(VENV)/.test-installed
	$(PY) -m bench.bench_mint --alternatives
	$(PY) -m bench.startup

soak: $(VENV)/.test-installed
	$(PY) -m bench.soak --minutes 5

clean:
	rm -rf $(VENV) .pytest_cache node_modules
