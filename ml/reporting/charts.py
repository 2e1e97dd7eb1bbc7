"""Static charts as markdown images: Dagster's UI renders them in asset metadata."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

MAX_SCATTER_POINTS = 3000


def markdown_image(figure: plt.Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"![{alt}](data:image/png;base64,{encoded})"


def selection_chart(metrics: pd.DataFrame) -> str:
    """Elbow (inertia) and silhouette per k, the chosen k marked."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    chosen = metrics.loc[metrics["chosen"], "k"]
    left.plot(metrics["k"], metrics["inertia"], marker="o")
    left.set(title="Elbow: inertia by k", xlabel="k", ylabel="inertia")
    right.plot(metrics["k"], metrics["silhouette"], marker="o", color="tab:green")
    right.set(title="Silhouette by k (sampled)", xlabel="k", ylabel="silhouette")
    for axis in (left, right):
        for k in chosen:
            axis.axvline(k, color="tab:red", linestyle="--", linewidth=1, label=f"chosen k = {k}")
        axis.grid(alpha=0.3)
    right.legend(loc="best")
    return markdown_image(figure, "k selection")


def segment_scatter(assignments: pd.DataFrame, names: dict[int, str], seed: int = 0) -> str:
    """PCA projection of customers coloured by segment (a sample for large populations)."""
    sample = assignments
    if len(sample) > MAX_SCATTER_POINTS:
        sample = sample.sample(MAX_SCATTER_POINTS, random_state=seed)
    figure, axis = plt.subplots(figsize=(7, 5))
    for segment_id, group in sample.groupby("segment_id"):
        axis.scatter(
            group["pca_x"],
            group["pca_y"],
            s=6,
            alpha=0.6,
            label=f"{segment_id}: {names.get(segment_id, '')}",
        )
    axis.set(
        title="Customers by segment (PCA of the model's features)", xlabel="PC 1", ylabel="PC 2"
    )
    axis.legend(fontsize=7, markerscale=2, loc="best")
    axis.grid(alpha=0.3)
    return markdown_image(figure, "segments in PCA space")


def bar_chart(labels: list[str], values: list[float], title: str, xlabel: str) -> str:
    figure, axis = plt.subplots(figsize=(7, 0.35 * len(labels) + 1))
    positions = np.arange(len(labels))
    axis.barh(positions, values)
    axis.set_yticks(positions, labels)
    axis.invert_yaxis()
    axis.set(title=title, xlabel=xlabel)
    axis.grid(alpha=0.3, axis="x")
    return markdown_image(figure, title)


def roc_chart(
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    title: str,
    weights: np.ndarray | None = None,
) -> str:
    """ROC curves of several scorers on the same validation rows. Pass the scores and row
    weights the metrics table uses, so the legend's AUC is the table's."""
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, axis = plt.subplots(figsize=(5.5, 5))
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, score, sample_weight=weights)
        auc = roc_auc_score(y, score, sample_weight=weights)
        axis.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axis.set(title=title, xlabel="false positive rate", ylabel="true positive rate")
    axis.legend(fontsize=8, loc="lower right")
    axis.grid(alpha=0.3)
    return markdown_image(figure, "ROC curves")


def calibration_chart(table: pd.DataFrame, title: str) -> str:
    """Observed churn rate against mean predicted probability per decile."""
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    axis.plot(table["mean_predicted"], table["observed_rate"], marker="o", label="model")
    axis.set(title=title, xlabel="mean predicted probability", ylabel="observed churn rate")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.legend(loc="upper left")
    axis.grid(alpha=0.3)
    return markdown_image(figure, "calibration")


def hit_rate_chart(metrics: pd.DataFrame, ks: tuple[int, ...], title: str) -> str:
    """Hit rate@k per method (grouped bars), the baseline among them."""
    figure, axis = plt.subplots(figsize=(6.5, 0.6 * len(metrics) * len(ks) + 1.2))
    positions = np.arange(len(metrics))
    height = 0.8 / len(ks)
    for i, k in enumerate(ks):
        values = metrics[f"hit_at_{k}"].fillna(0).to_numpy()
        bars = axis.barh(positions + i * height, values, height, label=f"hit rate@{k}")
        axis.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    axis.set_yticks(positions + height * (len(ks) - 1) / 2, metrics["method"].tolist())
    axis.invert_yaxis()
    axis.set_xlim(0, 1.1)
    axis.set(title=title, xlabel="share of customers with a new category in the top k")
    axis.legend(loc="lower right", fontsize=8)
    axis.grid(alpha=0.3, axis="x")
    return markdown_image(figure, title)
