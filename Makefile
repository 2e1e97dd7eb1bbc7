# Two commands for a newcomer: `make run` (demo data -> full refresh) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: install run ui test lint bench model-quality clean

# The venv is rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/dagster-dbt project prepare-and-package --file orchestration/project.py
	touch $@

install: $(VENV)/.installed

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

# Demo data (kept if the landing folder holds your own files), then every asset through Dagster.
run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/insights demo-data --keep-user-data
	$(BIN)/insights run

# The Dagster UI on http://127.0.0.1:3000 over the same warehouse and run history.
ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

test: install
	$(BIN)/pytest

# Not part of the tests: demo data at 100k and 1M customers through the full pipeline, with
# the pandas reference and a daily incremental refresh; writes BENCHMARKS.md (about 30 minutes).
bench: install
	$(BIN)/python -m bench.run --customers 100000 1000000 --write

# Not part of the tests: churn/value quality against a known truth (btyd shapes, one and many
# acquisition cohorts) and on the demo, 10k customers each through the full pipeline (slow).
model-quality: install
	$(BIN)/python -m bench.model_quality --customers 10000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs
