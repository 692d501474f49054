"""Scoring: pure metric primitives (no challenge, no baseline): intervals, AMS, ROC / SIC, bump
hunts and the calorimeter evaluation, composed per challenge by its ``Challenge.score``."""

from .anomaly import roc_auc
from .classification import ams, ams_curve, best_ams
from .intervals import (
    CONFIDENCE_LEVEL,
    COVERAGE_EPSILON,
    bootstrap_over_sets,
    coverage,
    coverage_penalty,
    coverage_score,
    interval_calibration,
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
    "interval_calibration",
    "interval_metrics",
    "interval_width",
    "mae",
    "rmse",
    "roc_auc",
    "sigma68",
]
