"""LHCO data sets with their systematic variations, for the unbinned export.

The variations are those of ``systematics.py``, applied to every file alike (what each file
would look like had the detector or the feature definition differed): jet energy scale +-1%,
jet mass scale +-2%, tau21 shifted by +-0.02, and the correlated-feature variant (c = 0.1).
All change features only, so their weights are 1. Events are unweighted: nominal weight 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..export import UnbinnedSet, Variation
from .schema import COLUMNS, LABEL
from .systematics import CORRELATED_SHIFT, Systematics, apply_systematics

VARIATIONS: tuple[Variation, ...] = (
    Variation("jet_energy_scale_up", "feature", {"jet_energy_scale": 1.01}, "mjj x 1.01"),
    Variation("jet_energy_scale_down", "feature", {"jet_energy_scale": 0.99}, "mjj x 0.99"),
    Variation("jet_mass_scale_up", "feature", {"jet_mass_scale": 1.02}, "both jet masses x 1.02"),
    Variation("jet_mass_scale_down", "feature", {"jet_mass_scale": 0.98}, "both jet masses x 0.98"),
    Variation("tau21_up", "feature", {"tau21_shift": 0.02}, "both tau21 + 0.02"),
    Variation("tau21_down", "feature", {"tau21_shift": -0.02}, "both tau21 - 0.02 (clipped at 0)"),
    Variation(
        "mass_mjj_correlation",
        "feature",
        {"mass_mjj_correlation": CORRELATED_SHIFT},
        "correlated features: mj1 and delta_m + 0.1 mjj",
    ),
)
FILES: tuple[str, ...] = ("data", "background_reference", "labelled", "test")
"""Exported files (``data_truth`` is the labels of ``data``; it stays the organiser's)."""


def vary(frame: pd.DataFrame, variation: Variation) -> tuple[np.ndarray, np.ndarray]:
    """``apply_systematics`` at the variation's parameters: features (N, k), weight factors 1."""
    columns = [c for c in (*COLUMNS, LABEL) if c in frame]
    shifted = apply_systematics(frame, Systematics(**variation.parameters))
    return shifted[columns].to_numpy(np.float64), np.ones(len(frame))


def unbinned_sets(folder: Path) -> dict[str, Callable[[], UnbinnedSet]]:
    """Every event file of the folder by set name, each read when its loader is called."""
    return {
        name: partial(_unbinned_set, Path(folder) / f"{name}.parquet")
        for name in FILES
        if (Path(folder) / f"{name}.parquet").exists()
    }


def _unbinned_set(path: Path) -> UnbinnedSet:
    from ...datafiles import read_table

    frame = read_table(path).reset_index(drop=True)
    meta = frame.attrs.get("metadata", {})
    columns = [c for c in (*COLUMNS, LABEL) if c in frame]
    return UnbinnedSet(
        name=path.stem,
        features=columns,
        nominal=frame[columns].to_numpy(np.float64),
        weight=np.ones(len(frame)),
        variations=VARIATIONS,
        vary=lambda variation: vary(frame, variation),
        metadata={
            "generator": meta.get("generator"),
            "generator_version": meta.get("generator_version"),
            "split_seed": meta.get("split_seed"),
            "units": "TeV",
            "weight": "1 (sampled events)",
            "systematics_of_the_data": meta.get("systematics", asdict(Systematics())),
            "correlated": meta.get("correlated", False),
        },
    )
