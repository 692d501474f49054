"""The toy regression baselines: estimators with ``fit(x, y)`` and ``predict(x)`` (numpy only)."""

from __future__ import annotations

import numpy as np

from hepbench.baselines.base import Baseline


class MeanPredictor:
    """Predicts the mean training target for every row (R² = 0 on the training set)."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> MeanPredictor:
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.mean_)


class LeastSquares:
    """Ordinary least squares with an intercept (``numpy.linalg.lstsq``)."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> LeastSquares:
        design = np.column_stack([np.ones(len(x)), x])
        self.coef_, *_ = np.linalg.lstsq(design, y, rcond=None)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(x)), x]) @ self.coef_


BASELINES: dict[str, Baseline] = {
    "least-squares": Baseline(
        "least-squares",
        "toy-regression",
        "linear least squares on the five features",
        lambda size, device, seed: LeastSquares(),
    ),
    "mean": Baseline(
        "mean", "toy-regression", "the mean training target for every row", lambda size, device, seed: MeanPredictor()
    ),
}
