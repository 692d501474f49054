"""CaloGAN-like generator: Wasserstein GAN with gradient penalty, conditioned on log E_inc.

The generator maps Gaussian noise and the standardised ``log(E_inc)`` to standardised voxel
logits (see :mod:`.calo_preprocessing`); the critic scores (voxels, condition) pairs. Training
follows WGAN-GP (Gulrajani et al. 2017): ``n_critic`` critic updates per generator update,
penalty ``gp_weight * (|grad critic| - 1)^2`` on interpolates, Adam with betas (0.5, 0.9).
"""

from __future__ import annotations

import torch
from torch import nn

from ...torch_common import Counters, fit, mlp
from .generative import VoxelSpaceGenerator
from .preprocessing import DEFAULT_ALPHA


class _LeakyReLU(nn.LeakyReLU):
    def __init__(self) -> None:
        super().__init__(0.2)


class CaloGANGenerator(VoxelSpaceGenerator):
    name = "calo-gan"
    PRESETS = {
        "tiny": {
            "latent_dim": 16,
            "generator_hidden": (64, 128),
            "critic_hidden": (128, 64),
            "epochs": 40,
            "batch_size": 64,
            "n_critic": 2,
            "learning_rate": 5e-4,
        },
        "small": {
            "latent_dim": 64,
            "generator_hidden": (256, 512),
            "critic_hidden": (512, 256),
            "epochs": 200,
            "batch_size": 128,
            "n_critic": 5,
            "learning_rate": 1e-4,
        },
        # CaloGAN-scale fully connected networks and the WGAN-GP recipe (lr 1e-4, 5 critic steps).
        "full": {
            "latent_dim": 128,
            "generator_hidden": (512, 1024, 2048),
            "critic_hidden": (2048, 1024, 512),
            "epochs": 1000,
            "batch_size": 128,
            "n_critic": 5,
            "learning_rate": 1e-4,
        },
    }

    def __init__(
        self,
        latent_dim: int = 64,
        generator_hidden: tuple[int, ...] = (256, 512),
        critic_hidden: tuple[int, ...] = (512, 256),
        epochs: int = 200,
        batch_size: int = 128,
        n_critic: int = 5,
        gp_weight: float = 10.0,
        learning_rate: float = 1e-4,
        alpha: float = DEFAULT_ALPHA,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.latent_dim = latent_dim
        self.generator_hidden = tuple(generator_hidden)
        self.critic_hidden = tuple(critic_hidden)
        self.epochs = epochs
        self.batch_size = batch_size
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.device = device
        self.seed = seed

    def _build(self) -> None:
        n = self.geometry_.n_voxels
        self.networks_ = nn.ModuleDict(
            {
                "generator": mlp(self.latent_dim + 1, self.generator_hidden, n, activation=_LeakyReLU),
                "critic": mlp(n + 1, self.critic_hidden, 1, activation=_LeakyReLU),
            }
        )

    def _fake(self, condition: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(len(condition), self.latent_dim, device=condition.device)
        return self.networks_["generator"](torch.cat([noise, condition], 1))

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        mix = torch.rand(len(real), 1, device=real.device)
        x = (mix * real + (1 - mix) * fake).requires_grad_(True)
        score = self.networks_["critic"](torch.cat([x, condition], 1))
        (grad,) = torch.autograd.grad(score.sum(), x, create_graph=True)
        return ((grad.norm(dim=1) - 1.0) ** 2).mean()

    def _train(self, tensors: list[torch.Tensor]) -> list[dict[str, float]]:
        generator, critic = self.networks_["generator"], self.networks_["critic"]
        opt_g = torch.optim.Adam(generator.parameters(), lr=self.learning_rate, betas=(0.5, 0.9))
        counts = Counters(step=0, generator=0.0, generator_steps=0)

        def critic_loss(real: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            fake = self._fake(c).detach()
            wasserstein = critic(torch.cat([real, c], 1)).mean() - critic(torch.cat([fake, c], 1)).mean()
            return -wasserstein + self.gp_weight * self._gradient_penalty(real, fake, c)

        def generator_step(real: torch.Tensor, c: torch.Tensor) -> None:
            # One generator update after every n_critic critic updates (WGAN-GP).
            counts["step"] += 1
            if counts["step"] % self.n_critic == 0:
                loss_g = -critic(torch.cat([self._fake(c), c], 1)).mean()
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
                counts["generator"] += float(loss_g.detach())
                counts["generator_steps"] += 1

        def on_epoch(record: dict[str, float]) -> None:
            record["critic_loss"] = record["loss"]
            record["generator_loss"] = counts["generator"] / max(counts["generator_steps"], 1)
            counts.update(generator=0.0, generator_steps=0)

        # The critic is the network the loop steps; the generator follows in after_step.
        return fit(
            critic,
            critic_loss,
            tensors,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            betas=(0.5, 0.9),
            seed=self.seed,
            after_step=generator_step,
            on_epoch=on_epoch,
            extra_state={"generator": generator, "generator_optimiser": opt_g, "counts": counts},
        ).history

    def _sample_latent(self, condition: torch.Tensor) -> torch.Tensor:
        return self._fake(condition)
