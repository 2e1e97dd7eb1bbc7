"""The churn model's validation metrics per country and acquisition channel.

A group is flagged when its ROC AUC differs from the whole validation set by more than
`auc_margin`, or its calibration gap (mean predicted minus observed churn rate) differs from
the whole set's by more than `calibration_margin`. Groups with fewer than `min_rows` rows or a
single class are listed but not evaluated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

GROUP_COLUMNS = ("country", "acquisition_channel")


def fairness_audit(
    validation: pd.DataFrame,
    y_column: str = "churned_actual",
    probability_column: str = "churn_probability",
    auc_margin: float = 0.05,
    calibration_margin: float = 0.05,
    min_rows: int = 50,
) -> pd.DataFrame:
    y = validation[y_column].to_numpy(dtype=int)
    p = validation[probability_column].to_numpy(dtype=float)
    overall_auc = float(roc_auc_score(y, p))
    overall_gap = float(p.mean() - y.mean())
    rows = []
    for column in GROUP_COLUMNS:
        if column not in validation.columns or validation[column].isna().all():
            continue
        for value, group in validation.groupby(validation[column].fillna("(unknown)")):
            gy = group[y_column].to_numpy(dtype=int)
            gp = group[probability_column].to_numpy(dtype=float)
            evaluable = len(group) >= min_rows and len(np.unique(gy)) == 2
            auc = float(roc_auc_score(gy, gp)) if evaluable else float("nan")
            gap = float(gp.mean() - gy.mean())
            reasons = []
            if evaluable and abs(auc - overall_auc) > auc_margin:
                reasons.append(f"AUC {auc:.3f} vs {overall_auc:.3f} overall")
            if evaluable and abs(gap - overall_gap) > calibration_margin:
                reasons.append(f"calibration gap {gap:+.3f} vs {overall_gap:+.3f} overall")
            rows.append(
                {
                    "attribute": column,
                    "group_value": str(value),
                    "rows": len(group),
                    "churn_rate": float(gy.mean()),
                    "mean_predicted": float(gp.mean()),
                    "roc_auc": auc,
                    "calibration_gap": gap,
                    "evaluated": evaluable,
                    "flagged": bool(reasons),
                    "flag_reason": "; ".join(reasons)
                    if reasons
                    else ("" if evaluable else "too small to evaluate"),
                }
            )
    return pd.DataFrame(rows)
