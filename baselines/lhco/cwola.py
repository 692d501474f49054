"""CWoLa hunting (Collins, Howe, Nachman 2018; SPEC section 2): signal region against sidebands.

Classification without labels: a classifier trained to tell signal-region events from events in
the two mjj strips next to it learns p_SR / p_SB, which is monotonic in the signal-to-background
likelihood ratio as long as the features of the background do not depend on mjj. Each sideband
strip carries a quarter of the total training weight and the signal region half, so the two
classes are balanced and the two strips count equally whatever their event counts.
"""

from __future__ import annotations

import numpy as np

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .anomaly_classifier import AnomalyClassifier, ClassifierDetector

SIDEBAND_WIDTH = 0.2
"""Width (TeV) of each sideband strip next to the signal region."""


class CWoLaHunting(ClassifierDetector):
    """Signal region (label 1) versus adjacent sideband strips (label 0) classifier.

    Parameters
    ----------
    classifier:
        Unfitted :class:`AnomalyClassifier`.
    sideband_width:
        Width in TeV of the lower strip (low - width, low) and the upper one (high, high + width).
    """

    def __init__(self, classifier: AnomalyClassifier | None = None, sideband_width: float = SIDEBAND_WIDTH) -> None:
        super().__init__(classifier)
        self.sideband_width = sideband_width

    def fit(self, inputs: AnomalyInputs) -> CWoLaHunting:
        if not self.sideband_width > 0:
            raise ValueError(f"sideband_width must be > 0 TeV, got {self.sideband_width}")
        low, high = inputs.signal_region
        mass = checked.mjj(inputs.data, "inputs.data")
        regions = {
            "the signal region": checked.in_window(mass, (low, high)),
            f"the lower sideband {low - self.sideband_width:.3g}-{low:.3g} TeV": (mass > low - self.sideband_width)
            & (mass <= low),
            f"the upper sideband {high:.3g}-{high + self.sideband_width:.3g} TeV": (mass >= high)
            & (mass < high + self.sideband_width),
        }
        for where, mask in regions.items():
            checked.require_events(mask, "inputs.data", where)
        sr, lower, upper = regions.values()
        # Only the three strips' events are turned into inputs (particle inputs cost a clustering).
        used = sr | lower | upper
        x_used = checked.representation(inputs.data[used], self.inputs, "inputs.data")
        x = np.concatenate([x_used[sr[used]], x_used[lower[used]], x_used[upper[used]]])
        y = np.concatenate([np.ones(sr.sum()), np.zeros(lower.sum() + upper.sum())])
        w = np.concatenate(
            [
                np.full(sr.sum(), 0.5 / sr.sum()),
                np.full(lower.sum(), 0.25 / lower.sum()),
                np.full(upper.sum(), 0.25 / upper.sum()),
            ]
        )
        return self._fit_classifier(x, y, sample_weight=w)
