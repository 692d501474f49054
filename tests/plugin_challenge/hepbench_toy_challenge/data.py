"""The toy regression data: Gaussian features and a noisy, mildly non-linear target.

A data set is a folder with ``train.npz`` and ``test.npz`` (arrays ``x`` (rows x features,
float64) and ``y`` (rows,)) and ``dataset.json``: generator version, preset, seed and the sha256
of each file. Loading verifies the checksums.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepbench.datafiles import DataFileError, sha256_file

GENERATOR_VERSION = 1
N_FEATURES = 5
NOISE = 0.5
"""Standard deviation of the Gaussian noise on the target: the RMSE of a perfect model."""
PRESETS: dict[str, tuple[int, int]] = {"tiny": (400, 200), "small": (4_000, 2_000), "full": (40_000, 20_000)}
"""preset -> (training rows, test rows)."""
FILES = ("train.npz", "test.npz")
SIDECAR = "dataset.json"


@dataclass(frozen=True)
class ToyDataset:
    preset: str
    seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def true_function(x: np.ndarray) -> np.ndarray:
    """The noiseless target of rows ``x`` (n, N_FEATURES): linear plus a small non-linear term."""
    weights = np.linspace(1.0, -1.0, N_FEATURES)
    return 0.5 + x @ weights + 0.3 * np.sin(2.0 * x[:, 0])


def generate_dataset(preset: str, seed: int) -> ToyDataset:
    """The preset's data drawn from ``seed`` (the same arrays for the same preset and seed)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} for toy-regression; known: {list(PRESETS)}")
    n_train, n_test = PRESETS[preset]
    rng = np.random.default_rng([seed, GENERATOR_VERSION])
    x = rng.standard_normal((n_train + n_test, N_FEATURES))
    y = true_function(x) + NOISE * rng.standard_normal(n_train + n_test)
    return ToyDataset(preset, seed, x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def write_dataset(dataset: ToyDataset, out: Path) -> dict[str, Any]:
    """Write ``dataset`` to ``out`` (each file under a temporary name first); the JSON summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {"train.npz": (dataset.x_train, dataset.y_train), "test.npz": (dataset.x_test, dataset.y_test)}
    files: dict[str, dict[str, Any]] = {}
    for name, (x, y) in arrays.items():
        partial = out / (name + ".partial")
        with open(partial, "wb") as handle:
            np.savez(handle, x=x, y=y)
        files[name] = {"rows": int(len(y)), "features": int(x.shape[1]), "sha256": sha256_file(partial)}
        partial.replace(out / name)
    sidecar = {
        "challenge": "toy-regression",
        "generator_version": GENERATOR_VERSION,
        "preset": dataset.preset,
        "seed": dataset.seed,
        "files": files,
    }
    (out / SIDECAR).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return {"files": {name: {"rows": f["rows"], "features": f["features"]} for name, f in files.items()}}


def is_generated(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / SIDECAR).is_file() and all((folder / name).is_file() for name in FILES)


def load_dataset(folder: Path) -> ToyDataset:
    """The data set in ``folder``; ``DataFileError`` for a missing or altered file."""
    folder = Path(folder)
    if not (folder / SIDECAR).is_file():
        raise DataFileError(f"{folder / SIDECAR}: missing (generate with `hepbench data generate toy-regression`)")
    sidecar = json.loads((folder / SIDECAR).read_text())
    arrays = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            raise DataFileError(f"{path}: no such data file")
        if sha256_file(path) != sidecar["files"][name]["sha256"]:
            raise DataFileError(f"{path}: sha256 does not match {SIDECAR}; the file is corrupt or was modified")
        with np.load(path, allow_pickle=False) as npz:
            arrays[name] = (npz["x"], npz["y"])
    (x_train, y_train), (x_test, y_test) = arrays["train.npz"], arrays["test.npz"]
    return ToyDataset(sidecar["preset"], int(sidecar["seed"]), x_train, y_train, x_test, y_test)
