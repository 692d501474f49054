"""Systematic variations of the LHCO features: what the data may do that the simulation does not.

- ``jet_energy_scale``: mjj and the jets' pT multiplied by it (jet energy scale).
- ``jet_mass_scale``: both jet masses (so ``mj1`` and ``delta_m``) multiplied by it.
- ``tau21_shift``: added to both tau21 (clipped at 0).
- ``mass_mjj_correlation``: the correlated-feature variant of SPEC 2 (CATHODE's test of
  background sculpting): ``mj1 -> mj1 + c mjj`` and ``delta_m -> delta_m + c mjj``, c = 0.1.
  It redefines the features, so it applies to every file alike.

All masses in TeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CORRELATED_SHIFT = 0.1
"""The correlated-feature variant's ``c``."""


@dataclass(frozen=True)
class Systematics:
    jet_energy_scale: float = 1.0
    jet_mass_scale: float = 1.0
    tau21_shift: float = 0.0
    mass_mjj_correlation: float = 0.0

    def __post_init__(self) -> None:
        for name in ("jet_energy_scale", "jet_mass_scale"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive factor, got {value!r}")
        for name in ("tau21_shift", "mass_mjj_correlation"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite")

    @property
    def is_nominal(self) -> bool:
        return self == Systematics()


def apply_systematics(frame: pd.DataFrame, shift: Systematics) -> pd.DataFrame:
    """A copy of ``frame`` (columns ``schema.COLUMNS``, optionally ``mj2``, ``pt_j1``,
    ``pt_j2``) with ``shift`` applied."""
    out = frame.copy()
    if shift.jet_energy_scale != 1.0:
        for column in ("mjj", "pt_j1", "pt_j2"):
            if column in out:
                out[column] = out[column] * shift.jet_energy_scale
    if shift.jet_mass_scale != 1.0:
        for column in ("mj1", "delta_m", "mj2"):
            if column in out:
                out[column] = out[column] * shift.jet_mass_scale
    if shift.tau21_shift != 0.0:
        for column in ("tau21_j1", "tau21_j2"):
            out[column] = np.maximum(out[column] + shift.tau21_shift, 0.0)
    if shift.mass_mjj_correlation != 0.0:
        extra = shift.mass_mjj_correlation * out["mjj"]
        out["mj1"] = out["mj1"] + extra
        out["delta_m"] = out["delta_m"] + extra
        if "mj2" in out:
            out["mj2"] = out["mj1"] + out["delta_m"]
    return out
