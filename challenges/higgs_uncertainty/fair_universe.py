"""The FAIR Universe HiggsML Uncertainty starting kit's model interface on hepbench's inputs.

A kit model is built as ``Model(get_train_set=..., systematics=...)``, trained with ``fit()``
and asked ``predict(test_set)`` once per pseudo-experiment, returning ``mu_hat``,
``delta_mu_hat``, ``p16`` and ``p84``. The kit's ingestion program supplies:

- ``get_train_set(train_size=None, selected_indices=None)``: a DataFrame of training events
  (the 28 ``PRI_*`` / ``DER_*`` features, ``weights``, ``labels``, ``detailed_labels`` as
  process names), a subsample when asked, its weights rescaled to the full set's total;
- ``systematics(data_set, tes, jes, soft_met, seed, ttbar_scale, diboson_scale, bkg_scale,
  dopostprocess)``: the same events under shifted nuisance parameters, for a DataFrame or a
  ``{"data": DataFrame, "weights": ..., ...}`` dict (returned in the form it was given);
- ``test_set``: ``{"data": DataFrame of the observed events' features, "weights": ones}``.

This module supplies the same from the sandbox's ``/input`` files, with hepbench's
systematics (``systematics.py``; column names are the kit's). Unlike the kit's copy, whose
check for a ``detailedlabel`` column never matches, the background scale factors do scale the
weights of a set that carries ``detailed_labels``. numpy and pandas only: the sandbox runs it
without hepbench (``Challenge.sandbox_modules``).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd

from .systematics import NuisanceParameters
from .systematics import systematics as hepbench_systematics

KIT_SEED = 31415
"""The kit's default seed (soft-MET smearing, training subsamples)."""
KIT_PARAMETERS = ("get_train_set", "systematics")


def uses_kit_interface(model_class: type) -> bool:
    """Whether ``model_class`` is built the kit's way: ``Model(get_train_set=..., systematics=...)``."""
    try:
        parameters = inspect.signature(model_class).parameters
    except (TypeError, ValueError):
        return False
    return any(name in parameters for name in KIT_PARAMETERS)


class TrainSetLoader:
    """The kit's ``get_train_set``: the training events, or a subsample of them.

    ``train_size`` is a number of events (int) or a fraction (float in [0, 1]);
    ``selected_indices`` picks rows. Subsample weights are rescaled so their sum is the full
    set's (expected events at the test luminosity), as the kit does.
    """

    def __init__(self, train: pd.DataFrame, seed: int = KIT_SEED) -> None:
        self.train = train
        self.rng = np.random.default_rng(seed)

    def __call__(self, train_size: int | float | None = None, selected_indices: Any = None) -> pd.DataFrame:
        n_total = len(self.train)
        if train_size is not None:
            if isinstance(train_size, bool) or not isinstance(train_size, int | float):
                raise ValueError("Sample size must be an integer or a float")
            if isinstance(train_size, float):
                if not 0.0 <= train_size <= 1.0:
                    raise ValueError("Sample size must be between 0.0 and 1.0")
                train_size = int(train_size * n_total)
            indices = np.sort(self.rng.choice(n_total, size=min(int(train_size), n_total), replace=False))
        elif selected_indices is not None:
            indices = np.sort(np.asarray(selected_indices, dtype=np.int64))
            if indices.size and (indices[0] < 0 or indices[-1] >= n_total):
                raise ValueError(f"selected indices must lie in [0, {n_total})")
        else:
            indices = np.arange(n_total)
        sampled = self.train.iloc[indices].reset_index(drop=True).copy()
        total, kept = float(self.train["weights"].sum()), float(sampled["weights"].sum())
        if kept > 0:
            sampled["weights"] = sampled["weights"].to_numpy(np.float64) * (total / kept)
        return sampled


def systematics(
    data_set: pd.DataFrame | dict[str, Any] | None = None,
    tes: float = 1.0,
    jes: float = 1.0,
    soft_met: float = 0.0,
    seed: int = KIT_SEED,
    ttbar_scale: float | None = None,
    diboson_scale: float | None = None,
    bkg_scale: float | None = None,
    dopostprocess: bool = True,
) -> pd.DataFrame | dict[str, Any]:
    """The kit's ``systematics`` signature on hepbench's systematics.

    ``tes`` / ``jes``: energy scales of the hadronic tau and the jets; ``soft_met``: standard
    deviation (GeV) of the soft term added to each missing-momentum component; the scale
    factors (``None`` = 1) multiply the weights of ttbar, diboson and all backgrounds;
    ``dopostprocess`` re-applies the selection (rows may be dropped). Returns a DataFrame
    for a DataFrame and a dict with ``data`` and the other keys for a dict, index reset.
    """
    if isinstance(data_set, pd.DataFrame):
        frame, carried = data_set.copy(), []
    elif isinstance(data_set, dict):
        for key in ("data", "weights"):
            if key not in data_set:
                raise ValueError(f"data_set must contain a '{key}' key")
        frame = data_set["data"].copy()
        carried = [key for key in data_set if key not in ("data", "settings")]
        for key in carried:
            frame[key] = np.asarray(data_set[key])
    else:
        raise ValueError("data_set must be a pandas DataFrame or a dictionary")
    nuisances = NuisanceParameters(
        tes=float(tes),
        jes=float(jes),
        soft_met=float(soft_met),
        bkg_norm=1.0 if bkg_scale is None else float(bkg_scale),
        ttbar_scale=1.0 if ttbar_scale is None else float(ttbar_scale),
        diboson_scale=1.0 if diboson_scale is None else float(diboson_scale),
    )
    shifted = hepbench_systematics(frame, nuisances, seed=int(seed), select=bool(dopostprocess))
    shifted = shifted.reset_index(drop=True)
    if isinstance(data_set, pd.DataFrame):
        return shifted
    out: dict[str, Any] = {key: shifted.pop(key) for key in carried}
    out["data"] = shifted
    if "settings" in data_set:
        out["settings"] = data_set["settings"]
    return out


def test_set(features: np.ndarray, columns: list[str]) -> dict[str, Any]:
    """One pseudo-experiment as the kit hands it to ``predict``: features and unit weights."""
    data = pd.DataFrame(features, columns=columns)
    return {"data": data, "weights": pd.Series(np.ones(len(data)), name="weights")}
