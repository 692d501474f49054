"""Feed-forward neural-network classifiers (torch) for signal versus background.

One class covers the family: shallow or deep (``hidden``), any input list (low-level ``PRI_*``
or low + high-level), BCE or focal loss, FGSM adversarial examples, parameterised by the
nuisance parameters (``nuisance_inputs``), or decorrelated from them by an adversary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ...challenges.higgs_uncertainty.schema import UNDEFINED
from ...torch_common import TrainingConfig, mlp, predict_logits, resolve_device, train_classifier
from ..base import balanced_weights
from .augmentation import SOURCE_EVENT, nuisance_matrix

# Energies, momenta and masses span orders of magnitude: the network sees their logarithm.
_LOG_SCALED = ("_pt", "PRI_met", "DER_mass", "DER_sum_pt")


class FeatureScaler:
    """log(1 + x) for momentum-like features, then standardisation; undefined (-25) values map
    to a fixed point outside the defined range so the network can tell them apart."""

    def __init__(self, features: Sequence[str]) -> None:
        self.features = list(features)
        self.log_scaled_ = np.array(
            [any(tag in f for tag in _LOG_SCALED) and not f.endswith("_phi") for f in self.features]
        )

    def _raw(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [c for c in self.features if c not in data.columns]
        if missing:
            raise ValueError(f"input lacks feature column(s) {missing}")
        x = data[self.features].to_numpy(np.float64, copy=True)  # written in place below
        undefined = x == UNDEFINED
        x[:, self.log_scaled_] = np.log1p(np.maximum(x[:, self.log_scaled_], 0.0))
        return x, undefined

    def fit(self, data: pd.DataFrame) -> FeatureScaler:
        x, undefined = self._raw(data)
        masked = np.where(undefined, np.nan, x)
        self.mean_ = np.nan_to_num(np.nanmean(masked, axis=0))
        self.std_ = np.nan_to_num(np.nanstd(masked, axis=0), nan=1.0)
        self.std_[self.std_ == 0] = 1.0
        return self

    def transform(self, data: pd.DataFrame) -> np.ndarray:
        """Standardised inputs, shape (n_events, n_features), float32."""
        x, undefined = self._raw(data)
        z = (x - self.mean_) / self.std_
        z[undefined] = -3.0
        return z.astype(np.float32)


class NeuralNetClassifier:
    """Multilayer perceptron on a list of features, trained by :func:`train_classifier`.

    Parameters
    ----------
    features:
        Input columns.
    hidden:
        Hidden layer widths: one layer is a shallow network, three or more a deep one.
    epochs, batch_size, learning_rate, weight_decay:
        Adam training.
    focal_gamma:
        0 for binary cross-entropy, > 0 for the focal loss.
    fgsm_epsilon:
        > 0 trains on FGSM adversarial copies too (standardised units; 0.01 is the usual value).
    nuisance_inputs:
        Feed the standardised nuisance tags (TES, JES, soft MET) as extra inputs: a classifier
        parameterised by the nuisances. Events without tags are scored at the nominal point.
    adversary_weight:
        > 0 decorrelates the score from the nuisances with an adversary (needs tagged,
        augmented training events).
    validation_fraction:
        > 0 holds out this fraction of the events, with every shifted copy of each (the
        ``source_event`` column of an augmented set), and keeps the epoch of lowest loss on
        them. Shifted copies multiply how often each event is seen per epoch, so a network
        trained on them memorises its events unless it stops (docs/results.md).
    patience:
        With ``validation_fraction``: stop once this many epochs in a row brought no lower
        validation loss.
    device:
        ``auto`` | ``cpu`` | ``cuda``.
    seed:
        Seed of the initialisation and the batch order.
    """

    def __init__(
        self,
        features: Sequence[str],
        hidden: Sequence[int] = (64, 64, 64),
        epochs: int = 20,
        batch_size: int = 1024,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        focal_gamma: float = 0.0,
        fgsm_epsilon: float = 0.0,
        nuisance_inputs: bool = False,
        adversary_weight: float = 0.0,
        validation_fraction: float = 0.0,
        patience: int | None = None,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.features = list(features)
        self.hidden = tuple(hidden)
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.focal_gamma = focal_gamma
        self.fgsm_epsilon = fgsm_epsilon
        self.nuisance_inputs = nuisance_inputs
        self.adversary_weight = adversary_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.seed = seed

    def _inputs(self, data: pd.DataFrame) -> np.ndarray:
        x = self.scaler_.transform(data)
        if self.nuisance_inputs:
            x = np.concatenate([x, nuisance_matrix(data).astype(np.float32)], axis=1)
        return x

    def fit(
        self,
        data: pd.DataFrame,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
    ) -> NeuralNetClassifier:
        """Train on ``data`` (n_events rows) with labels ``y`` (1 signal, 0 background);
        ``on_epoch(record)`` after each epoch, as :func:`train_classifier` calls it."""
        import torch

        y = np.asarray(y)
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        self.device_ = resolve_device(self.device)
        held = self.held_out(data)
        train = data if not held.any() else data.loc[~held]
        self.scaler_ = FeatureScaler(self.features).fit(train)
        x = self._inputs(train)
        validation = None
        if held.any():
            validation = (self._inputs(data.loc[held]), y[held], balanced_weights(y[held], weight[held]))
            y, weight = y[~held], weight[~held]
        torch.manual_seed(self.seed)
        self.network_ = mlp(x.shape[1], self.hidden)
        config = TrainingConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            focal_gamma=self.focal_gamma,
            fgsm_epsilon=self.fgsm_epsilon,
            adversary_weight=self.adversary_weight,
            patience=self.patience,
        )
        nuisance = nuisance_matrix(train) if self.adversary_weight > 0 else None
        self.history_ = train_classifier(
            self.network_,
            x,
            y,
            balanced_weights(y, weight),
            config,
            nuisance=nuisance,
            validation=validation,
            on_epoch=on_epoch,
            device=self.device_,
            seed=self.seed,
        )
        if validation is not None:
            self.best_epoch_ = int(np.argmin([r["validation_loss"] for r in self.history_])) + 1
        return self

    def held_out(self, data: pd.DataFrame) -> np.ndarray:
        """Rows of the held-out events (bool, shape (n_rows,)); every copy of an event together."""
        if self.validation_fraction <= 0.0:
            return np.zeros(len(data), dtype=bool)
        if SOURCE_EVENT in data.columns:
            events, rows = np.unique(data[SOURCE_EVENT].to_numpy(), return_inverse=True)
        else:
            events, rows = np.arange(len(data)), np.arange(len(data))
        # Its own stream: the held-out events do not depend on the initialisation's draws.
        held_events = np.random.default_rng([self.seed, 1]).random(len(events)) < self.validation_fraction
        return held_events[rows]

    def decision_score(self, data: pd.DataFrame) -> np.ndarray:
        """Signal score in (0, 1), shape (n_events,)."""
        if not hasattr(self, "network_"):
            raise RuntimeError("NeuralNetClassifier.decision_score called before fit")
        logits = predict_logits(self.network_, self._inputs(data), self.device_)
        # exp overflows to inf for logits below -709, where the score is 0 as it should be.
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-logits))

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.network_.parameters())
