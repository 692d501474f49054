"""CWoLa hunting (Collins, Howe, Nachman 2018; SPEC section 2): signal region against sidebands.

Classification without labels: a classifier trained to tell signal-region events from events in
the two mjj strips next to it learns p_SR / p_SB, which is monotonic in the signal-to-background
likelihood ratio as long as the features of the background do not depend on mjj. Each sideband
strip carries a quarter of the total training weight and the signal region half, so the two
classes are balanced and the two strips count equally whatever their event counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .anomaly_classifier import AnomalyClassifier

SIDEBAND_WIDTH = 0.2
"""Width (TeV) of each sideband strip next to the signal region."""


class CWoLaHunting:
    """Signal region (label 1) versus adjacent sideband strips (label 0) classifier.

    Parameters
    ----------
    classifier:
        Unfitted :class:`AnomalyClassifier`.
    sideband_width:
        Width in TeV of the lower strip (low - width, low) and the upper one (high, high + width).
    """

    def __init__(self, classifier: AnomalyClassifier | None = None, sideband_width: float = SIDEBAND_WIDTH) -> None:
        self.classifier = classifier
        self.sideband_width = sideband_width

    @classmethod
    def for_size(
        cls, size: str, device: str = "auto", seed: int = 0, architecture: str = "mlp", **params: Any
    ) -> CWoLaHunting:
        """The classifier of ``size``; ``architecture`` names its network (``networks.ARCHITECTURES``),
        ``params`` override its configuration (``registry.CLASSIFIER_SEARCH_SPACE``)."""
        return cls(AnomalyClassifier.for_size(size, device, seed, architecture, **params))

    @property
    def inputs(self) -> str:
        """The classifier's input representation (``anomaly_inputs.REPRESENTATIONS``; a classifier
        without one reads the high-level features)."""
        return str(getattr(self.classifier or AnomalyClassifier(), "inputs", "features"))

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
        self.classifier_ = (self.classifier or AnomalyClassifier()).fit(x, y, sample_weight=w)
        return self

    def predict(self, events: pd.DataFrame) -> np.ndarray:
        """Probability of 'signal region' rather than 'sideband' per event, shape (n_events,)."""
        return self.classifier_.predict(checked.representation(events, self.inputs, "events"))
