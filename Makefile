# CinemaAbyss developer entry points. `make` alone lists the targets.
# Everything runs without Docker: see README.md, section "Running it".

SHELL := /bin/bash
VENV  := .venv/bin
CLI   := $(VENV)/cinemaabyss
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
# Tests that need no PostgreSQL, Redis or Kafka live in tests/unit (by area beneath it): `make
# test-fast` runs them alone (with the service URLs pointed at closed ports, so a test that
# reaches for a service fails at once).
FAST_TESTS := tests/unit
NO_SERVICES := DATABASE_URL=postgresql+psycopg://nobody@127.0.0.1:9/none REDIS_URL=redis://127.0.0.1:9/0 \
	KAFKA_BROKERS=127.0.0.1:9
# the fuzzing plugins cost seconds of imports and no fast test uses them
FAST_PYTEST := $(NO_SERVICES) $(VENV)/pytest -q -p no:hypothesispytest -p no:schemathesis

.PHONY: help up down status logs test test-fast lint bench clean bootstrap

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## install what is missing (Debian packages, .venv)
	@scripts/bootstrap.sh

up: ## install what is missing, start the whole local stack, print URLs
	@scripts/bootstrap.sh
	@$(CLI) stack up

down: ## stop every process the stack started
	@if [ -x $(CLI) ]; then $(CLI) stack down; else echo "nothing to stop (no .venv)"; fi

status: ## show each service's state and address
	@$(CLI) stack status

logs: ## follow all logs under .run/logs (or: make logs LOGS="kafka monolith")
	@$(CLI) stack logs -f $(LOGS)

test: ## fast tests first, then start PostgreSQL/Redis/Kafka and run the rest (PYTEST_ARGS=... runs only those)
	@scripts/bootstrap.sh --test
ifeq ($(strip $(PYTEST_ARGS)),)
	$(FAST_PYTEST) $(FAST_TESTS)
	@$(CLI) stack infra-up
	$(VENV)/pytest $(addprefix --ignore=,$(FAST_TESTS))
else
	@$(CLI) stack infra-up
	$(VENV)/pytest $(PYTEST_ARGS)
endif

test-fast: ## only the tests that need no services (seconds)
	@scripts/bootstrap.sh
	$(FAST_PYTEST) $(FAST_TESTS)

lint: ## ruff check and the import-layering contracts (setup.cfg [importlinter])
	@scripts/bootstrap.sh
	$(VENV)/ruff check .
	$(VENV)/lint-imports

bench: ## run the benchmarks in bench/
	@scripts/bootstrap.sh
	@if [ -f bench/__main__.py ]; then \
		$(VENV)/python -m bench; \
	else \
		set -e; found=0; for f in bench/*.py; do \
			[ -e "$$f" ] || continue; [ "$$(basename $$f)" = __init__.py ] && continue; \
			found=1; echo "== $$f"; $(VENV)/python "$$f"; \
		done; [ $$found = 1 ] || echo "no benchmarks in bench/ yet"; \
	fi

clean: ## stop everything and delete the stack's data (.run and the PostgreSQL data)
	@if [ -x $(CLI) ]; then $(CLI) stack clean; fi
	rm -rf .run
