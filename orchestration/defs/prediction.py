"""Prediction assets: the churn/value model (trained weekly, gated) and daily scores.

The ML lives in `ml.prediction`; these assets read the marts, call it, write results to the
warehouse's `ml` schema and show metrics, ROC/calibration plots and importances in the UI.
"""

from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from engines.base import Engine
from ingest.quarantine_report import upstream_cause
from ml.model_store import ModelStore
from ml.prediction.batch_scoring import CHURN_SCORES_SCHEMA, CustomerScoresBatch
from ml.prediction.btyd_features import FIT_ROWS as BTYD_FIT_ROWS
from ml.prediction.churn import ChurnConfig
from ml.prediction.dataset import CHURN_SAMPLE, VALUE_SAMPLE
from ml.prediction.model import PredictionModel, RiskTiers
from ml.prediction.training import PredictionTrainingResult, train_prediction
from ml.reporting.charts import bar_chart, calibration_chart, roc_chart
from orchestration.defs.engine import EngineResource, engine_table_metadata
from orchestration.defs.gate import DROP_GATE
from orchestration.defs.landing import DATA_SCIENCE_OWNERS as OWNERS
from orchestration.defs.resources import WAREHOUSE_POOL, InsightsConfig
from orchestration.defs.segmentation import FEATURES
from orchestration.defs.warehouse import (
    markdown_table,
    restore_model_tables,
    write_model_tables,
)

MODEL_KIND = "churn"
GROUP = "prediction"
TRAINING_SET = dg.AssetKey(["marts", "churn_training_set"])
TRAINING_TABLE = "marts.churn_training_set"
CHURN_MODEL = dg.AssetKey(["ml", "churn_model"])
CHURN_SCORES = dg.AssetKey(["ml", "churn_scores"])


# Seeds the hash that draws the training samples (changing it draws other customers).
SAMPLE_SEED = 42


class ChurnModelConfig(dg.Config):
    """Churn/value model settings, editable in the launchpad."""

    retrain: bool = Field(default=False, description="Train now, even if the model is recent.")
    refit_every_days: int = Field(default=7, description="Train again when the model is this old.")
    promotion_margin: float = Field(
        default=0.02,
        description="A new model replaces the current one unless its validation AUC is more "
        "than this below the current model's on the same validation rows.",
    )
    active_window_days: int = Field(
        default=365, description="Churn is predicted for buyers with an order in this window."
    )
    max_rows_per_cutoff: int = Field(
        default=20_000,
        description="Training rows sampled per cutoff, for the churn model (labelled active "
        "buyers) and the value model (all customers); 0 uses every row. BENCHMARKS.md measures "
        "the quality effect (100k customers: AUC within 0.003 of using every row).",
    )
    medium_risk_threshold: float = Field(default=0.3, description="Probability for medium risk.")
    high_risk_threshold: float = Field(default=0.6, description="Probability for high risk.")


def sampled_training_set(
    engine: Engine, active_window_days: int, max_rows_per_cutoff: int
) -> pd.DataFrame:
    """The training rows the models use, drawn in the engine so a large customer base is never
    loaded whole: per cutoff, a uniform sample of customers (in_value_sample) and a sample of
    the labelled active buyers (in_churn_sample), each of at most `max_rows_per_cutoff` rows
    (0: all), the lowest hash draws of the customer id (Engine.sample: the same rows on every
    engine). Rows in a fixed order: the fits are deterministic only for identical inputs."""
    cap = max(int(max_rows_per_cutoff), 0)
    draw = {"key": "customer_id", "seed": SAMPLE_SEED, "max_rows": cap}
    value = engine.sample(TRAINING_TABLE, partition_by=["cutoff_date"], **draw)
    churn = engine.sample(
        TRAINING_TABLE,
        partition_by=["cutoff_date"],
        where=f"frequency > 0 and recency_days <= {int(active_window_days)} "
        "and churned is not null",
        **draw,
    )
    keys = ["cutoff_date", "customer_id"]
    in_value = pd.MultiIndex.from_frame(value[keys])
    in_churn = pd.MultiIndex.from_frame(churn[keys])
    churn_only = churn[~in_churn.isin(in_value)]
    rows = pd.concat([value, churn_only], ignore_index=True) if len(churn_only) else value
    rows = rows.sort_values(keys, kind="stable", ignore_index=True)
    drawn = pd.MultiIndex.from_frame(rows[keys])
    rows[VALUE_SAMPLE] = drawn.isin(in_value)
    rows[CHURN_SAMPLE] = drawn.isin(in_churn)
    return rows


