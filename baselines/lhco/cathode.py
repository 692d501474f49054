"""CATHODE (Hallin et al. 2022; SPEC section 2): classifying anomalies through outer density estimation.

A density p(x | mjj) is fitted to the sidebands (background only), then sampled in the signal
region with masses drawn from a kernel density estimate of the signal-region data's mjj: a
synthetic background sample in the signal region, ``oversampling`` times the size of the data
there. A classifier of signal-region data against these samples then approaches the idealized
anomaly detector as the interpolated density approaches the true background.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .anomaly_classifier import AnomalyClassifier
from .density import ConditionalDensity


def sample_masses(mass: np.ndarray, n: int, window: tuple[float, float], seed: int) -> np.ndarray:
    """``n`` dijet masses (TeV) from a Gaussian KDE of ``mass``, kept inside ``window``."""
    if len(mass) < 2 or np.ptp(mass) == 0:
        raise ValueError("a kernel density estimate of mjj needs at least two distinct signal-region masses")
    kde = gaussian_kde(mass)
    rng = np.random.default_rng(seed)
    out = np.empty(0)
    while len(out) < n:  # the kernel tails reach past the window: redraw those
        draw = kde.resample(2 * (n - len(out)) + 16, seed=rng)[0]
        out = np.concatenate([out, draw[checked.in_window(draw, window)]])
    return out[:n]


class CATHODE:
    """Classifier of signal-region data against samples of a sideband-trained density.

    Parameters
    ----------
    density:
        Unfitted :class:`ConditionalDensity` fitted to the sideband events.
    classifier:
        Unfitted :class:`AnomalyClassifier` (data label 1, samples label 0, class-balanced).
    oversampling:
        Number of synthetic background events per signal-region data event (anchor: 4).
    seed:
        Seeds the mass KDE draws and the sampling.
    """

    def __init__(
        self,
        density: ConditionalDensity | None = None,
        classifier: AnomalyClassifier | None = None,
        oversampling: float = 4.0,
        seed: int = 0,
    ) -> None:
        self.density = density
        self.classifier = classifier
        self.oversampling = oversampling
        self.seed = seed

    @classmethod
    def for_size(cls, size: str, device: str = "auto", seed: int = 0) -> CATHODE:
        return cls(
            ConditionalDensity.for_size(size, device, seed), AnomalyClassifier.for_size(size, device, seed), seed=seed
        )

    def fit(self, inputs: AnomalyInputs) -> CATHODE:
        if not self.oversampling > 0:
            raise ValueError(f"oversampling must be > 0, got {self.oversampling}")
        mass = checked.mjj(inputs.data, "inputs.data")
        x = checked.features(inputs.data, "inputs.data")
        sr = checked.in_window(mass, inputs.signal_region)
        checked.require_events(sr, "inputs.data", f"the signal region {inputs.signal_region} TeV")
        checked.require_events(~sr, "inputs.data", "the sidebands")
        self.density_ = (self.density or ConditionalDensity(seed=self.seed)).fit(x[~sr], mass[~sr])
        n_samples = int(round(self.oversampling * sr.sum()))
        self.sample_mjj_ = sample_masses(mass[sr], n_samples, inputs.signal_region, self.seed)
        samples = self.density_.sample(self.sample_mjj_, seed=self.seed)
        train_x = np.concatenate([x[sr], samples])
        train_y = np.concatenate([np.ones(sr.sum()), np.zeros(n_samples)])
        self.classifier_ = (self.classifier or AnomalyClassifier(seed=self.seed)).fit(train_x, train_y)
        return self

    def predict(self, events: pd.DataFrame) -> np.ndarray:
        """Probability of 'data' rather than 'interpolated background' per event, shape (n_events,)."""
        return self.classifier_.predict(checked.features(events, "events"))
