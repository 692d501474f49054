"""Shower files in the official CaloChallenge HDF5 format.

A file holds ``incident_energies`` (N, 1) and ``showers`` (N, n_voxels), float32, MeV, voxel order
layer -> alpha -> r. hepbench writes the metadata (generator version, geometry, seed, ...) as HDF5
attributes of the file and, as for its parquet data, a JSON sidecar ``NAME.json`` with the sha256
of the file bytes (``datafiles.sidecar_path``), so a truncated or altered file is caught on reading.
Files from elsewhere (the official Geant4 samples, a submission) need no sidecar.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ...datafiles import DataFileError, read_sidecar, sha256_file, sidecar_path

ENERGY_KEY = "incident_energies"
SHOWER_KEY = "showers"


@dataclass
class Showers:
    incident_energy: np.ndarray
    """(N,) incident energy in MeV."""
    showers: np.ndarray
    """(N, n_voxels) voxel energies in MeV."""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.incident_energy)

    def head(self, n: int | None) -> Showers:
        """The first ``n`` showers (all with ``None``); the files hold them in random order of
        incident energy, so the first ``n`` are a random subset."""
        if n is None:
            return self
        if n < 1:
            raise ValueError(f"the number of showers must be positive, got {n}")
        if n > len(self):
            raise ValueError(f"{n:,} showers asked for, the split holds {len(self):,}")
        return Showers(self.incident_energy[:n], self.showers[:n], self.metadata)


def write_showers(
    path: str | Path,
    incident_energy: np.ndarray,
    showers: np.ndarray | Iterable[np.ndarray],
    metadata: dict[str, Any] | None = None,
    *,
    sidecar: bool = True,
) -> dict[str, Any]:
    """Write an official-format file (float32, gzip) and, with ``sidecar``, its JSON sidecar.

    ``incident_energy`` is (N,) or (N, 1) MeV, ``showers`` (N, n_voxels) MeV, or consecutive
    blocks of its rows (each (B, n_voxels)), written as they come so that the whole array never
    needs to be in memory; either gives the same values. Returns the metadata as written (with
    ``n_showers``, ``n_voxels`` and, with a sidecar, ``sha256``).
    """
    path = Path(path)
    energy = np.asarray(incident_energy, dtype=np.float32).reshape(-1, 1)
    blocks: Iterator[np.ndarray] = iter([showers] if isinstance(showers, np.ndarray) else showers)
    first = np.asarray(next(blocks, np.empty((0, 0))), dtype=np.float32)
    if first.ndim != 2:
        raise DataFileError(f"{path}: each block of showers must be (B, n_voxels), got shape {first.shape}")
    n_voxels = first.shape[1]
    meta = {**(metadata or {}), "n_showers": int(len(energy)), "n_voxels": int(n_voxels)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with h5py.File(tmp, "w") as handle:
            handle.create_dataset(ENERGY_KEY, data=energy, compression="gzip", compression_opts=4)
            chunk_rows = max(1, min(len(energy), (1 << 20) // max(1, 4 * n_voxels)))
            voxels = handle.create_dataset(
                SHOWER_KEY,
                shape=(len(energy), n_voxels),
                dtype=np.float32,
                compression="gzip",
                compression_opts=4,
                chunks=(chunk_rows, n_voxels) if len(energy) else None,
            )
            # Whole chunks only, each compressed and stored once, in order: a chunk written in
            # parts (when larger than HDF5's 1 MB chunk cache) would be compressed and stored twice.
            row, pending = 0, np.empty((0, n_voxels), dtype=np.float32)
            for block in itertools.chain([first], blocks):
                block = np.asarray(block, dtype=np.float32)
                if block.ndim != 2 or block.shape[1] != n_voxels or row + len(pending) + len(block) > len(energy):
                    raise DataFileError(
                        f"{path}: showers must be (N, n_voxels) with N = {len(energy)} incident energies, "
                        f"got a block of shape {block.shape} after {row + len(pending)} rows"
                    )
                pending = np.concatenate([pending, block]) if len(pending) else block
                whole = len(pending) if row + len(pending) == len(energy) else len(pending) // chunk_rows * chunk_rows
                if whole:
                    voxels[row : row + whole] = pending[:whole]
                    row, pending = row + whole, pending[whole:]
            if row != len(energy):
                raise DataFileError(
                    f"{path}: showers must be (N, n_voxels) with N = {len(energy)} incident energies, "
                    f"got {row + len(pending)} rows"
                )
            for key, value in meta.items():
                handle.attrs[key] = json.dumps(value)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no partial file is left behind
        raise
    if sidecar:
        meta["sha256"] = sha256_file(tmp)
    tmp.replace(path)
    if sidecar:
        sidecar_path(path).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


def _open(path: Path, verify: bool) -> tuple[h5py.File, dict[str, Any]]:
    if not path.exists():
        raise DataFileError(f"{path}: no such shower file")
    meta: dict[str, Any] = {}
    if sidecar_path(path).exists():
        meta = read_sidecar(path)
        if verify and meta.get("sha256") and sha256_file(path) != meta["sha256"]:
            raise DataFileError(f"{path}: sha256 does not match the sidecar's; the file is corrupt or was modified")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise DataFileError(f"{path}: not a readable HDF5 file ({err})") from err
    try:
        for key in (ENERGY_KEY, SHOWER_KEY):
            if key not in handle:
                raise DataFileError(f"{path}: dataset {key!r} missing (found {sorted(handle.keys())})")
        energy, voxels = handle[ENERGY_KEY], handle[SHOWER_KEY]
        for key, dataset in ((ENERGY_KEY, energy), (SHOWER_KEY, voxels)):
            # A group, a compound or string dtype cannot hold energies in MeV.
            if not isinstance(dataset, h5py.Dataset) or dataset.dtype.kind not in "fiu":
                kind = type(dataset).__name__ if not isinstance(dataset, h5py.Dataset) else f"dtype {dataset.dtype}"
                raise DataFileError(f"{path}: {key!r} must be a numeric dataset, found {kind}")
        if energy.ndim not in (1, 2) or (energy.ndim == 2 and energy.shape[1] != 1):
            raise DataFileError(f"{path}: dataset {ENERGY_KEY!r} must be (N, 1), got {energy.shape}")
        if voxels.ndim != 2 or voxels.shape[0] != energy.shape[0]:
            raise DataFileError(
                f"{path}: dataset {SHOWER_KEY!r} must be (N, n_voxels) with N = {energy.shape[0]}, got {voxels.shape}"
            )
        for key, value in handle.attrs.items():
            try:
                meta.setdefault(key, json.loads(value))
            except (TypeError, json.JSONDecodeError):
                meta.setdefault(key, value.tolist() if hasattr(value, "tolist") else value)
    except BaseException:
        handle.close()
        raise
    return handle, meta


def _checked(path: Path, start: int, energy: np.ndarray, voxels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for key, values in ((ENERGY_KEY, energy), (SHOWER_KEY, voxels)):
        bad = ~np.isfinite(values)
        if bad.any():
            row = start + int(np.argwhere(bad)[0][0])
            raise DataFileError(f"{path}: dataset {key!r} holds NaN or inf (first in row {row})")
    if (energy <= 0).any():
        row = start + int(np.argmax(energy <= 0))
        raise DataFileError(f"{path}: dataset {ENERGY_KEY!r} must be positive (row {row} is {energy[row - start]})")
    return energy, voxels


def iter_showers(
    path: str | Path, chunk_size: int = 10_000, *, n_voxels: int | None = None, verify: bool = True
) -> Iterator[Showers]:
    """Read a file in chunks of ``chunk_size`` showers (for files larger than memory)."""
    path = Path(path)
    handle, meta = _open(path, verify)
    with handle:
        voxels = handle[SHOWER_KEY]
        if n_voxels is not None and voxels.shape[1] != n_voxels:
            raise DataFileError(f"{path}: dataset {SHOWER_KEY!r} has {voxels.shape[1]} voxels, the geometry {n_voxels}")
        for start in range(0, voxels.shape[0], chunk_size):
            stop = min(start + chunk_size, voxels.shape[0])
            try:
                energy = np.asarray(handle[ENERGY_KEY][start:stop], dtype=np.float64).reshape(-1)
                chunk = np.asarray(voxels[start:stop], dtype=np.float64)
            except OSError as err:  # damaged compressed chunks
                raise DataFileError(
                    f"{path}: rows {start}-{stop - 1} cannot be read ({err}); the file is corrupt"
                ) from err
            yield Showers(*_checked(path, start, energy, chunk), metadata=meta)


def inspect_showers(path: str | Path, *, n_voxels: int | None = None) -> tuple[int, int]:
    """``(number of showers, voxels per shower)`` of an official shower file, from its header
    (datasets, shapes, dtypes) without reading the showers; DataFileError naming the fault."""
    path = Path(path)
    handle, _ = _open(path, verify=False)
    with handle:
        shape = handle[SHOWER_KEY].shape
    if n_voxels is not None and shape[1] != n_voxels:
        raise DataFileError(f"{path}: dataset {SHOWER_KEY!r} has {shape[1]} voxels, the geometry {n_voxels}")
    if shape[0] == 0:
        raise DataFileError(f"{path}: holds no showers")
    return int(shape[0]), int(shape[1])


def read_showers(
    path: str | Path, *, n_voxels: int | None = None, max_showers: int | None = None, verify: bool = True
) -> Showers:
    """Read a whole file (or its first ``max_showers``) as float64 arrays."""
    energies, voxels, meta = [], [], {}
    n_read = 0
    for chunk in iter_showers(path, n_voxels=n_voxels, verify=verify):
        take = len(chunk) if max_showers is None else min(len(chunk), max_showers - n_read)
        energies.append(chunk.incident_energy[:take])
        voxels.append(chunk.showers[:take])
        meta, n_read = chunk.metadata, n_read + take
        if max_showers is not None and n_read >= max_showers:
            break
    if not energies:
        raise DataFileError(f"{path}: holds no showers")
    return Showers(np.concatenate(energies), np.concatenate(voxels), meta)
