# The verbs a newcomer needs. Each target sets up what it uses (a .venv, dependencies).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# apt-get needs root: a newcomer who is not gets sudo in front of it
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test unit lint compat compat-deps test-deps chaos bench soak clean console web-test screenshots

# The web console's build, inside the package (streamhouse/console/dist); rebuilt when web/
# changes. Without npm it is left unbuilt and `/` says how to build it.
CONSOLE  := streamhouse/console/dist/index.html
WEB_DEPS := web/node_modules/.package-lock.json
WEB_SRC  := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

$(STAMP): pyproject.toml compat-tests/requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -r compat-tests/requirements.txt
	touch $(STAMP)

## run: start StreamHouse with the embedded default (SQLite, local folder, WAL under ./data);
## the web console at http://localhost:8080/
run: $(STAMP) $(CONSOLE)
	$(BIN)/streamhouse serve --data-dir ./data

$(WEB_DEPS): web/package-lock.json
	@if command -v npm >/dev/null; then cd web && npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: install Node 20 to build the web console"; fi

$(CONSOLE): $(WEB_DEPS) $(WEB_SRC)
	@if command -v npm >/dev/null; then cd web && npm run --silent build; \
	else echo "npm not found: the web console is not built (/ says how to build it)"; fi

## console: build the web console (web/ → streamhouse/console/dist)
console: $(WEB_DEPS)
	cd web && npm run --silent build

## web-test: type-check the console and run its component tests (Vitest)
web-test: $(WEB_DEPS)
	cd web && npx tsc -b && npx vitest run

## screenshots: the console's pages, taken by the browser tests, into docs/console/
screenshots: $(STAMP) test-deps $(CONSOLE)
	STREAMHOUSE_SCREENSHOTS=docs/console $(BIN)/pytest -q tests/e2e

## lint: ruff, import layering, mypy
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## unit: unit, integration and browser tests (real PostgreSQL at 127.0.0.1:5432, moto S3,
## real processes, the console in Debian's chromium)
unit: $(STAMP) test-deps $(CONSOLE)
	$(BIN)/pytest tests

## test-deps: promtool (Debian's prometheus) for the metrics test, chromium for the console's
test-deps:
	command -v promtool >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq prometheus)
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

## compat-deps: kcat (Debian) and kafkajs (npm) for the client compatibility tests
compat-deps:
	command -v kcat >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq kcat)
	cd compat-tests/kafkajs && npm ci --no-audit --no-fund --silent

## compat: kafka-python, aiokafka, confluent-kafka, kcat and kafkajs against a real server
compat: $(STAMP) compat-deps
	COMPAT_STRICT=1 $(BIN)/pytest -c compat-tests/pytest.ini compat-tests

## test: everything CI runs: lint, the console's own tests, unit/integration/browser, then
## client compatibility
test: lint web-test unit compat

## chaos: the chaos drills at full scale; writes docs/DURABILITY.md
chaos: $(STAMP)
	$(BIN)/python -m chaos.drills --scale full --report docs/DURABILITY.md

## bench: StreamHouse beside Tansu, local folder and S3 (moto), REST produce beside the
## Kafka path, and logins/TLS beside PLAINTEXT; writes docs/BENCHMARKS.md,
## docs/BENCHMARKS-REST.md, docs/BENCHMARKS-AUTH.md and docs/BENCHMARKS-QUOTAS.md
bench: $(STAMP)
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/rest_produce.py --seconds 4 --batch 500
	$(BIN)/python bench/auth.py
	$(BIN)/python bench/quotas.py
	$(BIN)/python bench/tenants.py
	$(BIN)/python bench/rls.py
	$(BIN)/python bench/scale.py

## soak: one agent under mixed load with topic churn for 60 minutes; writes docs/SOAK.md
soak: $(STAMP)
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/soak.py --minutes 60

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache web/node_modules streamhouse/console/dist
