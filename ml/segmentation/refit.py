"""When to refit the segmentation model instead of assigning with the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ml.segmentation.drift import DriftReport


@dataclass(frozen=True)
class RefitDecision:
    refit: bool
    reasons: list[str]

    def summary(self) -> str:
        return "; ".join(self.reasons)


def decide_refit(
    as_of: date,
    trained_as_of: date | None,
    model_features: list[str] | None,
    wanted_features: list[str],
    drift: DriftReport | None,
    refit_every_days: int,
    force: bool = False,
) -> RefitDecision:
    """Refit when asked, when there is no model, when the feature set changed, when the model is
    `refit_every_days` old, or when the customers drifted away from it. Otherwise keep it, so
    segment ids and names stay put between daily runs."""
    reasons = []
    if force:
        reasons.append("refit requested in run config")
    if trained_as_of is None:
        reasons.append("no model yet")
    else:
        if model_features is not None and model_features != wanted_features:
            reasons.append(f"feature set changed ({model_features} -> {wanted_features})")
        age = (as_of - trained_as_of).days
        if age >= refit_every_days:
            reasons.append(f"model is {age} days old (refit every {refit_every_days})")
        if age < 0:
            reasons.append(f"model was trained as of {trained_as_of}, after this as-of date")
        if drift is not None and drift.drifted:
            reasons.append(f"drift: {drift.summary()}")
    if reasons:
        return RefitDecision(True, reasons)
    age = (as_of - trained_as_of).days if trained_as_of else 0
    kept = [f"current model is {age} days old (refit every {refit_every_days})"]
    if drift is not None:
        kept.append(f"no drift: {drift.summary()}")
    return RefitDecision(False, kept)
