# callpipe — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest test-slow test-chaos test-localstack demo bench infra-check audit clean \
	console console-check console-build test-console-e2e

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q --ignore=tests/chaos -m "not slow"

# The API fuzzer (schemathesis over every operation), the debug-run secrets scan and the longest WXCC storms: slow,
# so their own target.
test-slow: $(STAMP)
	$(BIN)/pytest -q --ignore=tests/chaos -m slow

# The chaos run (worker processes SIGKILLed under WXCC and OpenAI faults): slow, so its own target, which CI calls.
test-chaos: $(STAMP)
	$(BIN)/pytest -q tests/chaos

# The console's type check, lint and unit tests are quick: part of `make test`; its browser e2e has its own target.
test: lint typecheck console-check pytest

# The queues/ integration tests against LocalStack's SQS and S3 (host mode, no Docker), DynamoDB from moto.
test-localstack: $(STAMP)
	bash scripts/localstack.sh test

# The web console (console/): npm ci from the lockfile, then type check, lint, unit tests and the build (console/dist,
# which the API serves at /). `make test-console-e2e`: the build driven in Chromium (OS package) against `callpipe dev`.
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

console/node_modules/.package-lock.json: console/package-lock.json
	cd console && $(NPM_CI)

console/e2e/node_modules/.package-lock.json: console/e2e/package-lock.json
	cd console/e2e && $(NPM_CI)

console-build: console/node_modules/.package-lock.json
	cd console && npm run build

console-check: console/node_modules/.package-lock.json
	cd console && npm run typecheck
	cd console && npm run lint
	cd console && npm test

console: console-check console-build

test-console-e2e: $(STAMP) console-build console/e2e/node_modules/.package-lock.json
	bash scripts/chromium.sh
	cd console/e2e && node --test --test-concurrency=1 --test-timeout=600000

demo: $(STAMP)
	$(BIN)/callpipe demo

bench: $(STAMP)
	bash scripts/localstack.sh bench

infra-check: $(STAMP)
	bash .ci/infra-check.sh

# Known vulnerabilities of every installed dependency (pip-audit, then the index's project data; see .ci/audit.py).
audit: $(STAMP)
	$(BIN)/python .ci/audit.py --python $(BIN)/python

clean:
	rm -rf $(VENV) .venv-localstack .mypy_cache .pytest_cache .ruff_cache console/node_modules console/dist \
		console/e2e/node_modules console/e2e/screenshots
