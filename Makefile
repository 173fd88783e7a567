# callpipe — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest test-localstack demo bench infra-check audit clean

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
	$(BIN)/pytest -q

test: lint typecheck pytest

# The queues/ integration tests against LocalStack's SQS and S3 (host mode, no Docker), DynamoDB from moto.
test-localstack: $(STAMP)
	bash scripts/localstack.sh test

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
	rm -rf $(VENV) .venv-localstack .mypy_cache .pytest_cache .ruff_cache
