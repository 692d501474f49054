"""Anomaly-detection metrics against values worked out by hand, edge cases and sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepbench.scoring.anomaly import (
    anomaly_metrics,
    background_rejection,
    max_sic,
    roc_auc,
    roc_curve,
    sic_curve,
)

# Scores 8..1 of the labels below. Cuts score >= t, from t = 8 down:
#   eps_S: 1/3 1/3 2/3 2/3 1   1   1   1
#   eps_B: 0   1/5 1/5 2/5 2/5 3/5 4/5 1
Y = np.array([1, 0, 1, 0, 1, 0, 0, 0])
S = np.array([8.0, 7, 6, 5, 4, 3, 2, 1])


def test_roc_curve_by_hand() -> None:
    curve = roc_curve(Y, S)
    np.testing.assert_allclose(curve.thresholds, S)
    np.testing.assert_allclose(curve.eps_s, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    np.testing.assert_allclose(curve.eps_b, [0, 0.2, 0.2, 0.4, 0.4, 0.6, 0.8, 1])


def test_auc_by_hand() -> None:
    # Signal at 8 beats 5 background events, at 6 beats 4, at 4 beats 3: 12 of 15 pairs.
    assert roc_auc(Y, S) == pytest.approx(12 / 15)
    # Ties count one half: (0.5 + 1 + 0 + 1) / 4.
    assert roc_auc([1, 0, 1, 0], [2.0, 2.0, 1.0, 0.0]) == pytest.approx(0.625)
    assert roc_auc([1, 0], [1.0, 1.0]) == pytest.approx(0.5)


def test_sic_curve_by_hand() -> None:
    curve, sic = sic_curve(Y, S)
    assert np.isinf(sic[0])  # eps_B = 0 at the tightest cut
    np.testing.assert_allclose(
        sic[1:5], [(1 / 3) / np.sqrt(0.2), (2 / 3) / np.sqrt(0.2), (2 / 3) / np.sqrt(0.4), 1 / np.sqrt(0.4)]
    )


def test_max_sic_by_hand_and_the_floor_counts_background_events() -> None:
    # At least 1 background event: the cut t = 4 (eps_S 1, 2 of 5 background events) wins.
    best = max_sic(Y, S, min_background=1)
    assert best.sic == pytest.approx(1 / np.sqrt(0.4))
    assert (best.eps_s, best.eps_b, best.n_b, best.threshold) == pytest.approx((1.0, 0.4, 2.0, 4.0))
    # At least 3: the cut t = 4 keeps only 2 and is excluded, t = 3 wins.
    best = max_sic(Y, S, min_background=3)
    assert best.sic == pytest.approx(1 / np.sqrt(0.6))
    assert (best.threshold, best.n_b) == (3.0, 3.0)
    # A floor of exactly the count the cut keeps admits it ("at least").
    assert max_sic(Y, S, min_background=2).threshold == 4.0
    # The tightest cut (eps_B = 0, SIC infinite) never counts, whatever the floor.
    assert np.isfinite(max_sic(Y, S, min_background=0.5).sic)


def test_the_floor_moves_a_maximum_resting_on_two_background_events() -> None:
    # 1,000 background events scored 0..999; 40 of 100 signal events sit just below the top two
    # background events, the other 60 at the bottom. Resting on 2 background events the best cut
    # has eps_S 0.4, eps_B 0.002 (SIC 8.9); 25 events give eps_B 0.025 at the same eps_S.
    y = np.r_[np.zeros(1000), np.ones(100)]
    score = np.r_[np.arange(1000.0), np.full(40, 997.5), np.full(60, 0.5)]
    loose = max_sic(y, score, min_background=1)
    assert (loose.n_b, loose.eps_s) == (2.0, 0.4)
    assert loose.sic == pytest.approx(0.4 / np.sqrt(0.002))
    default = max_sic(y, score)  # min_background=25
    assert default.n_b == 25.0 and default.eps_s == 0.4
    assert default.sic == pytest.approx(0.4 / np.sqrt(0.025))
    out = anomaly_metrics(y, score, min_background=25)
    assert (out["max_sic"], out["n_background_at_max_sic"], out["min_background"]) == pytest.approx(
        (default.sic, 25.0, 25.0)
    )
    assert anomaly_metrics(y, score, min_background=2)["max_sic"] == pytest.approx(loose.sic)


def test_background_rejection_by_hand() -> None:
    rejection = background_rejection(Y, S, (0.2, 0.5, 2 / 3, 1.0))
    assert rejection[0.2] == np.inf  # the cut t = 8 keeps 1/3 of the signal and no background
    assert rejection[0.5] == pytest.approx(5.0)
    assert rejection[2 / 3] == pytest.approx(5.0)
    assert rejection[1.0] == pytest.approx(2.5)
    assert background_rejection(Y, S, 0.5) == pytest.approx(5.0)


def test_anomaly_metrics_collects_everything() -> None:
    out = anomaly_metrics(Y, S, min_background=1)
    assert out["auc"] == pytest.approx(0.8)
    assert out["max_sic"] == pytest.approx(1 / np.sqrt(0.4))
    assert out["rejection_at_eps_s_0.5"] == pytest.approx(5.0)
    assert out["rejection_at_eps_s_0.2"] == np.inf


def test_weights_act_as_repeated_events() -> None:
    w = np.array([2, 1, 1, 3, 1, 1, 2, 1])
    repeated = roc_auc(np.repeat(Y, w), np.repeat(S, w))
    assert roc_auc(Y, S, w) == pytest.approx(repeated)
    assert max_sic(Y, S, w, min_background=1).sic == pytest.approx(
        max_sic(np.repeat(Y, w), np.repeat(S, w), min_background=1).sic
    )


def test_weighted_floor_uses_the_effective_number_of_events() -> None:
    # Background weights 1, 3 above the cut t = 5: (1 + 3)^2 / (1 + 9) = 1.6 effective events.
    w = np.array([1.0, 1, 1, 3, 1, 1, 1, 1])
    curve = roc_curve(Y, S, w)
    assert curve.n_b[3] == pytest.approx(1.6)
    np.testing.assert_allclose(roc_curve(Y, S).n_b, [0, 1, 1, 2, 2, 3, 4, 5])
    # A common scale of the weights changes no count, so no maximum.
    assert max_sic(Y, S, 7.0 * w, min_background=2).sic == pytest.approx(max_sic(Y, S, w, min_background=2).sic)


def test_nan_score_names_the_field() -> None:
    with pytest.raises(ValueError, match="score contains 1 non-finite"):
        roc_auc(Y, np.where(S == 5, np.nan, S))
    with pytest.raises(ValueError, match="score"):
        max_sic(Y, np.where(S == 5, np.inf, S), min_background=1)


@pytest.mark.parametrize("label", [0, 1])
def test_one_class_is_an_error(label: int) -> None:
    with pytest.raises(ValueError, match="single class"):
        anomaly_metrics(np.full(5, label), np.arange(5.0))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="one length"):
        roc_auc([1, 0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="only 0"):
        roc_auc([1, 2, 0], [0.1, 0.2, 0.3])
    for floor in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="min_background must be a positive"):
            max_sic(Y, S, min_background=floor)
    with pytest.raises(ValueError, match="holds 5 background events, fewer than min_background=25"):
        max_sic(Y, S)
    with pytest.raises(ValueError, match="signal efficiency"):
        background_rejection(Y, S, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_agrees_with_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 5000)
    # Rounded scores: many ties, the case where implementations differ.
    score = np.round(rng.normal(0.3 * y, 1.0), 1)
    w = rng.uniform(0.5, 2.0, y.size)
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert roc_auc(y, score, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)


@pytest.mark.slow
def test_ten_million_scores_are_scored() -> None:
    # Its speed is measured in benchmarks/bench_metrics.py, not here.
    rng = np.random.default_rng(3)
    n = 10_000_000
    y = (rng.random(n) < 0.01).astype(np.int8)
    score = rng.normal(y.astype(np.float64), 1.0)
    out = anomaly_metrics(y, score)
    # Unit-width Gaussians one apart: AUC = Phi(1 / sqrt(2)).
    assert out["auc"] == pytest.approx(0.7602, abs=0.005)


def test_sic_points_keep_the_cuts_above_the_floor_thinned_in_log_eps_b() -> None:
    from hepbench.scoring.anomaly import max_sic_from_roc, roc_curve, sic_points

    rng = np.random.default_rng(3)
    y = np.r_[np.ones(2_000), np.zeros(20_000)]
    curve = roc_curve(y, np.r_[rng.normal(1.0, 1.0, 2_000), rng.normal(0.0, 1.0, 20_000)])
    points = sic_points(curve, min_background=20, max_points=100)
    assert 50 < len(points["sic"]) <= 100 and min(points["eps_b"]) >= 20 / 20_000
    assert points["eps_b"] == sorted(points["eps_b"]) and points["eps_b"][-1] == 1.0
    assert max(points["sic"]) == pytest.approx(max_sic_from_roc(curve, 20).sic, rel=0.05)
    assert max(points["sic"]) <= max_sic_from_roc(curve, 20).sic + 1e-12
