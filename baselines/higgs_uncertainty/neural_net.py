"""Feed-forward neural-network classifiers (torch) for signal versus background.

One class covers the family: shallow or deep (``hidden``), any input list (low-level ``PRI_*``
or low + high-level), BCE or focal loss, FGSM adversarial examples, parameterised by the
nuisance parameters (``nuisance_inputs``), or decorrelated from them by an adversary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from ...challenges.higgs_uncertainty.schema import UNDEFINED
from ...torch_common import TrainingConfig, mlp, predict_logits, resolve_device, train_classifier
from ..base import balanced_weights
from .augmentation import NUISANCE_COLUMNS, SOURCE_EVENT, nuisance_matrix

# Energies, momenta and masses span orders of magnitude: the network sees their logarithm.
_LOG_SCALED = ("_pt", "PRI_met", "DER_mass", "DER_sum_pt")


class FeatureScaler:
    """log(1 + x) for momentum-like features, then standardisation; undefined (-25) values map
    to a fixed point outside the defined range so the network can tell them apart.

    Both steps go through the rows in blocks of ``CHUNK_ROWS``: the float64 work arrays of a
    whole augmented set (46 million rows at `full-x4`) would take 10 GB each."""

    CHUNK_ROWS = 1 << 18

    def __init__(self, features: Sequence[str]) -> None:
        self.features = list(features)
        self.log_scaled_ = np.array(
            [any(tag in f for tag in _LOG_SCALED) and not f.endswith("_phi") for f in self.features]
        )

    def _raw(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = data[self.features].to_numpy(np.float64, copy=True)  # written in place below
        undefined = x == UNDEFINED
        x[:, self.log_scaled_] = np.log1p(np.maximum(x[:, self.log_scaled_], 0.0))
        return x, undefined

    def _blocks(self, data: pd.DataFrame, rows: np.ndarray | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(x, undefined) of the selected rows (bool mask ``rows``, default all), block by block."""
        missing = [c for c in self.features if c not in data.columns]
        if missing:
            raise ValueError(f"input lacks feature column(s) {missing}")
        for start in range(0, len(data), self.CHUNK_ROWS):
            block = data.iloc[start : start + self.CHUNK_ROWS]
            if rows is not None:
                block = block[rows[start : start + self.CHUNK_ROWS]]
            if len(block):
                yield self._raw(block)

    def fit(self, data: pd.DataFrame, rows: np.ndarray | None = None) -> FeatureScaler:
        """Mean and standard deviation of each feature over the defined values of the selected
        rows (bool mask ``rows``, shape (n_events,); default all)."""
        n = np.zeros(len(self.features))
        mean = np.zeros(len(self.features))
        m2 = np.zeros(len(self.features))
        for x, undefined in self._blocks(data, rows):
            # Chan et al.'s merge of per-block counts, means and squared deviations: no
            # cancellation of the kind that sum(x^2) - n mean^2 suffers.
            defined = ~undefined
            n_b = defined.sum(axis=0)
            sums = np.where(defined, x, 0.0).sum(axis=0)
            mean_b = np.divide(sums, n_b, out=np.zeros_like(sums), where=n_b > 0)
            m2_b = (np.where(defined, x - mean_b, 0.0) ** 2).sum(axis=0)
            total = n + n_b
            delta = mean_b - mean
            share = np.divide(n_b, total, out=np.zeros_like(n), where=total > 0)
            m2 += m2_b + delta**2 * n * share
            mean += delta * share
            n = total
        self.mean_ = mean
        self.std_ = np.sqrt(np.divide(m2, n, out=np.ones_like(m2), where=n > 0))
        self.std_[self.std_ == 0] = 1.0
        return self

    def transform(
        self, data: pd.DataFrame, rows: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Standardised inputs of the selected rows (bool mask ``rows``; default all), shape
        (n_selected, n_features), float32; written into ``out`` when given (a view of a wider
        array, so that extra inputs need no second copy)."""
        if out is None:
            n_out = len(data) if rows is None else int(np.count_nonzero(rows))
            out = np.empty((n_out, len(self.features)), dtype=np.float32)
        start = 0
        for x, undefined in self._blocks(data, rows):
            z = (x - self.mean_) / self.std_
            z[undefined] = -3.0
            out[start : start + len(z)] = z
            start += len(z)
        return out


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
        them (with an adversary, its loss minus ``adversary_weight`` times the adversary's).
        Shifted copies multiply how often each event is seen per epoch, so a network trained
        on them memorises its events unless it stops (docs/results.md).
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

    def _inputs(self, data: pd.DataFrame, rows: np.ndarray | None = None, tags: np.ndarray | None = None) -> np.ndarray:
        """The network's inputs for the selected rows (bool mask ``rows``; default all), float32;
        ``tags``: ``nuisance_matrix(data)`` when the caller has it already."""
        n_rows = len(data) if rows is None else int(np.count_nonzero(rows))
        n_features = len(self.features)
        x = np.empty((n_rows, n_features + (len(NUISANCE_COLUMNS) if self.nuisance_inputs else 0)), np.float32)
        self.scaler_.transform(data, rows, out=x[:, :n_features])
        if self.nuisance_inputs:
            tags = nuisance_matrix(data) if tags is None else tags
            x[:, n_features:] = tags if rows is None else tags[rows]
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
        # Masks, not data.loc[...] copies: an augmented set is the largest object of a training.
        kept = None if not held.any() else ~held
        # One nuisance matrix for the inputs, the held-out inputs and the adversary's targets.
        tags = nuisance_matrix(data) if self.nuisance_inputs or self.adversary_weight > 0 else None
        self.scaler_ = FeatureScaler(self.features).fit(data, kept)
        x = self._inputs(data, kept, tags)
        validation: tuple[np.ndarray, ...] | None = None
        if kept is not None:
            validation = (self._inputs(data, held, tags), y[held], balanced_weights(y[held], weight[held]))
            if self.adversary_weight > 0:
                validation += (tags[held],)
            y, weight = y[kept], weight[kept]
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
        nuisance = None
        if self.adversary_weight > 0:
            nuisance = tags if kept is None else tags[kept]
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
