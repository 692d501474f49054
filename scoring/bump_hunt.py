"""Bump hunt in the dijet mass after a cut on an anomaly score (CWoLa hunting, SPEC section 2).

1. Keep the events whose anomaly score is in the top ``keep_fraction`` (one global threshold;
   no score means no cut).
2. Histogram mjj in 17 logarithmic bins over 2.5-6 TeV.
3. Fit the dijet function ``f(m) = p1 (1 - y)^p2 y^(-p3)``, ``y = m / 13 TeV`` (events per TeV;
   optionally the 4-parameter form with ``y^(-p3 - p4 ln y)``),
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
from typing import cast

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


def dijet_shape(m: ArrayLike, p2: float, p3: float, p4: float = 0.0) -> FloatArray:
    """``(1 - y)^p2 y^(-p3 - p4 ln y)`` with ``y = m / 13 TeV`` (the dijet function without
    ``p1``; ``p4 = 0`` is the 3-parameter form)."""
    return np.exp(_log_dijet(np.asarray(m, dtype=np.float64), np.array([0.0, p2, p3, p4])))


# Largest exponent kept finite: MIGRAD may try any ln p1 on its way, and an overflow there
# must read as a very poor fit, not as inf/nan in the likelihood.
_MAX_EXPONENT = 700.0


def _log_dijet(m: FloatArray, theta: FloatArray) -> FloatArray:
    """``ln f(m)`` for ``theta = (ln p1, p2, p3[, p4])``, capped at ``_MAX_EXPONENT``."""
    y = m / SQRT_S_TEV
    log_y = np.log(y)
    p4 = theta[3] if len(theta) > 3 else 0.0
    return np.minimum(theta[0] + theta[1] * np.log1p(-y) - (theta[2] + p4 * log_y) * log_y, _MAX_EXPONENT)


def _nodes(lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes ``(n, 8)`` in each interval and their weights."""
    half = (hi - lo) / 2.0
    return (lo + hi)[:, None] / 2.0 + half[:, None] * _GL_X[None, :], half[:, None] * _GL_W[None, :]


