"""The FAIR Universe HiggsML Uncertainty public data turned into a hepbench data folder.

The public data (Zenodo record 15131565, ``hepbench data fetch fair-universe``) is one parquet
file of weighted events (the 28 features, ``weights``, ``labels``, ``detailed_labels``) and a
metadata JSON (``luminosity`` in fb^-1, ``sum_weights``). The weights are the expected number of
events at that luminosity. :func:`import_fair_universe` splits the rows at random into the train
and test files ``hepbench data generate`` writes, and rescales each split's weights per process
so that each split alone stands for the whole luminosity (``luminosity_fb`` of the sidecars,
default the record's; a smaller one keeps pseudo-experiments quick). Every baseline and the
pseudo-experiments then run on it with ``--data``.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...datafiles import write_table
from .real_data import RealDataError, load_fair_universe
from .schema import FEATURES, LABEL_COLUMNS, PROCESSES

OFFICIAL_PRESET = "official"
RECORD_LUMINOSITY_FB = 10.0
"""Luminosity of the public data's weights when its metadata does not say."""


def _rows(file: Path, max_events: int | None) -> tuple[pd.DataFrame, dict[str, float]]:
    """The first ``max_events`` rows (all when None) and the summed weight per process of the
    whole file."""
    import pyarrow.parquet as pq

    if max_events is None:
        frame = load_fair_universe(file)
        totals = frame.groupby("detailed_labels", observed=True)["weights"].sum()
        return frame, {str(k): float(v) for k, v in totals.items()}
    try:
        handle = pq.ParquetFile(file)
        sums: dict[str, float] = {}
        # The whole file's weight per process, batch by batch: 280M rows never sit in memory.
        for batch in handle.iter_batches(batch_size=1 << 20, columns=["weights", "detailed_labels"]):
            part = batch.to_pandas().groupby("detailed_labels", observed=True)["weights"].sum()
            for process, value in part.items():
                sums[str(process)] = sums.get(str(process), 0.0) + float(value)
        batches = []
        n = 0
        for batch in handle.iter_batches(batch_size=min(max_events, 1 << 20), columns=[*FEATURES, *LABEL_COLUMNS]):
            batches.append(batch.to_pandas())
            n += batch.num_rows
            if n >= max_events:
                break
    except Exception as err:  # pyarrow raises several types for a corrupt file or a missing column
        raise RealDataError(f"{file}: unreadable FAIR Universe parquet ({type(err).__name__}: {err})") from None
    frame = pd.concat(batches, ignore_index=True).iloc[:max_events]
    return frame, sums


def _metadata(folder: Path) -> dict[str, Any]:
    found = sorted(folder.glob("*metadata.json"))
    if not found:
        return {}
    try:
        return json.loads(found[0].read_text())
    except json.JSONDecodeError as err:
        raise RealDataError(f"{found[0]}: not valid JSON ({err})") from None


def import_fair_universe(
    official: str | Path,
    out: str | Path,
    *,
    seed: int = 1,
    test_fraction: float = 0.5,
    luminosity_fb: float | None = None,
    max_events: int | None = None,
) -> dict[str, Any]:
    """Split the public data (the parquet, its folder, or the record's zip) into ``out``.

    ``seed`` fixes which rows go to the test split (``test_fraction`` of them); ``luminosity_fb``
    sets what each split's weights stand for (default: the record's); ``max_events`` reads only
    the file's first rows (the weights are still normalised to the whole file's per process).
    """
    official, out = Path(official), Path(out)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test fraction must be in (0, 1), got {test_fraction}")
    if official.suffix == ".zip":
        with tempfile.TemporaryDirectory(prefix=".official-", dir=out.parent if out.parent.exists() else None) as tmp:
            try:
                with zipfile.ZipFile(official) as archive:
                    members = [m for m in archive.namelist() if m.endswith((".parquet", "metadata.json"))]
                    if not any(m.endswith(".parquet") for m in members):
                        raise RealDataError(f"{official}: the archive holds no .parquet file")
                    archive.extractall(tmp, members)
            except zipfile.BadZipFile as err:
                raise RealDataError(f"{official}: not a zip archive ({err})") from None
            parquet = sorted(Path(tmp).rglob("*.parquet"))[0]
            return import_fair_universe(
                parquet.parent,
                out,
                seed=seed,
                test_fraction=test_fraction,
                luminosity_fb=luminosity_fb,
                max_events=max_events,
            )
    if official.is_dir():
        candidates = sorted(official.glob("*.parquet"))
        if not candidates:
            raise RealDataError(f"{official}: no .parquet file in this folder")
        file = candidates[0]
    elif official.is_file():
        file = official
    else:
        raise RealDataError(f"{official}: no such file or folder")
    frame, totals = _rows(file, max_events)
    unknown = sorted(set(frame["detailed_labels"].astype(str)) - set(PROCESSES))
    if unknown:
        raise RealDataError(f"{file}: column detailed_labels has unknown value(s) {unknown}")
    meta = _metadata(file.parent)
    record_lumi = float(meta.get("luminosity", RECORD_LUMINOSITY_FB))
    lumi = record_lumi if luminosity_fb is None else float(luminosity_fb)
    if lumi <= 0:
        raise ValueError(f"luminosity must be positive, got {lumi}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15131565]))
    is_test = rng.random(len(frame)) < test_fraction
    summary: dict[str, Any] = {"files": {}}
    for split, rows in (("train", ~is_test), ("test", is_test)):
        part = frame[rows].reset_index(drop=True).copy()
        part["detailed_labels"] = part["detailed_labels"].astype(str)
        weights = part["weights"].to_numpy(np.float64)
        for process, group in part.groupby("detailed_labels").groups.items():
            held = weights[group].sum()
            if held > 0:
                weights[group] *= totals[str(process)] / held * lumi / record_lumi
        part["weights"] = weights.astype(part["weights"].dtype if part["weights"].dtype.kind == "f" else np.float64)
        by_process = part.groupby("detailed_labels")["weights"]
        sidecar = {
            "challenge": "higgs-uncertainty",
            "generator": "hepbench.challenges.higgs_uncertainty.official",
            "preset": OFFICIAL_PRESET,
            "split": split,
            "seed": seed,
            "luminosity_fb": lumi,
            "events_per_process": {k: int(v) for k, v in by_process.size().items()},
            "sum_weights_per_process": {k: float(v) for k, v in by_process.sum().items()},
            "source": "official",
            "official_files": [file.name],
            "record": "doi:10.5281/zenodo.15131565",
            "test_fraction": test_fraction,
        }
        write_table(part, out / f"{split}.parquet", sidecar)
        for process, n in by_process.size().items():
            summary["files"][f"{split} / {process}"] = {
                "events": int(n),
                "sum of weights": float(by_process.sum()[process]),
            }
    summary["luminosity_fb"] = lumi
    return summary