def _current(store: ModelStore) -> tuple[str, PredictionModel, dict] | None:
    loaded = store.load_current(MODEL_KIND)
    if loaded is None:
        return None
    version, model = loaded
    return version, model, store.metadata(MODEL_KIND, version)


def _training_decision(
    current: tuple[str, PredictionModel, dict] | None,
    as_of: date,
    config: ChurnModelConfig,
    horizon: int,
) -> tuple[bool, str]:
    if config.retrain:
        return True, "retrain requested in run config"
    if current is None:
        return True, "no model yet"
    metadata = current[2]
    if metadata.get("horizon_days") != horizon:
        return True, f"churn horizon changed ({metadata.get('horizon_days')} -> {horizon} days)"
    trained = date.fromisoformat(metadata["trained_as_of"])
    age = (as_of - trained).days
    if age < 0:
        return True, f"model was trained as of {trained}, after this as-of date"
    if age >= config.refit_every_days:
        return True, f"model is {age} days old (train every {config.refit_every_days})"
    return False, f"current model is {age} days old (train every {config.refit_every_days})"


def _gate(
    result: PredictionTrainingResult,
    margin: float,
    current: tuple[str, PredictionModel, dict] | None = None,
    horizon: int | None = None,
) -> tuple[bool, str]:
    """Use the new model only if it ranks at least as well as recency and is not worse than the
    current model by more than the margin (both on the newest validation cutoff). A BTYD
    fallback (nothing to validate) replaces only a missing model or one for another horizon."""
    if result.churn.fallback:
        if current is not None and current[2].get("horizon_days") == horizon:
            return False, "new model rejected: a fallback does not replace a validated model"
        return True, "fallback model accepted: too little history to train or validate"
    candidate = result.selected_auc
    recency = result.churn.auc("recency")
    tolerance = result.churn.recency_margin
    metrics = result.churn.metrics
    reasons = []
    if candidate < recency - tolerance:
        reasons.append(
            f"AUC {candidate:.3f} is below the recency baseline's {recency:.3f} by more than "
            f"the standard error of the difference ({tolerance:.3f})"
        )
    if "current_model" in set(metrics["scorer"]):
        current = result.churn.auc("current_model")
        if candidate < current - margin:
            reasons.append(
                f"AUC {candidate:.3f} is more than {margin} below the current model's {current:.3f}"
            )
    if reasons:
        return False, "new model rejected: " + "; ".join(reasons)
    return True, f"new model accepted: AUC {candidate:.3f} vs recency baseline {recency:.3f}"


