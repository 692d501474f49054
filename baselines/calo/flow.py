"""CaloFlow-like generator: two conditional normalising flows (Krause & Shih 2021).

Flow I learns the layer energies given ``E_inc``: the variables ``u_0 = E_tot / (s E_inc)`` and
``u_i = E_i / sum_{j >= i} E_j`` (logit-transformed, standardised). Flow II is a masked
autoregressive flow with monotonic rational-quadratic spline transforms (zuko ``NSF``) over the
voxels normalised to their layer's energy, conditioned on ``E_inc`` and the flow-I variables.
Sampling runs flow I, then flow II, and rescales every layer to the energy flow I gave it.

``passes`` = None makes flow II autoregressive voxel by voxel (the CaloFlow teacher: sampling
needs one network pass per voxel); an integer groups the voxels into that many blocks (fewer,
faster passes; needed for the 6480 voxels of data set 2).
"""

from __future__ import annotations

import numpy as np
import torch
import zuko
from torch import nn

from .generative import PATIENCE, CaloGenerator, merge_histories, spline_bytes_per_shower, train_generative
from .preprocessing import DEFAULT_ALPHA, LayerRepresentation


class CaloFlowGenerator(CaloGenerator):
    name = "calo-flow"
    PRESETS = {
        "tiny": {
            "layer_transforms": 2,
            "layer_hidden": (32, 32),
            "voxel_transforms": 2,
            "voxel_hidden": (32,),
            "bins": 4,
            "passes": 4,
            "epochs": 10,
            "batch_size": 128,
            "learning_rate": 2e-3,
        },
        "small": {
            "layer_transforms": 4,
            "layer_hidden": (64, 64),
            "voxel_transforms": 4,
            "voxel_hidden": (128,),
            "bins": 8,
            "passes": 16,
            "epochs": 50,
            "batch_size": 256,
            "learning_rate": 1e-3,
            "patience": PATIENCE,
        },
        # CaloFlow teacher: flow I 6 RQS-MADE blocks, flow II 8 RQS-MADE blocks, 8 bins.
        "full": {
            "layer_transforms": 6,
            "layer_hidden": (64, 64),
            "voxel_transforms": 8,
            "voxel_hidden": (512,),
            "bins": 8,
            "epochs": 200,
            "batch_size": 200,
            "learning_rate": 1e-4,
            "patience": PATIENCE,
        },
    }

    def __init__(
        self,
        layer_transforms: int = 4,
        layer_hidden: tuple[int, ...] = (64, 64),
        voxel_transforms: int = 4,
        voxel_hidden: tuple[int, ...] = (256,),
        bins: int = 8,
        passes: int | None = None,
        epochs: int = 50,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int | None = None,
        alpha: float = DEFAULT_ALPHA,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.layer_transforms = layer_transforms
        self.layer_hidden = tuple(layer_hidden)
        self.voxel_transforms = voxel_transforms
        self.voxel_hidden = tuple(voxel_hidden)
        self.bins = bins
        self.passes = passes
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.alpha = alpha
        self.device = device
        self.seed = seed

    def _fit_transforms(self, energy: np.ndarray, voxels: np.ndarray) -> list[torch.Tensor]:
        self.layers_ = LayerRepresentation(self.geometry_, self.alpha)
        x, u = self.layers_.fit_transform(energy, voxels, self.seed)
        return [x, u, self.condition_.transform(energy)]

    def _transform_state(self) -> dict[str, torch.Tensor]:
        return self.layers_.state()

    def _load_transforms(self, state: dict[str, torch.Tensor]) -> None:
        self.layers_ = LayerRepresentation(self.geometry_, self.alpha).load(state)

    def _sample_bytes_per_shower(self) -> int:
        return spline_bytes_per_shower(self.geometry_.n_voxels, self.bins)

    def _build(self) -> None:
        n_layers = len(self.geometry_.active_layers)
        self.networks_ = nn.ModuleDict(
            {
                "flow_i": zuko.flows.NSF(
                    n_layers,
                    context=1,
                    bins=self.bins,
                    transforms=self.layer_transforms,
                    hidden_features=self.layer_hidden,
                ),
                "flow_ii": zuko.flows.NSF(
                    self.geometry_.n_voxels,
                    context=1 + n_layers,
                    bins=self.bins,
                    transforms=self.voxel_transforms,
                    hidden_features=self.voxel_hidden,
                    passes=self.passes,
                ),
            }
        )

    def _train(self, tensors: list[torch.Tensor]) -> list[dict[str, float]]:
        x, u, condition = tensors
        flow_i, flow_ii = self.networks_["flow_i"], self.networks_["flow_ii"]
        options = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "patience": self.patience,
        }
        history_i = train_generative(
            lambda ub, cb: -flow_i(cb).log_prob(ub).mean(),
            flow_i,
            [u, condition],
            seed=self.seed,
            description=f"{self.name}: flow I",
            **options,
        )
        # Flow II sees the true layer energies in training (teacher forcing), flow I's in sampling.
        history_ii = train_generative(
            lambda xb, ub, cb: -flow_ii(torch.cat([cb, ub], 1)).log_prob(xb).mean(),
            flow_ii,
            [x, u, condition],
            seed=self.seed + 1,
            description=f"{self.name}: flow II",
            **options,
        )
        return merge_histories({"flow_i": history_i, "flow_ii": history_ii}, "nll")

    def _generate(self, energy: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        # Splines act on [-5, 5]; clamping keeps rare tail draws from decoding to extreme energies.
        u = self.networks_["flow_i"](condition).sample().clamp(-6.0, 6.0)
        x = self.networks_["flow_ii"](torch.cat([condition, u], 1)).sample().clamp(-6.0, 6.0)
        return self.layers_.inverse(energy, u, x)
