"""Segment assignment as a function of one batch of customer_features rows, for an engine's
map over partitions (engines/: DuckDB record batches, Spark mapInPandas). Assignment is a
distance to the fitted centroids after the fitted imputation and scaling, so a customer's
segment does not depend on the other rows of its batch."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.segmentation.model import SegmentationModel

# The columns of ml.customer_segments, in order, with their portable types.
CUSTOMER_SEGMENTS_SCHEMA = {
    "customer_id": "string",
    "as_of_date": "date",
    "segment_id": "bigint",
    "segment_name": "string",
    "distance_to_centroid": "double",
    "margin_to_second": "double",
    "pca_x": "double",
    "pca_y": "double",
    "model_version": "string",
}


@dataclass
class SegmentAssignmentBatch:
    """The ml.customer_segments rows of a batch. Picklable, broadcast once to the workers."""

    model: SegmentationModel
    model_version: str

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if batch.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in CUSTOMER_SEGMENTS_SCHEMA})
        batch = batch.reset_index(drop=True)
        assigned = self.model.assign(batch)
        names = self.model.segment_names_
        by_id = dict(zip(names["segment_id"], names["segment_name"], strict=True))
        return pd.DataFrame(
            {
                "customer_id": batch["customer_id"].astype(str),
                "as_of_date": pd.to_datetime(batch["as_of_date"]).dt.date,
                "segment_id": assigned["segment_id"].astype("int64"),
                "segment_name": assigned["segment_id"].map(by_id),
                "distance_to_centroid": assigned["distance_to_centroid"].round(4),
                "margin_to_second": assigned["margin_to_second"].round(4),
                "pca_x": assigned["pca_x"].round(4),
                "pca_y": assigned["pca_y"].round(4),
                "model_version": self.model_version,
            }
        )
