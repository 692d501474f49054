"""Systematic variations of the HiggsML Uncertainty data (SPEC 1).

Six nuisance parameters: three change the event kinematics (tau energy scale, jet energy
scale, soft missing-energy term) and three the normalisation of the backgrounds. After the
kinematic shifts the missing transverse energy is recomputed, the selection cuts are applied
again and every derived feature is recomputed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from .derived import derived_arrays
from .schema import DERIVED_FEATURES, HAD_PT_MIN, JET_PT_MIN, LEP_PT_MIN, PROCESSES, UNDEFINED


@dataclass(frozen=True)
class NuisancePrior:
    """Sampling distribution of one nuisance parameter.

    ``kind`` is ``"normal"`` (mean ``loc``, standard deviation ``scale``) or ``"lognormal"``
    (the log is normal with mean ``loc`` and standard deviation ``scale``); draws are clipped
    to ``[low, high]``.
    """

    kind: str
    loc: float
    scale: float
    low: float
    high: float
    nominal: float

    def sample(self, rng: np.random.Generator) -> float:
        if self.kind == "normal":
            value = rng.normal(self.loc, self.scale)
        else:
            value = rng.lognormal(self.loc, self.scale)
        return float(np.clip(value, self.low, self.high))


NUISANCE_PRIORS: dict[str, NuisancePrior] = {
    "tes": NuisancePrior("normal", 1.0, 0.01, 0.9, 1.1, nominal=1.0),
    "jes": NuisancePrior("normal", 1.0, 0.01, 0.9, 1.1, nominal=1.0),
    "soft_met": NuisancePrior("lognormal", 0.0, 1.0, 0.0, 5.0, nominal=0.0),
    "bkg_norm": NuisancePrior("normal", 1.0, 0.001, 0.99, 1.01, nominal=1.0),
    "ttbar_scale": NuisancePrior("normal", 1.0, 0.02, 0.8, 1.2, nominal=1.0),
    "diboson_scale": NuisancePrior("normal", 1.0, 0.25, 0.0, 2.0, nominal=1.0),
}
"""Priors of the six nuisance parameters, as in the anchor challenge."""


@dataclass(frozen=True)
class NuisanceParameters:
    """Values of the six nuisance parameters; the defaults are the nominal ones.

    ``tes`` and ``jes`` are multiplicative energy scales, ``soft_met`` the standard deviation
    (GeV) of the extra soft term added to each MET component, the last three scale factors on
    the background normalisations.
    """

    tes: float = 1.0
    jes: float = 1.0
    soft_met: float = 0.0
    bkg_norm: float = 1.0
    ttbar_scale: float = 1.0
    diboson_scale: float = 1.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def sample(cls, rng: np.random.Generator, active: tuple[str, ...] | None = None) -> NuisanceParameters:
        """Draw every parameter from its prior; parameters not in ``active`` stay nominal.

        All six are always drawn, in a fixed order, so the random stream (and thus every other
        parameter) does not depend on which ones are active.
        """
        draws = {name: NUISANCE_PRIORS[name].sample(rng) for name in cls.names()}
        if active is not None:
            unknown = set(active) - set(cls.names())
            if unknown:
                raise ValueError(f"unknown systematics {sorted(unknown)}; known: {cls.names()}")
            draws = {k: (v if k in active else NUISANCE_PRIORS[k].nominal) for k, v in draws.items()}
        return cls(**draws)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def process_norms(self, mu: float) -> dict[str, float]:
        """Normalisation factor of each process for signal strength ``mu``."""
        return {
            "htautau": mu,
            "ztautau": self.bkg_norm,
            "ttbar": self.ttbar_scale * self.bkg_norm,
            "diboson": self.diboson_scale * self.bkg_norm,
        }

    def process_norm_array(self, mu: float) -> np.ndarray:
        """:meth:`process_norms` as an array in ``PROCESSES`` order, shape (n_processes,)."""
        norms = self.process_norms(mu)
        return np.array([norms[p] for p in PROCESSES])


NOMINAL = NuisanceParameters()

_ROUNDED = (
    "PRI_had_pt",
    "PRI_had_eta",
    "PRI_had_phi",
    "PRI_lep_pt",
    "PRI_lep_eta",
    "PRI_lep_phi",
    "PRI_met",
    "PRI_met_phi",
    "PRI_jet_leading_pt",
    "PRI_jet_leading_eta",
    "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi",
    "PRI_jet_all_pt",
)


Columns = dict[str, np.ndarray]


def _shift_kinematics(data: pd.DataFrame, tes: float, jes: float, soft_met: float, rng: np.random.Generator) -> Columns:
    """The energy-scale shifts and the soft term applied to ``data``'s primary features;
    PRI_met and PRI_met_phi recomputed. Returns the 16 primary columns as new arrays (float64,
    ``PRI_n_jets`` in its own dtype)."""
    f8 = np.float64
    out: Columns = {c: data[c].to_numpy(f8) for c in _ROUNDED}
    out["PRI_n_jets"] = data["PRI_n_jets"].to_numpy(copy=True)
    met, met_phi = out["PRI_met"], out["PRI_met_phi"]
    met_x, met_y = met * np.cos(met_phi), met * np.sin(met_phi)

    if tes != 1.0:
        had_pt, had_phi = out["PRI_had_pt"], out["PRI_had_phi"]
        # Energy the tau gains (loses) is taken from (returned to) the missing momentum.
        met_x += (1.0 - tes) * had_pt * np.cos(had_phi)
        met_y += (1.0 - tes) * had_pt * np.sin(had_phi)
        out["PRI_had_pt"] = had_pt * tes

    if jes != 1.0:
        n_jets = out["PRI_n_jets"].astype(f8)
        for name, present in (("leading", n_jets >= 1), ("subleading", n_jets >= 2)):
            pt, phi = out[f"PRI_jet_{name}_pt"], out[f"PRI_jet_{name}_phi"]
            met_x += np.where(present, (1.0 - jes) * pt * np.cos(phi), 0.0)
            met_y += np.where(present, (1.0 - jes) * pt * np.sin(phi), 0.0)
            out[f"PRI_jet_{name}_pt"] = np.where(present, pt * jes, pt)
        out["PRI_jet_all_pt"] = out["PRI_jet_all_pt"] * jes

    if soft_met > 0.0:
        met_x += rng.normal(0.0, soft_met, size=len(data))
        met_y += rng.normal(0.0, soft_met, size=len(data))

    out["PRI_met"] = np.hypot(met_x, met_y)
    out["PRI_met_phi"] = np.arctan2(met_y, met_x)
    # The anchor stores primary quantities to 1 MeV / 1e-3 rad; keep the same precision
    # (new arrays: the selection then changes them in place, never the caller's frame).
    for column in _ROUNDED:
        out[column] = out[column].round(3)
    return out


def _select(primary: Columns) -> np.ndarray:
    """The analysis selection on shifted primary columns (changed in place, see
    ``apply_selection``); returns the mask of events kept."""
    kept = primary["PRI_had_pt"] >= HAD_PT_MIN
    for name in ("subleading", "leading"):
        pt = primary[f"PRI_jet_{name}_pt"]
        soft = kept & (pt >= 0.0) & (pt <= JET_PT_MIN)
        if soft.any():
            primary["PRI_jet_all_pt"][soft] = primary["PRI_jet_all_pt"][soft] - pt[soft]
            for var in ("pt", "eta", "phi"):
                primary[f"PRI_jet_{name}_{var}"][soft] = UNDEFINED
            primary["PRI_n_jets"][soft] = primary["PRI_n_jets"][soft] - 1
    return kept & (primary["PRI_lep_pt"] >= LEP_PT_MIN)


def apply_selection(data: pd.DataFrame) -> pd.DataFrame:
    """Re-apply the analysis selection after a kinematic shift (SPEC 1, anchor order).

    Drops events with PRI_had_pt < 26 GeV; removes a subleading then a leading jet with
    0 <= pT <= 26 GeV (its pT leaves PRI_jet_all_pt, its features become -25, PRI_n_jets
    decreases); drops events with PRI_lep_pt < 20 GeV.
    """
    primary = {c: data[c].to_numpy(np.float64, copy=True) for c in _ROUNDED}
    primary["PRI_n_jets"] = data["PRI_n_jets"].to_numpy(copy=True)
    kept = _select(primary)
    out = data.loc[kept].copy()
    for column, values in primary.items():
        out[column] = values[kept]
    return out


def systematics(
    data: pd.DataFrame,
    nuisances: NuisanceParameters = NOMINAL,
    *,
    seed: int = 31415,
    select: bool = True,
) -> pd.DataFrame:
    """Apply all six systematic variations to a data set.

    Parameters
    ----------
    data:
        Events with the 16 primary features (derived ones optional, they are recomputed).
        If ``weights`` and ``detailed_labels`` columns are present, the background
        normalisation factors scale the weights of their processes.
    nuisances:
        Values of the nuisance parameters (nominal by default).
    seed:
        Seed of the soft-MET smearing.
    select:
        Re-apply the selection cuts after the shifts (``False`` keeps every row, as the FAIR
        Universe kit's ``dopostprocess=False``).

    Returns
    -------
    A new frame: shifted primary features (float32), the selection re-applied (rows may be
    dropped; the index of surviving rows is kept), derived features recomputed, other columns
    carried.
    """
    missing = [c for c in ("PRI_had_pt", "PRI_met", "PRI_n_jets") if c not in data.columns]
    if missing:
        raise ValueError(f"systematics: input lacks primary feature column(s) {missing}")
    rng = np.random.default_rng(seed)
    # Column arrays, one frame built at the end: pandas column-by-column updates cost more
    # than the physics on a million events.
    primary = _shift_kinematics(data, nuisances.tes, nuisances.jes, nuisances.soft_met, rng)
    kept = _select(primary) if select else np.ones(len(data), dtype=bool)
    rows = np.flatnonzero(kept)
    primary = {c: v[rows] for c, v in primary.items()}
    derived = derived_arrays(primary)
    scale_weights = "weights" in data.columns and "detailed_labels" in data.columns
    columns: dict[str, Any] = {}
    for column in [*data.columns, *(c for c in DERIVED_FEATURES if c not in data.columns)]:
        if column in derived:
            columns[column] = derived[column]
        elif column.startswith("PRI_"):
            source = primary[column] if column in primary else data[column].to_numpy()[rows]
            columns[column] = source.astype(np.float32)
        elif column == "weights" and scale_weights:
            factor = data["detailed_labels"].iloc[rows].map(nuisances.process_norms(mu=1.0)).to_numpy(np.float64)
            columns[column] = data["weights"].to_numpy(np.float64)[rows] * factor
        else:
            columns[column] = data[column].array.take(rows)
    return pd.DataFrame(columns, index=data.index[rows])
