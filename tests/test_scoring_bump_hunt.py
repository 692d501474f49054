"""Bump hunt: sideband fit of the dijet function and the profile-likelihood significance."""

from __future__ import annotations

import numpy as np
import pytest

from hepbench.scoring.bump_hunt import (
    bump_hunt,
    dijet_shape,
    log_bin_edges,
    profile_significance,
    score_threshold,
)


def falling_mjj(n: int, rng: np.random.Generator, p2: float = 12.0, p3: float = 4.0) -> np.ndarray:
    """``n`` dijet masses (TeV) over 2.5-6 TeV drawn from the dijet function by inverse CDF."""
    grid = np.linspace(2.5, 6.0, 20_001)
    pdf = dijet_shape(grid, p2, p3)
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2.0)])
    return np.interp(rng.random(n), cdf / cdf[-1], grid)


def test_log_bins() -> None:
    edges = log_bin_edges()
    assert edges.size == 18 and edges[0] == pytest.approx(2.5) and edges[-1] == pytest.approx(6.0)
    np.testing.assert_allclose(np.diff(np.log(edges)), np.log(6.0 / 2.5) / 17)


@pytest.mark.parametrize("n, b", [(120.0, 100.0), (10.0, 3.0), (5000.0, 4800.0)])
def test_zero_sigma_b_is_the_poisson_formula(n: float, b: float) -> None:
    z, mu_hat = profile_significance(n, b, 0.0)
    assert z == pytest.approx(np.sqrt(2.0 * (n * np.log(n / b) - (n - b))), rel=1e-12)
    assert mu_hat == pytest.approx(n - b)
    # A vanishing uncertainty tends to the same value.
    assert profile_significance(n, b, 1e-6)[0] == pytest.approx(z, rel=1e-6)


def test_profile_significance_by_hand() -> None:
    # n = 20, b = 10, sigma_b = 2: theta solves theta^2 + 14 theta - 40 = 0, theta = 2.4244...
    theta = (-14.0 + np.sqrt(14.0**2 + 160.0)) / 2.0
    q0 = 2.0 * (20 * np.log(20 / (10 + theta)) - (10 - theta) + theta**2 / 8.0)
    assert profile_significance(20.0, 10.0, 2.0)[0] == pytest.approx(np.sqrt(q0), rel=1e-12)
    # The uncertainty on B lowers Z; a deficit gives Z = 0 with a negative mu_hat.
    assert profile_significance(20.0, 10.0, 2.0)[0] < profile_significance(20.0, 10.0, 0.0)[0]
    assert profile_significance(8.0, 10.0, 1.0) == (0.0, -2.0)
    with pytest.raises(ValueError, match="b > 0"):
        profile_significance(5.0, 0.0, 1.0)


def test_injected_bump_is_found() -> None:
    rng = np.random.default_rng(11)
    mjj = np.concatenate([falling_mjj(100_000, rng), rng.normal(3.5, 0.08, 600)])
    result = bump_hunt(mjj)
    assert result.fit_valid
    assert result.z > 3.0
    assert 400 < result.mu_hat < 800
    assert 0 < result.sigma_background < 0.02 * result.background
    assert result.ndof == int(result.sideband_bins.sum()) - 3
    # The three bins that overlap 3.3-3.7 TeV are left out of the fit.
    assert int((~result.sideband_bins).sum()) == 3


def test_no_bump_gives_small_z_for_most_seeds() -> None:
    zs = np.array([bump_hunt(falling_mjj(50_000, np.random.default_rng(seed))).z for seed in range(12)])
    # Under the null Z is half-chi-squared: half the seeds give 0, P(Z > 2) ~ 2%.
    assert np.count_nonzero(zs > 2.0) <= 1
    assert np.median(zs) < 1.0


def test_fit_recovers_the_shape_and_sigma_b_is_calibrated() -> None:
    pulls = []
    for seed in range(30):
        result = bump_hunt(falling_mjj(50_000, np.random.default_rng(100 + seed)))
        pulls.append((result.n_observed - result.background) / np.sqrt(result.background + result.sigma_background**2))
    assert abs(np.mean(pulls)) < 0.6
    assert 0.6 < np.std(pulls) < 1.4
    assert result.params[1] == pytest.approx(12.0, abs=3 * result.param_errors[1] + 0.5)
    assert result.params[2] == pytest.approx(4.0, abs=3 * result.param_errors[2] + 0.5)


def test_score_cut_enriches_the_bump() -> None:
    rng = np.random.default_rng(5)
    background = falling_mjj(100_000, rng)
    signal = rng.normal(3.5, 0.08, 150)
    mjj = np.concatenate([background, signal])
    # A score that puts signal on top: background uniform in [0, 1], signal in [0.9, 1].
    score = np.concatenate([rng.random(background.size), rng.uniform(0.9, 1.0, signal.size)])
    before = bump_hunt(mjj)
    after = bump_hunt(mjj, score, keep_fraction=0.1)
    assert after.n_selected == pytest.approx(0.1 * mjj.size, abs=2)
    assert after.threshold == score_threshold(score, 0.1)
    assert after.z > 3.0 > before.z


def test_bad_input() -> None:
    rng = np.random.default_rng(0)
    mjj = falling_mjj(1000, rng)
    with pytest.raises(ValueError, match="mjj contains 1 non-finite"):
        bump_hunt(np.where(np.arange(1000) == 3, np.nan, mjj))
    with pytest.raises(ValueError, match="score contains"):
        bump_hunt(mjj, np.full(1000, np.nan), 0.5)
    with pytest.raises(ValueError, match="keep_fraction"):
        bump_hunt(mjj, rng.random(1000), 0.0)
    with pytest.raises(ValueError, match="needs a score"):
        bump_hunt(mjj, keep_fraction=0.5)
    with pytest.raises(ValueError, match="signal region"):
        bump_hunt(mjj, signal_region=(1.0, 2.0))


def test_four_parameter_form_fits_a_curved_spectrum() -> None:
    rng = np.random.default_rng(21)
    grid = np.linspace(2.5, 6.0, 20_001)
    pdf = dijet_shape(grid, 5.0, 2.0, -1.5)  # strong p4 ln y curvature
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2.0)])
    mjj = np.interp(rng.random(400_000), cdf / cdf[-1], grid)
    three = bump_hunt(mjj)
    four = bump_hunt(mjj, n_params=4)
    assert four.ndof == three.ndof - 1 and len(four.params) == 4
    assert four.chi2 / four.ndof < 3.0 < three.chi2 / three.ndof
    assert four.params[3] == pytest.approx(-1.5, abs=4 * four.param_errors[3] + 0.2)
    with pytest.raises(ValueError, match="n_params"):
        bump_hunt(mjj, n_params=5)


@pytest.mark.parametrize("seed", [652, 724, 728, 857])
def test_sparse_sidebands_fit_without_overflow(seed: int) -> None:
    # Small samples after a tight random cut once sent MIGRAD to ln p1 ~ 800, where exp()
    # overflowed (a RuntimeWarning, an error under this suite's settings).
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    mjj = 2.5 * np.exp(rng.exponential(0.3, size=n))
    mjj = mjj[mjj < 6.5]
    score = rng.random(mjj.size)
    for fraction in (1.0, 0.1, 0.01):
        try:
            result = bump_hunt(mjj, score, keep_fraction=fraction)
        except ValueError as error:  # an empty sideband is refused, by name
            assert "no events in the sideband" in str(error)
            continue
        assert np.isfinite(result.background) and result.z >= 0.0
