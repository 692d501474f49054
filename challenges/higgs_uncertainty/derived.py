"""Derived (``DER_*``) features, recomputed from the primary ones.

Every systematic shift changes primary quantities, so the derived ones are always computed
here, from massless four-vectors (E = pT cosh eta), exactly as SPEC 1 defines them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .schema import DERIVED_FEATURES, UNDEFINED


def _wrap_phi(dphi: np.ndarray) -> np.ndarray:
    """Wrap an azimuthal difference into [-pi, pi)."""
    return np.mod(dphi + np.pi, 2.0 * np.pi) - np.pi


def derived_features(primary: pd.DataFrame) -> pd.DataFrame:
    """Compute the 12 derived features from the primary ones.

    Parameters
    ----------
    primary:
        Frame with the 16 ``PRI_*`` columns (GeV, radians), undefined jet values -25.

    Returns
    -------
    Frame with the ``DER_*`` columns (float32, same index), -25 where undefined.
    """
    return pd.DataFrame(derived_arrays(primary), index=primary.index)


def derived_arrays(primary: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The 12 ``DER_*`` columns (float32 arrays) from the ``PRI_*`` columns of ``primary`` (a
    frame or a mapping of column name to array, n_events each)."""

    def col(name: str) -> np.ndarray:
        return np.asarray(primary[name], dtype=np.float64)

    lep_pt, lep_eta, lep_phi = (col(c) for c in ("PRI_lep_pt", "PRI_lep_eta", "PRI_lep_phi"))
    had_pt, had_eta, had_phi = (col(c) for c in ("PRI_had_pt", "PRI_had_eta", "PRI_had_phi"))
    met, met_phi = col("PRI_met"), col("PRI_met_phi")
    n_jets = col("PRI_n_jets")
    jet_all_pt = col("PRI_jet_all_pt")
    # A jet removed by the post-shift selection has -25 features but may leave n_jets >= 2
    # (the anchor only decrements the count), so presence also requires a defined pT.
    has_j1 = (n_jets >= 1) & (col("PRI_jet_leading_pt") >= 0)
    has_j2 = (n_jets >= 2) & (col("PRI_jet_subleading_pt") >= 0)

    def jet(prefix: str, present: np.ndarray) -> tuple[np.ndarray, ...]:
        pt = np.where(present, col(f"PRI_jet_{prefix}_pt"), 0.0)
        eta = np.where(present, col(f"PRI_jet_{prefix}_eta"), 0.0)
        phi = np.where(present, col(f"PRI_jet_{prefix}_phi"), 0.0)
        return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta), eta

    lep_px, lep_py = lep_pt * np.cos(lep_phi), lep_pt * np.sin(lep_phi)
    lep_pz, lep_e = lep_pt * np.sinh(lep_eta), lep_pt * np.cosh(lep_eta)
    had_px, had_py = had_pt * np.cos(had_phi), had_pt * np.sin(had_phi)
    had_pz, had_e = had_pt * np.sinh(had_eta), had_pt * np.cosh(had_eta)
    met_x, met_y = met * np.cos(met_phi), met * np.sin(met_phi)
    j1x, j1y, j1z, j1e, j1eta = jet("leading", has_j1)
    j2x, j2y, j2z, j2e, j2eta = jet("subleading", has_j2)

    out: dict[str, np.ndarray] = {}
    mt2 = (met + lep_pt) ** 2 - (met_x + lep_px) ** 2 - (met_y + lep_py) ** 2
    out["DER_mass_transverse_met_lep"] = np.sqrt(np.maximum(mt2, 0.0))
    mvis2 = (lep_e + had_e) ** 2 - (lep_px + had_px) ** 2 - (lep_py + had_py) ** 2 - (lep_pz + had_pz) ** 2
    out["DER_mass_vis"] = np.sqrt(np.maximum(mvis2, 0.0))
    out["DER_pt_h"] = np.hypot(had_px + lep_px + met_x, had_py + lep_py + met_y)

    out["DER_deltaeta_jet_jet"] = np.where(has_j2, np.abs(j2eta - j1eta), UNDEFINED)
    mjj2 = (j1e + j2e) ** 2 - (j1x + j2x) ** 2 - (j1y + j2y) ** 2 - (j1z + j2z) ** 2
    out["DER_mass_jet_jet"] = np.where(has_j2, np.sqrt(np.maximum(mjj2, 0.0)), UNDEFINED)
    out["DER_prodeta_jet_jet"] = np.where(has_j2, j1eta * j2eta, UNDEFINED)

    out["DER_deltar_had_lep"] = np.hypot(lep_eta - had_eta, _wrap_phi(lep_phi - had_phi))
    out["DER_pt_tot"] = np.hypot(had_px + lep_px + met_x + j1x + j2x, had_py + lep_py + met_y + j1y + j2y)
    out["DER_sum_pt"] = had_pt + lep_pt + jet_all_pt
    out["DER_pt_ratio_lep_had"] = lep_pt / had_pt

    sign = np.sign(np.sin(had_phi - lep_phi))
    a = np.sin(met_phi - lep_phi) * sign
    b = np.sin(had_phi - met_phi) * sign
    norm = np.hypot(a, b)
    # Collinear lepton and tau (norm == 0) leave the centrality undefined.
    out["DER_met_phi_centrality"] = np.where(norm > 0, (a + b) / np.where(norm > 0, norm, 1.0), UNDEFINED)

    deta2 = (j1eta - j2eta) ** 2
    safe = has_j2 & (deta2 > 0)
    centrality = np.exp(-4.0 * (lep_eta - 0.5 * (j1eta + j2eta)) ** 2 / np.where(safe, deta2, 1.0))
    out["DER_lep_eta_centrality"] = np.where(safe, centrality, np.where(has_j2, 0.0, UNDEFINED))

    return {k: out[k].astype(np.float32) for k in DERIVED_FEATURES}


def with_derived_features(primary: pd.DataFrame) -> pd.DataFrame:
    """Return ``primary`` with its ``DER_*`` columns (re)computed, other columns kept."""
    derived = derived_features(primary)
    kept = primary.drop(columns=[c for c in DERIVED_FEATURES if c in primary.columns])
    return pd.concat([kept, derived], axis=1)
