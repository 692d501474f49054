"""Loaders of the real FAIR Universe and 2014 ATLAS formats, and the comparison with them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench.challenges.higgs_uncertainty.real_data import RealDataError, load_fair_universe, load_higgsml2014
from hepbench.challenges.higgs_uncertainty.schema import UNDEFINED
from hepbench.challenges.higgs_uncertainty.validation import compare_to_real


def test_fair_universe_sample(fair_path) -> None:
    frame = load_fair_universe(fair_path.parent)
    assert len(frame) == 1000
    assert frame["detailed_labels"].value_counts().to_dict() == {
        "ztautau": 634,
        "htautau": 336,
        "ttbar": 26,
        "diboson": 4,
    }
    assert frame.attrs["metadata"]["luminosity"] == 10


def test_higgsml2014_sample_is_mapped(higgsml2014_path) -> None:
    raw = load_higgsml2014(higgsml2014_path, map_to_fair=False)
    mapped = load_higgsml2014(higgsml2014_path)
    assert len(mapped) == 10_000
    assert mapped["labels"].value_counts().to_dict() == {0: 6_628, 1: 3_372}
    np.testing.assert_allclose(mapped["PRI_had_pt"], raw["PRI_tau_pt"], rtol=1e-6)
    np.testing.assert_array_equal(mapped["PRI_n_jets"], raw["PRI_jet_num"])
    undefined = raw["PRI_jet_leading_pt"] == -999.0
    assert undefined.any() and (mapped.loc[undefined, "PRI_jet_leading_pt"] == UNDEFINED).all()
    assert (mapped["DER_mass_vis"] != -999.0).all()
    assert mapped["weights"].sum() == pytest.approx(raw["Weight"].sum())


def test_missing_column_and_bad_file_name_the_file(tmp_path, higgsml2014_path, fair_path) -> None:
    raw = pd.read_csv(higgsml2014_path, nrows=20).drop(columns="PRI_tau_pt")
    broken = tmp_path / "broken.csv"
    raw.to_csv(broken, index=False)
    with pytest.raises(RealDataError, match=r"broken\.csv: missing column\(s\) \['PRI_tau_pt'\]"):
        load_higgsml2014(broken)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(RealDataError, match=r"garbage\.parquet: unreadable parquet"):
        load_fair_universe(garbage)
    fair = pd.read_parquet(fair_path).drop(columns="weights")
    fair.to_parquet(tmp_path / "noweights.parquet")
    with pytest.raises(RealDataError, match=r"noweights\.parquet: missing column\(s\) \['weights'\]"):
        load_fair_universe(tmp_path / "noweights.parquet")


def synthetic(shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 20_000
    return pd.DataFrame(
        {
            "PRI_met": rng.normal(50 + shift * 10, 10, n),
            "labels": np.repeat([0, 1], n // 2),
            "weights": np.ones(n),
        }
    )


def test_compare_identical_and_shifted(tmp_path) -> None:
    base = synthetic(0.0, 1)
    same = compare_to_real(base, base, features=["PRI_met"])
    assert np.allclose(same["w1_std"], 0.0) and np.allclose(same["ks"], 0.0)
    shifted = compare_to_real(synthetic(1.0, 2), base, features=["PRI_met"], out_dir=tmp_path)
    assert np.allclose(shifted["w1_std"], 1.0, atol=0.05)
    assert (tmp_path / "histograms_signal.png").stat().st_size > 1000
    assert "PRI_met" in (tmp_path / "distances.md").read_text()


def test_compare_respects_weights() -> None:
    real = synthetic(0.0, 3)
    gen = pd.concat([synthetic(0.0, 4), synthetic(3.0, 5).assign(weights=1e-9)], ignore_index=True)
    table = compare_to_real(gen, real, features=["PRI_met"])
    assert (table["w1_std"] < 0.05).all()  # the shifted half carries no weight
