"""AMS and ROC AUC against hand-worked values and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepbench.scoring.anomaly import roc_auc
from hepbench.scoring.classification import ams, ams_curve, best_ams


def test_ams_by_hand() -> None:
    # s = 10, b = 90, b_r = 10: 2 ((110) ln(1 + 10/100) - 10) = 2 (110 * 0.0953102 - 10) = 0.968122
    assert ams(10.0, 90.0) == pytest.approx(math.sqrt(2 * (110 * math.log(1.1) - 10)))
    assert ams(0.0, 50.0) == 0.0
    # s << b: AMS -> s / sqrt(b + b_r)
    assert ams(1.0, 1e6) == pytest.approx(1.0 / math.sqrt(1e6 + 10), rel=1e-4)
    with pytest.raises(ValueError):
        ams(-1.0, 1.0)


def test_best_ams_on_a_hand_case() -> None:
    y = np.array([1, 1, 0, 0])
    score = np.array([0.9, 0.8, 0.7, 0.1])
    w = np.array([5.0, 5.0, 10.0, 100.0])
    value, threshold, fraction = best_ams(y, score, w)
    # selecting the two signal events (s = 10, b = 0) beats adding any background
    assert value == pytest.approx(ams(10.0, 0.0))
    assert threshold == 0.8 and fraction == pytest.approx(10 / 120)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_best_ams_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    score = np.round(rng.uniform(size=n), 1)  # ties on purpose
    w = rng.uniform(0.1, 3.0, n)
    brute = max(ams(w[(score >= t) & (y == 1)].sum(), w[(score >= t) & (y == 0)].sum()) for t in np.unique(score))
    assert best_ams(y, score, w)[0] == pytest.approx(brute)
    thresholds, _ = ams_curve(y, score, w)
    assert np.all(np.diff(thresholds) < 0)


def test_auc_limits_and_errors() -> None:
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    # weighted: one mis-ordered pair (0.6 bkg above 0.5 sig) of weight 3 * 1 out of 4 * 2
    assert roc_auc(y, np.array([0.1, 0.6, 0.5, 0.9]), np.array([1.0, 3.0, 1.0, 1.0])) == pytest.approx(1 - 3 / 8)
    with pytest.raises(ValueError, match="single class"):
        roc_auc(np.array([1, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="non-finite"):
        roc_auc(y, np.array([0.1, np.nan, 0.3, 0.4]))
    with pytest.raises(ValueError, match="one length"):
        roc_auc(y, np.array([0.1, 0.2]))
