"""Classifier architectures of the LHCO detectors: which inputs a network reads, and how it is built.

One table, :data:`ARCHITECTURES`: a name -> the input representation it needs (see
``anomaly_inputs.REPRESENTATIONS``) and a builder ``(input shape without the event axis) ->
torch module`` returning one logit per event. The supervised bound, the idealized detector
and CWoLa hunting take the architecture by name, so each method trains every network with the
same recipe (``anomaly_classifier.AnomalyClassifier``, THE loop ``torch_common.fit``).

- ``mlp``: 3 x 64 ReLU on the high-level features (the anchors' classifier);
- ``cnn``: two-channel jet images (lighter jet, heavier jet), three convolution + max-pool
  blocks and a dense layer (jet-image taggers, Cogan et al. 2015, de Oliveira et al. 2016);
- ``gru``: one GRU shared by both jets over the pT-ordered constituents, hardest last (the
  recurrent taggers of Guest et al. 2016, Louppe et al. 2017), final states concatenated;
- ``deepsets``: a particle-flow network (Komiske, Metodiev, Thaler 2019): a per-particle map
  summed over each jet's particles (permutation invariant), then a dense network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ...torch_common import mlp


class JetImageCNN(nn.Module):
    """(n, channels, P, P) images -> (n, 1) logits; P divisible by nothing in particular
    (max-pooling floors), three conv + pool blocks."""

    def __init__(self, channels: int, pixels: int, width: int = 16) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        size, c_in = pixels, channels
        for c_out, kernel in ((width, 5), (2 * width, 3), (2 * width, 3)):
            conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
            # Batch norm: pixels are pT fractions (mostly ~1e-2), far from unit scale.
            blocks += [conv, nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
            size, c_in = size // 2, c_out
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.head = mlp(c_in * size * size, (64,))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class ConstituentGRU(nn.Module):
    """(n, jets, particles, features) constituents, pT-descending and zero-padded -> (n, 1)."""

    def __init__(self, n_jets: int, n_features: int, hidden: int = 32) -> None:
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, batch_first=True)
        self.head = mlp(n_jets * hidden, (64, 64))

    def forward(self, particles: torch.Tensor) -> torch.Tensor:
        n, jets, length, features = particles.shape
        # Softest first, hardest last, so the final state has just seen the hard core; the
        # zero-padded empty slots come first and leave a state that depends on the multiplicity.
        flat = particles.reshape(n * jets, length, features).flip(1)
        _, state = self.gru(flat)
        return self.head(state[-1].reshape(n, -1))


class ParticleFlowNetwork(nn.Module):
    """Deep sets: sum over each jet's particles of phi(particle), then F; (n, jets, particles, features) -> (n, 1)."""

    def __init__(self, n_jets: int, n_features: int, latent: int = 32) -> None:
        super().__init__()
        self.phi = nn.Sequential(mlp(n_features, (64, 64), latent), nn.ReLU())
        self.head = mlp(n_jets * latent, (64, 64))

    def forward(self, particles: torch.Tensor) -> torch.Tensor:
        mask = (particles[..., 0] > 0).unsqueeze(-1).to(particles.dtype)
        latent = (self.phi(particles) * mask).sum(dim=2)  # (n, jets, latent)
        return self.head(latent.flatten(1))


@dataclass(frozen=True)
class Architecture:
    inputs: str
    """Key of ``anomaly_inputs.REPRESENTATIONS``."""
    build: Callable[[tuple[int, ...]], nn.Module]
    """(input shape without the event axis) -> module with one logit per event."""
    standardise: bool
    """Standardise each input column (high-level features); particle inputs are already relative."""
    predict_batch: int
    """Events per forward pass at prediction time (bounded by the activations' memory)."""


ARCHITECTURES: dict[str, Architecture] = {
    "mlp": Architecture("features", lambda shape: mlp(shape[0], (64, 64, 64)), True, 65536),
    "cnn": Architecture("image", lambda shape: JetImageCNN(shape[0], shape[1]), False, 2048),
    "gru": Architecture("constituents", lambda shape: ConstituentGRU(shape[0], shape[2]), False, 4096),
    "deepsets": Architecture("constituents", lambda shape: ParticleFlowNetwork(shape[0], shape[2]), False, 4096),
}


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown classifier architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]