@dg.asset(
    key=CHURN_MODEL,
    deps=[TRAINING_SET, FEATURES, DROP_GATE],
    group_name=GROUP,
    kinds={"sklearn", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Churn (Pareto/NBD, BG/NBD, or calibrated gradient boosting when it clearly ranks "
        "better) and value (gradient boosting or BTYD x Gamma-Gamma) models, trained weekly on "
        "point-in-time snapshots and validated on the newest complete cutoff, weighted to the "
        "scored customers' tenure mix, against recency and RFM baselines. A new model replaces "
        "the current one only through the promotion gate. Writes ml.churn_model_metrics, "
        "ml.churn_calibration, ml.churn_feature_importance, ml.value_model_metrics, "
        "ml.churn_fairness, ml.churn_models."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "model_in_use_beats_recency",
            asset=CHURN_MODEL,
            blocking=True,
            description=(
                "The model that will score customers ranks churners at least as well as sorting "
                "by recency on its validation cutoff (within the bootstrap standard error of the "
                "difference); a rejected new model is explained here."
            ),
        )
    ],
)
def churn_model(
    context: dg.AssetExecutionContext,
    config: ChurnModelConfig,
    insights: InsightsConfig,
    engine: EngineResource,
    warehouse: DuckDBResource,
):
    settings = insights.settings()
    horizon = settings.churn_horizon_days
    store = ModelStore(settings.model_dir)
    with engine.get_engine() as sql_engine:
        as_of = sql_engine.sql("select as_of_date from marts.run_context")["as_of_date"].iloc[0]
    as_of = pd.Timestamp(as_of).date()
    current = _current(store)
    train, why = _training_decision(current, as_of, config, horizon)
    context.log.info(f"Train: {train} ({why})")
    gate_note = "no new model trained"
    if train:
        with engine.get_engine() as sql_engine:
            training_set = sampled_training_set(
                sql_engine, config.active_window_days, config.max_rows_per_cutoff
            )
            # The validation is weighted to the tenure mix of the buyers scored today.
            scoring_tenure = sql_engine.read_table(
                CUSTOMER_FEATURES,
                ["tenure_days"],
                where=f"frequency > 0 and recency_days <= {int(config.active_window_days)}",
            )["tenure_days"].to_numpy(dtype=float)
        # Too little history is not an error: train_prediction falls back to Pareto/NBD.
        result = train_prediction(
            training_set,
            horizon,
            ChurnConfig(
                active_window_days=config.active_window_days,
                max_rows_per_cutoff=config.max_rows_per_cutoff,
            ),
            current_churn=current[1].churn if current else None,
            tiers=RiskTiers(config.medium_risk_threshold, config.high_risk_threshold),
            scoring_tenure=scoring_tenure,
        )
        if result.churn.fallback:
            with warehouse.get_connection() as con:
                cause = upstream_cause(con)
            context.log.warning(f"{result.churn.selection_note} {cause}".strip())
        promote, gate_note = _gate(result, config.promotion_margin, current, horizon)
        version = f"churn-{as_of:%Y%m%d}-{_fingerprint(result)}"
        tables = _training_tables(result, version, as_of, promote, gate_note, horizon)
        write_model_tables(warehouse, tables, version)
        if promote or current is None:
            metadata = _model_metadata(result, as_of, horizon, gate_note)
            store.save(MODEL_KIND, version, result.model, metadata)
            store.save_tables(MODEL_KIND, version, tables)
            store.set_current(MODEL_KIND, version)
        context.log.info(gate_note)
        shown = result
    else:
        shown = None
    version, _, metadata = _current(store)
    restored = restore_model_tables(warehouse, store, MODEL_KIND, version)
    if restored:
        context.log.info(f"Restored {restored} of model {version} from the model store")
    in_use_auc, recency_auc = metadata["selected_auc"], metadata["recency_auc"]
    yield dg.MaterializeResult(
        metadata=_ui_metadata(version, metadata, shown, train, why, gate_note)
    )
    if metadata.get("fallback"):
        # Nothing to validate against: the check says so instead of blocking the scores.
        passed = True
        description = f"{version}: not validated. {metadata['selection_note']}"
    else:
        # Within the standard error of the difference counts as "as well" (not worse).
        margin = float(metadata.get("recency_margin", 0.0))
        passed = bool(in_use_auc >= recency_auc - margin)
        description = (
            f"{version}: AUC {in_use_auc:.3f} vs recency {recency_auc:.3f} "
            f"(tolerance {margin:.3f}). {gate_note}"
        )
    yield dg.AssetCheckResult(
        check_name="model_in_use_beats_recency",
        asset_key=CHURN_MODEL,
        passed=passed,
        metadata={
            "model_in_use": version,
            "validation_auc": _number(in_use_auc),
            "recency_baseline_auc": _number(recency_auc),
            "gate": gate_note,
        },
        description=description,
    )


def _number(value: float | None) -> float | None:
    """JSON-safe: NaN (no validation) becomes None."""
    return None if value is None or value != value else float(value)


def _fingerprint(result: PredictionTrainingResult) -> str:
    import hashlib

    digest = hashlib.sha256(result.churn.metrics.round(10).to_csv(index=False).encode())
    digest.update(result.value_metrics.round(10).to_csv(index=False).encode())
    return digest.hexdigest()[:10]


def _model_metadata(result: PredictionTrainingResult, as_of: date, horizon: int, gate: str) -> dict:
    churn = result.churn
    return {
        "trained_as_of": as_of.isoformat(),
        "horizon_days": horizon,
        "selected_scorer": churn.selected,
        "selection_note": churn.selection_note,
        "selected_auc": _number(result.selected_auc),
        "recency_auc": _number(churn.auc("recency")),
        "recency_margin": churn.recency_margin,
        "split": _split_text(churn),
        "features": churn.features,
        "training_rows": result.training_rows,
        "gate": gate,
        "fallback": churn.fallback,
        "value_selection": result.value_note,
    }


def _split_text(churn) -> str:
    if churn.fallback:
        return "no split: too little labelled history (fallback)"
    return churn.split.describe()


