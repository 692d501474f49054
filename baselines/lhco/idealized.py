"""Idealized anomaly detector (SPEC section 2): data against a perfect background model.

In the signal region a classifier separates the (unlabelled) data from simulated background
events drawn from exactly the same distribution as the data's background. Its optimum is the
likelihood ratio p_data / p_background, monotonic in p_signal / p_background: the best any
data-versus-background-estimate method (CATHODE, CURTAINs, FETA ...) can do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .anomaly_classifier import AnomalyClassifier


class IdealizedAnomalyDetector:
    """Classifier of signal-region data (label 1) against ``inputs.background_reference`` (label 0)."""

    def __init__(self, classifier: AnomalyClassifier | None = None) -> None:
        self.classifier = classifier

    @classmethod
    def for_size(
        cls, size: str, device: str = "auto", seed: int = 0, architecture: str = "mlp", **params: Any
    ) -> IdealizedAnomalyDetector:
        """The classifier of ``size``; ``architecture`` names its network (``networks.ARCHITECTURES``),
        ``params`` override its configuration (``registry.CLASSIFIER_SEARCH_SPACE``)."""
        return cls(AnomalyClassifier.for_size(size, device, seed, architecture, **params))

    @property
    def inputs(self) -> str:
        """The classifier's input representation (``anomaly_inputs.REPRESENTATIONS``; a classifier
        without one reads the high-level features)."""
        return str(getattr(self.classifier or AnomalyClassifier(), "inputs", "features"))

    def fit(self, inputs: AnomalyInputs) -> IdealizedAnomalyDetector:
        window = inputs.signal_region
        data = checked.representation(
            checked.signal_region(inputs.data, window, "inputs.data"), self.inputs, "inputs.data"
        )
        reference = checked.representation(
            checked.signal_region(inputs.background_reference, window, "inputs.background_reference"),
            self.inputs,
            "inputs.background_reference",
        )
        x = np.concatenate([data, reference])
        y = np.concatenate([np.ones(len(data)), np.zeros(len(reference))])
        self.classifier_ = (self.classifier or AnomalyClassifier()).fit(x, y)
        return self

    def predict(self, events: pd.DataFrame) -> np.ndarray:
        """Probability of 'data' rather than 'background' per event, shape (n_events,)."""
        return self.classifier_.predict(checked.representation(events, self.inputs, "events"))
