"""HiggsML Uncertainty data sets with their systematic variations, for the unbinned export.

Each of the six nuisance parameters of ``systematics.py`` is moved by one standard deviation of its
prior, up and down (soft MET: its prior's median, 1 GeV, against the nominal 0): TES, JES and the
soft term move the features (and the selection may remove events), the three normalisations
reweight the backgrounds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..export import UnbinnedSet, Variation
from .dataset import SPLITS
from .schema import FEATURES, PROCESSES
from .systematics import NUISANCE_PRIORS, NuisanceParameters, systematics

SOFT_MET_SEED = 31415
"""Seed of the soft-MET smearing of the ``soft_met`` variation (``systematics``' default)."""
EXTRA_COLUMNS = ("label", "process")
"""Columns exported after the 28 features: the label (1 signal) and the process index (``PROCESSES``)."""
_KINEMATIC = ("tes", "jes", "soft_met")


def variations() -> tuple[Variation, ...]:
    """Up / down by one prior standard deviation for each nuisance (soft MET: up to its median)."""
    out = []
    for name, prior in NUISANCE_PRIORS.items():
        kind = "feature" if name in _KINEMATIC else "weight"
        if prior.kind == "lognormal":
            value = float(np.exp(prior.loc))
            out.append(Variation(name, kind, {name: value}, f"{name} = {value:g} (the prior's median; nominal 0)"))
            continue
        for direction, sign in (("up", 1.0), ("down", -1.0)):
            value = float(np.clip(prior.loc + sign * prior.scale, prior.low, prior.high))
            out.append(
                Variation(f"{name}_{direction}", kind, {name: value}, f"{name} = {value:g} (nominal {prior.nominal:g})")
            )
    return tuple(out)


def _columns(frame: pd.DataFrame) -> np.ndarray:
    process = frame["detailed_labels"].map({p: i for i, p in enumerate(PROCESSES)}).to_numpy(np.float64)
    return np.column_stack([frame[list(FEATURES)].to_numpy(np.float64), frame["labels"].to_numpy(np.float64), process])


def vary(frame: pd.DataFrame, nuisances: NuisanceParameters) -> tuple[np.ndarray, np.ndarray]:
    """``systematics`` applied to ``frame`` (the generated events, before the selection) at
    ``nuisances``: features (N, k) and weights (N,) in the rows of ``frame``, NaN and 0 where
    the selection removes the event."""
    shifted = systematics(frame, nuisances, seed=SOFT_MET_SEED)
    rows = frame.index.get_indexer(shifted.index)
    features = np.full((len(frame), len(FEATURES) + len(EXTRA_COLUMNS)), np.nan)
    features[rows] = _columns(shifted)
    weight = np.zeros(len(frame))
    weight[rows] = shifted["weights"].to_numpy(np.float64)
    return features, weight


def unbinned_sets(folder: Path) -> dict[str, Callable[[], UnbinnedSet]]:
    """The train and test splits of a generated data set by name, each read when its loader is
    called; the nominal is ``systematics`` at the nominal parameters (the selection applied, as
    every pseudo-experiment does)."""
    return {split: partial(_unbinned_set, Path(folder), split) for split in SPLITS}


def _unbinned_set(folder: Path, split: str) -> UnbinnedSet:
    from ...datafiles import read_table

    frame = read_table(folder / f"{split}.parquet")
    meta = frame.attrs.get("metadata", {})
    frame = frame.reset_index(drop=True)
    nominal, weight = vary(frame, NuisanceParameters())
    return UnbinnedSet(
        name=split,
        features=[*FEATURES, *EXTRA_COLUMNS],
        nominal=nominal,
        weight=weight,
        variations=variations(),
        vary=lambda v: vary(frame, NuisanceParameters(**v.parameters)),
        metadata={
            "generator": meta.get("generator"),
            "generator_version": meta.get("generator_version"),
            "split_seed": meta.get("split_seed"),
            "luminosity_fb": meta.get("luminosity_fb"),
            "weight": "expected events at luminosity_fb",
            "processes": list(PROCESSES),
            "soft_met_seed": SOFT_MET_SEED,
        },
    )
