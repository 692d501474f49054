"""Interval metrics of the HiggsML Uncertainty challenge: hand-worked values and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hepbench.scoring.intervals import (
    CONFIDENCE_LEVEL,
    COVERAGE_EPSILON,
    bootstrap_over_sets,
    coverage,
    coverage_penalty,
    coverage_score,
    interval_calibration,
    interval_metrics,
    interval_width,
    mae,
    rmse,
    sigma68,
)

CL = 0.6827


def test_constants() -> None:
    assert CONFIDENCE_LEVEL == 0.6827
    assert COVERAGE_EPSILON == 1e-3  # the scoring program's offset, not the white paper's 1e-2


def test_four_pseudo_experiments_by_hand() -> None:
    mu = np.array([1.0, 1.0, 1.0, 2.0])
    p16 = np.array([0.5, 1.2, 0.9, 2.5])
    p84 = np.array([1.5, 1.6, 1.0, 1.5])
    # PE 0: [0.5, 1.5] covers 1, width 1.0
    # PE 1: [1.2, 1.6] lies above 1, width 0.4
    # PE 2: [0.9, 1.0] covers 1 on its upper edge (inclusive), width 0.1
    # PE 3: reversed [2.5, 1.5]: 2 lies between the ends but is not covered, width 1.0
    # w = (1.0 + 0.4 + 0.1 + 1.0) / 4 = 0.625, c = 2 / 4 = 0.5
    mu_hat = np.array([1.1, 0.8, 1.0, 2.0])
    dmu = np.array([0.1, 0.1, 0.2, 0.3])
    m = interval_metrics(mu, mu_hat, dmu, p16, p84)
    assert m["width"] == pytest.approx(0.625)
    assert m["coverage"] == 0.5
    assert m["n_pseudo_experiments"] == 4
    # sigma68 = sqrt(0.6827 * 0.3173 / 4) = sqrt(0.0541551775) = 0.2327127
    assert m["sigma68"] == pytest.approx(0.2327127, abs=1e-7)
    # band [0.6827 - 0.4654253, 0.6827 + 0.4654253] = [0.2172747, 1.1481253] holds 0.5: f = 1
    assert m["coverage_penalty"] == 1.0
    # score = -ln(0.625 + 0.001) = -ln(0.626) = 0.4684049
    assert m["coverage_score"] == pytest.approx(0.4684049, abs=1e-7)
    # err = |mu_hat - mu| = [0.1, 0.2, 0, 0]; err^2 = [0.01, 0.04, 0, 0], mean 0.0125
    # err^2 - dmu^2 = [0, 0.03, -0.04, -0.09]; squared [0, 0.0009, 0.0016, 0.0081], mean 0.00265
    # RMSE = sqrt(0.0125 + 0.00265) = sqrt(0.01515) = 0.1230853
    assert m["rmse"] == pytest.approx(0.1230853, abs=1e-7)
    # MAE = mean(err) + mean(|err - dmu|) = 0.3 / 4 + (0 + 0.1 + 0.2 + 0.3) / 4 = 0.075 + 0.15
    assert m["mae"] == pytest.approx(0.225)
    # the single-metric functions agree with the bundle
    assert interval_width(p16, p84) == m["width"]
    assert coverage(mu, p16, p84) == m["coverage"]
    assert coverage_score(mu, p16, p84) == m["coverage_score"]
    assert rmse(mu, mu_hat, dmu) == m["rmse"]
    assert mae(mu, mu_hat, dmu) == m["mae"]
    assert set(m) == {
        "coverage_score",
        "width",
        "coverage",
        "rmse",
        "mae",
        "n_pseudo_experiments",
        "sigma68",
        "coverage_penalty",
    }


def test_score_with_under_coverage_by_hand() -> None:
    # N = 4, no interval covers: c = 0 < 0.2172747 (lower band edge, sigma68 = 0.2327127)
    # f = 1 + ((0 - 0.2172747) / 0.2327127)^4 = 1 + 0.9336609^4 = 1 + 0.7599004 = 1.7599004
    # width 0.5 each: score = -ln(0.501 * 1.7599004) = -ln(0.8817101) = 0.1258920
    mu = np.zeros(4)
    m = interval_metrics(mu, mu, mu + 0.25, mu + 0.5, mu + 1.0)
    assert m["coverage"] == 0.0
    assert m["coverage_penalty"] == pytest.approx(1.7599004, abs=1e-7)
    assert m["coverage_score"] == pytest.approx(0.1258920, abs=1e-7)


def test_penalty_below_and_above_the_band_by_hand() -> None:
    # N = 100: sigma68 = sqrt(0.21662071 / 100) = 0.0465425; band [0.5896149, 0.7757851]
    assert sigma68(100) == pytest.approx(0.0465425, abs=1e-7)
    # below: c = 0.5, (0.5 - 0.5896149) / 0.0465425 = -1.925442; 1 + 1.925442^4 = 14.744271
    assert coverage_penalty(0.5, 100) == pytest.approx(14.744271, abs=1e-6)
    # above: c = 1.0, (1 - 0.7757851) / 0.0465425 = 4.817421; 1 + 4.817421^3 = 112.800483
    assert coverage_penalty(1.0, 100) == pytest.approx(112.800483, abs=1e-6)
    # one and two sigma68 beyond each edge: quartic below, cubic above
    s = sigma68(100)
    assert coverage_penalty(CL - 2 * s - s, 100) == pytest.approx(1 + 1**4)
    assert coverage_penalty(CL - 2 * s - 2 * s, 100) == pytest.approx(1 + 2**4)
    assert coverage_penalty(CL + 2 * s + 2 * s, 100) == pytest.approx(1 + 2**3)
    # N = 10, full coverage: sigma68 = 0.1471804, upper edge 0.9770608;
    # (1 - 0.9770608) / 0.1471804 = 0.1558577; 1 + 0.1558577^3 = 1.0037860
    assert coverage_penalty(1.0, 10) == pytest.approx(1.0037860, abs=1e-7)


def test_band_edges_are_inside() -> None:
    for n in (10, 100, 12345):
        s = sigma68(n)
        assert coverage_penalty(CL - 2 * s, n) == 1.0
        assert coverage_penalty(CL + 2 * s, n) == 1.0
        # a hundredth of sigma68 outside, the penalty is 1 + 0.01^4 below and 1 + 0.01^3 above
        assert coverage_penalty(CL - 2.01 * s, n) == pytest.approx(1 + 1e-8, abs=1e-12)
        assert coverage_penalty(CL + 2.01 * s, n) == pytest.approx(1 + 1e-6, abs=1e-10)


@settings(max_examples=200, deadline=None)
@given(st.integers(10, 10**7), st.floats(-2.0, 2.0))
def test_penalty_is_exactly_one_inside_two_sigma(n: int, k: float) -> None:
    assert coverage_penalty(CL + k * sigma68(n), n) == 1.0


@settings(max_examples=200, deadline=None)
@given(st.integers(10, 10**7), st.floats(0.001, 0.5), st.floats(0.001, 0.499), st.booleans())
def test_penalty_grows_outside_the_band(n: int, u: float, du: float, below: bool) -> None:
    s = sigma68(n)
    low, high = CL - 2 * s, CL + 2 * s
    room = (low if below else 1.0 - high) / s  # distance to c = 0 or c = 1 in units of sigma68
    d_near, d_far = u * room, (u + du) * room
    if below:
        near, far = low - d_near * s, low - d_far * s
        expected_near, expected_far = 1 + d_near**4, 1 + d_far**4
    else:
        near, far = high + d_near * s, high + d_far * s
        expected_near, expected_far = 1 + d_near**3, 1 + d_far**3
    f_near, f_far = coverage_penalty(near, n), coverage_penalty(far, n)
    assert 1.0 < f_near < f_far
    assert f_near == pytest.approx(expected_near, rel=1e-6)
    assert f_far == pytest.approx(expected_far, rel=1e-6)


interval_sets = st.lists(
    st.tuples(
        st.floats(0.0, 3.0),  # mu_true
        st.floats(0.01, 2.0),  # width
        st.floats(0.0, 1.0),  # where mu sits inside a covering interval (0: lower edge)
        st.floats(0.01, 1.0),  # gap below mu_true of a non-covering interval
        st.booleans(),  # covered
    ),
    min_size=1,
    max_size=40,
)


def _intervals(rows: list[tuple[float, float, float, float, bool]], scale: float):
    mu = np.array([r[0] for r in rows])
    w = np.array([r[1] for r in rows]) * scale
    at = np.array([r[2] for r in rows])
    gap = np.array([r[3] for r in rows])
    cov = np.array([r[4] for r in rows])
    p16 = np.where(cov, mu - at * w, mu + gap)
    p84 = np.where(cov, mu + (1 - at) * w, mu + gap + w)
    return mu, p16, p84


@settings(max_examples=150, deadline=None)
@given(interval_sets, st.floats(1e-4, 10.0))
def test_score_falls_strictly_as_width_grows_at_fixed_coverage(rows, growth: float) -> None:
    mu, lo1, hi1 = _intervals(rows, 1.0)
    _, lo2, hi2 = _intervals(rows, 1.0 + growth)
    assert coverage(mu, lo1, hi1) == coverage(mu, lo2, hi2)
    assert interval_width(lo1, hi1) < interval_width(lo2, hi2)
    assert coverage_score(mu, lo1, hi1) > coverage_score(mu, lo2, hi2)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-5, 5), st.floats(1e-6, 5), st.sampled_from(["low", "mid", "high"])),
        min_size=1,
        max_size=30,
    )
)
def test_reversed_intervals_are_never_covered(rows) -> None:
    lo = np.array([r[0] for r in rows])
    hi = lo + np.array([r[1] for r in rows])
    assume(np.all(lo < hi))
    where = np.array([r[2] for r in rows])
    mu = np.where(where == "low", lo, np.where(where == "high", hi, lo + (hi - lo) / 2))
    # the same intervals the right way round cover every mu (edges included) ...
    assert coverage(mu, lo, hi) == 1.0
    # ... and reversed cover none, while still counting their full width
    assert coverage(mu, hi, lo) == 0.0
    assert interval_width(hi, lo) == pytest.approx(np.mean(hi - lo))


def test_input_errors_name_the_field() -> None:
    ok = np.ones(3)
    with pytest.raises(ValueError, match=r"p84 contains 3 non-finite values \(3 NaN\)"):
        interval_metrics(ok, ok, ok, ok, np.full(3, np.nan))
    with pytest.raises(ValueError, match=r"delta_mu_hat contains 2 non-finite values \(1 NaN, 1 inf\)"):
        interval_metrics(ok, ok, np.array([np.nan, 1.0, -np.inf]), ok, ok)
    with pytest.raises(ValueError, match=r"differ in shape: p16 has \(4,\), mu_true has \(3,\)"):
        interval_metrics(ok, ok, ok, np.ones(4), ok)
    with pytest.raises(ValueError, match="mu_hat is empty"):
        interval_metrics(ok, [], ok, ok, ok)
    with pytest.raises(ValueError, match=r"p16 has shape \(3, 1\)"):
        coverage(ok, ok[:, None], ok)
    with pytest.raises(ValueError, match="coverage c must be a fraction"):
        coverage_penalty(68.27, 100)
    with pytest.raises(ValueError, match="positive integer"):
        sigma68(0)


def test_bootstrap_resamples_whole_sets_weighted_by_size() -> None:
    # set "a": 1 PE, covered, width 0.2; set "b": 3 PEs, not covered, width 1.0 each.
    # Drawing 2 sets with replacement: (a, a) p = 1/4, (a, b) p = 1/2, (b, b) p = 1/4.
    # Coverage on the concatenation: 1, 1/4, 0 -> mean 3/8, std sqrt(1/4 + 1/32 - 9/64) = 3/8;
    # quantiles 16% -> 0, 50% -> 1/4, 84% -> 1. (Averaging per-set coverages instead would give
    # 1/2 for (a, b) and a mean of 1/2.)
    # Width: 0.2, (0.2 + 3) / 4 = 0.8, 1.0 -> mean 0.05 + 0.4 + 0.25 = 0.7.
    mu = np.zeros(4)
    p16 = np.array([-0.1, 1.0, 1.0, 1.0])
    p84 = np.array([0.1, 2.0, 2.0, 2.0])
    sets = np.array(["a", "b", "b", "b"])
    boot = bootstrap_over_sets(mu, mu, mu, p16, p84, sets, n_replicas=4000, seed=7)
    assert boot["coverage"]["mean"] == pytest.approx(0.375, abs=0.02)
    assert boot["coverage"]["std"] == pytest.approx(0.375, abs=0.02)
    assert (boot["coverage"]["q16"], boot["coverage"]["q50"], boot["coverage"]["q84"]) == (0.0, 0.25, 1.0)
    assert boot["width"]["mean"] == pytest.approx(0.7, abs=0.02)
    assert boot["width"]["q50"] == pytest.approx(0.8)
    # Scores: (a, a) N = 2, c = 1 inside the band: -ln(0.201) = 1.60;
    # (a, b) N = 4, c = 1/4 inside [0.217, 1.148]: -ln(0.801) = 0.22;
    # (b, b) N = 6, c = 0 below the band: f = 7.38, -ln(1.001 * 7.38) = -2.00.
    # The median replica is (a, b), i.e. the data as given.
    point = interval_metrics(mu, mu, mu, p16, p84)
    assert boot["coverage_score"]["q50"] == pytest.approx(point["coverage_score"])
    assert boot["coverage_score"]["q50"] == pytest.approx(-math.log(0.801))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 3), st.floats(-1, 1), st.floats(0, 1)), min_size=1, max_size=15),
    st.integers(1, 6),
    st.integers(1, 40),
    st.integers(0, 2**32 - 1),
)
def test_bootstrap_of_one_set_repeated_is_the_point_value(rows, copies: int, n_replicas: int, seed: int) -> None:
    one_mu = np.array([r[0] for r in rows])
    one_lo = one_mu + np.array([r[1] for r in rows])
    one_hi = one_lo + np.array([r[2] for r in rows])
    mu, lo, hi = (np.tile(a, copies) for a in (one_mu, one_lo, one_hi))
    sets = np.repeat(np.arange(copies) * 10 + 3, len(rows))
    point = interval_metrics(mu, mu, mu, lo, hi)
    boot = bootstrap_over_sets(mu, mu, mu, lo, hi, sets, n_replicas=n_replicas, seed=seed)
    for key in ("coverage_score", "width", "coverage"):
        for stat in ("mean", "q16", "q50", "q84"):
            assert boot[key][stat] == pytest.approx(point[key], rel=1e-12, abs=1e-12)
        assert boot[key]["std"] == pytest.approx(0.0, abs=1e-12)


def test_bootstrap_is_reproducible_and_seeded() -> None:
    rng = np.random.default_rng(3)
    mu = rng.uniform(0, 3, 200)
    lo = mu - rng.uniform(-0.2, 0.6, 200)
    hi = lo + rng.uniform(0, 1, 200)
    sets = np.repeat(np.arange(20), 10)
    a = bootstrap_over_sets(mu, mu, mu, lo, hi, sets, n_replicas=200, seed=11)
    b = bootstrap_over_sets(mu, mu, mu, lo, hi, sets, n_replicas=200, seed=np.random.default_rng(11))
    c = bootstrap_over_sets(mu, mu, mu, lo, hi, sets, n_replicas=200, seed=12)
    assert a == b
    assert a != c
    assert a["width"]["std"] > 0
    with pytest.raises(ValueError, match="set_index has shape"):
        bootstrap_over_sets(mu, mu, mu, lo, hi, sets[:-1])
    with pytest.raises(ValueError, match="n_replicas"):
        bootstrap_over_sets(mu, mu, mu, lo, hi, sets, n_replicas=0)


def test_calibration_by_hand() -> None:
    # Residuals -0.5, +0.5, +1.0, 0.0; halves on the side of the truth 0.5, 1.0, 0.5, 0.5
    # (mu_true above mu_hat uses p84 - mu_hat, else mu_hat - p16): pulls -1, 0.5, 2, 0.
    mu_true = np.array([1.0, 1.0, 2.0, 2.0])
    mu_hat = np.array([0.5, 1.5, 3.0, 2.0])
    p16 = np.array([0.0, 0.5, 2.5, 1.5])
    p84 = np.array([1.0, 2.0, 4.0, 2.5])
    c = interval_calibration(mu_true, mu_hat, p16, p84, set_index=[0, 0, 1, 1])
    r = mu_hat - mu_true
    assert c["offset"] == pytest.approx(0.25)
    assert c["scatter"] == pytest.approx(np.std(r, ddof=1))
    assert c["offset_error"] == pytest.approx(np.std(r, ddof=1) / 2)
    assert c["half_width_over_scatter"] == pytest.approx(np.mean([1.0, 1.5, 1.5, 1.0]) / 2 / np.std(r, ddof=1))
    assert c["pull_std"] == pytest.approx(np.std([-1.0, 0.5, 2.0, 0.0], ddof=1))
    assert c["n_pull"] == 4
    # Shifted down by 0.25: [-0.25, 0.75], [0.25, 1.75], [2.25, 3.75], [1.25, 2.25]; the second
    # and the fourth cover their truth.
    assert c["coverage_offset_removed"] == pytest.approx(0.5)
    # Set 0 covers both (1.0 in [0, 1] and [0.5, 2]); set 1 covers one (2.0 in [1.5, 2.5]).
    assert (c["set_coverage_min"], c["set_coverage_max"]) == (0.5, 1.0)
    slope, intercept = np.polyfit(mu_true, mu_hat, 1)
    assert (c["response_slope"], c["response_intercept"]) == (pytest.approx(slope), pytest.approx(intercept))


def test_calibration_tells_an_offset_from_a_scale() -> None:
    rng = np.random.default_rng(7)
    mu_true = rng.uniform(0.5, 2.0, 20_000)
    sigma = 0.3
    mu_hat = mu_true + 0.1 + sigma * rng.standard_normal(mu_true.size)
    shifted = interval_calibration(mu_true, mu_hat, mu_hat - sigma, mu_hat + sigma)
    assert shifted["offset"] == pytest.approx(0.1, abs=4 * shifted["offset_error"])
    assert shifted["pull_std"] == pytest.approx(1.0, abs=0.02)
    assert shifted["half_width_over_scatter"] == pytest.approx(1.0, abs=0.02)
    # The offset costs coverage; removing it gives back the Gaussian 68.27%.
    assert coverage(mu_true, mu_hat - sigma, mu_hat + sigma) < 0.66
    assert shifted["coverage_offset_removed"] == pytest.approx(CL, abs=0.01)
    assert shifted["response_slope"] == pytest.approx(1.0, abs=0.02)
    assert "set_coverage_min" not in shifted
    too_wide = interval_calibration(mu_true, mu_hat, mu_hat - 2 * sigma, mu_hat + 2 * sigma)
    assert too_wide["half_width_over_scatter"] == pytest.approx(2.0, abs=0.04)
    assert too_wide["pull_std"] == pytest.approx(0.5, abs=0.01)
    assert too_wide["offset"] == shifted["offset"]


def test_calibration_edge_cases() -> None:
    one_mu = interval_calibration([1.0, 1.0, 1.0], [0.9, 1.2, 1.0], [0.5, 1.0, 1.0], [1.5, 1.5, 1.0])
    assert np.isnan(one_mu["response_slope"]) and np.isnan(one_mu["response_intercept"])
    # The third interval has no width on the side of its truth (mu_hat == mu_true == p16): left out.
    assert one_mu["n_pull"] == 2
    with pytest.raises(ValueError, match="at least 2"):
        interval_calibration([1.0], [1.0], [0.5], [1.5])
    with pytest.raises(ValueError, match="set_index has shape"):
        interval_calibration([1.0, 2.0], [1.0, 2.0], [0.5, 1.5], [1.5, 2.5], set_index=[0])
    with pytest.raises(ValueError, match="p84 contains 1 non-finite"):
        interval_calibration([1.0, 2.0], [1.0, 2.0], [0.5, 1.5], [1.5, np.nan])
