"""Fully supervised upper bound of LHCO anomaly detection (SPEC section 2).

Trained on labelled simulated signal against background inside the signal region: what a
classifier reaches when the signal model is known, the ceiling of every weakly supervised method.
"""

from __future__ import annotations

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .anomaly_classifier import ClassifierDetector


class SupervisedClassifier(ClassifierDetector):
    """Signal versus background classifier on ``inputs.labelled`` in the signal region.

    ``classifier`` is an unfitted :class:`AnomalyClassifier` (class-balanced weights).
    """

    def fit(self, inputs: AnomalyInputs) -> SupervisedClassifier:
        labelled = checked.signal_region(inputs.labelled, inputs.signal_region, "inputs.labelled")
        x = checked.representation(labelled, self.inputs, "inputs.labelled")
        y = checked.labels(labelled, "inputs.labelled")
        return self._fit_classifier(x, y)
