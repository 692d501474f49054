"""Feature-selection studies: every ranking method on a reduced feature list, and the separation."""

from __future__ import annotations

import numpy as np
import pytest

from hepbench.baselines.higgs_uncertainty.feature_ranking import (
    FEATURE_RANKING_SIZES,
    METHODS,
    markdown_rankings,
    rank_features,
    separation,
)

FEATURES = (
    "DER_mass_vis",
    "DER_mass_transverse_met_lep",
    "DER_pt_ratio_lep_had",
    "PRI_met",
    "PRI_lep_phi",
    "PRI_had_eta",
)


def test_separation_limits() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    ones = np.ones_like(x)
    assert separation(x, x, ones, ones) == pytest.approx(0.0)
    assert separation(x, x + 100.0, ones, ones) == pytest.approx(1.0)
    shifted = separation(x, x + 1.0, ones, ones)
    assert 0.05 < shifted < 0.5


@pytest.fixture(scope="module")
def ranking(higgs_tiny):
    return rank_features(higgs_tiny.train, higgs_tiny.test, FEATURE_RANKING_SIZES["tiny"], features=FEATURES, seed=1)


def test_every_method_ranks_every_feature(ranking) -> None:
    assert set(ranking["methods"]) == set(METHODS)
    for method, record in ranking["methods"].items():
        assert sorted(record["order"]) == sorted(FEATURES), method
        ks, aucs = np.array(record["auc_curve"]).T
        assert list(ks) == list(range(1, len(FEATURES) + 1))
        assert np.all((aucs > 0.45) & (aucs <= 1.0))
        # every curve ends on the same model: all features
        assert aucs[-1] == pytest.approx(ranking["methods"]["separation"]["auc_curve"][-1][1])
    assert 0.75 < ranking["full_auc"] <= 1.0


def test_rankings_agree_on_physics(ranking) -> None:
    """The mass of the tau pair separates H from Z; the lepton's azimuth carries nothing."""
    for method in ("iterative-addition", "separation", "permutation", "score-correlation"):
        order = ranking["methods"][method]["order"]
        assert order.index("DER_mass_vis") < 3, (method, order)
        assert order.index("PRI_lep_phi") >= 3, (method, order)
    greedy = ranking["methods"]["iterative-addition"]["auc_curve"]
    assert greedy[0][1] < greedy[2][1]  # adding features helps at first


def test_markdown_lists_each_method(ranking) -> None:
    text = markdown_rankings(ranking, top=3)
    assert all(m in text for m in METHODS)
    assert "AUC, top 1" in text and "AUC, top 5" in text
