"""A small, fast, seeded shower sampler for tests of the shower generators.

Not a physics simulation: it gives showers with the features the generators must learn -
a longitudinal gamma profile whose maximum moves deeper with ``ln E_inc``, radial falloff
widening with depth, per-shower fluctuations of the total energy, the profile and the width,
voxel-level fluctuations and zero voxels below a threshold - for any :class:`Geometry`.
"""

from __future__ import annotations

import numpy as np

from .geometry import Geometry


def sample_test_showers(
    geometry: Geometry,
    n_showers: int,
    seed: int = 0,
    energy_range: tuple[float, float] = (1e3, 1e5),
    threshold: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(incident_energy (N,), showers (N, n_voxels))`` in MeV; ``E_inc`` log-uniform in ``energy_range``.

    Voxels below ``threshold`` MeV are set to 0 (as the official evaluation does for data set 1).
    """
    if n_showers < 1:
        raise ValueError(f"n_showers must be >= 1, got {n_showers}")
    rng = np.random.default_rng(seed)
    low, high = np.log(energy_range[0]), np.log(energy_range[1])
    energy = np.exp(rng.uniform(low, high, n_showers))
    log_gev = np.log(energy / 1e3)
    # Total deposit: sampling fraction 0.8 with a stochastic term of 10% / sqrt(E / GeV).
    deposit = energy * np.clip(0.8 + 0.8 * 0.1 / np.sqrt(energy / 1e3) * rng.normal(size=n_showers), 0.05, 1.0)

    layers = geometry.active_layers
    n_layers = len(layers)
    depth = (np.arange(n_layers) + 0.5) / n_layers * 10.0  # layer centres in arbitrary depth units
    # Gamma profile: shape grows with ln E (deeper maximum), fluctuating per shower.
    shape = (1.5 + 0.5 * (log_gev - log_gev.min() if n_showers > 1 else 0.0)) * rng.lognormal(0.0, 0.15, n_showers)
    scale = 1.2 * rng.lognormal(0.0, 0.1, n_showers)
    profile = depth[None, :] ** (shape[:, None] - 1) * np.exp(-depth[None, :] / scale[:, None])
    profile /= profile.sum(1, keepdims=True)
    layer_energy = deposit[:, None] * profile

    showers = np.zeros((n_showers, geometry.n_voxels))
    start = 0
    for i, layer in enumerate(layers):
        edges = np.asarray(layer.r_edges)
        # Exponential radial falloff, wider in deeper layers and fluctuating per shower (mm).
        radius = 8.0 * (1.0 + 0.2 * i) * rng.lognormal(0.0, 0.2, n_showers)
        contained = 1.0 - np.exp(-edges[None, :] / radius[:, None])
        ring = np.diff(contained, axis=1) / layer.n_alpha  # (N, n_radial): fraction per voxel in each ring
        weights = np.repeat(ring[:, None, :], layer.n_alpha, axis=1).reshape(n_showers, -1)
        fluctuation = rng.gamma(4.0, 0.25, size=weights.shape)  # voxel-level fluctuation, mean 1
        showers[:, start : start + layer.n_voxels] = layer_energy[:, i : i + 1] * weights * fluctuation
        start += layer.n_voxels
    showers[showers < threshold] = 0.0
    return energy, showers
