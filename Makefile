# The two commands of the README: `make dev` runs Relay, `make test` runs the tests;
# `make lint` runs ruff and mypy as CI does (.ci/run). Each creates .venv and installs the
# project with its pinned dependencies first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint bench install clean console
.DEFAULT_GOAL := install

# The console (console/, SPEC §3.5): npm ci from the committed lockfile, the typed client from the
# app's /openapi.json (scripts/openapi.py, no server), then tsc and vite into console/dist. The stamp
# makes an up-to-date console cost one `find`; any change of its sources or of the API rebuilds it.
CONSOLE_STAMP := console/dist/.built
CONSOLE_SOURCES := $(shell find console/src console/index.html console/package.json console/package-lock.json \
	console/tsconfig.json console/vite.config.ts app workflows -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' \
	-o -name '*.json' -o -name '*.html' -o -name '*.py' \) -not -name 'schema.d.ts' 2>/dev/null)

console/node_modules/.package-lock.json: console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error

$(CONSOLE_STAMP): $(STAMP) console/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	$(BIN)/python scripts/openapi.py console/openapi.json
	cd console && npm run --silent build
	touch $(CONSOLE_STAMP)

console: $(CONSOLE_STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP) $(CONSOLE_STAMP)
	$(BIN)/relay dev $(ARGS)

test: $(STAMP) $(CONSOLE_STAMP)
	cd console && npm test --silent
	$(BIN)/python -m pytest -n 2 $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) .relay console/dist console/node_modules
