"""The classifier every LHCO classifier-based detector shares (CATHODE paper recipe, SPEC section 2).

By default a 3 x 64 ReLU MLP on the high-level features; ``architecture`` picks another network
of ``networks.ARCHITECTURES`` (jet-image CNN, constituent GRU, deep sets), trained the same way: with weighted binary cross-entropy and Adam (1e-3) for a fixed number
of epochs on part of the events; the rest is a validation set. The network is kept after every
epoch and the score is the mean prediction of the ``n_best`` epochs with the lowest validation
loss, which smooths the epoch-to-epoch noise of a weak-supervision classifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
import torch

from ...torch_common import binary_loss, fit, mlp, resolve_device
from ..base import balanced_weights, size_config, with_overrides
from . import anomaly_inputs as checked
from .networks import get_architecture


@dataclass(frozen=True)
class ClassifierSize:
    epochs: int
    batch_size: int
    n_best: int


CLASSIFIER_SIZES: dict[str, ClassifierSize] = {
    "tiny": ClassifierSize(epochs=8, batch_size=256, n_best=3),
    "small": ClassifierSize(epochs=30, batch_size=256, n_best=5),
    "full": ClassifierSize(epochs=100, batch_size=128, n_best=10),  # the anchor's recipe
}
PARTICLE_SIZES: dict[str, ClassifierSize] = {
    "tiny": ClassifierSize(epochs=10, batch_size=64, n_best=2),
    "small": ClassifierSize(epochs=20, batch_size=256, n_best=5),
    "full": ClassifierSize(epochs=50, batch_size=256, n_best=10),
}
"""Sizes of the particle-level networks: fewer, larger-batch epochs than the MLP (each epoch
costs 10-100x more)."""


class AnomalyClassifier:
    """Binary MLP classifier with a validation split and an ensemble of its best epochs.

    Parameters
    ----------
    hidden:
        Hidden layer widths (anchor: three layers of 64, ReLU).
    epochs, batch_size, learning_rate:
        Adam training on the training part.
    validation_fraction:
        Fraction of the events (drawn at random per class) kept out of training to rank epochs.
    n_best:
        Number of epochs, lowest validation loss first, whose predictions are averaged.
    device:
        ``auto`` | ``cpu`` | ``cuda``.
    architecture:
        Network of ``networks.ARCHITECTURES`` (``hidden`` applies to ``mlp`` only).
    seed:
        Seeds the split, the initialisation and the batch order.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 64, 64),
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.2,
        n_best: int = 10,
        device: str = "auto",
        seed: int = 0,
        architecture: str = "mlp",
    ) -> None:
        get_architecture(architecture)
        self.architecture = architecture
        self.hidden = tuple(hidden)
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.n_best = n_best
        self.device = device
        self.seed = seed

    @classmethod
    def for_size(
        cls, size: str, device: str = "auto", seed: int = 0, architecture: str = "mlp", **params: Any
    ) -> AnomalyClassifier:
        """The size's configuration of ``architecture`` (``networks.ARCHITECTURES``); ``params``
        override it (``registry.CLASSIFIER_SEARCH_SPACE``: ``width``, ``depth`` reshape ``hidden``)."""
        cfg = size_config(CLASSIFIER_SIZES if architecture == "mlp" else PARTICLE_SIZES, size)
        defaults = {"hidden": (64, 64, 64), "epochs": cfg.epochs, "batch_size": cfg.batch_size, "n_best": cfg.n_best}
        return cls(**with_overrides(defaults, params), device=device, seed=seed, architecture=architecture)

    @property
    def inputs(self) -> str:
        """The input representation the network reads (``anomaly_inputs.REPRESENTATIONS``)."""
        return get_architecture(self.architecture).inputs

    def _build(self, shape: tuple[int, ...]) -> torch.nn.Module:
        if self.architecture == "mlp":
            return mlp(shape[0], self.hidden)
        return get_architecture(self.architecture).build(shape)

    def _split(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation indices, the same fraction of each class in both."""
        rng = np.random.default_rng(self.seed)
        train, valid = [], []
        for cls in (0.0, 1.0):
            idx = rng.permutation(np.flatnonzero(targets == cls))
            n_valid = int(round(self.validation_fraction * len(idx)))
            valid.append(idx[:n_valid])
            train.append(idx[n_valid:])
        return np.concatenate(train), np.concatenate(valid)

    def fit(
        self, inputs: np.ndarray, targets: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> AnomalyClassifier:
        """Train on ``inputs`` (n_events, ...: the architecture's representation) with ``targets``
        0 / 1 (n_events,).

        ``sample_weight`` (n_events,) defaults to class-balanced weights; given weights are used as
        they are (rescaled to mean 1), so a caller that balances its own classes keeps its ratios.
        """
        architecture = get_architecture(self.architecture)
        x = np.asarray(inputs, dtype=np.float64 if architecture.standardise else np.float32)
        y = np.asarray(targets, dtype=np.float64)
        if x.ndim < 2 or len(x) != len(y):
            raise ValueError(f"inputs must be (n_events, ...) matching targets, got {x.shape} and {y.shape}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        w = balanced_weights(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != y.shape or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
            raise ValueError("sample_weight must be finite, non-negative, not all zero and one per event")
        w = w / w.mean()
        if architecture.standardise:
            self.mean_ = x.mean(axis=0)
            self.std_ = x.std(axis=0)
            self.std_[self.std_ == 0] = 1.0
        else:
            self.mean_, self.std_ = np.zeros(x.shape[1:], np.float32), np.ones(x.shape[1:], np.float32)
        z = (x - self.mean_) / self.std_
        train, valid = self._split(y)
        if len(train) == 0 or len(valid) == 0 or len(np.unique(y[train])) < 2:
            raise ValueError(f"too few events ({len(y)}) to split into training and validation sets")

        device = resolve_device(self.device)
        torch.manual_seed(self.seed)
        network = self._build(x.shape[1:]).to(device)

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        valid_set = [tensor(z[valid]), tensor(y[valid]), tensor(w[valid])]

        def loss(xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor) -> torch.Tensor:
            return binary_loss(network(xb).squeeze(1), yb, wb, 0.0)

        def validation_loss() -> torch.Tensor:
            # In batches: a convolution over every validation image at once needs gigabytes.
            step = architecture.predict_batch
            total = sum(
                loss(*(t[i : i + step] for t in valid_set)) * valid_set[2][i : i + step].sum()
                for i in range(0, len(valid_set[0]), step)
            )
            return total / valid_set[2].sum()

        result = fit(
            network,
            loss,
            [tensor(z[train]), tensor(y[train]), tensor(w[train])],
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            validation=validation_loss,
            n_best=self.n_best,
        )
        kept, self.history_ = result.best, result.history
        if not kept:
            raise RuntimeError("the classifier's validation loss was never finite; lower learning_rate")
        self.best_epochs_ = [epoch for _, epoch, _ in kept]
        self.networks_ = []
        for _, _, state in kept:
            member = self._build(x.shape[1:])
            member.load_state_dict(state)
            self.networks_.append(member.to(device).eval())
        self.device_ = device
        return self

    @torch.no_grad()
    def predict(self, inputs: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Mean probability of class 1 over the best epochs, shape (n_events,)."""
        if not hasattr(self, "networks_"):
            raise RuntimeError("AnomalyClassifier is not fitted; call fit first")
        batch_size = batch_size or get_architecture(self.architecture).predict_batch
        z = (np.asarray(inputs, dtype=self.mean_.dtype) - self.mean_) / self.std_
        out = np.zeros(len(z), dtype=np.float64)
        for start in range(0, len(z), batch_size):
            xb = torch.as_tensor(z[start : start + batch_size], dtype=torch.float32, device=self.device_)
            probs = torch.stack([torch.sigmoid(net(xb).squeeze(1)) for net in self.networks_])
            out[start : start + batch_size] = probs.double().mean(dim=0).cpu().numpy()
        return out


class ClassifierDetector:
    """A detector that is one :class:`AnomalyClassifier` trained on labelled events it picks from
    :class:`AnomalyInputs`; subclasses give :meth:`fit`, which calls :meth:`_fit_classifier`.

    ``classifier`` is unfitted (``None``: the default :class:`AnomalyClassifier`).
    """

    def __init__(self, classifier: AnomalyClassifier | None = None) -> None:
        self.classifier = classifier

    @classmethod
    def for_size(cls, size: str, device: str = "auto", seed: int = 0, architecture: str = "mlp", **params: Any) -> Self:
        """The classifier of ``size``; ``architecture`` names its network (``networks.ARCHITECTURES``),
        ``params`` override its configuration (``registry.CLASSIFIER_SEARCH_SPACE``)."""
        return cls(AnomalyClassifier.for_size(size, device, seed, architecture, **params))

    @property
    def inputs(self) -> str:
        """The classifier's input representation (``anomaly_inputs.REPRESENTATIONS``; a classifier
        without one reads the high-level features)."""
        return str(getattr(self.classifier or AnomalyClassifier(), "inputs", "features"))

    def _fit_classifier(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Self:
        """Train the classifier on inputs ``x`` (n_events, ...) with labels ``y`` (n_events,)."""
        self.classifier_ = (self.classifier or AnomalyClassifier()).fit(x, y, sample_weight=sample_weight)
        return self

    def predict(self, events: pd.DataFrame) -> np.ndarray:
        """The classifier's probability of label 1 (what the subclass's :meth:`fit` labels 1) per
        event, shape (n_events,)."""
        return self.classifier_.predict(checked.representation(events, self.inputs, "events"))
