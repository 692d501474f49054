"""Unbinned export of a data set with its systematic variations (``hepbench data export --unbinned``).

The format publishes a measurement's inputs without our Python: for each data set (a split or
file of the challenge) N events of k features and one weight, for the nominal and each of the M
systematic variations, stacked (M+1) x N x (k+1), plus Q statistical bootstrap replicas.

``OUT/manifest.yaml`` describes everything (challenge, preset, seed, generator version,
luminosity where defined; per data set its features and, per variation, name, kind, parameters,
size, file and sha256). ``OUT/SET/VARIATION.h5`` holds one float32 array ``events`` of shape
(N, k+1): the k features, then the weight column. Row i is the same event in every file of a set.

Weights: each file's weight column is the event's weight in that variation, so a variation's
histogram is ``np.histogram(feature, weights=weight)`` of its file alone. Sampled events (LHCO,
calorimeter) have weight 1 in the nominal and in every variation that changes features only; a
weighted simulation (HiggsML: expected events at the luminosity) keeps each event's weight where
a variation changes features only, and a weight variation scales it. Where a selection removes
an event (HiggsML's cuts, re-applied after each shift) its row has weight 0 and NaN features, so
row i is the same generated event in every file of a set.
``OUT/SET/replicas.h5`` holds ``weights`` (N, Q), Poisson(1) factors of the nominal weight, one
column per bootstrap replica, drawn from the seed the manifest records.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..datafiles import DataFileError, sha256_file
from ..output import check_output_path

if TYPE_CHECKING:
    from .base import Challenge

FORMAT = "hepbench-unbinned"
FORMAT_VERSION = 1
MANIFEST = "manifest.yaml"
NOMINAL = "nominal"
WEIGHT_KINDS = ("weight", "feature")


@dataclass(frozen=True)
class Variation:
    """One systematic variation: ``kind`` ``weight`` (reweights events) or ``feature`` (moves
    them); ``parameters`` are the values of the challenge's systematics code it is made with."""

    name: str
    kind: str
    parameters: dict[str, float]
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in WEIGHT_KINDS:
            raise ValueError(f"variation {self.name}: kind must be one of {WEIGHT_KINDS}, got {self.kind!r}")


@dataclass
class UnbinnedSet:
    """One data set of a challenge, ready to export.

    ``nominal``: (N, k) features; ``weight``: (N,) nominal weights; ``vary(variation)`` returns
    that variation's (N, k) features and (N,) weights (NaN features and weight 0 where its
    selection removes an event). Variations are computed one at a time, so only one is held in memory.
    """

    name: str
    features: list[str]
    nominal: np.ndarray
    weight: np.ndarray
    variations: tuple[Variation, ...]
    vary: Callable[[Variation], tuple[np.ndarray, np.ndarray]]
    metadata: dict[str, Any] = field(default_factory=dict)


def _write_array(path: Path, name: str, array: np.ndarray, columns: list[str] | None = None) -> str:
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        data = f.create_dataset(name, data=array, compression="gzip", compression_opts=1, shuffle=True)
        if columns is not None:
            data.attrs["columns"] = columns
    tmp.replace(path)
    return sha256_file(path)


def replica_seed(seed: int) -> int:
    """Default seed of the bootstrap replicas of data set ``seed``."""
    return int(np.random.SeedSequence([seed, 0x7265]).generate_state(1, dtype=np.uint32)[0])


