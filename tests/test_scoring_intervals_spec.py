"""Interval metrics against values worked out by hand (SPEC 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepbench.scoring.intervals import (
    CONFIDENCE_LEVEL,
    COVERAGE_EPSILON,
    bootstrap_over_sets,
    coverage_penalty,
    interval_metrics,
    sigma68,
)


def test_four_pseudo_experiments_by_hand() -> None:
    mu = np.array([1.0, 1.0, 2.0, 0.5])
    p16 = np.array([0.8, 1.1, 1.5, 0.7])  # covered, not (above), covered, reversed
    p84 = np.array([1.2, 1.5, 2.5, 0.3])
    mu_hat = np.array([1.0, 1.3, 2.0, 0.5])
    dmu = np.array([0.2, 0.2, 0.5, 0.2])
    m = interval_metrics(mu, mu_hat, dmu, p16, p84)
    # widths 0.4, 0.4, 1.0, 0.4 -> mean 0.55; covered 2 of 4
    assert m["width"] == pytest.approx(0.55)
    assert m["coverage"] == pytest.approx(0.5)
    s = math.sqrt(0.6827 * 0.3173 / 4)  # 0.23272
    assert m["sigma68"] == pytest.approx(s)
    # 0.5 lies inside [0.6827 - 2s, 0.6827 + 2s] = [0.2173, 1.148] -> f = 1
    assert m["coverage_penalty"] == 1.0
    assert m["coverage_score"] == pytest.approx(-math.log(0.55 + 1e-3))
    # errors 0, 0.3, 0, 0; RMSE = sqrt(mean(err^2) + mean((err^2 - dmu^2)^2))
    err2 = np.array([0.0, 0.09, 0.0, 0.0])
    assert m["rmse"] == pytest.approx(math.sqrt(err2.mean() + ((err2 - dmu**2) ** 2).mean()))
    assert m["mae"] == pytest.approx(0.3 / 4 + (0.2 + 0.1 + 0.5 + 0.2) / 4)


def test_penalty_below_and_above_the_band() -> None:
    n = 100
    s = sigma68(n)  # 0.046534
    assert coverage_penalty(CONFIDENCE_LEVEL - 3 * s, n) == pytest.approx(1 + 1.0**4)
    assert coverage_penalty(CONFIDENCE_LEVEL - 4 * s, n) == pytest.approx(1 + 2.0**4)
    assert coverage_penalty(CONFIDENCE_LEVEL + 4 * s, n) == pytest.approx(1 + 2.0**3)
    assert COVERAGE_EPSILON == 1e-3


@settings(max_examples=60, deadline=None)
@given(st.integers(10, 5000), st.floats(-1.999, 1.999))
def test_penalty_is_flat_inside_two_sigma(n: int, k: float) -> None:
    assert coverage_penalty(CONFIDENCE_LEVEL + k * sigma68(n), n) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 2.0), st.floats(0.01, 2.0))
def test_score_falls_as_width_grows(w1: float, w2: float) -> None:
    mu = np.ones(10)

    def score(w: float) -> float:
        return interval_metrics(mu, mu, mu * 0 + w / 2, mu - w / 2, mu + w / 2)["coverage_score"]

    if w2 > w1 * (1 + 1e-9):  # widths a few ulps apart give the same score in floating point
        assert score(w1) > score(w2)


def test_reversed_interval_is_never_covered() -> None:
    m = interval_metrics(np.array([1.0]), np.array([1.0]), np.array([0.1]), np.array([1.5]), np.array([0.5]))
    assert m["coverage"] == 0.0 and m["width"] == pytest.approx(1.0)


def test_bad_input_names_the_field() -> None:
    ok = np.ones(3)
    with pytest.raises(ValueError, match="p84 contains 1 non-finite"):
        interval_metrics(ok, ok, ok, ok, np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="differ in shape"):
        interval_metrics(ok, ok, ok, ok, np.ones(4))
    with pytest.raises(ValueError, match="non-empty"):
        interval_metrics(*(np.array([]),) * 5)


def test_bootstrap_of_identical_sets_is_the_point_value() -> None:
    rng = np.random.default_rng(0)
    mu = np.tile(rng.uniform(0.1, 3, 20), 5)
    lo, hi = mu - rng.uniform(0, 0.5, 100), mu + np.tile(rng.uniform(-0.2, 0.5, 20), 5)
    sets = np.repeat(np.arange(5), 20)
    lo = np.tile(lo[:20], 5)
    point = interval_metrics(mu, mu, mu * 0 + 0.3, lo, hi)
    boot = bootstrap_over_sets(mu, mu, mu * 0 + 0.3, lo, hi, sets, n_replicas=30, seed=1)
    same_sets = np.all([np.array_equal(hi[sets == 0], hi[sets == k]) for k in range(5)])
    assert same_sets
    assert boot["coverage"]["std"] == pytest.approx(0.0, abs=1e-12)
    assert boot["coverage_score"]["mean"] == pytest.approx(point["coverage_score"])
