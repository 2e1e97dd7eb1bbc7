"""The dbt-duckdb plugin that attaches the warehouse file when dbt connects (profiles.yml, `dev`).

dbt-core re-parses the whole project whenever the connection settings of the profile change (it
hashes them for partial parsing), and a DuckDB profile's `path` is the warehouse file: every
run against another warehouse (each test, another deployment) would pay a full parse. So the
profile connects to an in-memory database and names only the warehouse's catalog (the file's
stem, which the models' views reference); this plugin, which the profile configures the same
way for every path, attaches the file under that name. dbt writes exactly the file it wrote
before, with the same catalog name, spill folder and default schema.

Imported by dbt-duckdb inside the dbt process; needs nothing but dbt-duckdb and duckdb.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

# Where the warehouse path comes from when the profile's `path` (--vars warehouse_path) is
# blank, in this order: Dagster sets the first, a user the second.
PATH_ENV_VARS = ("INSIGHTS_DBT_WAREHOUSE_PATH", "INSIGHTS_WAREHOUSE_PATH")
DEFAULT_PATH = "../data/warehouse.duckdb"


def warehouse_path(configured: str | None, environ: dict[str, str] | None = None) -> str:
    """The warehouse file: --vars warehouse_path, else the first env var set, else the default
    (relative paths are relative to dbt's working directory, the dbt project)."""
    if configured:
        return configured
    environ = os.environ if environ is None else environ
    return next((environ[name] for name in PATH_ENV_VARS if environ.get(name)), DEFAULT_PATH)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.path = warehouse_path(plugin_config.get("path"))
        if self.creds is None or not self.creds.database:
            raise ValueError("the warehouse plugin needs the profile's `database` (the catalog)")
        self.catalog = self.creds.database
        # The profile's placeholder entry for this catalog only satisfies dbt-duckdb's check
        # that `database` is an attached catalog; drop it (dbt has hashed the profile by now):
        # dbt-duckdb writes `attach ... as <alias>` unquoted, which is a syntax error for a
        # file named after an SQL keyword (full.duckdb), and the file is attached below.
        self.creds.attach = [
            entry for entry in self.creds.attach or [] if entry.alias != self.catalog
        ] or None

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.execute(f"attach {_literal(self.path)} as {_identifier(self.catalog)}")
        # DuckDB spills beside a database file (<file>.tmp), but into ./.tmp for an in-memory
        # main database: keep the warehouse's spill folder.
        conn.execute(f"set temp_directory = {_literal(self.path + '.tmp')}")
        conn.execute(f"use {_identifier(self.catalog)}")

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # Each dbt cursor is a new DuckDB connection, which starts in the main catalog.
        cursor.execute(f"use {_identifier(self.catalog)}")