def export_unbinned(
    challenge: Challenge,
    *,
    preset: str,
    seed: int,
    out: Path,
    data_dir: Path | None = None,
    replicas: int = 0,
    bootstrap_seed: int | None = None,
    sets: list[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the unbinned export of the preset's data set (generated into ``data_dir`` when
    absent) to ``out``; returns the manifest. ``sets`` limits the export to those data sets."""
    import yaml

    from .. import __version__

    if replicas < 0:
        raise ValueError(f"--replicas must be >= 0, got {replicas}")
    challenge.check_preset(preset)
    out = check_output_path(out, folder=True)
    folder = challenge.data_dir(preset, seed, data_dir)
    if not challenge.is_generated(folder):
        challenge.ensure_data(preset, seed, folder)
    loaders = challenge.unbinned_sets(folder)
    unknown = sorted(set(sets or ()) - set(loaders))
    if unknown:
        raise ValueError(f"unknown data set(s) {unknown}; {challenge.id} has {list(loaders)}")
    boot_seed = replica_seed(seed) if bootstrap_seed is None else bootstrap_seed
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hepbench_version": __version__,
        "challenge": challenge.id,
        "preset": preset,
        "seed": seed,
        "weights": "each file: the event's weight in that variation (unchanged where a variation changes "
        "features only; 0 with NaN features where a selection removes the event); replicas: Poisson(1) "
        "factors of the nominal weight",
        "sets": [],
    }
    # Arrays are written to a staging folder and moved into ``out`` once every set is written: an
    # interrupted or refused export leaves ``out`` as it was.
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        wanted = [load for name, load in loaders.items() if sets is None or name in sets]
        _export_sets(wanted, staging, manifest, replicas, boot_seed, progress)
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            target = out / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The data sets' shared facts first, then the sets.
    manifest["sets"] = manifest.pop("sets")
    (out / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
    return manifest


def _export_sets(
    loaders: list[Callable[[], UnbinnedSet]],
    staging: Path,
    manifest: dict[str, Any],
    replicas: int,
    boot_seed: int,
    progress: bool,
) -> None:
    """Read each data set and write its arrays under ``staging`` and its entry into ``manifest``."""
    from rich.progress import Progress

    with Progress(disable=not progress, transient=True) as bar:
        for load in loaders:
            data = load()
            job = bar.add_task(f"{data.name}: variations", total=len(data.variations) + 1 + (replicas > 0))
            columns = [*data.features, "weight"]
            entry: dict[str, Any] = {
                "name": data.name,
                "n_events": len(data.nominal),
                "features": list(data.features),
                "columns": columns,
                **data.metadata,
            }
            for key in ("generator", "generator_version", "luminosity_fb"):
                if key in data.metadata:
                    manifest.setdefault(key, data.metadata[key])
            stacked = np.column_stack([data.nominal, data.weight]).astype(np.float32)
            rel = Path(data.name) / f"{NOMINAL}.h5"
            entry["nominal"] = {
                "name": NOMINAL,
                "kind": "nominal",
                "size": len(stacked),
                "file": str(rel),
                "sha256": _write_array(staging / rel, "events", stacked, columns),
                "n_selected": int(np.count_nonzero(data.weight)),
            }
            bar.advance(job)
            entry["variations"] = []
            for variation in data.variations:
                features, weight = data.vary(variation)
                if features.shape != data.nominal.shape or weight.shape != data.weight.shape:
                    raise ValueError(f"{data.name} / {variation.name}: variation shape differs from the nominal's")
                rel = Path(data.name) / f"{variation.name}.h5"
                array = np.column_stack([features, weight]).astype(np.float32)
                entry["variations"].append(
                    {
                        "name": variation.name,
                        "kind": variation.kind,
                        "parameters": dict(variation.parameters),
                        "description": variation.description,
                        "size": len(array),
                        "n_selected": int(np.count_nonzero(weight)),
                        "file": str(rel),
                        "sha256": _write_array(staging / rel, "events", array, columns),
                    }
                )
                bar.advance(job)
            if replicas > 0:
                rng = np.random.default_rng([boot_seed, len(manifest["sets"])])
                weights = rng.poisson(1.0, size=(len(stacked), replicas)).astype(np.uint16)
                rel = Path(data.name) / "replicas.h5"
                entry["replicas"] = {
                    "n": replicas,
                    "distribution": "Poisson(1)",
                    "seed": [boot_seed, len(manifest["sets"])],
                    "file": str(rel),
                    "sha256": _write_array(staging / rel, "weights", weights),
                }
                bar.advance(job)
            manifest["sets"].append(entry)


@dataclass
class ExportedSet:
    """One data set of an export, read back: arrays are loaded (and checksums verified) on use."""

    root: Path
    entry: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    @property
    def features(self) -> list[str]:
        return list(self.entry["features"])

    @property
    def variations(self) -> list[str]:
        """Variation names, nominal first."""
        return [NOMINAL, *(v["name"] for v in self.entry["variations"])]

    def _file(self, item: dict[str, Any], dataset: str) -> np.ndarray:
        import h5py

        path = self.root / item["file"]
        if not path.exists():
            raise DataFileError(f"{path}: file listed in the manifest is missing")
        if sha256_file(path) != item["sha256"]:
            raise DataFileError(f"{path}: sha256 differs from the manifest's (file changed or corrupt)")
        with h5py.File(path, "r") as f:
            if dataset not in f:
                raise DataFileError(f"{path}: no dataset {dataset!r}")
            return np.asarray(f[dataset][...])

    def array(self, variation: str = NOMINAL) -> np.ndarray:
        """(N, k+1) float32: features, then the weight."""
        if variation == NOMINAL:
            return self._file(self.entry["nominal"], "events")
        for item in self.entry["variations"]:
            if item["name"] == variation:
                return self._file(item, "events")
        raise KeyError(f"{self.name}: no variation {variation!r}; known: {self.variations}")

    def events(self, variation: str = NOMINAL) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, k), weights (N,)) of the events a variation selects (weight != 0)."""
        array = self.array(variation)
        kept = array[:, -1] != 0
        return array[kept, :-1], array[kept, -1].astype(np.float64)

    def stacked(self) -> np.ndarray:
        """(M+1, N, k+1): nominal then every variation, as stored."""
        return np.stack([self.array(v) for v in self.variations])

    def replicas(self) -> np.ndarray:
        """(N, Q) Poisson(1) bootstrap factors of the nominal weight."""
        if "replicas" not in self.entry:
            raise KeyError(f"{self.name}: the export has no bootstrap replicas (export with --replicas Q)")
        return self._file(self.entry["replicas"], "weights")


@dataclass
class UnbinnedExport:
    root: Path
    manifest: dict[str, Any]

    @property
    def sets(self) -> dict[str, ExportedSet]:
        return {e["name"]: ExportedSet(self.root, e) for e in self.manifest["sets"]}

    def __iter__(self) -> Iterator[ExportedSet]:
        return iter(self.sets.values())


def read_unbinned(path: str | Path) -> UnbinnedExport:
    """An export written by :func:`export_unbinned` (the folder or its ``manifest.yaml``)."""
    import yaml

    path = Path(path)
    manifest_path = path / MANIFEST if path.is_dir() else path
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path}: no unbinned export manifest")
    try:
        manifest = yaml.safe_load(manifest_path.read_text())
    except yaml.YAMLError as err:
        raise DataFileError(f"{manifest_path}: not valid YAML ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataFileError(f"{manifest_path}: field format must be {FORMAT!r}")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise DataFileError(
            f"{manifest_path}: field format_version {manifest['format_version']} is newer than this "
            f"hepbench reads ({FORMAT_VERSION}); upgrade hepbench"
        )
    for i, entry in enumerate(manifest.get("sets") or []):
        for key in ("name", "features", "nominal", "variations"):
            if key not in entry:
                raise DataFileError(f"{manifest_path}: field sets[{i}].{key} is missing")
    return UnbinnedExport(manifest_path.parent, manifest)
