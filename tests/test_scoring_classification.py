"""AMS and ROC AUC: hand-worked values, limits, brute force and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hepbench.scoring.anomaly import roc_auc
from hepbench.scoring.classification import AMS_B_REG, ams, ams_curve, best_ams


def _closed_form(s: float, b: float, b_r: float = 10.0) -> float:
    return math.sqrt(2 * ((s + b + b_r) * math.log1p(s / (b + b_r)) - s))


def test_ams_by_hand() -> None:
    assert AMS_B_REG == 10.0
    # s = 3, b = 6, b_r = 10: ln(1 + 3/16) = 0.17185026; 19 * 0.17185026 - 3 = 0.26515488;
    # AMS = sqrt(2 * 0.26515488) = sqrt(0.53030976) = 0.72822370
    assert ams(3.0, 6.0) == pytest.approx(0.72822370, abs=1e-8)
    # s = 10, b = 100, b_r = 0: 110 ln(1.1) - 10 = 110 * 0.09531018 - 10 = 0.48411978;
    # AMS = sqrt(0.96823956) = 0.98399164
    assert ams(10.0, 100.0, b_r=0.0) == pytest.approx(0.98399164, abs=1e-8)
    assert ams(0.0, 50.0) == 0.0


@pytest.mark.parametrize("x", [1e-3 * (1 - 1e-9), 1e-3, 1e-3 * (1 + 1e-9), 2e-3, 0.1, 1.0, 30.0])
def test_ams_matches_the_closed_form_where_it_is_accurate(x: float) -> None:
    # For s / (b + b_r) >= 1e-3 the closed form loses at most ~1e-12 to cancellation, so it is a
    # reference on both sides of the switch to the series.
    b = 90.0
    s = x * (b + AMS_B_REG)
    assert ams(s, b) == pytest.approx(_closed_form(s, b), rel=1e-11)


def test_ams_tends_to_s_over_sqrt_b() -> None:
    # s << b: AMS = s / sqrt(b + b_r) * (1 - x / 6 + O(x^2)), x = s / (b + b_r).
    # s = 5, b = 1e4: 5 / sqrt(10010) = 0.04997502, x = 5e-4, AMS = 0.04997086
    assert ams(5.0, 1e4) == pytest.approx(5 / math.sqrt(1e4 + 10), rel=1e-4)
    assert ams(5.0, 1e4) == pytest.approx(0.04997086, abs=1e-8)
    assert ams(5.0, 1e4) < 5 / math.sqrt(1e4 + 10)
    # s = 1e-3, b = 1e6: x = 1e-9, the limit is exact to 2e-10; the textbook formula would cancel
    # away ~1e-6 of it here
    assert ams(1e-3, 1e6) == pytest.approx(1e-3 / math.sqrt(1e6 + 10), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(-14, -2), st.floats(1, 9))
def test_ams_small_signal_series(log_x: float, log_big_b: float) -> None:
    x, big_b = 10.0**log_x, 10.0**log_big_b
    s, b = x * big_b, big_b - AMS_B_REG
    # sqrt(2 h(x)) / x = 1 - x / 6 + 5 x^2 / 72 - ..., h(x) = (1 + x) ln(1 + x) - x
    assert ams(s, b) == pytest.approx(s / math.sqrt(big_b) * (1 - x / 6), rel=1e-5)


def test_ams_is_vectorised_and_checks_input() -> None:
    s = np.array([0.0, 3.0, 10.0])
    b = np.array([5.0, 6.0, 100.0])
    got = ams(s, b)
    assert isinstance(got, np.ndarray) and got.shape == (3,)
    assert got == pytest.approx([ams(si, bi) for si, bi in zip(s, b)], rel=1e-15)
    assert isinstance(ams(3.0, 6.0), float)
    # no regularisation and no background: the significance of any signal is unbounded
    assert ams(np.array([0.0, 2.0]), np.array([0.0, 0.0]), b_r=0.0) == pytest.approx([0.0, math.inf])
    with pytest.raises(ValueError, match="s must be a non-negative"):
        ams(-1.0, 1.0)
    with pytest.raises(ValueError, match="b contains 1 non-finite"):
        ams(1.0, math.nan)
    with pytest.raises(ValueError, match="b_r"):
        ams(1.0, 1.0, b_r=-1.0)


def test_best_ams_by_hand() -> None:
    y = np.array([1, 0, 1, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.4, 0.2])
    w = np.array([2.0, 1.0, 2.0, 30.0, 1.0])
    # cut >= 0.9: s = 2, b = 0  -> sqrt(2 (12 ln 1.2 - 2))        = 0.61296
    # cut >= 0.8: s = 2, b = 1  -> sqrt(2 (13 ln(13/11) - 2))     = 0.58601
    # cut >= 0.7: s = 4, b = 1  -> sqrt(2 (15 ln(15/11) - 4))     = 1.14221  (best)
    # cut >= 0.4: s = 4, b = 31 -> sqrt(2 (45 ln(45/41) - 4))     = 0.61493
    # cut >= 0.2: s = 5, b = 31 -> sqrt(2 (46 ln(46/41) - 5))     = 0.76575
    thresholds, values = ams_curve(y, score, w)
    assert thresholds.tolist() == [0.9, 0.8, 0.7, 0.4, 0.2]
    assert values == pytest.approx([0.61296, 0.58601, 1.14221, 0.61493, 0.76575], abs=1e-5)
    value, threshold, fraction = best_ams(y, score, w)
    assert value == pytest.approx(1.14221, abs=1e-5)
    assert value == pytest.approx(_closed_form(4, 1), rel=1e-12)
    # selected weight 2 + 1 + 2 = 5 of 36
    assert threshold == 0.7 and fraction == pytest.approx(5 / 36)


def test_ams_curve_cuts_whole_tie_groups() -> None:
    y = np.array([1, 0, 1, 0])
    score = np.array([0.5, 0.5, 0.3, 0.3])
    thresholds, values = ams_curve(y, score, np.ones(4))
    # a cut at 0.5 keeps both events scored 0.5: s = 1, b = 1; at 0.3 everything: s = 2, b = 2
    assert thresholds.tolist() == [0.5, 0.3]
    assert values == pytest.approx([ams(1.0, 1.0), ams(2.0, 2.0)])


def test_best_ams_prefers_the_tightest_cut_among_equal_maxima() -> None:
    # only background: AMS = 0 at every cut, the highest threshold is returned
    assert tuple(best_ams(np.zeros(3), [0.1, 0.2, 0.3], np.ones(3))) == (0.0, 0.3, pytest.approx(1 / 3))


events = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0]),  # few values: ties on purpose
        st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),  # no subnormal weights: pair products underflow
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(events, st.sampled_from([0.0, 1.0, 10.0]))
def test_best_ams_agrees_with_a_brute_force_loop(rows, b_r: float) -> None:
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows])
    assume(w.sum() > 0)

    def brute(t: float) -> tuple[float, float]:
        cut = score >= t
        return ams(w[cut & (y == 1)].sum(), w[cut & (y == 0)].sum(), b_r), w[cut].sum() / w.sum()

    every = sorted(set(score.tolist()), reverse=True)
    thresholds, values = ams_curve(y, score, w, b_r=b_r)
    assert thresholds.tolist() == every
    assert values == pytest.approx([brute(t)[0] for t in every], rel=1e-9, abs=1e-12)
    value, threshold, fraction = best_ams(y, score, w, b_r=b_r)
    assert value == pytest.approx(max(brute(t)[0] for t in every), rel=1e-9, abs=1e-12)
    assert brute(threshold)[0] == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert fraction == pytest.approx(brute(threshold)[1], rel=1e-9)


def test_auc_by_hand() -> None:
    y = np.array([0, 0, 1, 1])
    # 4 signal-background pairs; the background at 0.6 outranks the signal at 0.5: 3 of 4 right
    assert roc_auc(y, np.array([0.1, 0.6, 0.5, 0.9])) == pytest.approx(0.75)
    # weight 3 on that background: pair weights 1, 1, 3, 3 of 8, the wrong one weighs 3
    assert roc_auc(y, np.array([0.1, 0.6, 0.5, 0.9]), np.array([1.0, 3.0, 1.0, 1.0])) == pytest.approx(5 / 8)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-10, 10), min_size=1, max_size=20),
    st.lists(st.floats(1e-3, 5), min_size=1, max_size=20),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_auc_of_perfect_and_reversed_separators(bkg, gaps, weighted: bool, seed: int) -> None:
    bkg_scores = np.array(bkg)
    sig_scores = bkg_scores.max() + np.cumsum(gaps)  # every signal above every background
    score = np.r_[bkg_scores, sig_scores]
    y = np.r_[np.zeros(len(bkg), dtype=int), np.ones(len(gaps), dtype=int)]
    w = np.random.default_rng(seed).uniform(0.1, 2.0, y.size) if weighted else None
    # sklearn integrates the ROC curve with the trapezoid rule: 1 - 1e-16 happens
    assert roc_auc(y, score, w) == pytest.approx(1.0, abs=1e-12)
    assert roc_auc(y, -score, w) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(events)
def test_weighted_auc_is_the_weighted_fraction_of_ordered_pairs(rows) -> None:
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows])
    assume(w[y == 1].sum() > 0 and w[y == 0].sum() > 0)
    sig, bkg = y == 1, y == 0
    pair_w = np.outer(w[sig], w[bkg])
    diff = score[sig][:, None] - score[bkg][None, :]
    right = (pair_w * ((diff > 0) + 0.5 * (diff == 0))).sum()  # ties count half
    assert roc_auc(y, score, w) == pytest.approx(right / pair_w.sum(), rel=1e-9)


def test_auc_input_errors() -> None:
    y = np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"single class \(1\)"):
        roc_auc(np.array([1, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"score contains 1 non-finite value\(s\) \(1 NaN\)"):
        roc_auc(y, np.array([0.1, np.nan, 0.3, 0.4]))
    with pytest.raises(ValueError, match="one length"):
        roc_auc(y, np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="one length"):
        roc_auc(y, np.array([0.1, 0.2, 0.3, 0.4]), np.ones(3))
    with pytest.raises(ValueError, match="only 0 .background. and 1"):
        roc_auc(np.array([0, 2, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4]))
    with pytest.raises(ValueError, match="signal weights sum to zero"):
        roc_auc(y, np.array([0.1, 0.2, 0.3, 0.4]), np.array([1.0, 1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        best_ams(y, np.array([0.1, 0.2, 0.3, 0.4]), np.array([1.0, -1.0, 1.0, 1.0]))
