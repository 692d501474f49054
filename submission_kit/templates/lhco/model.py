"""An LHC Olympics anomaly detector: edit ``Model`` and keep its interface.

``fit(data, signal_region)`` gets the unlabelled data as a pandas DataFrame with columns
``mjj, mj1, delta_m, tau21_j1, tau21_j2`` (masses in TeV) over the full mjj range, and the
signal region (low, high) in TeV. ``predict(events)`` returns one anomaly score per row
(numpy array, shape (n_events,); higher = more signal-like).

This template is a numpy-only CWoLa hunt: a logistic regression on the features and their
pairwise products learns to tell signal-region events from sideband events. Without a
signal the two look alike and the scores carry no information; a resonance in the signal
region is what the classifier can learn. mjj itself is not an input, so the score does not
sculpt the mjj spectrum of the bump hunt.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ("mj1", "delta_m", "tau21_j1", "tau21_j2")


class Model:
    def __init__(self, steps: int = 300, learning_rate: float = 0.5, l2: float = 1e-3) -> None:
        self.steps = steps
        self.learning_rate = learning_rate
        self.l2 = l2

    def _design(self, events: pd.DataFrame) -> np.ndarray:
        x = (events[list(FEATURES)].to_numpy(np.float64) - self.mean_) / self.scale_
        pairs = [x[:, i] * x[:, j] for i in range(x.shape[1]) for j in range(i, x.shape[1])]
        return np.column_stack([np.ones(len(x)), x, *pairs])

    def fit(self, data: pd.DataFrame, signal_region: tuple[float, float]) -> Model:
        x = data[list(FEATURES)].to_numpy(np.float64)
        self.mean_, self.scale_ = x.mean(axis=0), x.std(axis=0) + 1e-12
        in_region = data["mjj"].between(*signal_region, inclusive="neither").to_numpy()
        design, target = self._design(data), in_region.astype(np.float64)
        # Class weights balance the signal region against the (larger) sidebands.
        weight = np.where(in_region, 0.5 / in_region.mean(), 0.5 / (1.0 - in_region.mean()))
        self.coef_ = np.zeros(design.shape[1])
        for _ in range(self.steps):
            p = 1.0 / (1.0 + np.exp(-(design @ self.coef_)))
            gradient = design.T @ (weight * (p - target)) / len(design) + self.l2 * self.coef_
            self.coef_ -= self.learning_rate * gradient
        return self

    def predict(self, events: pd.DataFrame) -> np.ndarray:
        return self._design(events) @ self.coef_
