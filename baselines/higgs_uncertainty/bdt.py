"""Gradient-boosted decision trees (xgboost) separating signal from background."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xgboost as xgb

from ...torch_common import resolve_device
from ..base import balanced_weights


class BDTClassifier:
    """xgboost classifier on a fixed list of features, GPU when available.

    Parameters
    ----------
    features:
        Column names used as inputs.
    n_estimators, max_depth, learning_rate, subsample:
        Boosting hyper-parameters (``hist`` tree method).
    device:
        ``auto`` | ``cpu`` | ``cuda``.
    seed:
        Seed of the row subsampling.
    """

    def __init__(
        self,
        features: Sequence[str],
        n_estimators: int = 200,
        max_depth: int = 5,
        learning_rate: float = 0.1,
        subsample: float = 0.8,
        device: str = "auto",
        n_jobs: int | None = None,
        seed: int = 0,
    ) -> None:
        self.features = list(features)
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.device = device
        self.n_jobs = n_jobs
        self.seed = seed

    def _matrix(self, data: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in data.columns]
        if missing:
            raise ValueError(f"input lacks feature column(s) {missing}")
        return data[self.features].to_numpy(np.float32)

    def fit(self, data: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None = None) -> BDTClassifier:
        """Train on ``data`` (n_events rows) with labels ``y`` (1 signal, 0 background)."""
        weight = np.ones(len(y)) if sample_weight is None else sample_weight
        self.device_ = resolve_device(self.device)
        if self.device_ == "cuda" and not xgb.build_info().get("USE_CUDA", False):
            # a CPU-only xgboost build (e.g. the xgboost-cpu wheel) beside a GPU: train on the CPU
            self.device_ = "cpu"
        self.model_ = xgb.XGBClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            tree_method="hist",
            device=self.device_,
            n_jobs=self.n_jobs,
            random_state=self.seed,
            eval_metric="logloss",
        )
        self.model_.fit(self._matrix(data), np.asarray(y), sample_weight=balanced_weights(y, weight))
        return self

    def predict_proba(self, data: pd.DataFrame) -> np.ndarray:
        """Class probabilities, shape (n_events, 2); column 1 is the signal score."""
        if not hasattr(self, "model_"):
            raise RuntimeError("BDTClassifier.predict_proba called before fit")
        matrix = self._matrix(data)
        if self.device_ == "cuda":
            # The events are in host memory; through a DMatrix xgboost copies them to the GPU once,
            # instead of warning about mismatched devices and falling back to the same path.
            signal = self.model_.get_booster().predict(xgb.DMatrix(matrix))
            return np.column_stack([1.0 - signal, signal])
        return self.model_.predict_proba(matrix)

    def decision_score(self, data: pd.DataFrame) -> np.ndarray:
        """Signal score in [0, 1], shape (n_events,)."""
        return self.predict_proba(data)[:, 1]
