"""Marketing audience exports: one file per segment plus action audiences, CSV and Parquet.

Layout under the export folder::

    <as_of>            -> .versions/<as_of>-<id>   (a symlink, swapped atomically)
    .versions/<as_of>-<id>/
        segment_<id>_<name>.csv / .parquet
        at_risk_high_value.csv / .parquet
        overdue_replenishment.csv / .parquet
        replenishment_due_7d.csv / .parquet
        season_starting_30d.csv / .parquet
        manifest.json

A run writes a complete new version folder, then replaces the `<as_of>` link in one rename, so
readers see the old export or the new one, never a mix, and a killed run leaves the old one.
Re-running an as-of date writes byte-identical data files (rows sorted by customer id) and a
manifest that differs only in `generated_at`.

CSV cells that a spreadsheet would run as a formula (text starting with ``= + - @``, a tab or a
carriage return: the OWASP CSV-injection rule) are written with a leading ``'``, so an id or a
category name such as ``=HYPERLINK(...)`` opens as text. Only text columns are touched: a
negative number in a numeric column is a number, not a formula. Parquet keeps the raw values.

Only customers with marketing consent are exported. Raw e-mail addresses are never written
unless `include_raw_email` is set; `email_sha256` is the SHA-256 of the trimmed, lower-cased
address, the form ad platforms accept for customer-match audiences.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from publishing.failpoints import failpoint
from publishing.serving import PublishError

SCHEMA_VERSION = "1.0"
VERSIONS = ".versions"
FORMATS = ("csv", "parquet")
# OWASP CSV injection: a cell starting with one of these is a formula to Excel/LibreOffice/Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
AUDIENCE_COLUMNS = [
    "customer_id",
    "segment",
    "churn_tier",
    "value_12m",
    "revenue_last_365d",
    "recommended_action",
    "recommended_categories",
    # Where to send the message (customer_360: the customer's own consented channel, else the
    # segment's); exported customers have consent, the channel is one they may be reached on.
    "preferred_channel",
]


@dataclass(frozen=True)
class ExportPolicy:
    include_email_sha256: bool = True
    include_raw_email: bool = False
    # Consent when the customers file has no (or an empty) marketing_opt_in for a customer.
    consent_when_unknown: bool = False
    # "High value" for the at-risk audience: revenue in the last year in this top quantile of
    # active buyers.
    high_value_quantile: float = 0.8
    keep_export_dates: int = 30


def email_sha256(email: str | None) -> str | None:
    if email is None or (isinstance(email, float) and np.isnan(email)):
        return None
    normalised = str(email).strip().lower()
    return hashlib.sha256(normalised.encode()).hexdigest() if normalised else None


def consenting(customers: pd.DataFrame, policy: ExportPolicy) -> pd.Series:
    opt_in = customers["marketing_opt_in"]
    return opt_in.fillna(policy.consent_when_unknown).astype(bool)


OVERDUE_COLUMNS = ("overdue_since", "days_overdue", "expected_next_order_date")
# Category-level reminders (README "Behaviour"): customer_360 column of the category and of its
# date -> the audience's `category` and date columns, and the window in days from the as-of date.
REPLENISHMENT_DUE = ("next_due_category", "next_due_date", "due_date", 7)
SEASON_STARTING = ("next_seasonal_category", "next_season_start", "season_start", 30)


def build_audiences(customers: pd.DataFrame, policy: ExportPolicy) -> dict[str, pd.DataFrame]:
    """Audience name -> rows. `customers`: customer_360 columns plus `email`."""
    allowed = customers[consenting(customers, policy)].sort_values("customer_id", kind="stable")
    frame = pd.DataFrame(
        {
            "customer_id": allowed["customer_id"],
            "segment": allowed["segment_name"],
            "churn_tier": allowed["risk_tier"],
            "value_12m": allowed["value_12m"].round(2),
            "revenue_last_365d": allowed["revenue_last_365d"].round(2),
            "recommended_action": allowed["recommended_action"],
            "recommended_categories": _join_categories(allowed),
            "preferred_channel": allowed.get(
                "preferred_channel", pd.Series(None, index=allowed.index, dtype=object)
            ),
        }
    )
    if policy.include_email_sha256:
        frame["email_sha256"] = allowed["email"].map(email_sha256)
    if policy.include_raw_email:
        frame["email"] = allowed["email"]
    audiences: dict[str, pd.DataFrame] = {}
    for (segment_id, name), group in frame.groupby(
        [allowed["segment_id"], allowed["segment_name"]], sort=True
    ):
        audiences[f"segment_{int(segment_id)}_{_slug(name)}"] = group
    active = customers["risk_tier"].isin(["low", "medium", "high"])
    threshold = customers.loc[active, "revenue_last_365d"].quantile(policy.high_value_quantile)
    at_risk = (allowed["risk_tier"] == "high") & (allowed["revenue_last_365d"] >= threshold)
    audiences["at_risk_high_value"] = frame[at_risk.to_numpy()]
    overdue = allowed["overdue"].fillna(False).astype(bool) & (allowed["risk_tier"] != "lost")
    # Since when and by how much each is overdue, and the next date on their cycle: what the
    # replenishment message and its timing are built from.
    overdue_rows = frame[overdue.to_numpy()].copy()
    for column in OVERDUE_COLUMNS:
        if column in allowed:
            overdue_rows[column] = allowed.loc[overdue, column]
    audiences["overdue_replenishment"] = overdue_rows
    # Per category, before the date: a category due on its own cycle in the next 7 days (the
    # overdue audience above is the customer's whole order rhythm, already past due), and a
    # seasonal category whose season starts in the next 30 days.
    audiences["replenishment_due_7d"] = _upcoming(frame, allowed, *REPLENISHMENT_DUE)
    audiences["season_starting_30d"] = _upcoming(frame, allowed, *SEASON_STARTING)
    return {name: rows.reset_index(drop=True) for name, rows in audiences.items()}


def _upcoming(
    frame: pd.DataFrame,
    allowed: pd.DataFrame,
    category_column: str,
    date_column: str,
    exported_date: str,
    days: int,
) -> pd.DataFrame:
    """Rows whose `date_column` falls in [as-of date, as-of date + days), with the category and
    the date. Without those columns (an older customer_360) the audience is empty."""
    if date_column not in allowed or "as_of_date" not in allowed:
        rows = frame.iloc[0:0].copy()
        rows["category"] = pd.Series(dtype=object)
        rows[exported_date] = pd.Series(dtype=object)
        return rows
    when = pd.to_datetime(allowed[date_column])
    as_of = pd.to_datetime(allowed["as_of_date"])
    upcoming = ((when >= as_of) & (when < as_of + pd.Timedelta(days=days))).to_numpy()
    rows = frame[upcoming].copy()
    rows["category"] = allowed.loc[upcoming, category_column]
    rows[exported_date] = when[upcoming].dt.date
    return rows


@dataclass
class ExportResult:
    folder: Path
    link: Path
    files: list[dict]
    excluded_without_consent: int


def write_exports(
    audiences: dict[str, pd.DataFrame],
    export_dir: Path,
    as_of: str,
    model_versions: dict[str, str | None],
    policy: ExportPolicy,
    excluded_without_consent: int = 0,
) -> ExportResult:
    export_dir = Path(export_dir)
    versions = export_dir / VERSIONS
    try:
        versions.mkdir(parents=True, exist_ok=True)
        remove_partial_folders(export_dir)
        folder = versions / f"{as_of}-{uuid.uuid4().hex[:8]}"
        building = folder.with_name(folder.name + ".partial")
        building.mkdir()
    except OSError as exc:
        raise PublishError(
            f"cannot write exports under {export_dir}: {exc.strerror or exc}"
        ) from exc
    try:
        files = _write_files(audiences, building)
        manifest = {
            "as_of": as_of,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "schema_version": SCHEMA_VERSION,
            "model_versions": model_versions,
            "policy": asdict(policy),
            "excluded_without_consent": excluded_without_consent,
            "columns": AUDIENCE_COLUMNS
            + (["email_sha256"] if policy.include_email_sha256 else [])
            + (["email"] if policy.include_raw_email else []),
            "files": files,
        }
        (building / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        failpoint("export:files_written")
        building.rename(folder)
        link = export_dir / as_of
        _swap_link(link, Path(VERSIONS) / folder.name)
    except BaseException as exc:
        # Nothing of a failed export stays behind (a killed one is removed by the next run).
        shutil.rmtree(building, ignore_errors=True)
        if not (export_dir / as_of).is_symlink() or os.readlink(export_dir / as_of) != str(
            Path(VERSIONS) / folder.name
        ):
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, OSError):
            raise PublishError(
                f"cannot write exports under {export_dir}: {exc.strerror or exc}"
            ) from exc
        raise
    prune_exports(export_dir, policy.keep_export_dates)
    return ExportResult(folder, link, files, excluded_without_consent)


def _write_files(audiences: dict[str, pd.DataFrame], folder: Path) -> list[dict]:
    con = duckdb.connect()
    files = []
    try:
        for name, rows in sorted(audiences.items()):
            for file_format in FORMATS:
                path = folder / f"{name}.{file_format}"
                safe = neutralise_formulas(rows) if file_format == "csv" else rows
                con.register("audience", safe)
                options = "(format parquet)" if file_format == "parquet" else "(header)"
                con.execute(
                    f"copy (select * from audience order by customer_id) to '{path}' {options}"
                )
                files.append(
                    {
                        "file": path.name,
                        "audience": name,
                        "format": file_format,
                        "rows": len(rows),
                        "sha256": _sha256(path),
                    }
                )
                con.unregister("audience")
    finally:
        con.close()
    return files


def neutralise_formulas(rows: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as spreadsheet formulas: `'` before a cell that starts
    with = + - @, tab or carriage return. Numeric columns are left alone (-5.0 is a number)."""
    safe = rows.copy()
    for column in safe.columns:
        if pd.api.types.is_numeric_dtype(safe[column]) or pd.api.types.is_bool_dtype(safe[column]):
            continue
        safe[column] = safe[column].map(
            lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
        )
    return safe


