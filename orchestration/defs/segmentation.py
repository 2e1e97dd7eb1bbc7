"""Segmentation assets: model (selection, fit, stability), assignments, profiles, migrations.

The ML lives in `ml.segmentation`; these assets read the feature mart, call it, write the
results to the warehouse's `ml` schema and put metrics and charts in the asset metadata.
"""

from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from ingest.quarantine_report import upstream_cause
from ml.model_store import ModelStore
from ml.reporting.charts import (
    MAX_SCATTER_POINTS,
    bar_chart,
    segment_scatter,
    selection_chart,
)
from ml.reporting.html_report import segmentation_report, write_report
from ml.segmentation import (
    SegmentationConfig,
    SegmentationModel,
    SelectionConfig,
    train_segmentation,
)
from ml.segmentation.batch import CUSTOMER_SEGMENTS_SCHEMA, SegmentAssignmentBatch
from ml.segmentation.drift import DriftThresholds
from ml.segmentation.features import FEATURE_DESCRIPTIONS, SegmentationFeatures
from ml.segmentation.naming import describe_segment, inconsistencies
from ml.segmentation.profiles import population_profile, segment_profiles
from ml.segmentation.refit import decide_refit
from orchestration.defs.engine import EngineResource, engine_table_metadata
from orchestration.defs.gate import DROP_GATE
from orchestration.defs.landing import DATA_SCIENCE_OWNERS as OWNERS
from orchestration.defs.resources import WAREHOUSE_POOL, InsightsConfig
from orchestration.defs.warehouse import (
    markdown_table,
    restore_model_tables,
    table_metadata,
    write_model_tables,
    write_table,
)

MODEL_KIND = "segmentation"
GROUP = "segmentation"
FEATURES = dg.AssetKey(["marts", "customer_features"])
SEGMENT_ACTIONS = dg.AssetKey(["reference", "segment_actions"])
SEGMENT_MODEL = dg.AssetKey(["ml", "segment_model"])
CUSTOMER_SEGMENTS = dg.AssetKey(["ml", "customer_segments"])
SEGMENT_PROFILES = dg.AssetKey(["ml", "segment_profiles"])
SEGMENT_MIGRATIONS = dg.AssetKey(["ml", "segment_migrations"])
# Migrations are counted after erased customers left the history (orchestration/defs/privacy.py).
ERASED_HISTORY = dg.AssetKey(["privacy", "erased_history"])


class SegmentModelConfig(dg.Config):
    """Segmentation settings, editable in the launchpad."""

    refit: bool = Field(default=False, description="Refit now, even if the model is recent.")
    refit_every_days: int = Field(default=7, description="Refit when the model is this old.")
    pinned_k: int = Field(default=0, description="0: choose k by the rule; else use this k.")
    k_min: int = Field(default=2, description="Smallest k tried.")
    k_max: int = Field(default=12, description="Largest k tried.")
    min_segment_share: float = Field(
        default=0.02, description="A k is eligible only if its smallest segment has this share."
    )
    max_segment_share: float = Field(
        default=0.5,
        description="A k is eligible only if its largest segment has at most this share "
        "(dropped when no k qualifies: one dominant group).",
    )
    silhouette_tolerance: float = Field(
        default=0.02, description="Silhouettes this close to the best tie (CH breaks ties)."
    )
    drift_far_share: float = Field(
        default=0.05, description="Refit when more customers than this are far from every centroid."
    )
    drift_max_psi: float = Field(
        default=0.25, description="Refit when a feature's PSI against training exceeds this."
    )
    bootstrap_rounds: int = Field(default=10, description="Bootstrap refits for stability.")
    stability_floor: float = Field(
        default=0.9, description="The stability check fails below this mean bootstrap ARI."
    )

    def segmentation_config(self) -> SegmentationConfig:
        return SegmentationConfig(
            selection=SelectionConfig(
                k_min=self.k_min,
                k_max=self.k_max,
                min_segment_share=self.min_segment_share,
                max_segment_share=self.max_segment_share,
                silhouette_tolerance=self.silhouette_tolerance,
            ),
            pinned_k=self.pinned_k or None,
        )


