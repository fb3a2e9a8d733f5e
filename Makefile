# backoffice-ledger — command index. `make` (or `make help`) lists the targets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Test database (scripts/setup-test-db.sh reads the same LEDGER_TEST_DB_* variables).
LEDGER_TEST_DB_HOST ?= 127.0.0.1
LEDGER_TEST_DB_PORT ?= 5432
LEDGER_TEST_DB_USER ?= postgres
LEDGER_TEST_DB_NAME ?= ledger_test
LEDGER_TEST_DATABASE_URL ?= postgresql://$(LEDGER_TEST_DB_USER)@$(LEDGER_TEST_DB_HOST):$(LEDGER_TEST_DB_PORT)/$(LEDGER_TEST_DB_NAME)
export LEDGER_TEST_DB_HOST LEDGER_TEST_DB_PORT LEDGER_TEST_DB_USER LEDGER_TEST_DB_NAME
export LEDGER_TEST_DATABASE_URL

# Directories that are linted; ones that do not exist (yet) are skipped.
LINT_PATHS := $(wildcard domain application projections adapters api tests benchmarks)

.DEFAULT_GOAL := help
.PHONY: help venv run testdb broker browser lint format typecheck contracts unit check config-doc test bench clean infra-tools infra-test clean-tools image image-base image-smoke

help: ## List the targets
	@echo "backoffice-ledger — make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'
	@echo "Variables: PYTHON=$(PYTHON)  LEDGER_TEST_DATABASE_URL=$(LEDGER_TEST_DATABASE_URL)"

venv: $(STAMP) ## Create .venv and install -e .[dev] (re-installs only when pyproject.toml changes)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: venv ## Migrate, load demo data if the store is empty, then serve on 127.0.0.1, port LEDGER_PORT (default 8000)
	$(BIN)/ledger migrate
	$(BIN)/ledger demo --if-empty
	exec $(BIN)/ledger serve

testdb: ## Make sure PostgreSQL is up and the test database exists
	scripts/setup-test-db.sh

lint: venv ## ruff check + ruff format --check
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: venv ## ruff format + ruff check --fix (rewrites files)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

typecheck: venv ## mypy over the five packages
	$(BIN)/mypy

contracts: venv ## import-linter layer and framework contracts
	$(BIN)/lint-imports

unit: venv ## Only tests/unit: no database, no broker, seconds (your inner loop)
	$(BIN)/pytest -q -m unit tests/unit

check: venv ## lint, typecheck, contracts and the unit tests: the fast gate before a commit
	@$(MAKE) --no-print-directory lint typecheck contracts unit

config-doc: venv ## Regenerate docs/configuration.md from the settings classes
	$(BIN)/python scripts/gen-configuration-doc.py

broker: ## Brokers for the ingestion tests: RabbitMQ STOMP on 61613, ActiveMQ on 61614
	scripts/setup-broker.sh
	scripts/setup-activemq.sh

browser: ## Headless Chromium for the browser tests (apt-get, if missing)
	scripts/install-browser.sh

infra-tools: ## Install helm, kubectl, envoy, checkov, python-hcl2, kubernetes-validate, promtool into .tools/
	scripts/install-infra-tools.sh
	scripts/install-promtool.sh

infra-test: venv infra-tools ## Only the infrastructure validations (tests/infra)
	$(BIN)/pytest tests/infra

# Container image (needs a Docker engine; not part of `make test`). BASE_IMAGE defaults to a base
# made locally from Debian packages (no registry needed); BASE_IMAGE=python:3.11-slim-bookworm
# builds on the registry's image instead (image-base then does nothing).
IMAGE      ?= backoffice-ledger:dev
BASE_IMAGE ?= backoffice-ledger-base:bookworm-py311

image-base: ## Local base image from Debian packages (debootstrap), if missing
	@case "$(BASE_IMAGE)" in python:*) exit 0 ;; esac; \
	docker image inspect $(BASE_IMAGE) >/dev/null 2>&1 || scripts/build-base-image.sh $(BASE_IMAGE)

image: image-base ## Build deploy/Dockerfile as IMAGE (default backoffice-ledger:dev) on BASE_IMAGE
	IMAGE=$(IMAGE) BASE_IMAGE=$(BASE_IMAGE) scripts/build-image.sh

image-smoke: ## Every role of IMAGE read-only: /healthz, /readyz, SIGTERM exit 0 (scratch database)
	IMAGE=$(IMAGE) scripts/image-smoke.sh

clean-tools: ## Remove .tools/ (the next infra-tools reinstalls, ~1-2 min)
	rm -rf .tools

test: venv testdb broker browser infra-tools ## lint, typecheck, contracts, then pytest (tests/infra included)
	@$(MAKE) --no-print-directory lint typecheck contracts
	$(BIN)/pytest

bench: venv ## Run the benchmarks
	$(BIN)/python -m benchmarks

clean: ## Remove .venv, build output and tool caches (keeps var/)
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
