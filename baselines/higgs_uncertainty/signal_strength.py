"""A classifier and an inference method combined into a signal-strength estimator.

``fit`` trains the classifier on one part of the weighted training set (after the nominal
selection) and builds the inference method's templates on the other; ``predict`` scores one
pseudo-experiment and returns ``mu_hat``, ``delta_mu_hat``, ``p16``, ``p84``.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from ...challenges.higgs_uncertainty.dataset import split_mask, weighted_part
from .augmentation import NuisanceAugmentation


class Classifier(Protocol):
    def fit(self, data: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Any: ...
    def decision_score(self, data: pd.DataFrame) -> np.ndarray: ...


class ScoreInference(Protocol):
    def fit(self, score: Any, template_set: pd.DataFrame) -> Any: ...
    def predict(self, data: pd.DataFrame) -> dict[str, float]: ...


class SignalStrengthEstimator:
    """Classifier + score-based inference, with the scikit-learn fit / predict shape.

    Parameters
    ----------
    classifier:
        Any object with ``fit(data, y, sample_weight)`` and ``decision_score(data)``.
    inference:
        Any object with ``fit(score_function, template_set)`` and ``predict(events)``.
    classifier_fraction:
        Fraction of the training set used to train the classifier; the rest builds templates.
    augmentation:
        How the classifier's training set is built from its share of events: nominal only
        (default) or with shifted copies over nuisance draws (systematics-aware training).
    seed:
        Seed of the split.
    """

    def __init__(
        self,
        classifier: Classifier,
        inference: ScoreInference,
        classifier_fraction: float = 0.5,
        augmentation: NuisanceAugmentation | None = None,
        seed: int = 0,
    ) -> None:
        self.classifier = classifier
        self.inference = inference
        self.classifier_fraction = classifier_fraction
        self.augmentation = augmentation
        self.seed = seed

    def fit(self, train: pd.DataFrame) -> SignalStrengthEstimator:
        """``train``: weighted events with features, ``weights``, ``labels``, ``detailed_labels``."""
        # One part at a time: the templates' share (70% of the split) is copied out only once
        # the classifier's set (nine copies for the augmented networks) is freed.
        for_classifier = split_mask(len(train), self.classifier_fraction, self.seed)
        augmentation = self.augmentation or NuisanceAugmentation(seed=self.seed)
        training = augmentation.build(weighted_part(train, for_classifier))
        self.classifier.fit(training, training["labels"].to_numpy(), training["weights"].to_numpy())
        del training
        self.inference.fit(self.classifier.decision_score, weighted_part(train, ~for_classifier))
        return self

    def predict(self, data: pd.DataFrame) -> dict[str, float]:
        """``data``: one pseudo-experiment's events (features only)."""
        return self.inference.predict(data)

    def decision_score(self, data: pd.DataFrame) -> np.ndarray:
        """The classifier's signal score (n_events,), for the classification view (AUC, AMS)."""
        return self.classifier.decision_score(data)
