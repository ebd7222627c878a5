# CinemaAbyss developer entry points. `make` alone lists the targets.
# Everything runs without Docker: see README.md, section "Running it".

SHELL := /bin/bash
VENV  := .venv/bin
CLI   := $(VENV)/cinemaabyss
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help up down status logs test lint bench clean bootstrap

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

test: ## bootstrap for tests, start PostgreSQL/Redis/Kafka, run pytest (PYTEST_ARGS=...)
	@scripts/bootstrap.sh --test
	@$(CLI) stack infra-up
	$(VENV)/pytest $(PYTEST_ARGS)

lint: ## ruff check
	@scripts/bootstrap.sh
	$(VENV)/ruff check .

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
