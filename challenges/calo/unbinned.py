"""Calorimeter reference showers with detector variations, for the unbinned export.

A variation re-simulates the same showers (same incident energies, same random stream) in a
detector varied by ``simulator.vary``: energy calibration +-1%, sampling fraction +-5%, radiation
length +-3%. All change features (voxel energies) only, so their weights are 1; showers are
sampled events, nominal weight 1. Features: the incident energy, then every voxel (MeV).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from ..export import UnbinnedSet, Variation
from .dataset import SPLITS, load_split
from .simulator import GFlashSimulator, detector_model, vary

VARIATIONS: tuple[Variation, ...] = (
    Variation("energy_scale_up", "feature", {"energy_scale": 1.01}, "stored energies x 1.01 (miscalibration)"),
    Variation("energy_scale_down", "feature", {"energy_scale": 0.99}, "stored energies x 0.99"),
    Variation("sampling_fraction_up", "feature", {"sampling_fraction_scale": 1.05}, "sampling fraction x 1.05"),
    Variation("sampling_fraction_down", "feature", {"sampling_fraction_scale": 0.95}, "sampling fraction x 0.95"),
    Variation("x0_up", "feature", {"x0_scale": 1.03}, "radiation length and Moliere radius x 1.03"),
    Variation("x0_down", "feature", {"x0_scale": 0.97}, "radiation length and Moliere radius x 0.97"),
)


def resimulate(geometry: str, stream_seed: int, energy: np.ndarray, variation: Variation) -> np.ndarray:
    """The showers of ``energy`` (N,) MeV, stream ``stream_seed``, in the varied detector: (N, n_voxels)."""
    simulator = GFlashSimulator(vary(detector_model(geometry), **variation.parameters), seed=stream_seed)
    again, showers = simulator.generate(len(energy))
    if not np.array_equal(again, energy):
        raise ValueError(f"{geometry} stream {stream_seed}: re-simulation drew other incident energies")
    return showers


def unbinned_sets(folder: Path) -> dict[str, Callable[[], UnbinnedSet]]:
    """Every ``GEOMETRY_SPLIT.hdf5`` of the folder by set name, each read when its loader is called."""
    geometries = [path.name.removesuffix("_train.hdf5") for path in sorted(Path(folder).glob("*_train.hdf5"))]
    return {f"{g}_{split}": partial(_unbinned_set, Path(folder), g, split) for g in geometries for split in SPLITS}


def _unbinned_set(folder: Path, geometry: str, split: str) -> UnbinnedSet:
    data = load_split(folder, geometry, split)
    energy = np.asarray(data.incident_energy, dtype=np.float64).reshape(-1)
    stream = int(data.metadata["stream_seed"])
    n_voxels = data.showers.shape[1]

    def varied(variation: Variation) -> tuple[np.ndarray, np.ndarray]:
        showers = resimulate(geometry, stream, energy, variation)
        return np.column_stack([energy, showers]), np.ones(len(energy))

    return UnbinnedSet(
        name=f"{geometry}_{split}",
        features=["incident_energy", *(f"voxel_{i}" for i in range(n_voxels))],
        nominal=np.column_stack([energy, data.showers]),
        weight=np.ones(len(energy)),
        variations=VARIATIONS,
        vary=varied,
        metadata={
            "generator": data.metadata.get("generator"),
            "generator_version": data.metadata.get("generator_version", data.metadata.get("hepbench_version")),
            "stream_seed": stream,
            "geometry": data.metadata.get("geometry"),
            "units": "MeV",
            "weight": "1 (sampled showers)",
        },
    )