def read_features(warehouse: DuckDBResource) -> pd.DataFrame:
    with warehouse.get_connection() as con:
        features = con.execute("select * from marts.customer_features order by customer_id").df()
        cause = upstream_cause(con) if features.empty else ""
    if features.empty:
        raise dg.Failure(
            f"marts.customer_features is empty: there are no customers to segment. {cause}".strip(),
            allow_retries=False,
        )
    return features


def as_of_of(features: pd.DataFrame) -> date:
    return pd.Timestamp(features["as_of_date"].iloc[0]).date()


def load_current_model(store: ModelStore) -> tuple[str, SegmentationModel, dict] | None:
    current = store.load_current(MODEL_KIND)
    if current is None:
        return None
    version, model = current
    return version, model, store.metadata(MODEL_KIND, version)


@dg.asset(
    key=SEGMENT_MODEL,
    deps=[FEATURES, DROP_GATE],
    group_name=GROUP,
    kinds={"sklearn", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "The k-means segmentation model in use. Refits (k selection over k_min..k_max, final "
        "fit, bootstrap stability, id matching, names) when asked, weekly, on feature-set "
        "change or on drift; otherwise keeps the current model. Writes "
        "ml.segment_model_selection and ml.segment_models; the model file is in "
        "INSIGHTS_MODEL_DIR/segmentation."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "stability_above_floor",
            asset=SEGMENT_MODEL,
            description="Mean bootstrap ARI of the model in use is at least stability_floor.",
        )
    ],
)
def segment_model(
    context: dg.AssetExecutionContext,
    config: SegmentModelConfig,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
):
    settings = insights.settings()
    store = ModelStore(settings.model_dir)
    features = read_features(warehouse)
    as_of = as_of_of(features)
    current = load_current_model(store)
    wanted = SegmentationFeatures().fit(features).feature_names_
    drift = None
    if current is not None:
        drift = current[1].drift(
            features, DriftThresholds(config.drift_far_share, config.drift_max_psi)
        )
    decision = decide_refit(
        as_of=as_of,
        trained_as_of=date.fromisoformat(current[2]["trained_as_of"]) if current else None,
        model_features=current[1].feature_names if current else None,
        wanted_features=wanted,
        drift=drift,
        refit_every_days=config.refit_every_days,
        force=config.refit,
    )
    context.log.info(f"Refit: {decision.refit} ({decision.summary()})")

    if decision.refit:
        result = train_segmentation(
            features,
            config.segmentation_config(),
            previous=current[1] if current else None,
            bootstrap_rounds=config.bootstrap_rounds,
        )
        model = result.model
        version = f"seg-{as_of:%Y%m%d}-{model.fingerprint()}"
        metadata = {
            "trained_as_of": as_of.isoformat(),
            "k": model.n_segments,
            "features": model.feature_names,
            "selection_reason": model.selection_.reason,
            "elbow_k": model.selection_.elbow_k,
            "stability_ari": result.stability_ari,
            "mean_stability_ari": result.mean_stability_ari,
            "identity": result.identity_note,
            "training_customers": len(features),
            "refit_reasons": decision.reasons,
        }
        store.save(MODEL_KIND, version, model, metadata)
        store.set_current(MODEL_KIND, version)
        selection = model.selection_.metrics.assign(
            model_version=version, trained_as_of=as_of, reason=model.selection_.reason
        )
        registry_row = pd.DataFrame(
            [
                {
                    "model_version": version,
                    "trained_as_of": as_of,
                    "k": model.n_segments,
                    "features": ", ".join(model.feature_names),
                    "selection_reason": model.selection_.reason,
                    "mean_stability_ari": result.mean_stability_ari,
                    "identity": result.identity_note,
                    "training_customers": len(features),
                    "refit_reasons": decision.summary(),
                    "model_path": str(store.root / MODEL_KIND / f"{version}.joblib"),
                }
            ]
        )
        tables = {"ml.segment_model_selection": selection, "ml.segment_models": registry_row}
        write_model_tables(warehouse, tables, version)
        store.save_tables(MODEL_KIND, version, tables)
    else:
        version, model, metadata = current
        restore_model_tables(warehouse, store, MODEL_KIND, version)

    metrics = model.selection_.metrics
    names = model.segment_names_
    stability = float(metadata["mean_stability_ari"])
    yield dg.MaterializeResult(
        metadata={
            "model_version": version,
            "refit": decision.refit,
            "refit_decision": decision.summary(),
            "chosen_k": model.n_segments,
            "why_this_k": model.selection_.reason,
            "elbow_k": model.selection_.elbow_k or 0,
            "mean_stability_ari": stability,
            "features": dg.MetadataValue.md(
                "\n".join(f"- `{f}`: {FEATURE_DESCRIPTIONS[f]}" for f in model.feature_names)
            ),
            "metrics_per_k": dg.MetadataValue.md(markdown_table(metrics)),
            "selection_chart": dg.MetadataValue.md(selection_chart(metrics)),
            "segments": dg.MetadataValue.md(markdown_table(names)),
            "trained_as_of": metadata["trained_as_of"],
            "model_path": dg.MetadataValue.path(str(store.root / MODEL_KIND / f"{version}.joblib")),
        }
    )
    yield dg.AssetCheckResult(
        check_name="stability_above_floor",
        asset_key=SEGMENT_MODEL,
        passed=stability >= config.stability_floor,
        metadata={"mean_stability_ari": stability, "floor": config.stability_floor},
        description=(f"mean bootstrap ARI {stability:.3f} vs floor {config.stability_floor}"),
    )


