"""Bump hunt in the dijet mass after a cut on an anomaly score (CWoLa hunting, SPEC section 2).

1. Keep the events whose anomaly score is in the top ``keep_fraction`` (one global threshold;
   no score means no cut).
2. Histogram mjj in 17 logarithmic bins over 2.5-6 TeV.
3. Fit the dijet function ``f(m) = p1 (1 - y)^p2 y^(-p3)``, ``y = m / 13 TeV`` (events per TeV),
   to the sideband bins with a binned Poisson likelihood (MINUIT). Bins that overlap the signal
   region (3.3-3.7 TeV) take no part in the fit; the expected count of a bin is the integral
   of ``f`` over it.
4. Predict the background in the signal region, ``B = integral of f over the SR``, with its
   uncertainty ``sigma_B`` from the fit covariance (linear propagation), and count ``N``.
5. Profile likelihood ``L(mu, theta) = Pois(N | B + theta + mu) Gauss(theta; 0, sigma_B)``:
   ``q0 = 2 ln(L(mu_hat, theta_hat) / L(0, theta_hat_0))``, ``Z = sqrt(q0)``, and ``Z = 0``
   when ``mu_hat = N - B < 0``.

Masses are in TeV throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

SQRT_S_TEV = 13.0
SIGNAL_REGION: tuple[float, float] = (3.3, 3.7)
MJJ_RANGE: tuple[float, float] = (2.5, 6.0)
N_BINS = 17

FloatArray = NDArray[np.float64]

# Gauss-Legendre nodes for the integral of the smooth fit function over one bin.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def log_bin_edges(low: float = MJJ_RANGE[0], high: float = MJJ_RANGE[1], n_bins: int = N_BINS) -> FloatArray:
    """``n_bins + 1`` logarithmically spaced mjj edges (TeV)."""
    if not (0 < low < high < SQRT_S_TEV) or n_bins < 1:
        raise ValueError(f"need 0 < low < high < {SQRT_S_TEV} TeV and n_bins >= 1, got {low}, {high}, {n_bins}")
    return np.geomspace(low, high, n_bins + 1)


def dijet_shape(m: ArrayLike, p2: float, p3: float) -> FloatArray:
    """``(1 - y)^p2 y^(-p3)`` with ``y = m / 13 TeV`` (the dijet function without ``p1``)."""
    y = np.asarray(m, dtype=np.float64) / SQRT_S_TEV
    return np.exp(p2 * np.log1p(-y) - p3 * np.log(y))


def _integrals(lo: FloatArray, hi: FloatArray, log_p1: float, p2: float, p3: float) -> tuple[FloatArray, FloatArray]:
    """Integral of f over each interval ``[lo[i], hi[i]]`` and its gradient with respect to
    ``(ln p1, p2, p3)``, shapes ``(n,)`` and ``(n, 3)``."""
    half = (hi - lo) / 2.0
    m = (lo + hi)[:, None] / 2.0 + half[:, None] * _GL_X[None, :]
    f = np.exp(log_p1) * dijet_shape(m, p2, p3)
    w = half[:, None] * _GL_W[None, :]
    y = m / SQRT_S_TEV
    value = (w * f).sum(axis=1)
    grad = np.stack([value, (w * f * np.log1p(-y)).sum(axis=1), -(w * f * np.log(y)).sum(axis=1)], axis=1)
    return value, grad


def _bin_integrals(lo: FloatArray, hi: FloatArray, log_p1: float, p2: float, p3: float) -> FloatArray:
    """Integral of f over each interval ``[lo[i], hi[i]]``, shape ``(n,)``."""
    half = (hi - lo) / 2.0
    m = (lo + hi)[:, None] / 2.0 + half[:, None] * _GL_X[None, :]
    return (half[:, None] * _GL_W[None, :] * np.exp(log_p1) * dijet_shape(m, p2, p3)).sum(axis=1)


def profile_significance(n: float, b: float, sigma_b: float) -> tuple[float, float]:
    """``(Z, mu_hat)`` of ``n`` observed events over a background ``b +- sigma_b``.

    Likelihood ``Pois(n | b + theta + mu) Gauss(theta; 0, sigma_b)``; the nuisance ``theta``
    is profiled in closed form. For ``sigma_b = 0``, ``Z = sqrt(2 (n ln(n / b) - (n - b)))``.
    """
    if not (np.isfinite(n) and n >= 0 and np.isfinite(b) and b > 0 and np.isfinite(sigma_b) and sigma_b >= 0):
        raise ValueError(f"need n >= 0, b > 0 and sigma_b >= 0 (all finite), got n={n}, b={b}, sigma_b={sigma_b}")
    mu_hat = n - b
    if mu_hat <= 0:
        return 0.0, float(mu_hat)
    s2 = sigma_b**2
    # Root of theta^2 + theta (b + s2) - s2 (n - b) = 0, written without cancellation.
    theta = 2.0 * s2 * mu_hat / ((b + s2) + np.sqrt((b + s2) ** 2 + 4.0 * s2 * mu_hat))
    penalty = theta**2 / (2.0 * s2) if s2 > 0 else 0.0
    q0 = 2.0 * (n * np.log(n / (b + theta)) - (n - b - theta) + penalty)
    return float(np.sqrt(max(q0, 0.0))), float(mu_hat)


@dataclass(frozen=True)
class BumpHuntResult:
    """Outcome of one bump hunt; counts are events, masses TeV."""

    z: float
    """Significance of the excess in the signal region (0 when ``mu_hat < 0``)."""
    mu_hat: float
    """Fitted signal count, ``N - B``."""
    n_observed: int
    """Selected events in the signal region."""
    background: float
    """Predicted background in the signal region, ``B``."""
    sigma_background: float
    """Fit uncertainty on ``B``."""
    params: tuple[float, float, float]
    """``(p1, p2, p3)`` of the fitted dijet function (p1 in events per TeV)."""
    param_errors: tuple[float, float, float]
    fit_valid: bool
    """MINUIT's verdict on the fit (minimum found, covariance accurate)."""
    chi2: float
    """Pearson chi2 of the fit over the sideband bins."""
    ndof: int
    threshold: float
    """The score cut (``score >= threshold``); ``-inf`` without a cut."""
    n_selected: int
    edges: FloatArray
    counts: NDArray[np.int64]
    sideband_bins: NDArray[np.bool_]
    """Bins used in the fit (no overlap with the signal region)."""