def _training_tables(
    result: PredictionTrainingResult,
    version: str,
    as_of: date,
    promoted: bool,
    gate_note: str,
    horizon: int,
) -> dict[str, pd.DataFrame]:
    churn = result.churn
    split = churn.split
    common = {"model_version": version, "trained_as_of": as_of}
    metrics = churn.metrics.assign(
        **common,
        # NaT, not None: a fallback model has no split, and the columns stay timestamps.
        validation_cutoff=pd.NaT if split is None else split.validation,
        calibration_cutoff=pd.NaT if split is None else split.calibration,
        training_cutoffs="" if split is None else ", ".join(str(c.date()) for c in split.training),
        horizon_days=horizon,
    )
    registry = pd.DataFrame(
        [
            {
                **common,
                "horizon_days": horizon,
                "selected_scorer": churn.selected,
                "selection_note": churn.selection_note,
                "validation_auc": result.selected_auc,
                "recency_auc": churn.auc("recency"),
                "promoted": promoted,
                "gate": gate_note,
                "split": _split_text(churn),
                "features": ", ".join(churn.features),
                "training_rows": result.training_rows,
            }
        ]
    )
    tables = {
        "ml.churn_model_metrics": metrics,
        "ml.churn_calibration": churn.calibration.assign(**common),
        "ml.value_model_metrics": result.value_metrics.assign(**common),
        "ml.churn_fairness": result.fairness.assign(**common),
        "ml.churn_models": registry,
    }
    if churn.importance is not None:
        tables["ml.churn_feature_importance"] = churn.importance.assign(**common)
    # A fallback has no validation: its empty tables would be created untyped.
    return {name: frame for name, frame in tables.items() if len(frame)}


def _ui_metadata(
    version: str,
    metadata: dict,
    result: PredictionTrainingResult | None,
    trained: bool,
    why: str,
    gate: str,
) -> dict:
    out: dict[str, object] = {
        "model_in_use": version,
        "trained_this_run": trained,
        "training_decision": why,
        "gate": gate,
        "selected_scorer": metadata["selected_scorer"],
        "selection_note": metadata["selection_note"],
        "validation_auc": _number(metadata["selected_auc"]),
        "recency_baseline_auc": _number(metadata["recency_auc"]),
        "time_split": metadata["split"],
        "value_selection": metadata.get("value_selection", ""),
    }
    if result is None or result.churn.fallback:
        return out
    churn = result.churn
    y = churn.validation_rows["churned_actual"].to_numpy()
    metrics = churn.metrics[
        ["scorer", "roc_auc", "roc_auc_unweighted", "pr_auc", "brier", "ece", "selected"]
    ]
    out["metrics_vs_baselines"] = dg.MetadataValue.md(markdown_table(metrics))
    out["roc_curves"] = dg.MetadataValue.md(
        roc_chart(
            y,
            churn.validation_scores,
            "ROC on the newest validation cutoff",
            churn.validation_weights,
        )
    )
    selected_calibration = churn.calibration[churn.calibration["scorer"] == churn.selected]
    out["calibration_plot"] = dg.MetadataValue.md(
        calibration_chart(selected_calibration, f"Calibration of {churn.selected}")
    )
    out["calibration_by_decile"] = dg.MetadataValue.md(markdown_table(selected_calibration))
    out["value_model"] = dg.MetadataValue.md(markdown_table(result.value_metrics))
    if churn.importance is not None:
        top = churn.importance.head(15)
        out["feature_importance"] = dg.MetadataValue.md(
            bar_chart(
                top["feature"].tolist(),
                top["auc_drop"].tolist(),
                "Permutation importance",
                "drop in validation ROC AUC",
            )
        )
    flagged = (
        result.fairness[result.fairness["flagged"]] if len(result.fairness) else result.fairness
    )
    out["fairness_flags"] = dg.MetadataValue.md(
        markdown_table(
            flagged[
                ["attribute", "group_value", "rows", "roc_auc", "calibration_gap", "flag_reason"]
            ]
        )
        if len(flagged)
        else "No group differs from the whole by more than the margins."
    )
    out["fairness_flagged_groups"] = len(flagged)
    return out


