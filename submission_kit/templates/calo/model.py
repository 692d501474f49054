"""A calorimeter shower generator: edit ``Model`` and keep its interface.

``fit(incident_energy, showers, geometry)`` gets the training showers: incident energies (N,)
in MeV, voxel energies (N, n_voxels) in MeV in the order layer -> alpha -> r, and the geometry
(a dict: ``layers`` with ``r_edges`` in mm and ``n_alpha``). ``sample(incident_energy)`` returns
one shower per incident energy, (M, n_voxels) in MeV, every value finite and >= 0. The kit's
entrypoint calls ``sample`` once untimed (warm-up) and then once per batch of up to 10,000
energies, timing each call: keep random state across calls (one generator, created in ``fit``)
so that batches draw different showers.

This template is numpy only and deliberately simple: in bins of log(E_inc) it learns, for each
voxel on its own, how often it is hit and a log-normal law of its energy fraction E_voxel / E_inc,
then draws voxels independently. It ignores the correlations between voxels that a real
generative model (flow, diffusion, GAN...) learns, so a classifier separates it easily.
"""

from __future__ import annotations

import numpy as np


class Model:
    def __init__(self, n_energy_bins: int = 8, seed: int = 0) -> None:
        self.n_energy_bins = n_energy_bins
        self.seed = seed

    def _bin(self, incident_energy: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.edges_, np.log(incident_energy)) - 1, 0, len(self.edges_) - 2)

    def fit(self, incident_energy: np.ndarray, showers: np.ndarray, geometry: dict) -> Model:
        log_e = np.log(incident_energy)
        self.edges_ = np.unique(np.quantile(log_e, np.linspace(0.0, 1.0, self.n_energy_bins + 1)))
        which = self._bin(incident_energy)
        n_bins, n_voxels = len(self.edges_) - 1, showers.shape[1]
        self.hit_ = np.zeros((n_bins, n_voxels))
        self.mean_ = np.zeros((n_bins, n_voxels))
        self.std_ = np.zeros((n_bins, n_voxels))
        fraction = showers / incident_energy[:, None]
        for b in range(n_bins):
            f = fraction[which == b]
            hit = f > 0
            self.hit_[b] = hit.mean(axis=0)
            log_f = np.where(hit, np.log(np.where(hit, f, 1.0)), 0.0)
            count = np.maximum(hit.sum(axis=0), 1)
            self.mean_[b] = log_f.sum(axis=0) / count
            self.std_[b] = np.sqrt(np.maximum((log_f**2).sum(axis=0) / count - self.mean_[b] ** 2, 0.0))
        self.rng_ = np.random.default_rng(self.seed)
        return self

    def sample(self, incident_energy: np.ndarray) -> np.ndarray:
        which = self._bin(incident_energy)
        hit = self.rng_.random((len(which), self.hit_.shape[1])) < self.hit_[which]
        log_f = self.mean_[which] + self.std_[which] * self.rng_.standard_normal(hit.shape)
        # A voxel holds at most the shower's energy: the log-normal's tail is cut there.
        return np.where(hit, incident_energy[:, None] * np.exp(np.minimum(log_f, 0.0)), 0.0)
