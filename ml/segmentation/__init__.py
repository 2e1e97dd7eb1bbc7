"""Customer segmentation: k-means on behavioural features, with k chosen by a documented rule,
stable ids across refits, drift detection and generated names."""

from ml.segmentation.model import SegmentationConfig, SegmentationModel
from ml.segmentation.selection import SelectionConfig
from ml.segmentation.training import TrainingResult, train_segmentation

__all__ = [
    "SegmentationConfig",
    "SegmentationModel",
    "SelectionConfig",
    "TrainingResult",
    "train_segmentation",
]
