"""Names, constants and expected yields of the HiggsML Uncertainty data set.

The column layout follows the FAIR Universe HiggsML Uncertainty challenge: 16 primary
(``PRI_*``) and 12 derived (``DER_*``) float32 features, undefined values set to -25.
"""

from __future__ import annotations

UNDEFINED = -25.0
"""Value of a feature that is not defined for an event (e.g. jet features with no jet)."""

LUMINOSITY_FB = 10.0
"""Integrated luminosity (fb^-1) that the per-event weights are normalised to."""

PROCESSES: tuple[str, ...] = ("htautau", "ztautau", "ttbar", "diboson")
"""Physics processes (``detailed_labels``); htautau is the signal (label 1)."""

SIGNAL_PROCESS = "htautau"

EXPECTED_YIELDS: dict[str, float] = {
    "htautau": 1015.0,
    "ztautau": 1_002_395.0,
    "ttbar": 44_192.0,
    "diboson": 3_783.0,
}
"""Expected events per process at ``LUMINOSITY_FB`` after the selection (anchor's numbers)."""

PRIMARY_FEATURES: tuple[str, ...] = (
    "PRI_lep_pt",
    "PRI_lep_eta",
    "PRI_lep_phi",
    "PRI_had_pt",
    "PRI_had_eta",
    "PRI_had_phi",
    "PRI_jet_leading_pt",
    "PRI_jet_leading_eta",
    "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi",
    "PRI_n_jets",
    "PRI_jet_all_pt",
    "PRI_met",
    "PRI_met_phi",
)

DERIVED_FEATURES: tuple[str, ...] = (
    "DER_mass_transverse_met_lep",
    "DER_mass_vis",
    "DER_pt_h",
    "DER_deltaeta_jet_jet",
    "DER_mass_jet_jet",
    "DER_prodeta_jet_jet",
    "DER_deltar_had_lep",
    "DER_pt_tot",
    "DER_sum_pt",
    "DER_pt_ratio_lep_had",
    "DER_met_phi_centrality",
    "DER_lep_eta_centrality",
)

FEATURES: tuple[str, ...] = PRIMARY_FEATURES + DERIVED_FEATURES
"""All 28 model inputs, in the anchor's order."""

LABEL_COLUMNS: tuple[str, ...] = ("weights", "detailed_labels", "labels")
"""Truth columns of a weighted (training / template) data set; never shown to a submission."""

# Selection thresholds (GeV) applied after every systematic shift.
HAD_PT_MIN = 26.0
JET_PT_MIN = 26.0
LEP_PT_MIN = 20.0


def label_of(process: str) -> int:
    """1 for the signal process, 0 for a background; raises on an unknown name."""
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}; expected one of {PROCESSES}")
    return int(process == SIGNAL_PROCESS)
