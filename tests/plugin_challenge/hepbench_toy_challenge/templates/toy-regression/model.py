"""A toy regression model: edit ``Model`` and keep its interface.

``fit(x, y)`` gets the training features (numpy, rows x features) and targets (rows,);
``predict(x)`` returns one prediction per row of ``x`` (numpy array, shape (rows,), finite).

This template is ridge regression on the features and their squares, in numpy only.
"""

from __future__ import annotations

import numpy as np


class Model:
    def __init__(self, l2: float = 1e-3) -> None:
        self.l2 = l2

    @staticmethod
    def _design(x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(x)), x, x**2])

    def fit(self, x: np.ndarray, y: np.ndarray) -> Model:
        design = self._design(x)
        penalty = self.l2 * len(design) * np.eye(design.shape[1])
        penalty[0, 0] = 0.0  # no penalty on the intercept
        self.coef_ = np.linalg.solve(design.T @ design + penalty, design.T @ y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._design(x) @ self.coef_
