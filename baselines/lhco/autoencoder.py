"""Unsupervised autoencoder anomaly detector for LHCO (SPEC section 2).

An autoencoder with a narrow bottleneck is trained to reconstruct the signal-region data. The
data are nearly all background, so rare events unlike the bulk, such as a resonance with two
heavy two-prong jets, reconstruct worse: the score is the reconstruction error. It uses no
sideband and no signal model, so it finds "rare" rather than "over-dense" and is the weakest of
the anchor's methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...challenges.lhco.protocol import AnomalyInputs
from ...torch_common import fit, mlp, resolve_device
from ..base import size_config
from . import anomaly_inputs as checked


@dataclass(frozen=True)
class AutoencoderSize:
    epochs: int
    batch_size: int


AUTOENCODER_SIZES: dict[str, AutoencoderSize] = {
    "tiny": AutoencoderSize(epochs=10, batch_size=256),
    "small": AutoencoderSize(epochs=30, batch_size=256),
    "full": AutoencoderSize(epochs=100, batch_size=128),
}


class Autoencoder:
    """Reconstruction-error anomaly score of an MLP autoencoder trained on signal-region data.

    Parameters
    ----------
    hidden:
        Encoder widths (the decoder mirrors them).
    latent:
        Bottleneck width. With only 4 features a 2- or 3-wide bottleneck still reconstructs the
        signal well (AUC below 0.5 on the toy of ``challenges.lhco.testing``); one unit forces
        the network to keep only the dominant background structure.
    epochs, batch_size, learning_rate:
        Adam on the mean squared error of the standardised features.
    validation_fraction:
        Events kept out of training; the epoch with the lowest validation error is kept.
    device:
        ``auto`` | ``cpu`` | ``cuda``.
    seed:
        Seeds the split, the initialisation and the batch order.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 32),
        latent: int = 1,
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.2,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.hidden = tuple(hidden)
        self.latent = latent
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.device = device
        self.seed = seed

    @classmethod
    def for_size(cls, size: str, device: str = "auto", seed: int = 0) -> Autoencoder:
        cfg = size_config(AUTOENCODER_SIZES, size)
        return cls(epochs=cfg.epochs, batch_size=cfg.batch_size, device=device, seed=seed)

    def _network(self, n_features: int) -> nn.Sequential:
        encoder = mlp(n_features, self.hidden, self.latent)
        decoder = mlp(self.latent, self.hidden[::-1], n_features)
        return nn.Sequential(encoder, nn.ReLU(), decoder)

    def fit(self, inputs: AnomalyInputs) -> Autoencoder:
        x = checked.features(checked.signal_region(inputs.data, inputs.signal_region, "inputs.data"), "inputs.data")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        n_valid = int(round(self.validation_fraction * len(x)))
        if n_valid < 1 or len(x) - n_valid < 1:
            raise ValueError(f"too few signal-region events ({len(x)}) to train with a validation split")
        self.mean_, self.std_ = x.mean(axis=0), x.std(axis=0)
        self.std_[self.std_ == 0] = 1.0
        z = (x - self.mean_) / self.std_
        order = np.random.default_rng(self.seed).permutation(len(z))
        device = resolve_device(self.device)
        zt = torch.as_tensor(z[order[n_valid:]], dtype=torch.float32, device=device)
        zv = torch.as_tensor(z[order[:n_valid]], dtype=torch.float32, device=device)
        torch.manual_seed(self.seed)
        network = self._network(x.shape[1]).to(device)
        result = fit(
            network,
            lambda xb: ((network(xb) - xb) ** 2).mean(),
            [zt],
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            validation=lambda: ((network(zv) - zv) ** 2).mean(),
        )
        kept, self.history_ = result.best, result.history
        if not kept:
            raise RuntimeError("the autoencoder's validation loss was never finite; lower learning_rate")
        _, self.best_epoch_, state = kept[0]
        network.load_state_dict(state)
        self.network_ = network.eval()
        self.device_ = device
        return self

    @torch.no_grad()
    def predict(self, events: pd.DataFrame) -> np.ndarray:
        """Mean squared reconstruction error of the standardised features, shape (n_events,)."""
        if not hasattr(self, "network_"):
            raise RuntimeError("Autoencoder is not fitted; call fit first")
        z = (checked.features(events, "events") - self.mean_) / self.std_
        zt = torch.as_tensor(z, dtype=torch.float32, device=self.device_)
        return ((self.network_(zt) - zt) ** 2).mean(dim=1).double().cpu().numpy()