def score_threshold(score: ArrayLike, keep_fraction: float) -> float:
    """Score above which the top ``keep_fraction`` of events lie."""
    if not (0.0 < keep_fraction <= 1.0):
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction!r}")
    x = np.asarray(score, dtype=np.float64)
    k = int(np.ceil(keep_fraction * x.size))
    return float(np.partition(x, x.size - k)[x.size - k])


def fit_dijet_function(
    edges: FloatArray, counts: ArrayLike, use: ArrayLike
) -> tuple[FloatArray, FloatArray, bool]:
    """Poisson maximum-likelihood fit of ``f`` to ``counts`` in the bins where ``use`` is true.

    Returns ``(ln p1, p2, p3)``, their covariance ``(3, 3)`` and MINUIT's validity flag. The
    covariance is the inverse of the Fisher information ``sum_i grad(mu_i) grad(mu_i)^T / mu_i``
    at the minimum, computed from the analytic gradient: p2 and p3 are strongly correlated
    over 2.5-6 TeV and a numerical Hessian loses precision there.
    """
    from iminuit import Minuit

    counts = np.asarray(counts, dtype=np.float64)
    use = np.asarray(use, dtype=bool)
    n = counts[use]
    if n.sum() <= 0:
        raise ValueError("no events in the sideband bins: nothing to fit")
    lo, hi = edges[:-1][use], edges[1:][use]
    # The saturated model's log-likelihood is subtracted (a constant), so the minimum is
    # O(number of bins) and keeps its precision.
    n_log_n = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)

    def nll(log_p1: float, p2: float, p3: float) -> float:
        mu = np.maximum(_bin_integrals(lo, hi, log_p1, p2, p3), 1e-300)
        return float(np.sum(mu - n + n_log_n - n * np.log(mu)))

    def grad(log_p1: float, p2: float, p3: float) -> FloatArray:
        mu, dmu = _integrals(lo, hi, log_p1, p2, p3)
        return ((1.0 - n / np.maximum(mu, 1e-300))[:, None] * dmu).sum(axis=0)

    best = None
    # A few starting shapes: the likelihood has long valleys between p2 and p3.
    for p2, p3 in ((10.0, 5.0), (5.0, 7.0), (20.0, 3.0)):
        shape = _bin_integrals(lo, hi, 0.0, p2, p3)
        m = Minuit(nll, log_p1=float(np.log(n.sum() / shape.sum())), p2=p2, p3=p3, grad=grad)
        m.errordef = Minuit.LIKELIHOOD
        m.limits["p2"] = (-50.0, 200.0)
        m.limits["p3"] = (-50.0, 50.0)
        m.migrad()
        if best is None or (m.valid, -m.fval) > (best.valid, -best.fval):
            best = m
    values = np.array(best.values, dtype=np.float64)
    mu, dmu = _integrals(lo, hi, *values)
    fisher = dmu.T @ (dmu / np.maximum(mu, 1e-300)[:, None])
    try:
        cov = np.linalg.inv(fisher)
    except np.linalg.LinAlgError:
        cov = np.full((3, 3), np.nan)
    return values, cov, bool(best.valid)