def _integrals(lo: FloatArray, hi: FloatArray, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Integral of f over each interval ``[lo[i], hi[i]]`` and its gradient with respect to
    ``theta = (ln p1, p2, p3[, p4])``, shapes ``(n,)`` and ``(n, len(theta))``."""
    m, w = _nodes(lo, hi)
    f = np.exp(_log_dijet(m, theta))
    y = m / SQRT_S_TEV
    log_y = np.log(y)
    derivatives = [np.ones_like(m), np.log1p(-y), -log_y, -(log_y**2)][: len(theta)]
    grad = np.stack([(w * f * d).sum(axis=1) for d in derivatives], axis=1)
    return grad[:, 0], grad


def _bin_integrals(lo: FloatArray, hi: FloatArray, theta: FloatArray) -> FloatArray:
    """Integral of f over each interval ``[lo[i], hi[i]]``, shape ``(n,)``."""
    m, w = _nodes(lo, hi)
    return (w * np.exp(_log_dijet(m, theta))).sum(axis=1)


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
    params: tuple[float, ...]
    """``(p1, p2, p3[, p4])`` of the fitted dijet function (p1 in events per TeV)."""
    param_errors: tuple[float, ...]
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
    edges: FloatArray, counts: ArrayLike, use: ArrayLike, n_params: int = 3
) -> tuple[FloatArray, FloatArray, bool]:
    """Poisson maximum-likelihood fit of ``f`` to ``counts`` in the bins where ``use`` is true.

    Returns ``theta = (ln p1, p2, p3[, p4])``, its covariance and MINUIT's validity flag. The
    covariance is the inverse of the Fisher information ``sum_i grad(mu_i) grad(mu_i)^T / mu_i``
    at the minimum, computed from the analytic gradient: p2 and p3 are strongly correlated
    over 2.5-6 TeV and a numerical Hessian loses precision there.
    """
    from iminuit import Minuit

    if n_params not in (3, 4):
        raise ValueError(f"n_params must be 3 or 4, got {n_params}")
    counts = np.asarray(counts, dtype=np.float64)
    use = np.asarray(use, dtype=bool)
    n = counts[use]
    if n.sum() <= 0:
        raise ValueError("no events in the sideband bins: nothing to fit")
    lo, hi = edges[:-1][use], edges[1:][use]
    # The saturated model's log-likelihood is subtracted (a constant), so the minimum is
    # O(number of bins) and keeps its precision.
    n_log_n = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)

    def nll(theta: FloatArray) -> float:
        mu = np.maximum(_bin_integrals(lo, hi, theta), 1e-300)
        return float(np.sum(mu - n + n_log_n - n * np.log(mu)))

    def grad(theta: FloatArray) -> FloatArray:
        mu, dmu = _integrals(lo, hi, theta)
        return ((1.0 - n / np.maximum(mu, 1e-300))[:, None] * dmu).sum(axis=0)

    names = ("log_p1", "p2", "p3", "p4")[:n_params]
    best = None
    # A few starting shapes: the likelihood has long valleys between p2 and p3.
    for p2, p3 in ((10.0, 5.0), (5.0, 7.0), (20.0, 3.0)):
        start = np.array([0.0, p2, p3, 0.0][:n_params])
        start[0] = np.log(n.sum() / _bin_integrals(lo, hi, start).sum())
        m = Minuit(nll, start, grad=grad, name=names)
        m.errordef = Minuit.LIKELIHOOD
        m.limits["p2"] = (-50.0, 200.0)
        m.limits["p3"] = (-50.0, 50.0)
        m.migrad()
        if best is None or (m.valid, -m.fval) > (best.valid, -best.fval):
            best = m
    assert best is not None  # the loop above ran at least once
    theta = np.array(best.values, dtype=np.float64)
    mu, dmu = _integrals(lo, hi, theta)
    fisher = dmu.T @ (dmu / np.maximum(mu, 1e-300)[:, None])
    try:
        # The inverse of a float64 matrix is float64; numpy's stubs only promise ``floating``.
        cov = cast(FloatArray, np.linalg.inv(fisher))
    except np.linalg.LinAlgError:
        cov = np.full((n_params, n_params), np.nan)
    return theta, cov, bool(best.valid)


def bump_hunt(
    mjj: ArrayLike,
    score: ArrayLike | None = None,
    keep_fraction: float = 1.0,
    *,
    signal_region: tuple[float, float] = SIGNAL_REGION,
    edges: ArrayLike | None = None,
    n_params: int = 3,
) -> BumpHuntResult:
    """Fit the sidebands of the mjj spectrum of selected events and test the signal region.

    ``mjj`` (TeV) and ``score`` are ``(N,)``; events with ``score >= threshold`` (the top
    ``keep_fraction``) are kept. ``edges`` defaults to :func:`log_bin_edges`. ``n_params = 4``
    adds the ``p4 ln y`` term to the exponent of ``y`` (the 4-parameter dijet function) for
    spectra with many events, where the 3-parameter form is too stiff.
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
        raise ValueError(
            f"signal region {signal_region} must lie inside the binned range {bin_edges[0]}-{bin_edges[-1]} TeV"
        )
    counts, _ = np.histogram(m, bins=bin_edges)
    sideband = (bin_edges[1:] <= sr_lo) | (bin_edges[:-1] >= sr_hi)
    if int(sideband.sum()) <= n_params:
        raise ValueError(
            f"only {int(sideband.sum())} sideband bins: the {n_params}-parameter fit needs at least {n_params + 1}"
        )
    params, cov, valid = fit_dijet_function(bin_edges, counts, sideband, n_params)
    sr_value, sr_grad = _integrals(np.array([sr_lo]), np.array([sr_hi]), params)
    background = float(sr_value[0])
    sigma_b = float(np.sqrt(max(sr_grad[0] @ cov @ sr_grad[0], 0.0))) if np.all(np.isfinite(cov)) else float("nan")
    n_sr = int(np.count_nonzero((m > sr_lo) & (m < sr_hi)))
    z, mu_hat = profile_significance(n_sr, background, sigma_b if np.isfinite(sigma_b) else 0.0)
    expected = _bin_integrals(bin_edges[:-1][sideband], bin_edges[1:][sideband], params)
    chi2 = float(np.sum((counts[sideband] - expected) ** 2 / np.maximum(expected, 1e-12)))
    p1 = float(np.exp(params[0]))
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return BumpHuntResult(
        z=z,
        mu_hat=mu_hat,
        n_observed=n_sr,
        background=background,
        sigma_background=sigma_b,
        params=(p1, *(float(v) for v in params[1:])),
        param_errors=(float(p1 * errors[0]), *(float(e) for e in errors[1:])),
        fit_valid=valid,
        chi2=chi2,
        ndof=int(sideband.sum()) - n_params,
        threshold=float(threshold),
        n_selected=int(m.size),
        edges=bin_edges,
        counts=counts.astype(np.int64),
        sideband_bins=sideband,
    )
