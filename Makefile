# Two commands for a newcomer: `make run` (demo data -> full refresh) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: install run ui docs test lint bench model-quality clean

# The venv is rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@mkdir -p data/logs
	@echo "Parsing the dbt project (log: data/logs/dbt-prepare.log)"
	@$(BIN)/dagster-dbt project prepare-and-package --file orchestration/project.py \
		> data/logs/dbt-prepare.log 2>&1 || { cat data/logs/dbt-prepare.log; exit 1; }
	touch $@

install: $(VENV)/.installed

# The instance settings template lives in orchestration/ so that no dagster.yaml sits in the
# working directory of `dg dev` (Dagster warns when one does and DAGSTER_HOME points elsewhere).
$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	@cp orchestration/dagster.yaml $@

# Demo data (kept if the landing folder holds your own files), then every asset through Dagster.
run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/insights demo-data --keep-user-data
	$(BIN)/insights run

# The Dagster UI on http://127.0.0.1:3000 over the same warehouse and run history: `dg dev`
# under a wrapper that makes Ctrl-C stop the webserver, the daemon, the code server and any run
# within 10 s (what has not stopped after 7 s is killed, and named).
ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m orchestration.ui_server -w workspace.yaml -h 127.0.0.1 -p 3000

# dbt's documentation site (models, columns, tests, lineage with the BI and export exposures) on
# http://127.0.0.1:8080, with the warehouse's column types (run `make run` first).
docs: install
	cd dbt_project && ../$(BIN)/dbt docs generate --profiles-dir . --target-path target/docs --quiet
	cd dbt_project && ../$(BIN)/dbt docs serve --profiles-dir . --target-path target/docs \
		--host 127.0.0.1 --port 8080 --no-browser

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