def bump_hunt(
    mjj: ArrayLike,
    score: ArrayLike | None = None,
    keep_fraction: float = 1.0,
    *,
    signal_region: tuple[float, float] = SIGNAL_REGION,
    edges: ArrayLike | None = None,
) -> BumpHuntResult:
    """Fit the sidebands of the mjj spectrum of selected events and test the signal region.

    ``mjj`` (TeV) and ``score`` are ``(N,)``; events with ``score >= threshold`` (the top
    ``keep_fraction``) are kept. ``edges`` defaults to :func:`log_bin_edges`.
    """
    m = np.asarray(mjj, dtype=np.float64)
    if m.ndim != 1 or m.size == 0:
        raise ValueError(f"mjj must be a non-empty 1-D array, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"mjj contains {int(np.count_nonzero(~np.isfinite(m)))} non-finite value(s)")
    threshold = -np.inf
    if score is not None:
        x = np.asarray(score, dtype=np.float64)
        if x.shape != m.shape:
            raise ValueError(f"score has shape {x.shape}, mjj {m.shape}: one score per event is needed")
        bad = int(np.count_nonzero(~np.isfinite(x)))
        if bad:
            raise ValueError(f"score contains {bad} non-finite value(s)")
        threshold = score_threshold(x, keep_fraction)
        m = m[x >= threshold]
    elif keep_fraction != 1.0:
        raise ValueError("keep_fraction needs a score to cut on")
    bin_edges = log_bin_edges() if edges is None else np.asarray(edges, dtype=np.float64)
    if bin_edges.ndim != 1 or bin_edges.size < 2 or np.any(np.diff(bin_edges) <= 0):
        raise ValueError("edges must be increasing")
    sr_lo, sr_hi = signal_region
    if not (bin_edges[0] < sr_lo < sr_hi < bin_edges[-1]):
        raise ValueError(f"signal region {signal_region} must lie inside the binned range {bin_edges[0]}-{bin_edges[-1]} TeV")
    counts, _ = np.histogram(m, bins=bin_edges)
    sideband = (bin_edges[1:] <= sr_lo) | (bin_edges[:-1] >= sr_hi)
    if int(sideband.sum()) < 4:
        raise ValueError(f"only {int(sideband.sum())} sideband bins: the 3-parameter fit needs at least 4")
    params, cov, valid = fit_dijet_function(bin_edges, counts, sideband)
    sr_value, sr_grad = _integrals(np.array([sr_lo]), np.array([sr_hi]), *params)
    background = float(sr_value[0])
    sigma_b = float(np.sqrt(max(sr_grad[0] @ cov @ sr_grad[0], 0.0))) if np.all(np.isfinite(cov)) else float("nan")
    n_sr = int(np.count_nonzero((m > sr_lo) & (m < sr_hi)))
    z, mu_hat = profile_significance(n_sr, background, sigma_b if np.isfinite(sigma_b) else 0.0)
    expected = _bin_integrals(bin_edges[:-1][sideband], bin_edges[1:][sideband], *params)
    chi2 = float(np.sum((counts[sideband] - expected) ** 2 / np.maximum(expected, 1e-12)))
    p1 = float(np.exp(params[0]))
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return BumpHuntResult(
        z=z,
        mu_hat=mu_hat,
        n_observed=n_sr,
        background=background,
        sigma_background=sigma_b,
        params=(p1, float(params[1]), float(params[2])),
        param_errors=(float(p1 * errors[0]), float(errors[1]), float(errors[2])),
        fit_valid=valid,
        chi2=chi2,
        ndof=int(sideband.sum()) - 3,
        threshold=float(threshold),
        n_selected=int(m.size),
        edges=bin_edges,
        counts=counts.astype(np.int64),
        sideband_bins=sideband,
    )
