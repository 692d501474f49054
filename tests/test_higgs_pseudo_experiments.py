"""Poisson pseudo-experiments and replayable test plans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench.challenges.higgs_uncertainty.pseudo_experiments import (
    MU_RANGE,
    TestPlan,
    make_test_plan,
    pseudo_experiment,
)
from hepbench.challenges.higgs_uncertainty.schema import FEATURES
from hepbench.challenges.higgs_uncertainty.systematics import NOMINAL, NuisanceParameters, systematics


@pytest.fixture(scope="module")
def small_test_set(fair_sample: pd.DataFrame) -> pd.DataFrame:
    scaled = fair_sample.copy()
    scaled["weights"] = scaled["weights"] * 0.005  # ~5k events per pseudo-experiment
    return scaled


def test_same_seed_same_events(small_test_set: pd.DataFrame) -> None:
    a = pseudo_experiment(small_test_set, 1.3, NuisanceParameters(tes=1.01, soft_met=1.0), seed=5)
    b = pseudo_experiment(small_test_set, 1.3, NuisanceParameters(tes=1.01, soft_met=1.0), seed=5)
    c = pseudo_experiment(small_test_set, 1.3, NuisanceParameters(tes=1.01, soft_met=1.0), seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert list(a.columns) == list(FEATURES)  # the model sees features only


def test_counts_are_poisson_around_the_expected_yield(small_test_set: pd.DataFrame) -> None:
    mu, nuis = 2.0, NuisanceParameters(bkg_norm=1.01, ttbar_scale=1.2)
    shifted = systematics(small_test_set, nuis)
    norms = nuis.process_norms(mu)
    weights = shifted["weights"] * np.where(shifted["detailed_labels"] == "htautau", mu, 1.0)
    expected = weights.sum()  # weights already carry the background normalisations
    counts = [len(pseudo_experiment(small_test_set, mu, nuis, seed=s)) for s in range(40)]
    assert np.mean(counts) == pytest.approx(expected, rel=4 * np.sqrt(expected / 40) / expected)
    assert np.var(counts) == pytest.approx(expected, rel=0.6)
    assert norms["ttbar"] == pytest.approx(1.2 * 1.01)


def test_signal_fraction_follows_mu(small_test_set: pd.DataFrame) -> None:
    boosted = small_test_set.copy()
    boosted.loc[boosted["labels"] == 1, "weights"] *= 20  # ~70 signal events at mu = 1

    def signal_count(mu: float) -> float:
        return np.mean(
            [(pseudo_experiment(boosted, mu, NOMINAL, seed=s, with_truth=True)["labels"] == 1).sum() for s in range(20)]
        )

    assert signal_count(3.0) == pytest.approx(3.0 * signal_count(1.0), rel=0.15)


def test_plan_seeds_and_replay(tmp_path, small_test_set: pd.DataFrame) -> None:
    plan = make_test_plan(n_sets=3, n_pseudo_experiments=4, initial_seed=100)
    assert len(plan) == 12
    assert plan.row(2, 3)["seed"] == 2 * 4 + 3 + 100
    assert plan.table.groupby("set_index")["mu_true"].nunique().eq(1).all()
    mus = plan.table.groupby("set_index")["mu_true"].first()
    assert ((mus >= MU_RANGE[0]) & (mus <= MU_RANGE[1])).all()
    assert plan.table["tes"].nunique() == 12  # nuisances drawn per pseudo-experiment
    plan.to_json(tmp_path / "plan.json")
    again = TestPlan.from_json(tmp_path / "plan.json")
    pd.testing.assert_frame_equal(plan.table, again.table)
    pd.testing.assert_frame_equal(plan.draw(small_test_set, 1, 2), again.draw(small_test_set, 1, 2))
    # one row replays alone, independently of the plan's size
    bigger = make_test_plan(n_sets=3, n_pseudo_experiments=4, initial_seed=100)
    assert bigger.nuisances(1, 2) == plan.nuisances(1, 2)
    with pytest.raises(IndexError):
        plan.row(3, 0)


def test_active_systematics_subset() -> None:
    plan = make_test_plan(2, 3, initial_seed=1, active_systematics=("tes", "bkg_norm"))
    assert (plan.table["jes"] == 1.0).all() and (plan.table["soft_met"] == 0.0).all()
    assert plan.table["tes"].std() > 0
    with pytest.raises(ValueError):
        make_test_plan(0, 3)
