"""A HiggsML Uncertainty submission: edit ``Model`` and keep its interface.

``fit(train)`` gets the public training set as a pandas DataFrame: the 28 ``PRI_*`` / ``DER_*``
features, ``weights`` (expected events per row at the test luminosity), ``labels`` (1 =
signal) and ``detailed_labels`` (htautau, ztautau, ttbar, diboson).
``predict(data)`` gets one pseudo-experiment (the features of the observed events, no truth)
and returns ``{"mu_hat", "delta_mu_hat", "p16", "p84"}``: the signal strength, its
uncertainty and the 68.27% interval [p16, p84].

This template counts events above a cut on a Fisher linear discriminant and quotes a
Poisson interval widened by a flat relative uncertainty on the background yield (the
systematic uncertainties shift the background far more than the signal); numpy only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURE_PREFIXES = ("PRI_", "DER_")


class Model:
    def __init__(self, n_cut_points: int = 50, background_uncertainty: float = 0.05) -> None:
        self.n_cut_points = n_cut_points
        self.background_uncertainty = background_uncertainty

    def _features(self, frame: pd.DataFrame) -> np.ndarray:
        columns = [c for c in frame.columns if c.startswith(FEATURE_PREFIXES)]
        return frame[columns].to_numpy(np.float64)

    def fit(self, train: pd.DataFrame) -> Model:
        x = self._features(train)
        y = train["labels"].to_numpy() == 1
        w = train["weights"].to_numpy(np.float64)
        self.mean_ = np.average(x, axis=0, weights=w)
        self.scale_ = np.sqrt(np.average((x - self.mean_) ** 2, axis=0, weights=w)) + 1e-12
        z = (x - self.mean_) / self.scale_
        means = [np.average(z[cls], axis=0, weights=w[cls]) for cls in (y, ~y)]
        within = sum(np.cov(z[cls], rowvar=False, aweights=w[cls]) for cls in (y, ~y))
        self.direction_ = np.linalg.solve(within + 1e-6 * np.eye(z.shape[1]), means[0] - means[1])
        score = z @ self.direction_
        # The cut that maximises the expected significance s / sqrt(b) on the training set.
        best = (-np.inf, 0.0, 0.0, 0.0)
        for cut in np.quantile(score[y], np.linspace(0.0, 0.95, self.n_cut_points)):
            s, b = w[y & (score > cut)].sum(), w[~y & (score > cut)].sum()
            if b > 0 and s / np.sqrt(b) > best[0]:
                best = (s / np.sqrt(b), cut, s, b)
        _, self.cut_, self.signal_yield_, self.background_yield_ = best
        return self

    def predict(self, data: pd.DataFrame) -> dict[str, float]:
        z = (self._features(data) - self.mean_) / self.scale_
        observed = float(np.sum(z @ self.direction_ > self.cut_))
        mu_hat = (observed - self.background_yield_) / self.signal_yield_
        variance = max(observed, 1.0) + (self.background_uncertainty * self.background_yield_) ** 2
        delta = np.sqrt(variance) / self.signal_yield_
        return {"mu_hat": mu_hat, "delta_mu_hat": delta, "p16": mu_hat - delta, "p84": mu_hat + delta}
