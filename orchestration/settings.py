"""Where the pipeline reads and writes, and the as-of settings, from environment variables.

Every value has a default under ./data (relative to the working directory) so a fresh clone runs
without configuration. The Dagster resources take these as defaults; the launchpad can override
them per run.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engines import EngineSettings

DEFAULT_DATA_DIR = Path("data")
DEFAULT_CHURN_HORIZON_DAYS = 90
# Rows dated before this are quarantined as date_too_old (any era after it loads as it is).
DEFAULT_MIN_VALID_DATE = "1950-01-01"
# A refresh stops before the models when more than this share of an entity's rows is quarantined.
DEFAULT_MAX_QUARANTINE_SHARE = 0.2
# DuckDB spills joins and aggregations to disk beyond this; dbt's profile reads the same variable.
DEFAULT_DUCKDB_MEMORY_LIMIT = "4GB"
# Amounts beyond this absolute value are quarantined as implausible (they overflow model inputs).
DEFAULT_MAX_ABS_AMOUNT = 1e12


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_path: Path
    as_of: str | None
    churn_horizon_days: int
    min_valid_date: str = DEFAULT_MIN_VALID_DATE
    max_quarantine_share: float = DEFAULT_MAX_QUARANTINE_SHARE
    model_dir: Path = DEFAULT_DATA_DIR / "models"
    report_dir: Path = DEFAULT_DATA_DIR / "reports"
    serving_path: Path = DEFAULT_DATA_DIR / "serving.duckdb"
    export_dir: Path = DEFAULT_DATA_DIR / "exports"
    privacy_dir: Path = DEFAULT_DATA_DIR / "privacy"


def parse_as_of(value: str | None, name: str = "INSIGHTS_AS_OF") -> str | None:
    """A YYYY-MM-DD date, or None (blank) for 'the day after the latest data'."""
    if value is None or not str(value).strip():
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError as exc:
        raise SettingsError(f"{name}={value!r} is not a date in YYYY-MM-DD form") from exc


def parse_horizon(value: str | int | None, name: str = "INSIGHTS_CHURN_HORIZON_DAYS") -> int:
    if value is None or str(value).strip() == "":
        return DEFAULT_CHURN_HORIZON_DAYS
    try:
        days = int(str(value).strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={value!r} is not a whole number of days") from exc
    if not 7 <= days <= 730:
        raise SettingsError(f"{name}={days} is outside the supported 7..730 days")
    return days


def parse_min_valid_date(value: str | None, name: str = "INSIGHTS_MIN_VALID_DATE") -> str:
    """The earliest plausible date, YYYY-MM-DD (blank: 1950-01-01)."""
    return parse_as_of(value, name) or DEFAULT_MIN_VALID_DATE


def parse_quarantine_share(
    value: str | float | None, name: str = "INSIGHTS_MAX_QUARANTINE_SHARE"
) -> float:
    """A share in 0..1 (blank: 0.2); 1 never stops a refresh for quarantined rows."""
    if value is None or str(value).strip() == "":
        return DEFAULT_MAX_QUARANTINE_SHARE
    try:
        share = float(str(value).strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={value!r} is not a number such as 0.2") from exc
    if not 0 <= share <= 1:
        raise SettingsError(f"{name}={share} is outside 0..1 (a share of the rows, 0.2 = 20%)")
    return share


def from_env(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    warehouse = _path(env, "INSIGHTS_WAREHOUSE_PATH", DEFAULT_DATA_DIR / "warehouse.duckdb")
    return Settings(
        landing_dir=_path(env, "INSIGHTS_LANDING_DIR", DEFAULT_DATA_DIR / "landing"),
        warehouse_path=warehouse,
        as_of=parse_as_of(env.get("INSIGHTS_AS_OF")),
        churn_horizon_days=parse_horizon(env.get("INSIGHTS_CHURN_HORIZON_DAYS")),
        min_valid_date=parse_min_valid_date(env.get("INSIGHTS_MIN_VALID_DATE")),
        max_quarantine_share=parse_quarantine_share(env.get("INSIGHTS_MAX_QUARANTINE_SHARE")),
        # Models and reports belong to a warehouse: by default they sit beside it.
        model_dir=_path(env, "INSIGHTS_MODEL_DIR", warehouse.parent / "models"),
        report_dir=_path(env, "INSIGHTS_REPORT_DIR", warehouse.parent / "reports"),
        serving_path=_path(env, "INSIGHTS_SERVING_PATH", warehouse.parent / "serving.duckdb"),
        export_dir=_path(env, "INSIGHTS_EXPORT_DIR", warehouse.parent / "exports"),
        privacy_dir=_path(env, "INSIGHTS_PRIVACY_DIR", warehouse.parent / "privacy"),
    )


def alert_webhook_url(environ: dict[str, str] | None = None) -> str | None:
    """INSIGHTS_ALERT_WEBHOOK_URL, checked: an http:// or https:// URL with a host, or None.
    The error names the variable and the scheme, never the URL (webhook URLs embed secrets)."""
    env = os.environ if environ is None else environ
    value = env.get("INSIGHTS_ALERT_WEBHOOK_URL", "").strip()
    if not value:
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        scheme = f"scheme {parts.scheme!r}" if parts is not None and parts.scheme else "no scheme"
        raise SettingsError(
            f"INSIGHTS_ALERT_WEBHOOK_URL must be an http:// or https:// URL with a host "
            f"(got {scheme}{'' if host else ', no host'})"
        )
    return value


def _path(env: os._Environ[str] | dict[str, str], name: str, default: Path) -> Path:
    return Path(env.get(name) or default).resolve()


def duckdb_memory_limit(environ: dict[str, str] | None = None) -> str:
    """INSIGHTS_DUCKDB_MEMORY_LIMIT (DuckDB syntax: "4GB", "500MB"), for warehouse connections."""
    env = os.environ if environ is None else environ
    value = env.get("INSIGHTS_DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_DUCKDB_MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value, flags=re.IGNORECASE):
        raise SettingsError(
            f"INSIGHTS_DUCKDB_MEMORY_LIMIT={value!r} is not a size such as 4GB or 500MB"
        )
    return value


def max_abs_amount(environ: dict[str, str] | None = None) -> float:
    """INSIGHTS_MAX_ABS_AMOUNT: the largest plausible absolute amount, unit price or order-line
    total (the dbt var `max_abs_amount`); larger or infinite values are quarantined."""
    env = os.environ if environ is None else environ
    value = env.get("INSIGHTS_MAX_ABS_AMOUNT", "").strip()
    if not value:
        return DEFAULT_MAX_ABS_AMOUNT
    try:
        limit = float(value)
    except ValueError as exc:
        raise SettingsError(f"INSIGHTS_MAX_ABS_AMOUNT={value!r} is not a number") from exc
    if not math.isfinite(limit) or limit <= 0:
        raise SettingsError(f"INSIGHTS_MAX_ABS_AMOUNT={value!r} must be a positive finite number")
    return limit


def engine_settings(environ: dict[str, str] | None = None) -> EngineSettings:
    """INSIGHTS_ENGINE (duckdb | spark, default duckdb) and, for Spark, INSIGHTS_SPARK_MASTER
    (default local[2]), INSIGHTS_SPARK_WAREHOUSE_DIR (default spark-warehouse beside the DuckDB
    warehouse) and INSIGHTS_SPARK_CONF (`key=value` pairs separated by `;`)."""
    from engines import ENGINES, EngineSettings

    env = os.environ if environ is None else environ
    name = env.get("INSIGHTS_ENGINE", "").strip().lower() or "duckdb"
    if name not in ENGINES:
        raise SettingsError(f"INSIGHTS_ENGINE={name!r} is not one of {', '.join(ENGINES)}")
    warehouse = _path(env, "INSIGHTS_WAREHOUSE_PATH", DEFAULT_DATA_DIR / "warehouse.duckdb")
    conf: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in env.get("INSIGHTS_SPARK_CONF", "").split(";"))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(
                f"INSIGHTS_SPARK_CONF: {pair!r} is not key=value (pairs separated by ';')"
            )
        conf[key.strip()] = value.strip()
    return EngineSettings(
        name=name,
        duckdb_path=warehouse,
        spark_master=env.get("INSIGHTS_SPARK_MASTER", "").strip() or "local[2]",
        spark_warehouse_dir=_path(
            env, "INSIGHTS_SPARK_WAREHOUSE_DIR", warehouse.parent / "spark-warehouse"
        ),
        spark_conf=conf,
    )
