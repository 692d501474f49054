"""CaloDREAM-like generator: conditional flow matching (Lipman et al. 2023) with a fixed-step ODE solver.

A network ``v(x_t, t, c)`` learns the velocity of the straight path ``x_t = (1 - t) x_0 + t x_1``
from Gaussian noise ``x_0`` to the standardised voxel logits ``x_1`` (target ``x_1 - x_0``, mean
squared error), conditioned on the standardised ``log(E_inc)``. Sampling integrates
``dx/dt = v`` from t = 0 to 1 with ``n_steps`` fixed steps of Euler, midpoint or RK4.
"""

from __future__ import annotations

import torch
from torch import nn

from ...torch_common import mlp
from .generative import PATIENCE, VoxelSpaceGenerator, sinusoidal_embedding, train_generative
from .preprocessing import DEFAULT_ALPHA

TIME_FEATURES = 16
SOLVERS: tuple[str, ...] = ("euler", "midpoint", "rk4")


class CaloFlowMatchingGenerator(VoxelSpaceGenerator):
    name = "calo-flow-matching"
    PRESETS = {
        "tiny": {"hidden": (256, 256), "n_steps": 10, "epochs": 40, "batch_size": 128, "learning_rate": 2e-3},
        "small": {
            "hidden": (512, 512, 512),
            "n_steps": 20,
            "epochs": 100,
            "batch_size": 256,
            "learning_rate": 1e-3,
            "patience": PATIENCE,
        },
        # CaloDREAM-scale velocity network; fixed-step RK4 as its fast sampling setting.
        "full": {
            "hidden": (1024, 1024, 1024, 1024),
            "n_steps": 32,
            "solver": "rk4",
            "epochs": 500,
            "batch_size": 256,
            "learning_rate": 5e-4,
            "patience": PATIENCE,
        },
    }

    def __init__(
        self,
        hidden: tuple[int, ...] = (512, 512, 512),
        n_steps: int = 20,
        solver: str = "midpoint",
        epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int | None = None,
        alpha: float = DEFAULT_ALPHA,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        self.hidden = tuple(hidden)
        self.n_steps = n_steps
        self.solver = solver
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.alpha = alpha
        self.device = device
        self.seed = seed

    def _build(self) -> None:
        n = self.geometry_.n_voxels
        self.networks_ = nn.ModuleDict({"velocity": mlp(n + 1 + TIME_FEATURES, self.hidden, n, activation=nn.SiLU)})

    def _velocity(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.networks_["velocity"](torch.cat([x, condition, sinusoidal_embedding(t, TIME_FEATURES)], 1))

    def _train(self, tensors: list[torch.Tensor]) -> list[dict[str, float]]:
        def loss(x1: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
            x0 = torch.randn_like(x1)
            t = torch.rand(len(x1), device=x1.device)
            xt = (1 - t[:, None]) * x0 + t[:, None] * x1
            return ((self._velocity(xt, t, condition) - (x1 - x0)) ** 2).mean()

        return train_generative(
            loss,
            self.networks_,
            tensors,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            patience=self.patience,
            description=self.name,
        )

    def _sample_latent(self, condition: torch.Tensor) -> torch.Tensor:
        x = torch.randn(len(condition), self.geometry_.n_voxels, device=condition.device)
        h = 1.0 / self.n_steps
        for i in range(self.n_steps):
            t = torch.full((len(x),), i * h, device=x.device)
            if self.solver == "euler":
                x = x + h * self._velocity(x, t, condition)
            elif self.solver == "midpoint":
                x = x + h * self._velocity(x + 0.5 * h * self._velocity(x, t, condition), t + 0.5 * h, condition)
            else:
                k1 = self._velocity(x, t, condition)
                k2 = self._velocity(x + 0.5 * h * k1, t + 0.5 * h, condition)
                k3 = self._velocity(x + 0.5 * h * k2, t + 0.5 * h, condition)
                k4 = self._velocity(x + h * k3, t + h, condition)
                x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return x
