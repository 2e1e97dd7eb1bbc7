"""Deterministic demo data with planted customer behaviour (personas, seasonality, churn)."""

from demo_data.generator import DemoDataset, generate
from demo_data.writer import DEMO_MARKER, LandingNotEmptyError, write_dataset

__all__ = ["DEMO_MARKER", "DemoDataset", "LandingNotEmptyError", "generate", "write_dataset"]
