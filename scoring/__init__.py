"""Scoring: interval metrics of the HiggsML Uncertainty challenge, AMS and ROC AUC."""

from .classification import ams, ams_curve, best_ams, roc_auc
from .intervals import (
    CONFIDENCE_LEVEL,
    COVERAGE_EPSILON,
    bootstrap_over_sets,
    coverage,
    coverage_penalty,
    coverage_score,
    interval_metrics,
    interval_width,
    mae,
    rmse,
    sigma68,
)

__all__ = [
    "CONFIDENCE_LEVEL",
    "COVERAGE_EPSILON",
    "ams",
    "ams_curve",
    "best_ams",
    "bootstrap_over_sets",
    "coverage",
    "coverage_penalty",
    "coverage_score",
    "interval_metrics",
    "interval_width",
    "mae",
    "rmse",
    "roc_auc",
    "sigma68",
]