@dg.asset(
    key=CUSTOMER_SEGMENTS,
    deps=[SEGMENT_MODEL, FEATURES],
    group_name=GROUP,
    kinds={"sklearn", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Every current customer assigned to a segment by the model in use (new customers the "
        "day they appear): segment id and name, distance to the centroid, margin to the "
        "second-nearest (0 = on the boundary, 1 = at the centroid), PCA coordinates. Also "
        "appends this as-of date to ml.segment_history (re-running a date replaces it)."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "no_empty_segment",
            asset=CUSTOMER_SEGMENTS,
            description="Every segment of the model in use has at least one customer.",
        ),
        dg.AssetCheckSpec(
            "every_customer_assigned_once",
            asset=CUSTOMER_SEGMENTS,
            description="Each customer of marts.customer_features has exactly one segment.",
        ),
    ],
)
def customer_segments(
    context: dg.AssetExecutionContext, insights: InsightsConfig, engine: EngineResource
):
    store = ModelStore(insights.settings().model_dir)
    current = load_current_model(store)
    if current is None:
        raise dg.Failure(
            "no segmentation model: materialise ml/segment_model first", allow_retries=False
        )
    version, model, _ = current
    names = dict(
        zip(model.segment_names_["segment_id"], model.segment_names_["segment_name"], strict=True)
    )
    with engine.get_engine() as sql_engine:
        customers = sql_engine.row_count(FEATURES_TABLE)
        if customers == 0:
            raise dg.Failure(
                f"{FEATURES_TABLE} is empty: there are no customers to segment.",
                allow_retries=False,
            )
        # Assigned batch by batch in the engine's workers: the table never comes here whole.
        sql_engine.map_partitions(
            FEATURES_TABLE,
            "ml.customer_segments",
            SegmentAssignmentBatch(model, version),
            CUSTOMER_SEGMENTS_SCHEMA,
        )
        as_of = sql_engine.sql("select max(as_of_date) as as_of from ml.customer_segments")
        as_of = pd.Timestamp(as_of["as_of"].iloc[0]).date()
        sql_engine.replace_rows(
            "ml.customer_segments",
            "ml.segment_history",
            "as_of_date",
            as_of,
            ["as_of_date", "customer_id", "segment_id", "segment_name", "model_version"],
        )
        metadata = engine_table_metadata(sql_engine, "ml", "customer_segments")
        sizes = sql_engine.sql(
            "select segment_id, segment_name, count(*) as customers from ml.customer_segments "
            "group by segment_id, segment_name order by segment_id, segment_name"
        )
        totals = sql_engine.sql(
            "select count(*) as assignments, count(distinct customer_id) as distinct_customers, "
            "count(segment_id) as with_segment from ml.customer_segments"
        ).iloc[0]
        shown = sql_engine.sample(
            "ml.customer_segments", "customer_id", SCATTER_SEED, MAX_SCATTER_POINTS
        )
    sizes["share"] = sizes["customers"] / int(totals["assignments"])

    yield dg.MaterializeResult(
        metadata={
            **metadata,
            "model_version": version,
            "as_of_date": as_of.isoformat(),
            "segment_sizes": dg.MetadataValue.md(markdown_table(sizes)),
            "pca_scatter": dg.MetadataValue.md(segment_scatter(shown, names)),
        }
    )
    empty = sorted(set(names) - set(sizes["segment_id"]))
    yield dg.AssetCheckResult(
        check_name="no_empty_segment",
        asset_key=CUSTOMER_SEGMENTS,
        passed=not empty,
        metadata={"empty_segments": str(empty), "smallest_segment": int(sizes["customers"].min())},
    )
    assignments = int(totals["assignments"])
    unique = int(totals["distinct_customers"]) == assignments
    complete = assignments == customers == int(totals["with_segment"])
    yield dg.AssetCheckResult(
        check_name="every_customer_assigned_once",
        asset_key=CUSTOMER_SEGMENTS,
        passed=bool(unique and complete),
        metadata={"customers": customers, "assignments": assignments, "unique": bool(unique)},
    )