def _swap_link(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old one)."""
    temp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.link")
    os.symlink(target, temp)
    failpoint("export:before_swap")
    os.replace(temp, link)


def remove_partial_folders(export_dir: Path) -> list[Path]:
    """Version folders a failed or killed export was still writing."""
    versions = Path(export_dir) / VERSIONS
    partial = list(versions.glob("*.partial")) if versions.exists() else []
    for folder in partial:
        shutil.rmtree(folder, ignore_errors=True)
    return partial


def prune_exports(export_dir: Path, keep: int) -> list[str]:
    """Keep the newest `keep` as-of dates; delete version folders no link points at (older
    versions of re-run dates, partial folders of killed runs)."""
    export_dir = Path(export_dir)
    links = sorted((p for p in export_dir.iterdir() if p.is_symlink()), key=lambda p: p.name)
    removed = []
    for link in links[: max(0, len(links) - keep)]:
        link.unlink()
        removed.append(link.name)
    for stray in export_dir.glob(".*.link"):
        stray.unlink(missing_ok=True)
    live = {os.path.realpath(p) for p in export_dir.iterdir() if p.is_symlink()}
    versions = export_dir / VERSIONS
    if versions.exists():
        for folder in versions.iterdir():
            if os.path.realpath(folder) not in live:
                shutil.rmtree(folder, ignore_errors=True)
    return removed


def purge_customers(
    export_dir: Path, is_erased: Callable[[pd.DataFrame], pd.Series], note: str
) -> dict[str, int]:
    """Remove erased customers from every export still on disk: each affected as-of date gets a
    new version folder without them (swapped in like any export). `is_erased` gets an audience's
    rows (customer_id, email_sha256, ...) and says which to drop. Returns rows removed per
    as-of date."""
    export_dir = Path(export_dir)
    removed: dict[str, int] = {}
    if not export_dir.exists():
        return removed
    for link in sorted(p for p in export_dir.iterdir() if p.is_symlink()):
        folder = link.resolve()
        manifest = json.loads((folder / "manifest.json").read_text())
        audiences, dropped = {}, 0
        con = duckdb.connect()
        try:
            for entry in manifest["files"]:
                if entry["format"] != "parquet":
                    continue
                rows = con.execute(f"select * from '{folder / entry['file']}'").df()
                erased = is_erased(rows).to_numpy(dtype=bool)
                dropped += int(erased.sum())
                audiences[entry["audience"]] = rows[~erased].reset_index(drop=True)
        finally:
            con.close()
        if not dropped:
            continue
        new = folder.with_name(f"{link.name}-{uuid.uuid4().hex[:8]}")
        building = new.with_name(new.name + ".partial")
        building.mkdir()
        try:
            manifest["files"] = _write_files(audiences, building)
            manifest["erasure_applied"] = note
            (building / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            building.rename(new)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _swap_link(link, Path(VERSIONS) / new.name)
        shutil.rmtree(folder, ignore_errors=True)
        removed[link.name] = dropped
    return removed


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _join_categories(customers: pd.DataFrame) -> pd.Series:
    """The customer's recommended categories as one text ("Socks, Water bottles"), if any."""
    columns = [c for c in customers.columns if c.startswith("recommended_category_")]
    if not columns:
        return pd.Series(None, index=customers.index, dtype=object)
    joined = customers[sorted(columns)].apply(
        lambda row: ", ".join(str(v) for v in row if isinstance(v, str) and v), axis=1
    )
    return joined.where(joined != "", None)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")
