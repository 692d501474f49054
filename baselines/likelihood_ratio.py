"""Unbinned profile-likelihood fit with a per-event likelihood ratio learned by the classifier.

For n observed events the extended likelihood is
    -ln L(mu, theta) = nu_s + nu_b - sum_i ln(nu_s r_i + nu_b) + constraints(theta) + const,
where nu_s = mu S(theta) and nu_b = B(theta) are the expected totals (their response to each
nuisance is fitted on shifted template sets, as in the binned fit) and r_i = p_s(x_i) / p_b(x_i)
is the density ratio: c / (1 - c) of the classifier output c after isotonic calibration on the
nominal template set (the classifier is trained with balanced classes, so its odds are the
density ratio).

The ratio is taken at the nominal nuisances, even for a classifier parameterised by them.
Profiling r_i(theta) as well would also need sum_i ln p_b(x_i | theta), how the background
density itself moves: without that term the likelihood is unbounded in theta (the fit can
shift the nuisances until every event looks like signal; with a parameterised network this
drove mu_hat to its limit on the tiny preset). A density model of the background would supply it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from ..challenges.higgs_uncertainty.systematics import systematics
from .bdt import balanced_weights
from .template_fit import BinnedTemplateFit, profile_interval

_CALIBRATION_EPS = 1e-4


class LikelihoodRatioFit(BinnedTemplateFit):
    """Unbinned fit of mu with per-event density ratios (see the module docstring).

    Parameters
    ----------
    grids, degree, seed:
        Template grids of the totals' response, as in :class:`BinnedTemplateFit`.
    """

    def __init__(self, grids: dict | None = None, degree: int = 2, seed: int = 0) -> None:
        super().__init__(n_bins=1, grids=grids, degree=degree, seed=seed)

    def _choose_edges(self, scores: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        return np.array([0.0, 1.0])

    def fit(self, score: Callable[[pd.DataFrame], np.ndarray], template_set: pd.DataFrame) -> "LikelihoodRatioFit":
        super().fit(score, template_set)
        nominal = systematics(template_set, seed=self.seed)
        c = score(nominal)
        y = nominal["labels"].to_numpy()
        w = balanced_weights(y, nominal["weights"].to_numpy())
        self.calibration_ = IsotonicRegression(
            y_min=_CALIBRATION_EPS, y_max=1.0 - _CALIBRATION_EPS, out_of_bounds="clip"
        ).fit(c, y, sample_weight=w)
        return self

    def log_ratio(self, scores: np.ndarray) -> np.ndarray:
        """ln(p_s / p_b) per event from raw classifier scores (n_events,)."""
        p = self.calibration_.predict(scores)
        return np.log(p) - np.log1p(-p)

    def negative_log_likelihood_events(self, params: Sequence[float], ratio: np.ndarray) -> float:
        """-ln L (up to a constant) for per-event density ratios ``ratio`` (n_events,)."""
        totals = self.expected_by_process(params)[:, 0]
        nu_s, nu_b = max(totals[0], 0.0), max(totals[1:].sum(), 1e-9)
        return float(nu_s + nu_b - np.log(nu_b + nu_s * ratio).sum()) + self.constraint_nll(params)

    def predict(self, data: pd.DataFrame) -> dict[str, float]:
        """Fit one pseudo-experiment's events; returns mu_hat, delta_mu_hat, p16, p84."""
        if not hasattr(self, "calibration_"):
            raise RuntimeError("LikelihoodRatioFit.predict called before fit")
        ratio = np.exp(np.minimum(self.log_ratio(self.score_(data)), 30.0))
        return profile_interval(lambda p: self.negative_log_likelihood_events(p, ratio))