FEATURES_TABLE = "marts.customer_features"
# Seeds the hash that draws the customers shown in the PCA scatter.
SCATTER_SEED = 0


@dg.asset(
    key=SEGMENT_PROFILES,
    deps=[CUSTOMER_SEGMENTS, FEATURES, SEGMENT_ACTIONS],
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "One row per segment: size, share, revenue share, mean and median of each feature, RFM "
        "segment mix, generated name and description, and the recommended action from the "
        "editable seed reference.segment_actions. Also writes the interactive HTML report."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "names_match_medians",
            asset=SEGMENT_PROFILES,
            description="Every segment's medians meet the requirements of its archetype "
            "(ml/segmentation/naming.py REQUIREMENTS), so name and action fit the segment.",
        )
    ],
)
def segment_profiles_asset(
    context: dg.AssetExecutionContext, insights: InsightsConfig, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    settings = insights.settings()
    store = ModelStore(settings.model_dir)
    version, model, _ = load_current_model(store)
    features = read_features(warehouse)
    with warehouse.get_connection() as con:
        segments = con.execute(
            "select customer_id, segment_id, segment_name, pca_x, pca_y from ml.customer_segments"
        ).df()
        actions = con.execute("select * from reference.segment_actions").df()
    data = features.merge(segments, on="customer_id", validate="one_to_one")
    population = population_profile(features)
    profiles = segment_profiles(data.drop(columns=["segment_id"]), data["segment_id"])
    profiles = profiles.merge(model.segment_names_, on="segment_id", how="left").merge(
        actions, on="archetype", how="left"
    )
    profiles["recommended_action"] = profiles["recommended_action"].fillna(
        "No rule in reference.segment_actions for this archetype: review manually"
    )
    profiles["description"] = [describe_segment(row, population) for _, row in profiles.iterrows()]
    profiles.insert(0, "as_of_date", as_of_of(features))
    profiles["model_version"] = version
    lead = [
        "as_of_date",
        "segment_id",
        "segment_name",
        "archetype",
        "description",
        "recommended_action",
        "channel",
    ]
    profiles = profiles[lead + [c for c in profiles.columns if c not in lead]]

    report_path = settings.report_dir / "segmentation" / f"{as_of_of(features)}.html"
    write_report(
        report_path,
        segmentation_report(
            title=f"Customer segments as of {as_of_of(features)} (model {version})",
            reason=model.selection_.reason,
            metrics=model.selection_.metrics,
            assignments=data[["customer_id", "segment_name", "segment_id", "pca_x", "pca_y"]],
            profiles=profiles,
        ),
    )
    with warehouse.get_connection() as con:
        write_table(con, "ml.segment_profiles", profiles)
        table = table_metadata(con, "ml", "segment_profiles")
    shown = profiles[
        [
            "segment_id",
            "segment_name",
            "customers",
            "share",
            "revenue_share",
            "median_recency_days",
            "median_frequency",
            "median_avg_order_value",
            "recommended_action",
        ]
    ]
    # Names carried over from an older model keep its archetype; today's medians may have moved.
    broken = {
        row["segment_name"]: inconsistencies(row, population, row["archetype"])
        for _, row in profiles.iterrows()
    }
    broken = {name: problems for name, problems in broken.items() if problems}
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="names_match_medians",
                passed=not broken,
                metadata={
                    "inconsistent_segments": dg.MetadataValue.json(broken),
                },
                description="; ".join(f"{name}: {', '.join(p)}" for name, p in broken.items())
                or "every segment meets its archetype's requirements",
            )
        ],
        metadata={
            **table,
            "profiles": dg.MetadataValue.md(markdown_table(shown, float_format="{:,.2f}")),
            "revenue_share_chart": dg.MetadataValue.md(
                bar_chart(
                    profiles["segment_name"].tolist(),
                    profiles["revenue_share"].tolist(),
                    "Revenue share by segment",
                    "share of revenue",
                )
            ),
            "report": dg.MetadataValue.path(str(report_path)),
            "report_url": dg.MetadataValue.url(report_path.as_uri()),
        },
    )


