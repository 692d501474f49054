"""Counting experiment: events above a cut on the classifier score, one Poisson bin.

The cut maximises the expected significance s / sqrt(b + (delta b)^2) on the nominal template
set; the single bin's yields then enter the same likelihood as the binned template fit (all six
nuisances, simulation statistics), so the two differ only in how the score is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .template_fit import BinnedTemplateFit


class CountingExperiment(BinnedTemplateFit):
    """Profile-likelihood fit of mu from the number of events above a score threshold.

    Parameters
    ----------
    relative_background_uncertainty:
        delta b / b assumed when choosing the cut; larger values favour purer selections.
    min_signal_fraction:
        Smallest fraction of the signal the cut may keep (guards against a cut on a handful of
        simulated events).
    grids, degree, seed:
        As in :class:`BinnedTemplateFit`.
    """

    def __init__(
        self,
        relative_background_uncertainty: float = 0.01,
        min_signal_fraction: float = 0.05,
        grids: dict | None = None,
        degree: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__(n_bins=1, grids=grids, degree=degree, seed=seed)
        self.relative_background_uncertainty = relative_background_uncertainty
        self.min_signal_fraction = min_signal_fraction

    def _bounded(self, scores: np.ndarray) -> np.ndarray:
        # Events below the cut fall outside the single bin and are not counted.
        return np.minimum(scores, self.edges_[-1])

    def _choose_edges(self, scores: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        weights = frame["weights"].to_numpy(np.float64)
        is_signal = frame["detailed_labels"].to_numpy() == "htautau"
        order = np.argsort(-scores)
        s = np.cumsum(np.where(is_signal, weights, 0.0)[order])
        b = np.cumsum(np.where(is_signal, 0.0, weights)[order])
        significance = s / np.sqrt(b + (self.relative_background_uncertainty * b) ** 2 + 1e-12)
        significance[(s < self.min_signal_fraction * s[-1]) | (b <= 0)] = -np.inf
        best = int(np.argmax(significance))
        self.threshold_ = float(scores[order][best])
        return np.array([self.threshold_, 1.0])
