-- Validation metrics of every churn model version and its baselines.
select
    model_version,
    trained_as_of,
    scorer,
    description,
    selected,
    roc_auc,
    pr_auc,
    top_decile_lift,
    brier,
    base_rate,
    rows,
    -- Typed here: pandas writes microsecond or nanosecond timestamps (a fallback model has none).
    cast(validation_cutoff as timestamp) as validation_cutoff,
    cast(calibration_cutoff as timestamp) as calibration_cutoff,
    training_cutoffs,
    horizon_days
from {{ source('ml', 'churn_model_metrics') }}
