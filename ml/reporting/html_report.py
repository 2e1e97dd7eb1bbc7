"""Self-contained interactive HTML reports (Plotly, with the library inlined: works offline)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_SCATTER_POINTS = 20_000


def segmentation_report(
    title: str,
    reason: str,
    metrics: pd.DataFrame,
    assignments: pd.DataFrame,
    profiles: pd.DataFrame,
    seed: int = 0,
) -> str:
    selection = make_subplots(rows=1, cols=2, subplot_titles=("Elbow: inertia", "Silhouette"))
    selection.add_trace(
        go.Scatter(x=metrics["k"], y=metrics["inertia"], mode="lines+markers", name="inertia"), 1, 1
    )
    selection.add_trace(
        go.Scatter(
            x=metrics["k"], y=metrics["silhouette"], mode="lines+markers", name="silhouette"
        ),
        1,
        2,
    )
    for k in metrics.loc[metrics["chosen"], "k"]:
        selection.add_vline(x=k, line_dash="dash", line_color="red")
    selection.update_layout(height=380, title_text="Choosing k")

    sample = assignments
    if len(sample) > MAX_SCATTER_POINTS:
        sample = sample.sample(MAX_SCATTER_POINTS, random_state=seed)
    scatter = go.Figure()
    for label, group in sample.groupby("segment_name"):
        scatter.add_trace(
            go.Scattergl(
                x=group["pca_x"],
                y=group["pca_y"],
                mode="markers",
                name=str(label),
                marker={"size": 4, "opacity": 0.6},
            )
        )
    scatter.update_layout(
        height=560, title_text="Customers by segment (PCA)", xaxis_title="PC 1", yaxis_title="PC 2"
    )

    sizes = go.Figure(go.Bar(x=profiles["segment_name"], y=profiles["customers"], name="customers"))
    sizes.update_layout(height=380, title_text="Segment sizes")

    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(reason)}</p>",
        selection.to_html(full_html=False, include_plotlyjs=True),
        scatter.to_html(full_html=False, include_plotlyjs=False),
        sizes.to_html(full_html=False, include_plotlyjs=False),
        "<h2>Segment profiles</h2>",
        profiles.to_html(index=False, float_format=lambda v: f"{v:,.2f}", border=0),
        "<h2>Metrics per k</h2>",
        metrics.to_html(index=False, float_format=lambda v: f"{v:,.3f}", border=0),
    ]
    return _page(title, "\n".join(parts))


def write_report(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(content, encoding="utf-8")
    temp.replace(path)
    return path


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;}"
        " table{border-collapse:collapse;font-size:12px}"
        " td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}</style>"
        f"</head><body>{body}</body></html>"
    )
