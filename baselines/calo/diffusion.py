"""CaloDiffusion-like generator: a denoising diffusion probabilistic model (Ho et al. 2020).

The forward process noises standardised variables ``x_0`` over ``n_steps`` with the linear
schedule of Ho et al.: ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``. A fully connected
denoiser, given ``x_t``, its context and a sinusoidal embedding of ``t``, predicts
``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0`` (mean squared error; the v-parameterisation of
Salimans & Ho 2022 stays well conditioned at both ends of the chain). Sampling is ancestral:
``n_steps`` network passes from pure noise, with the predicted ``x_0`` clipped to ``clip``.

With ``representation="layers"`` (the presets) one denoiser draws the layer energies given
``E_inc`` and a second the voxels normalised per layer given both (CaloDREAM's split); with
``"voxels"``, one denoiser draws all voxels as fractions of ``E_inc`` (see
:class:`~.generative.TimeConditionedGenerator`). CaloDiffusion uses a convolutional U-Net on the
cylindrical geometry; these are fully connected.
"""

from __future__ import annotations

import torch
from torch import nn

from .generative import PATIENCE, TimeConditionedGenerator
from .preprocessing import DEFAULT_ALPHA


def linear_schedule(n_steps: int) -> torch.Tensor:
    """``beta_t`` (n_steps,) rising linearly from 1e-4 to 0.02 for 1000 steps, rescaled by 1000 / n_steps
    so that ``abar`` at the last step is close to 0 for any number of steps (Nichol & Dhariwal 2021)."""
    scale = 1000.0 / n_steps
    return torch.linspace(1e-4 * scale, min(0.02 * scale, 0.999), n_steps, dtype=torch.float64)


class CaloDiffusionGenerator(TimeConditionedGenerator):
    name = "calo-diffusion"
    NETWORK = "denoiser"
    PRESETS = {
        "tiny": {"hidden": (256, 256), "n_steps": 50, "epochs": 50, "batch_size": 128, "learning_rate": 2e-3},
        "small": {
            "hidden": (512, 512, 512),
            "n_steps": 200,
            "epochs": 100,
            "batch_size": 256,
            "learning_rate": 1e-3,
            "patience": PATIENCE,
        },
        # CaloDiffusion: 400 diffusion steps, long training.
        "full": {
            "hidden": (1024, 1024, 1024, 1024),
            "n_steps": 400,
            "epochs": 500,
            "batch_size": 128,
            "learning_rate": 4e-4,
            "patience": PATIENCE,
        },
    }

    def __init__(
        self,
        hidden: tuple[int, ...] = (512, 512, 512),
        n_steps: int = 200,
        epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int | None = None,
        representation: str = "layers",
        deposit_floor_mev: float = 0.0,
        clip: float = 6.0,
        alpha: float = DEFAULT_ALPHA,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self._check_representation(representation, deposit_floor_mev)
        self.hidden = tuple(hidden)
        self.n_steps = n_steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.representation = representation
        self.deposit_floor_mev = float(deposit_floor_mev)
        self.clip = clip
        self.alpha = alpha
        self.device = device
        self.seed = seed

    def _build(self) -> None:
        super()._build()
        betas = linear_schedule(self.n_steps)
        self._betas = betas.float().to(self.device_)
        self._abar = torch.cumprod(1 - betas, 0).float().to(self.device_)

    def _v(self, network: nn.Module, x: torch.Tensor, context: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        return self._forward(network, x, step.float() / self.n_steps, context)

    def _loss(self, network: nn.Module, x0: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        step = torch.randint(0, self.n_steps, (len(x0),), device=x0.device)
        noise = torch.randn_like(x0)
        abar = self._abar[step][:, None]
        xt = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
        target = abar.sqrt() * noise - (1 - abar).sqrt() * x0
        return ((self._v(network, xt, context, step) - target) ** 2).mean()

    def _draw(self, network: nn.Module, context: torch.Tensor, n_features: int) -> torch.Tensor:
        x = torch.randn(len(context), n_features, device=context.device)
        for t in range(self.n_steps - 1, -1, -1):
            step = torch.full((len(x),), t, device=x.device, dtype=torch.long)
            abar, beta = self._abar[t], self._betas[t]
            abar_prev = self._abar[t - 1] if t > 0 else torch.ones_like(abar)
            v = self._v(network, x, context, step)
            x0 = (abar.sqrt() * x - (1 - abar).sqrt() * v).clamp(-self.clip, self.clip)
            # Posterior q(x_{t-1} | x_t, x_0) mean and variance.
            mean = (abar_prev.sqrt() * beta * x0 + (1 - beta).sqrt() * (1 - abar_prev) * x) / (1 - abar)
            if t > 0:
                x = mean + ((1 - abar_prev) / (1 - abar) * beta).sqrt() * torch.randn_like(x)
            else:
                x = mean
        return x
