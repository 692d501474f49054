"""Systematic shifts and the post-shift selection follow SPEC 1 exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench.challenges.higgs_uncertainty.derived import derived_features
from hepbench.challenges.higgs_uncertainty.schema import DERIVED_FEATURES, UNDEFINED
from hepbench.challenges.higgs_uncertainty.systematics import (
    NUISANCE_PRIORS,
    NuisanceParameters,
    apply_selection,
    systematics,
)


def met_vector(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    met, phi = frame["PRI_met"].to_numpy(np.float64), frame["PRI_met_phi"].to_numpy(np.float64)
    return met * np.cos(phi), met * np.sin(phi)


def test_nominal_only_applies_cuts_and_recomputes(fair_sample: pd.DataFrame) -> None:
    out = systematics(fair_sample)
    assert (out["PRI_had_pt"] >= 26).all() and (out["PRI_lep_pt"] >= 20).all()
    expected_kept = (fair_sample["PRI_had_pt"] >= 26).sum()
    assert len(out) == expected_kept
    jets = out["PRI_jet_leading_pt"].to_numpy()
    assert not np.any((jets >= 0) & (jets <= 26))
    np.testing.assert_allclose(
        out[list(DERIVED_FEATURES)].to_numpy(np.float64),
        derived_features(out)[list(DERIVED_FEATURES)].to_numpy(np.float64),
        rtol=1e-6,
        atol=1e-4,
    )


def test_tau_energy_scale_moves_met_by_the_tau_shift(fair_sample: pd.DataFrame) -> None:
    tes = 1.05
    out = systematics(fair_sample, NuisanceParameters(tes=tes))
    before = fair_sample.loc[out.index]
    np.testing.assert_allclose(out["PRI_had_pt"], before["PRI_had_pt"] * tes, atol=2e-3)
    mx0, my0 = met_vector(before)
    mx1, my1 = met_vector(out)
    had_px = before["PRI_had_pt"] * np.cos(before["PRI_had_phi"])
    had_py = before["PRI_had_pt"] * np.sin(before["PRI_had_phi"])
    # PRI_met_phi is stored to 1e-3 rad in the input and the output (as in the anchor), so the
    # vector can differ by up to 2 * 5e-4 * MET from the exact shift.
    tolerance = 1.1e-3 * np.maximum(out["PRI_met"].to_numpy(), before["PRI_met"].to_numpy()) + 5e-3
    assert np.all(np.abs(mx1 - (mx0 + (1 - tes) * had_px)) <= tolerance)
    assert np.all(np.abs(my1 - (my0 + (1 - tes) * had_py)) <= tolerance)
    # An upward TES lets events below the 26 GeV cut in: 26 / 1.05 = 24.76 GeV before the shift.
    assert len(out) == (fair_sample["PRI_had_pt"] * tes >= 26 - 1e-3).sum()


def test_jet_energy_scale_touches_only_present_jets(fair_sample: pd.DataFrame) -> None:
    jes = 1.08
    out = systematics(fair_sample, NuisanceParameters(jes=jes))
    before = fair_sample.loc[out.index]
    had_jet = before["PRI_n_jets"] >= 1
    scaled = before["PRI_jet_leading_pt"] * jes
    kept = had_jet & (scaled > 26)
    np.testing.assert_allclose(out.loc[kept, "PRI_jet_leading_pt"], scaled[kept], atol=2e-3)
    assert (out.loc[~had_jet, "PRI_jet_leading_pt"] == UNDEFINED).all()
    np.testing.assert_allclose(out.loc[~had_jet, "PRI_jet_all_pt"], 0.0)
    # MET is unchanged where there is no jet
    np.testing.assert_allclose(out.loc[~had_jet, "PRI_met"], before.loc[~had_jet, "PRI_met"], atol=2e-3)


def test_soft_met_is_seeded_and_grows_met_spread(fair_sample: pd.DataFrame) -> None:
    a = systematics(fair_sample, NuisanceParameters(soft_met=3.0), seed=7)
    b = systematics(fair_sample, NuisanceParameters(soft_met=3.0), seed=7)
    c = systematics(fair_sample, NuisanceParameters(soft_met=3.0), seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["PRI_met"], c["PRI_met"])
    mx0, _ = met_vector(fair_sample.loc[a.index])
    mx1, _ = met_vector(a)
    assert np.std(mx1 - mx0) == pytest.approx(3.0, rel=0.15)


def test_normalisation_nuisances_scale_weights(fair_sample: pd.DataFrame) -> None:
    nuis = NuisanceParameters(bkg_norm=1.01, ttbar_scale=1.2, diboson_scale=0.5)
    out = systematics(fair_sample, nuis)
    base = systematics(fair_sample)
    ratio = (out["weights"] / base["weights"]).groupby(out["detailed_labels"]).mean()
    assert ratio["htautau"] == pytest.approx(1.0)
    assert ratio["ztautau"] == pytest.approx(1.01)
    assert ratio["ttbar"] == pytest.approx(1.2 * 1.01)
    assert ratio["diboson"] == pytest.approx(0.5 * 1.01)


def test_soft_subleading_jet_is_removed_from_sums() -> None:
    event = pd.DataFrame(
        [
            {
                "PRI_lep_pt": 30.0,
                "PRI_lep_eta": 0.1,
                "PRI_lep_phi": 0.0,
                "PRI_had_pt": 40.0,
                "PRI_had_eta": 0.2,
                "PRI_had_phi": 2.0,
                "PRI_jet_leading_pt": 60.0,
                "PRI_jet_leading_eta": 1.0,
                "PRI_jet_leading_phi": -2.0,
                "PRI_jet_subleading_pt": 25.0,
                "PRI_jet_subleading_eta": -1.0,
                "PRI_jet_subleading_phi": 1.0,
                "PRI_n_jets": 2.0,
                "PRI_jet_all_pt": 85.0,
                "PRI_met": 10.0,
                "PRI_met_phi": 0.5,
            }
        ]
    )
    out = apply_selection(event).iloc[0]
    assert out["PRI_n_jets"] == 1
    assert out["PRI_jet_all_pt"] == pytest.approx(60.0)
    assert out["PRI_jet_subleading_pt"] == UNDEFINED and out["PRI_jet_subleading_eta"] == UNDEFINED
    assert out["PRI_jet_leading_pt"] == 60.0


def test_priors_and_sampling() -> None:
    rng = np.random.default_rng(0)
    draws = pd.DataFrame([NuisanceParameters.sample(rng).as_dict() for _ in range(4000)])
    assert draws["tes"].std() == pytest.approx(0.01, rel=0.1)
    assert draws["ttbar_scale"].std() == pytest.approx(0.02, rel=0.1)
    assert draws["soft_met"].median() == pytest.approx(1.0, rel=0.1)
    assert draws["soft_met"].max() <= NUISANCE_PRIORS["soft_met"].high
    assert draws["diboson_scale"].min() >= 0.0
    only_tes = NuisanceParameters.sample(np.random.default_rng(1), active=("tes",))
    assert only_tes.jes == 1.0 and only_tes.soft_met == 0.0 and only_tes.tes != 1.0
    # the same stream gives the same tes whatever else is active
    assert only_tes.tes == NuisanceParameters.sample(np.random.default_rng(1)).tes
    with pytest.raises(ValueError, match="unknown systematics"):
        NuisanceParameters.sample(rng, active=("nope",))
