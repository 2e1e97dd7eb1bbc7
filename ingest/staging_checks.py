"""The dbt staging checks, run outside dbt on raw tables in any DuckDB connection.

`insights inspect` must judge rows exactly as staging will, without a dbt run. Instead of a
second copy of the rules, this renders the real base models (``dbt_project/models/staging/
base/base_landing__*.sql``) with the real macros (``dbt_project/macros/parsing.sql``) through
Jinja, with ``source()``/``ref()`` pointing at the connection's tables. A change to a staging
rule therefore changes what inspect reports too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import yaml

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
BASE_MODEL_DIR = DBT_PROJECT_DIR / "models" / "staging" / "base"
# portable.sql first: parsing.sql's macros call its engine dispatches (DuckDB's here).
MACRO_FILES = ("portable.sql", "parsing.sql")
# Base models in dependency order (order_items checks against usable orders; orders, lines and
# events are typed in one model and checked in the next).
BASE_MODELS = (
    "base_landing__customers",
    "base_landing__orders_parsed",
    "base_landing__orders",
    "base_landing__order_items_parsed",
    "base_landing__order_items",
    "base_landing__events_parsed",
    "base_landing__events",
)


def project_vars() -> dict[str, Any]:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project.get("vars") or {})


def render_base_model(name: str, variables: dict[str, Any], raw_schema: str = "raw") -> str:
    """The SQL dbt would compile for one base model (not incremental: every raw row)."""

    def var(key: str, default: Any = None) -> Any:
        return variables.get(key, default)

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    env.globals.update(
        var=var,
        # Run values (macros/run_settings.sql) are the ones given here, not the environment's.
        run_setting=var,
        source=lambda _source, table: f"{raw_schema}.{table}",
        ref=lambda model: model,
        config=lambda **_: "",
        # Only feeds config() above (incremental settings), which inspect ignores.
        append_by_batch=dict,
        is_incremental=lambda: False,
        this=name,
        # dbt's adapter.dispatch picks `duckdb__<name>`, else `default__<name>`; `return` hands a
        # dispatched macro's text back to the calling macro.
        adapter=_DuckDBDispatch(env),
        **{"return": lambda value: value},
    )
    for macro_file in MACRO_FILES:
        module = env.from_string(
            (DBT_PROJECT_DIR / "macros" / macro_file).read_text(encoding="utf-8")
        ).module
        env.globals.update({n: getattr(module, n) for n in dir(module) if not n.startswith("_")})
    return env.from_string((BASE_MODEL_DIR / f"{name}.sql").read_text(encoding="utf-8")).render()


class _DuckDBDispatch:
    """The part of dbt's `adapter` the macros use: dispatch to the DuckDB implementation."""

    def __init__(self, env: jinja2.Environment) -> None:
        self._env = env

    def dispatch(self, name: str, _namespace: str | None = None) -> Any:
        for prefix in ("duckdb__", "default__"):
            if prefix + name in self._env.globals:
                return self._env.globals[prefix + name]
        raise KeyError(f"no DuckDB or default implementation of macro {name!r}")


def create_base_views(
    con: duckdb.DuckDBPyConnection,
    min_valid_date: str,
    run_date: str | None = None,
    raw_schema: str = "raw",
    mapping_vars: dict[str, Any] | None = None,
) -> None:
    """Temp views base_landing__<entity> over ``raw_schema``: each raw row typed, with the
    reason staging would quarantine it (null when usable). `mapping_vars`: the dbt vars of
    mapping.yaml (ingest.mapping.dbt_vars: per-entity min_date, ...), as the pipeline passes."""
    variables = {**project_vars(), **(mapping_vars or {})}
    variables["min_valid_date"] = min_valid_date
    variables["run_date"] = run_date or datetime.now(UTC).date().isoformat()
    for name in BASE_MODELS:
        sql = render_base_model(name, variables, raw_schema)
        con.execute(f"create or replace temp view {name} as {sql}")
