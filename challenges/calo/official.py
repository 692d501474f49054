"""The official CaloChallenge 2022 shower files as a hepbench data folder, names unchanged.

The importer keeps the published file names and the anchor's split
(:data:`~hepbench.challenges.calo.dataset.OFFICIAL_FILES`: ``_1`` for training, ``_2`` for
evaluation; data set 3 ``_1``, ``_2`` and ``_3``, ``_4``), checks each file's format and voxel
count and reads every row back (one damaged chunk in any file and nothing is written), hard-links (else
copies) each into the target folder unless it is already there, and writes
the JSON sidecar hepbench writes beside its own shower files (sha256, geometry, split, counts), so
every later read verifies the bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ... import __version__
from ...datafiles import sha256_file, sidecar_path
from ...output import progress
from .dataset import OFFICIAL_FILES, SPLITS
from .geometry import builtin_geometry
from .showers_io import inspect_showers, iter_showers

RECORDS: dict[str, str] = {
    "ds1-photons": "doi:10.5281/zenodo.8099322",
    "ds1-pions": "doi:10.5281/zenodo.8099322",
    "ds2": "doi:10.5281/zenodo.6366271",
    "ds3": "doi:10.5281/zenodo.6366324",
}


def _checked_file(path: Path, n_voxels: int) -> int:
    """Number of showers in an official file, after checking its datasets, its voxel count and
    that every row reads back finite (a damaged compressed chunk is found here, not in a training)."""
    n_showers, _ = inspect_showers(path, n_voxels=n_voxels)
    with progress(f"checking {path.name}", n_showers) as advance:
        for chunk in iter_showers(path, n_voxels=n_voxels, verify=False):
            advance(len(chunk))
    return n_showers


def _place(source: Path, target: Path) -> None:
    if target.exists() and target.samefile(source):
        return
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    tmp.replace(target)


def geometries_present(folder: Path) -> list[str]:
    """Geometries whose official train and test files are all in ``folder``."""
    return [g for g, splits in OFFICIAL_FILES.items() if all((folder / n).exists() for s in SPLITS for n in splits[s])]


def import_calo(official: str | Path, out: str | Path, *, geometry: str | None = None) -> dict[str, Any]:
    """Import the official files found in ``official`` (a folder, or one of the files: its folder
    is searched) into ``out``; ``geometry`` restricts to one (``ds1-photons``, ``ds1-pions``,
    ``ds2``, ``ds3``). Returns ``files``: name -> geometry, split, showers, voxels."""
    official, out = Path(official), Path(out)
    folder = official if official.is_dir() else official.parent
    if not folder.exists() or (not official.is_dir() and not official.exists()):
        raise FileNotFoundError(f"{official}: no such file or folder")
    if geometry is not None and geometry not in OFFICIAL_FILES:
        raise ValueError(f"unknown calo geometry {geometry!r}; known: {list(OFFICIAL_FILES)}")
    present = geometries_present(folder)
    if official.is_file():
        present = [g for g in present if any(official.name in names for names in OFFICIAL_FILES[g].values())]
    wanted = [geometry] if geometry else present
    if not wanted or (geometry and geometry not in present):
        expected = "; ".join(
            f"{g}: {', '.join(n for s in SPLITS for n in OFFICIAL_FILES[g][s])}"
            for g in ([geometry] if geometry else OFFICIAL_FILES)
        )
        raise FileNotFoundError(f"{folder}: no complete set of official CaloChallenge files ({expected})")
    # Every file is read back before the first is placed: a damaged one leaves ``out`` as it was.
    counts = {
        name: _checked_file(folder / name, builtin_geometry(geo).n_voxels)
        for geo in wanted
        for split in SPLITS
        for name in OFFICIAL_FILES[geo][split]
    }
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    for geo in wanted:
        model = builtin_geometry(geo)
        for split in SPLITS:
            for name in OFFICIAL_FILES[geo][split]:
                source = folder / name
                n_showers = counts[name]
                target = out / name
                _place(source, target)
                meta = {
                    "generator": "official",
                    "source": "official",
                    "record": RECORDS[geo],
                    "hepbench_version": __version__,
                    "preset": "official",
                    "split": split,
                    "geometry": model.name,
                    "units": "MeV",
                    "n_showers": n_showers,
                    "n_voxels": model.n_voxels,
                    "sha256": sha256_file(target),
                }
                sidecar_path(target).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
                files[name] = {"geometry": geo, "split": split, "n_showers": n_showers, "n_voxels": model.n_voxels}
    return {"files": files, "file_columns": ["geometry", "split", "n_showers", "n_voxels"], "geometries": wanted}
