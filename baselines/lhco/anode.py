"""ANODE (Nachman, Shih 2020; SPEC section 2): anomaly detection with density estimation.

Two conditional densities of the features: p_SR(x | m) fitted on the signal-region data (signal
and background) and p_SB(x | m) fitted on the sidebands (background only) and interpolated into
the signal region through its mjj conditioning. Their ratio R = p_SR / p_SB estimates
1 + p_signal / p_background in the signal region; the score is log R.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .density import ConditionalDensity


class ANODE:
    """log p_SR(x | mjj) - log p_SB(x | mjj) with two :class:`ConditionalDensity` estimators.

    Parameters
    ----------
    signal_region_density, sideband_density:
        Unfitted density estimators for the signal region and the sidebands.
    """

    def __init__(
        self,
        signal_region_density: ConditionalDensity | None = None,
        sideband_density: ConditionalDensity | None = None,
    ) -> None:
        self.signal_region_density = signal_region_density
        self.sideband_density = sideband_density

    @classmethod
    def for_size(cls, size: str, device: str = "auto", seed: int = 0) -> ANODE:
        return cls(ConditionalDensity.for_size(size, device, seed), ConditionalDensity.for_size(size, device, seed + 1))

    def fit(self, inputs: AnomalyInputs) -> ANODE:
        mass = checked.mjj(inputs.data, "inputs.data")
        x = checked.features(inputs.data, "inputs.data")
        sr = checked.in_window(mass, inputs.signal_region)
        checked.require_events(sr, "inputs.data", f"the signal region {inputs.signal_region} TeV")
        checked.require_events(~sr, "inputs.data", "the sidebands")
        self.signal_region_density_ = (self.signal_region_density or ConditionalDensity()).fit(x[sr], mass[sr])
        self.sideband_density_ = (self.sideband_density or ConditionalDensity(seed=1)).fit(x[~sr], mass[~sr])
        return self

    def predict(self, events: pd.DataFrame) -> np.ndarray:
        """log R = log p_SR(x | mjj) - log p_SB(x | mjj) per event, shape (n_events,)."""
        mass = checked.mjj(events, "events")
        x = checked.features(events, "events")
        return self.signal_region_density_.log_prob(x, mass) - self.sideband_density_.log_prob(x, mass)
