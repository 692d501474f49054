"""Loaders for the real HiggsML data formats.

- FAIR Universe HiggsML Uncertainty (2024): parquet with the 28 features, ``weights``,
  ``labels``, ``detailed_labels``; undefined = -25; an optional metadata JSON beside it.
- ATLAS HiggsML challenge 2014 (CERN Open Data, doi:10.7483/OPENDATA.ATLAS.ZBP2.M5T8): CSV with
  30 features named after the tau (``PRI_tau_pt``...), ``Weight``, ``Label`` (s / b),
  ``KaggleSet``, ``KaggleWeight``; undefined = -999.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import FEATURES, LABEL_COLUMNS, UNDEFINED

HIGGSML2014_UNDEFINED = -999.0

HIGGSML2014_TO_FAIR: dict[str, str] = {
    "DER_mass_transverse_met_lep": "DER_mass_transverse_met_lep",
    "DER_mass_vis": "DER_mass_vis",
    "DER_pt_h": "DER_pt_h",
    "DER_deltaeta_jet_jet": "DER_deltaeta_jet_jet",
    "DER_mass_jet_jet": "DER_mass_jet_jet",
    "DER_prodeta_jet_jet": "DER_prodeta_jet_jet",
    "DER_deltar_tau_lep": "DER_deltar_had_lep",
    "DER_pt_tot": "DER_pt_tot",
    "DER_sum_pt": "DER_sum_pt",
    "DER_pt_ratio_lep_tau": "DER_pt_ratio_lep_had",
    "DER_met_phi_centrality": "DER_met_phi_centrality",
    "DER_lep_eta_centrality": "DER_lep_eta_centrality",
    "PRI_tau_pt": "PRI_had_pt",
    "PRI_tau_eta": "PRI_had_eta",
    "PRI_tau_phi": "PRI_had_phi",
    "PRI_lep_pt": "PRI_lep_pt",
    "PRI_lep_eta": "PRI_lep_eta",
    "PRI_lep_phi": "PRI_lep_phi",
    "PRI_met": "PRI_met",
    "PRI_met_phi": "PRI_met_phi",
    "PRI_jet_num": "PRI_n_jets",
    "PRI_jet_leading_pt": "PRI_jet_leading_pt",
    "PRI_jet_leading_eta": "PRI_jet_leading_eta",
    "PRI_jet_leading_phi": "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt": "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta": "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi": "PRI_jet_subleading_phi",
    "PRI_jet_all_pt": "PRI_jet_all_pt",
}
"""2014 column -> our column, for the 28 features the two data sets share by definition.

The 2014 set is ATLAS full simulation at 8 TeV with its own selection (e.g. jets above 20 GeV
with PRI_jet_num capped at 3), so shared features agree in definition, not in distribution.
2014-only columns (DER_mass_MMC, PRI_met_sumet) keep their names.
"""

HIGGSML2014_COLUMNS: tuple[str, ...] = (
    "EventId",
    *HIGGSML2014_TO_FAIR,
    "DER_mass_MMC",
    "PRI_met_sumet",
    "Weight",
    "Label",
)


class RealDataError(ValueError):
    """A real data file is missing, unreadable, or lacks an expected column."""


def _file_in(path: Path, pattern: str) -> Path:
    if path.is_dir():
        matches = sorted(path.glob(pattern))
        if not matches:
            raise RealDataError(f"{path}: no file matching {pattern}")
        return matches[0]
    if not path.exists():
        raise RealDataError(f"{path}: no such file")
    return path


def load_fair_universe(path: str | Path) -> pd.DataFrame:
    """Read a FAIR Universe HiggsML Uncertainty parquet file (or the folder holding one).

    Returns the frame with the 28 features, ``weights``, ``labels``, ``detailed_labels``; a
    ``*metadata.json`` beside it is attached as ``frame.attrs["metadata"]``.
    """
    file = _file_in(Path(path), "*.parquet")
    try:
        frame = pd.read_parquet(file)
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise RealDataError(f"{file}: unreadable parquet ({type(err).__name__}: {err})") from None
    missing = [c for c in (*FEATURES, *LABEL_COLUMNS) if c not in frame.columns]
    if missing:
        raise RealDataError(f"{file}: missing column(s) {missing}")
    for column in FEATURES:
        if not np.issubdtype(frame[column].dtype, np.floating):
            raise RealDataError(f"{file}: column {column} has dtype {frame[column].dtype}, expected float")
    metadata = sorted(file.parent.glob("*metadata.json"))
    if metadata:
        frame.attrs["metadata"] = json.loads(metadata[0].read_text())
    return frame


def load_higgsml2014(path: str | Path, *, map_to_fair: bool = True, nrows: int | None = None) -> pd.DataFrame:
    """Read the 2014 ATLAS HiggsML CSV (the full 818k-row file reads in chunks of 200k rows).

    With ``map_to_fair`` the shared features take our names, -999 becomes -25, ``Weight``
    becomes ``weights`` and ``Label`` s / b becomes ``labels`` 1 / 0.
    """
    file = _file_in(Path(path), "*.csv")
    try:
        header = pd.read_csv(file, nrows=0).columns
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise RealDataError(f"{file}: not a readable CSV ({err})") from None
    missing = [c for c in HIGGSML2014_COLUMNS if c not in header]
    if missing:
        raise RealDataError(f"{file}: missing column(s) {missing}")
    chunks = pd.read_csv(file, chunksize=200_000, nrows=nrows)
    frame = pd.concat(list(chunks), ignore_index=True)
    bad = sorted(set(frame["Label"].unique()) - {"s", "b"})
    if bad:
        raise RealDataError(f"{file}: column Label has values {bad}, expected 's' or 'b'")
    if not map_to_fair:
        return frame
    out = frame.rename(columns={**HIGGSML2014_TO_FAIR, "Weight": "weights"})
    shared = list(HIGGSML2014_TO_FAIR.values())
    out[shared] = out[shared].mask(out[shared] == HIGGSML2014_UNDEFINED, UNDEFINED).astype(np.float32)
    out["labels"] = (frame["Label"] == "s").astype(np.int8)
    out["detailed_labels"] = np.where(out["labels"] == 1, "htautau", "background")
    return out
