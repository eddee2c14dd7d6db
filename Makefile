# Mahnwerk: `make demo` and `make test` do all their own set-up from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Find a Python >= 3.12 that actually runs (pyenv shims may exist for versions that are not active).
PYTHON ?= $(shell for p in python3.13 python3.12 python3 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) $(wildcard /usr/local/bin/python3.1[2-9]) ; do \
	  if $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then command -v $$p || echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help env sysdeps sysdeps-test demo test lint types checks unit pg-tests bench bench-pg serve clean messages e2e-setup
.PHONY: faults bench-peer bench-pages

help:
	@echo "make demo   - set up, migrate, load a demo company, run the collection run, print where to look"
	@echo "make test   - set up, then lint, type check, migrations check and all tests (SQLite and PostgreSQL)"
	@echo "make bench  - performance benchmarks (prints a table)"
	@echo "make bench-pages - every clerk page at 1M invoices against the 150 ms budget (PAGES=\"--invoices N\")"
	@echo "make bench-pg - the collection run on a throw-away PostgreSQL cluster, one worker against two"
	@echo "make faults - SIGKILL during runs and sends, then checks nothing was lost or doubled (a table)"
	@echo "make bench-peer - Tryton's dunning against the collection run on the same items (throw-away venv)"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "Python >= 3.12 not found: install it or run 'make PYTHON=/path/to/python3.12 ...'" >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --inexact --python $(BIN)/python --quiet
	@touch $@

env: $(VENV)/.synced

sysdeps:
	@bash scripts/system_deps.sh runtime

sysdeps-test:
	@bash scripts/system_deps.sh test

demo: env sysdeps
	$(BIN)/mahnwerk migrate --noinput -v 0
	$(BIN)/mahnwerk demo

lint: env
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

types: env
	$(BIN)/mypy

checks: env
	MAHNWERK_DATA_DIR=$$(mktemp -d) $(BIN)/mahnwerk check --fail-level WARNING
	MAHNWERK_DATA_DIR=$$(mktemp -d) $(BIN)/mahnwerk makemigrations --check --dry-run
	MAHNWERK_DATA_DIR=$$(mktemp -d) $(BIN)/python scripts/i18n.py check

unit: env
	$(BIN)/pytest -q

pg-tests: env
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/pytest -q tests/integration tests/scenarios

test: sysdeps-test lint types checks unit pg-tests

bench: env
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/interest.py
	$(BIN)/python benchmarks/insights.py
	$(BIN)/python benchmarks/api.py
	$(BIN)/python benchmarks/web.py
	$(BIN)/python benchmarks/pages.py --invoices 100000
	$(BIN)/python benchmarks/imports.py --invoices 1000000 --debtors 200000
	$(BIN)/python benchmarks/statements.py
	$(BIN)/python benchmarks/channels.py
	$(BIN)/python benchmarks/simulation.py
	$(BIN)/python benchmarks/cli_startup.py

# every clerk page at 1M invoices (200k debtors): p50/p95 and queries against the 150 ms budget
bench-pages: env
	$(BIN)/python benchmarks/pages.py $(PAGES)

bench-pg: env
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/python benchmarks/postgres.py

# SIGKILL during runs and sends on a 10k ledger with a loopback SMTP server (FAULTS="--invoices 1000 --kills 10")
faults: env
	$(BIN)/python benchmarks/faults.py $(FAULTS)

# Tryton's dunning (trytond-account-dunning, -fee) against the collection run on the same N overdue items
bench-peer: env
	$(BIN)/python benchmarks/peer_tryton.py $(PEER)

serve: env
	$(BIN)/mahnwerk migrate --noinput -v 0
	$(BIN)/mahnwerk serve

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

messages: env
	cd src/mahnwerk && MAHNWERK_DATA_DIR=$$(mktemp -d) ../../$(BIN)/mahnwerk makemessages -l de -l lv --no-location --no-obsolete -i "migrations/*"
	$(BIN)/python scripts/i18n.py compile

# Debian's Chromium for the browser tests in tests/e2e (they skip with a notice without it).
e2e-setup:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: /usr/bin/chromium"; \
	else SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$SUDO apt-get update && $$SUDO apt-get install -y chromium; fi
