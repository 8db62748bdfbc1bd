# The two commands of the README: `make run` (set up and run the app) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test system-packages clean bench soak

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Stamp files so requirements are reinstalled only when a requirements file changes.
$(VENV)/.run-installed: requirements.txt requirements-sandbox.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements.txt -r requirements-sandbox.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-sandbox.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.run-installed
	$(PY) scripts/run_dev.py

system-packages:
	bash scripts/install-system-packages.sh

test: system-packages $(VENV)/.test-installed
	$(PY) -m pytest

# Performance figures (README "Performance and reliability"); wrk is optional but makes the load generator cheap.
bench: $(VENV)/.test-installed
	$(PY) bench/bench_mint.py --alternatives
	$(PY) bench/startup.py

soak: $(VENV)/.test-installed
	$(PY) bench/soak.py --minutes 5

clean:
	rm -rf $(VENV) .pytest_cache
