"""CaloINN-like generator: an invertible network of coupling blocks (Ernst et al. 2023).

Each block splits the standardised voxel logits in two random halves and transforms one half
with monotonic rational-quadratic splines whose parameters a network computes from the other
half and the standardised ``log(E_inc)`` (zuko ``NSF`` with ``passes=2``: a coupling flow, so
sampling costs two network passes per block). Trained by maximum likelihood.
"""

from __future__ import annotations

import torch
import zuko
from torch import nn

from .generative import PATIENCE, VoxelSpaceGenerator, spline_bytes_per_shower, train_generative
from .preprocessing import DEFAULT_ALPHA


class CaloINNGenerator(VoxelSpaceGenerator):
    name = "calo-inn"
    PRESETS = {
        "tiny": {"transforms": 2, "hidden": (32,), "bins": 4, "epochs": 10, "batch_size": 128, "learning_rate": 2e-3},
        "small": {
            "transforms": 6,
            "hidden": (128, 128),
            "bins": 8,
            "epochs": 50,
            "batch_size": 256,
            "learning_rate": 1e-3,
            "patience": PATIENCE,
        },
        # CaloINN: a dozen RQS coupling blocks with 2-layer subnetworks, trained for hundreds of epochs.
        "full": {
            "transforms": 12,
            "hidden": (512, 512),
            "bins": 10,
            "epochs": 300,
            "batch_size": 512,
            "learning_rate": 5e-4,
            "patience": PATIENCE,
        },
    }

    def __init__(
        self,
        transforms: int = 8,
        hidden: tuple[int, ...] = (256, 256),
        bins: int = 8,
        epochs: int = 50,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int | None = None,
        alpha: float = DEFAULT_ALPHA,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.transforms = transforms
        self.hidden = tuple(hidden)
        self.bins = bins
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.alpha = alpha
        self.device = device
        self.seed = seed

    def _sample_bytes_per_shower(self) -> int:
        return spline_bytes_per_shower(self.geometry_.n_voxels, self.bins)

    def _build(self) -> None:
        # randperm: a different random half is transformed in every block (orders are saved buffers).
        self.networks_ = nn.ModuleDict(
            {
                "inn": zuko.flows.NSF(
                    self.geometry_.n_voxels,
                    context=1,
                    bins=self.bins,
                    transforms=self.transforms,
                    hidden_features=self.hidden,
                    passes=2,
                    randperm=True,
                )
            }
        )

    def _train(self, tensors: list[torch.Tensor]) -> list[dict[str, float]]:
        inn = self.networks_["inn"]
        return train_generative(
            lambda zb, cb: -inn(cb).log_prob(zb).mean(),
            inn,
            tensors,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            patience=self.patience,
            description=self.name,
        )

    def _sample_latent(self, condition: torch.Tensor) -> torch.Tensor:
        return self.networks_["inn"](condition).sample().clamp(-6.0, 6.0)
