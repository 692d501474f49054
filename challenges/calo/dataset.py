"""Calo data sets: GFlash showers written in the official HDF5 format, per geometry and split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ... import __version__
from ...datafiles import DataFileError, read_sidecar
from .geometry import builtin_geometry
from .showers_io import Showers, read_showers, write_showers
from .simulator import SIMULATOR_VERSION, GFlashSimulator, detector_model

GENERATOR = "hepbench.calo.gflash"


@dataclass(frozen=True)
class CaloPreset:
    name: str
    showers: dict[str, int]
    """Showers per split (train and test each) for each geometry."""


PRESETS: dict[str, CaloPreset] = {
    "tiny": CaloPreset("tiny", {"ds1-photons": 300}),
    # Data set 3 (40,500 voxels) at 1,000 showers: 162 MB per split in memory (float32); the
    # full preset's 100,000 are 16.2 GB per split.
    "small": CaloPreset("small", {"ds1-photons": 5000, "ds2": 1000, "ds3": 1000}),
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


def generate_dataset(
    preset: str, seed: int, out: str | Path, geometries: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Write ``GEOMETRY_SPLIT.hdf5`` (+ JSON sidecar) for every geometry and split of the preset,
    or only for ``geometries`` (e.g. the ``full`` preset's data set 1 without data set 3's
    4 GB per file).

    Each (geometry, split) has its own seed stream, so a file does not depend on the others: a
    geometry generated alone is byte-identical to the same geometry of the whole preset.
    Returns the sidecar content per file name.
    """
    spec = get_calo_preset(preset)
    unknown = sorted(set(geometries or ()) - set(spec.showers))
    if unknown:
        raise ValueError(f"preset {preset!r} has no {unknown} showers; it has {list(spec.showers)}")
    out = Path(out)
    written = {}
    for g_index, (geometry, n) in enumerate(spec.showers.items()):
        if geometries is not None and geometry not in geometries:
            continue
        model = detector_model(geometry)
        for s_index, split in enumerate(SPLITS):
            stream = seed * 1000 + 10 * g_index + s_index
            simulator = GFlashSimulator(model, seed=stream)
            energy = simulator.sample_energies(n)
            meta = {
                "generator": GENERATOR,
                "generator_version": SIMULATOR_VERSION,
                "hepbench_version": __version__,
                "preset": preset,
                "seed": seed,
                "stream_seed": stream,
                "split": split,
                "geometry": model.geometry.name,
                "material": model.material.name,
                "units": "MeV",
            }
            written[file_name(geometry, split)] = write_showers(
                out / file_name(geometry, split), energy, simulator.sample_blocks(energy), meta
            )
    return written


OFFICIAL_FILES: dict[str, dict[str, tuple[str, ...]]] = {
    "ds1-photons": {"train": ("dataset_1_photons_1.hdf5",), "test": ("dataset_1_photons_2.hdf5",)},
    "ds1-pions": {"train": ("dataset_1_pions_1.hdf5",), "test": ("dataset_1_pions_2.hdf5",)},
    "ds2": {"train": ("dataset_2_1.hdf5",), "test": ("dataset_2_2.hdf5",)},
    "ds3": {"train": ("dataset_3_1.hdf5", "dataset_3_2.hdf5"), "test": ("dataset_3_3.hdf5", "dataset_3_4.hdf5")},
}
"""The official CaloChallenge files of each geometry and split, by their published names: the
anchor's own split (``_1`` training, ``_2`` evaluation; data set 3: ``_1``, ``_2`` and ``_3``, ``_4``)."""


def split_files(data_dir: str | Path, geometry: str, split: str) -> list[Path]:
    """The files of one split: ``GEOMETRY_SPLIT.hdf5`` of a generated folder, else the official
    files (:data:`OFFICIAL_FILES`) of an imported one. Raises ``FileNotFoundError`` naming both."""
    folder = Path(data_dir)
    generated = folder / file_name(geometry, split)
    if generated.exists():
        return [generated]
    official = [folder / name for name in OFFICIAL_FILES.get(geometry, {}).get(split, ())]
    if official and all(p.exists() for p in official):
        return official
    names = ", ".join(p.name for p in official) or "-"
    raise FileNotFoundError(f"{folder}: no {generated.name} nor the official {split} file(s) of {geometry} ({names})")


def simulated_as(folder: str | Path) -> tuple[str, int, str] | None:
    """``(preset, seed, simulator version)`` of the simulated showers in ``folder``, from their
    sidecars; ``None`` when it holds none, or showers of several presets, seeds or versions."""
    found = set()
    for path in Path(folder).glob("*.hdf5"):
        try:
            meta = read_sidecar(path)
        except DataFileError:
            continue
        if meta.get("generator") == GENERATOR:
            found.add((meta.get("preset"), meta.get("seed"), meta.get("generator_version")))
    return found.pop() if len(found) == 1 else None


def has_split_files(data_dir: str | Path, geometry: str) -> bool:
    """Whether ``data_dir`` holds the train and test files of ``geometry`` (generated or official)."""
    try:
        return all(split_files(data_dir, geometry, s) for s in SPLITS)
    except FileNotFoundError:
        return False


def load_split(data_dir: str | Path, geometry: str, split: str, max_showers: int | None = None) -> Showers:
    """Read one split (official data set 3: its two files concatenated), checking checksums
    against the sidecars and the voxel count; with ``max_showers`` only its first that many
    (a DS2 split of the `full` preset is 5.2 GB as float64, so reading all to keep a part
    does not fit beside a model)."""
    if max_showers is not None and max_showers < 1:
        raise ValueError(f"the number of showers must be positive, got {max_showers}")
    n_voxels = builtin_geometry(geometry).n_voxels
    parts: list[Showers] = []
    for path in split_files(data_dir, geometry, split):
        left = None if max_showers is None else max_showers - sum(len(p) for p in parts)
        if left is not None and left <= 0:
            break
        parts.append(read_showers(path, n_voxels=n_voxels, max_showers=left))
    if len(parts) == 1:
        return parts[0]
    return Showers(
        np.concatenate([p.incident_energy for p in parts]),
        np.concatenate([p.showers for p in parts]),
        parts[0].metadata,
    )