@dg.asset(
    key=SEGMENT_MIGRATIONS,
    deps=[CUSTOMER_SEGMENTS, ERASED_HISTORY],
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "From-segment -> to-segment customer counts between consecutive as-of dates in "
        "ml.segment_history (customers present on both dates)."
    ),
)
def segment_migrations(warehouse: DuckDBResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        con.execute(
            """
            create or replace table ml.segment_migrations as
            with dates as (
                select as_of_date, lag(as_of_date) over (order by as_of_date) as previous_date
                from (select distinct as_of_date from ml.segment_history)
            )
            select
                dates.previous_date as from_as_of_date,
                dates.as_of_date as to_as_of_date,
                before.segment_id as from_segment_id,
                any_value(before.segment_name) as from_segment_name,
                after.segment_id as to_segment_id,
                any_value(after.segment_name) as to_segment_name,
                count(*) as customers
            from dates
            join ml.segment_history as after on after.as_of_date = dates.as_of_date
            join ml.segment_history as before
                on before.as_of_date = dates.previous_date
                and before.customer_id = after.customer_id
            group by all
            order by to_as_of_date, from_segment_id, to_segment_id
            """
        )
        latest = con.execute(
            "select * from ml.segment_migrations where to_as_of_date = "
            "(select max(to_as_of_date) from ml.segment_migrations)"
        ).df()
        metadata = table_metadata(con, "ml", "segment_migrations")
    stayed = latest.loc[latest["from_segment_id"] == latest["to_segment_id"], "customers"].sum()
    total = latest["customers"].sum()
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "latest_transition_stay_share": float(stayed / total) if total else 0.0,
            "latest_transition": dg.MetadataValue.md(
                markdown_table(latest.drop(columns=["from_as_of_date"]))
                if total
                else "_only one as-of date in the history so far_"
            ),
        }
    )


SEGMENTATION_ASSETS = [segment_model, customer_segments, segment_profiles_asset, segment_migrations]
