"""Churn, value and next-purchase prediction on point-in-time features, validated over time
against recency, RFM and BG/NBD baselines."""
