"""Fully supervised upper bound of LHCO anomaly detection (SPEC section 2).

Trained on labelled simulated signal against background inside the signal region: what a
classifier reaches when the signal model is known, the ceiling of every weakly supervised method.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...challenges.lhco.protocol import AnomalyInputs
from . import anomaly_inputs as checked
from .anomaly_classifier import AnomalyClassifier


class SupervisedClassifier:
    """Signal versus background classifier on ``inputs.labelled`` in the signal region.

    ``classifier`` is an unfitted :class:`AnomalyClassifier` (class-balanced weights).
    """

    def __init__(self, classifier: AnomalyClassifier | None = None) -> None:
        self.classifier = classifier

    @classmethod
    def for_size(
        cls, size: str, device: str = "auto", seed: int = 0, architecture: str = "mlp", **params: Any
    ) -> SupervisedClassifier:
        """The classifier of ``size``; ``architecture`` names its network (``networks.ARCHITECTURES``),
        ``params`` override its configuration (``registry.CLASSIFIER_SEARCH_SPACE``)."""
        return cls(AnomalyClassifier.for_size(size, device, seed, architecture, **params))

    @property
    def inputs(self) -> str:
        """The classifier's input representation (``anomaly_inputs.REPRESENTATIONS``; a classifier
        without one reads the high-level features)."""
        return str(getattr(self.classifier or AnomalyClassifier(), "inputs", "features"))

    def fit(self, inputs: AnomalyInputs) -> SupervisedClassifier:
        labelled = checked.signal_region(inputs.labelled, inputs.signal_region, "inputs.labelled")
        x = checked.representation(labelled, self.inputs, "inputs.labelled")
        y = checked.labels(labelled, "inputs.labelled")
        self.classifier_ = (self.classifier or AnomalyClassifier()).fit(x, y)
        return self

    def predict(self, events: pd.DataFrame) -> np.ndarray:
        """Signal probability per event, shape (n_events,)."""
        return self.classifier_.predict(checked.representation(events, self.inputs, "events"))