@dg.asset(
    key=CHURN_SCORES,
    deps=[CHURN_MODEL, FEATURES],
    group_name=GROUP,
    kinds={"sklearn", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Daily scores for every current customer with the model in use: churn probability and "
        "risk tier (active buyers; 'lost' after a year without orders, 'no_orders' for "
        "sign-ups), the top 3 drivers in words (medium and high risk), predicted orders and "
        "revenue in the horizon, 12-month value, expected next order date (never in the past; "
        "null with the reason in next_order_note), overdue_since / days_overdue and the overdue "
        "flag. "
        "Appends the as-of date to ml.score_history (re-running a date replaces it)."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "scores_valid",
            asset=CHURN_SCORES,
            description="One score row per customer, churn probabilities in [0, 1], "
            "predicted revenue never negative.",
        )
    ],
)
def churn_scores(insights: InsightsConfig, engine: EngineResource):
    store = ModelStore(insights.settings().model_dir)
    current = _current(store)
    if current is None:
        raise dg.Failure("no churn model: materialise ml/churn_model first", allow_retries=False)
    version, model, _ = current
    with engine.get_engine() as sql_engine:
        customers = sql_engine.row_count(CUSTOMER_FEATURES)
        if customers == 0:
            raise dg.Failure(
                f"{CUSTOMER_FEATURES} is empty: there are no customers to score.",
                allow_retries=False,
            )
        # The BTYD parameters of today, fitted once on hash-drawn buyers; then every batch of
        # customers is scored in the engine's workers (the table never comes here whole).
        buyers = sql_engine.sample(
            CUSTOMER_FEATURES, "customer_id", SAMPLE_SEED, BTYD_FIT_ROWS, where="frequency > 0"
        )
        scorer = CustomerScoresBatch(model, model.fit_btyd(buyers), version)
        sql_engine.map_partitions(CUSTOMER_FEATURES, "ml.churn_scores", scorer, CHURN_SCORES_SCHEMA)
        as_of = sql_engine.sql("select max(as_of_date) as as_of from ml.churn_scores")
        as_of = pd.Timestamp(as_of["as_of"].iloc[0]).date()
        sql_engine.replace_rows(
            "ml.churn_scores", "ml.score_history", "as_of_date", as_of, HISTORY_COLUMNS
        )
        metadata = engine_table_metadata(sql_engine, "ml", "churn_scores")
        tiers = sql_engine.sql(
            "select risk_tier, count(*) as customers from ml.churn_scores "
            "group by risk_tier order by customers desc, risk_tier"
        )
        # No customer ids in run metadata: the event log is not covered by erasure.
        riskiest = sql_engine.sql(
            "select churn_probability, risk_tier, driver_1, driver_2, driver_3 "
            "from ml.churn_scores where churn_probability is not null "
            "order by churn_probability desc, customer_id limit 10"
        )
        totals = sql_engine.sql(SCORE_TOTALS_SQL).iloc[0]
    yield dg.MaterializeResult(
        metadata={
            **metadata,
            "model_version": version,
            "risk_tiers": dg.MetadataValue.md(markdown_table(tiers)),
            "highest_risk_examples": dg.MetadataValue.md(markdown_table(riskiest)),
            "predicted_revenue_total": float(totals["predicted_revenue_total"]),
            "overdue_customers": int(totals["overdue_customers"]),
            "past_due_customers": int(totals["past_due_customers"]),
        }
    )
    yield dg.AssetCheckResult(
        check_name="scores_valid",
        asset_key=CHURN_SCORES,
        passed=bool(
            int(totals["outside_unit_interval"]) == 0
            and int(totals["distinct_customers"]) == int(totals["rows"]) == customers
            and int(totals["negative_revenue"]) == 0
        ),
        metadata={"customers": customers, "scored": int(totals["scored"])},
    )


CUSTOMER_FEATURES = "marts.customer_features"
HISTORY_COLUMNS = [
    "as_of_date",
    "customer_id",
    "churn_probability",
    "risk_tier",
    "predicted_orders",
    "predicted_revenue",
    "value_12m",
    "model_version",
]
# The run metadata and the scores_valid check, aggregated in the engine (portable SQL).
SCORE_TOTALS_SQL = """
    select count(*) as rows,
           count(distinct customer_id) as distinct_customers,
           count(churn_probability) as scored,
           sum(case when churn_probability < 0 or churn_probability > 1 then 1 else 0 end)
               as outside_unit_interval,
           sum(case when predicted_revenue >= 0 then 0 else 1 end) as negative_revenue,
           coalesce(sum(predicted_revenue), 0) as predicted_revenue_total,
           sum(case when overdue then 1 else 0 end) as overdue_customers,
           count(overdue_since) as past_due_customers
    from ml.churn_scores
"""


PREDICTION_ASSETS = [churn_model, churn_scores]
