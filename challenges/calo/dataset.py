"""Calo data sets: GFlash showers written in the official HDF5 format, per geometry and split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import __version__
from .showers_io import Showers, read_showers, write_showers
from .simulator import GFlashSimulator, detector_model

GENERATOR = "hepbench.calo.gflash"


@dataclass(frozen=True)
class CaloPreset:
    name: str
    showers: dict[str, int]
    """Showers per split (train and test each) for each geometry."""


PRESETS: dict[str, CaloPreset] = {
    "tiny": CaloPreset("tiny", {"ds1-photons": 300}),
    "small": CaloPreset("small", {"ds1-photons": 5000, "ds2": 1000}),
    # Official sizes: DS1 photons 121k showers in two files, DS2/DS3 100k per file.
    "full": CaloPreset("full", {"ds1-photons": 121_000, "ds2": 100_000, "ds3": 100_000}),
}
SPLITS = ("train", "test")


def get_calo_preset(name: str) -> CaloPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown calo preset {name!r}; known: {list(PRESETS)}") from None


def file_name(geometry: str, split: str) -> str:
    return f"{geometry}_{split}.hdf5"


def generate_dataset(preset: str, seed: int, out: str | Path) -> dict[str, dict[str, Any]]:
    """Write ``GEOMETRY_SPLIT.hdf5`` (+ JSON sidecar) for every geometry and split of the preset.

    Each (geometry, split) has its own seed stream, so a file does not depend on the others.
    Returns the sidecar content per file name.
    """
    spec = get_calo_preset(preset)
    out = Path(out)
    written = {}
    for g_index, (geometry, n) in enumerate(spec.showers.items()):
        model = detector_model(geometry)
        for s_index, split in enumerate(SPLITS):
            stream = seed * 1000 + 10 * g_index + s_index
            simulator = GFlashSimulator(model, seed=stream)
            energy, showers = simulator.generate(n)
            meta = {
                "generator": GENERATOR,
                "hepbench_version": __version__,
                "preset": preset,
                "seed": seed,
                "stream_seed": stream,
                "split": split,
                "geometry": model.geometry.name,
                "material": model.material.name,
                "units": "MeV",
            }
            written[file_name(geometry, split)] = write_showers(out / file_name(geometry, split), energy, showers, meta)
    return written


def load_split(data_dir: str | Path, geometry: str, split: str) -> Showers:
    """Read one split, checking its checksum and voxel count."""
    return read_showers(
        Path(data_dir) / file_name(geometry, split), n_voxels=detector_model(geometry).geometry.n_voxels
    )
