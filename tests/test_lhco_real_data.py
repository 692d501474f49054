"""Real LHC Olympics R&D data: jet clustering and N-subjettiness against the public features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench import reference_data
from hepbench.challenges.lhco.real_data import (
    iter_rnd_particles,
    jet_features,
    load_highlevel_subset,
    read_rnd_events,
)
from hepbench.challenges.lhco.schema import COLUMNS, LABEL

RND_SAMPLE = reference_data.path("lhco-events-tiny")
SUBSET = reference_data.path("lhco-highlevel-subset")
TAUS = [f"tau{n}_{j}" for j in ("j1", "j2") for n in (1, 2, 3)]


@pytest.fixture(scope="module")
def rnd() -> pd.DataFrame:
    return read_rnd_events(RND_SAMPLE, chunk_size=500)


@pytest.fixture(scope="module")
def subset() -> pd.DataFrame:
    return load_highlevel_subset(SUBSET)


def first_thousand(subset: pd.DataFrame) -> pd.DataFrame:
    """The subset rows of the R&D file's first 1,000 events (the files 01 cover events 0-9,999)."""
    rows = subset[subset["file"].isin(["scalars_bkg01.h5", "scalars_sig01.h5"]) & (subset["event"] < 1000)]
    return rows.set_index("event").sort_index()


def test_rnd_sample_features(rnd: pd.DataFrame) -> None:
    assert len(rnd) == 1000 and rnd.attrs["n_dropped"] == 0
    assert (rnd[LABEL] == 1).sum() == 93
    assert list(rnd.columns[: len(COLUMNS)]) == list(COLUMNS)
    signal = rnd[rnd[LABEL] == 1]
    # W' (3.5 TeV) -> X (500 GeV) Y (100 GeV): the lighter jet near 100 GeV, the heavier near 500 GeV.
    assert 0.08 < signal["mj1"].median() < 0.13
    assert 0.42 < signal["mj2"].median() < 0.56
    assert 3.3 < signal["mjj"].median() < 3.7
    assert (rnd["mj1"] <= rnd["mj2"]).all() and (rnd["delta_m"] >= 0).all()
    # The R&D trigger: leading jet pT > 1.2 TeV.
    assert (rnd[["pt_j1", "pt_j2"]].max(axis=1) > 1.2).all()


def test_masses_and_mjj_match_the_public_subset(rnd: pd.DataFrame, subset: pd.DataFrame) -> None:
    reference = first_thousand(subset)
    assert (reference[LABEL].to_numpy() == rnd[LABEL].to_numpy()).all()
    for column in ("mjj", "mj1", "delta_m", "mj2", "pt_j1", "pt_j2"):
        np.testing.assert_allclose(rnd[column], reference[column], rtol=1e-8, atol=1e-12, err_msg=column)


def test_nsubjettiness_reproduces_the_subset() -> None:
    """Without the azimuthal wrap (the subset's convention) the taus agree to machine precision."""
    pt, eta, phi, _ = next(iter_rnd_particles(RND_SAMPLE, 0, 1000, chunk_size=1000))
    ours = jet_features(pt, eta, phi, wrap_delta_phi=False)
    reference = first_thousand(load_highlevel_subset(SUBSET))
    same = np.isclose(ours[TAUS].to_numpy(), reference[TAUS].to_numpy(), rtol=1e-9, atol=1e-12).all(axis=1)
    assert same.mean() > 0.99


def test_wrapped_taus_agree_where_the_subset_is_valid(rnd: pd.DataFrame, subset: pd.DataFrame) -> None:
    reference = first_thousand(subset)
    for jet in ("j1", "j2"):
        valid = reference[f"tau_valid_{jet}"].to_numpy()
        assert 0.4 < valid.mean() < 0.9
        cols = [f"tau{n}_{jet}" for n in (1, 2, 3)]
        same = np.isclose(rnd[cols].to_numpy(), reference[cols].to_numpy(), rtol=1e-9).all(axis=1)
        assert same[valid].mean() > 0.99
        assert same[~valid].mean() < 0.9  # the unwrapped distance does change these jets


def test_chunks_and_jagged_input_agree(rnd: pd.DataFrame) -> None:
    import awkward as ak

    again = read_rnd_events(RND_SAMPLE, 100, 300, chunk_size=64)
    pd.testing.assert_frame_equal(again, rnd.loc[100:299], check_exact=False, rtol=1e-12)
    pt, eta, phi, _ = next(iter_rnd_particles(RND_SAMPLE, 0, 20))
    keep = pt > 0
    jagged = [ak.Array([row[k] for row, k in zip(x, keep)]) for x in (pt, eta, phi)]
    pd.testing.assert_frame_equal(jet_features(*jagged), jet_features(pt, eta, phi), rtol=1e-12)


def test_jet_features_bad_input() -> None:
    with pytest.raises(ValueError, match="eta has shape"):
        jet_features(np.ones((3, 5)), np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="axis_coordinate"):
        jet_features(np.ones((3, 5)), np.ones((3, 5)), np.ones((3, 5)), axis_coordinate="theta")


def test_highlevel_subset(subset: pd.DataFrame) -> None:
    # Events 0-999 of each of the ten files' 10,000 (see reference_data/README.md).
    assert (subset[LABEL] == 0).sum() == 9_074
    assert (subset[LABEL] == 1).sum() == 926
    assert subset[list(COLUMNS)].notna().all().all()
    for jet in ("j1", "j2"):
        tau21 = subset.loc[subset[f"tau_valid_{jet}"], f"tau21_{jet}"]
        # Exclusive-kT axes are not the minimising ones: tau2 > tau1 happens, rarely.
        assert tau21.min() >= 0.0 and tau21.max() < 1.5
        assert (tau21 <= 1.0).mean() > 0.95
    assert (subset["mj1"] <= subset["mj2"]).all()


def test_highlevel_subset_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_highlevel_subset(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="scalars_bkg"):
        load_highlevel_subset(tmp_path)
    pd.DataFrame({"mjj": [3000.0]}).to_hdf(tmp_path / "scalars_bkg01.h5", key="bkg")
    pd.DataFrame({"mjj": [3000.0]}).to_hdf(tmp_path / "scalars_sig01.h5", key="sig")
    with pytest.raises(ValueError, match=r"scalars_bkg01.h5: missing column"):
        load_highlevel_subset(tmp_path)
