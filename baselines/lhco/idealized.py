"""Idealized anomaly detector (SPEC section 2): data against a perfect background model.

In the signal region a classifier separates the (unlabelled) data from simulated background
events drawn from exactly the same distribution as the data's background. Its optimum is the
likelihood ratio p_data / p_background, monotonic in p_signal / p_background: the best any
data-versus-background-estimate method (CATHODE, CURTAINs, FETA ...) can do.
"""

from __future__ import annotations

import numpy as np

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .anomaly_classifier import ClassifierDetector


class IdealizedAnomalyDetector(ClassifierDetector):
    """Classifier of signal-region data (label 1) against ``inputs.background_reference`` (label 0)."""

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
        return self._fit_classifier(x, y)
