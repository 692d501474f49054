"""Classification metrics: the approximate median significance (AMS) and the ROC AUC.

The AMS is the figure of merit of the 2014 HiggsML challenge. With ``s`` and ``b`` the summed
weights (expected event counts) of the true signal and true background events selected by a
cut on a classifier score::

    AMS = sqrt(2 ((s + b + b_r) ln(1 + s / (b + b_r)) - s)),   b_r = 10

For ``s << b`` it tends to ``s / sqrt(b + b_r)``.

Per-event inputs are arrays of shape ``(N,)``: ``y_true`` (1 signal, 0 background), ``score``
(higher means more signal-like) and ``weights`` (non-negative event weights).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

AMS_B_REG = 10.0
"""The AMS regularisation term b_r of the 2014 HiggsML challenge."""

FloatArray = NDArray[np.float64]

# Below this s / (b + b_r) the closed form loses digits to cancellation; a series replaces it.
_SERIES_BELOW = 1e-3


def ams(s: ArrayLike, b: ArrayLike, b_r: float = AMS_B_REG) -> float | FloatArray:
    """AMS of selected signal weight ``s`` and background weight ``b`` (scalars or arrays).

    ``s`` and ``b`` broadcast together and must be finite and non-negative; ``b_r`` >= 0.
    Where ``b + b_r == 0`` the AMS is ``inf`` for ``s > 0`` (its limit) and 0 for ``s == 0``.
    Returns a float for scalar input, else an array of the broadcast shape.
    """
    s_arr = np.asarray(s, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    for name, v in (("s", s_arr), ("b", b_arr)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains {np.count_nonzero(~np.isfinite(v))} non-finite value(s)")
        if np.any(v < 0):
            raise ValueError(f"{name} must be a non-negative sum of weights, got minimum {v.min()}")
    if not (np.isfinite(b_r) and b_r >= 0):
        raise ValueError(f"b_r must be finite and non-negative, got {b_r!r}")
    big_b = b_arr + b_r
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = s_arr / big_b
        # ln(1 + x) as a difference of logs where x overflows (b + b_r tiny but non-zero).
        log_term = np.where(np.isfinite(x), np.log1p(x), np.log(s_arr + big_b) - np.log(big_b))
        closed = (s_arr + big_b) * log_term - s_arr
        # For small x the closed form cancels to ~eps / x relative; use the Taylor series of
        # (1 + x) ln(1 + x) - x = sum_k>=2 (-1)^k x^k / (k (k - 1)) there, whose x^7 term is
        # below 1e-16 relative. b x^2 is written s x, and x clipped, so nothing overflows.
        t = np.minimum(x, _SERIES_BELOW)
        series = s_arr * t * (1 / 2 - t * (1 / 6 - t * (1 / 12 - t * (1 / 20 - t / 30))))
        value = np.sqrt(2.0 * np.where(x < _SERIES_BELOW, series, closed))
    value = np.where(big_b > 0, value, np.where(s_arr > 0, np.inf, 0.0))
    return float(value) if value.ndim == 0 else value


def _checked(
    y_true: ArrayLike, score: ArrayLike, weights: ArrayLike | None, *, both_classes: bool
) -> tuple[NDArray[np.int8], FloatArray, FloatArray]:
    """Validate per-event inputs; returns (labels as 0/1, scores, weights), each ``(N,)``."""
    y = np.asarray(y_true)
    x = np.asarray(score, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (y.ndim == x.ndim == w.ndim == 1 and y.shape == x.shape == w.shape):
        raise ValueError(
            f"y_true, score and weights must be 1-D arrays of one length, got shapes {y.shape}, {x.shape}, {w.shape}"
        )
    if y.size == 0:
        raise ValueError("y_true, score and weights are empty")
    for name, v in (("score", x), ("weights", w)):
        bad = int(np.count_nonzero(~np.isfinite(v)))
        if bad:
            raise ValueError(f"{name} contains {bad} non-finite value(s) ({int(np.count_nonzero(np.isnan(v)))} NaN)")
    if np.any(w < 0):
        raise ValueError(f"weights must be non-negative, got {int(np.count_nonzero(w < 0))} negative value(s)")
    if not ((y == 0) | (y == 1)).all():
        raise ValueError("y_true must hold only 0 (background) and 1 (signal)")
    labels = y.astype(np.int8)
    if both_classes:
        n_signal = int(np.count_nonzero(labels))
        if n_signal in (0, labels.size):
            raise ValueError(
                f"y_true holds a single class ({int(n_signal > 0)}); both signal and background are needed"
            )
        for k, name in ((1, "signal"), (0, "background")):
            if not w[labels == k].sum() > 0:
                raise ValueError(f"the {name} weights sum to zero")
    elif not w.sum() > 0:
        raise ValueError("weights sum to zero")
    return labels, x, w


def _cumulative(
    y: NDArray[np.int8], x: FloatArray, w: FloatArray, *, background_squares: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """Distinct thresholds (descending) and the signal / background weight with score >= each;
    with ``background_squares`` also the background's summed squared weights (else None)."""
    # Any sort order will do: a tie group's cumulative sums are read at its last entry only.
    order = np.argsort(-x)
    xs, ys, ws = x[order], y[order], w[order]
    s = np.cumsum(ws * ys)
    b = np.cumsum(ws * (1 - ys))
    b2 = np.cumsum(ws * ws * (1 - ys)) if background_squares else None
    # A cut selects all events tied at the threshold, so keep only each tie group's last entry.
    last = np.r_[xs[1:] != xs[:-1], True]
    return xs[last], s[last], b[last], None if b2 is None else b2[last]


class AmsCurve(NamedTuple):
    thresholds: FloatArray
    """Distinct score values, descending, shape ``(n_thresholds,)``."""
    ams: FloatArray
    """AMS when selecting ``score >= threshold``, shape ``(n_thresholds,)``."""


class BestAms(NamedTuple):
    ams: float
    threshold: float
    selected_fraction: float
    """Fraction of the total weight (signal + background) with ``score >= threshold``."""


def ams_curve(y_true: ArrayLike, score: ArrayLike, weights: ArrayLike, b_r: float = AMS_B_REG) -> AmsCurve:
    """AMS as a function of the cut ``score >= threshold``, for every distinct score value.

    One sort and two cumulative sums, O(N log N). Inputs are ``(N,)``; returns
    ``(thresholds, ams)``, both ``(n_thresholds,)``, thresholds descending.
    """
    thresholds, s, b, _ = _cumulative(*_checked(y_true, score, weights, both_classes=False))
    return AmsCurve(thresholds, np.asarray(ams(s, b, b_r)))


def best_ams(y_true: ArrayLike, score: ArrayLike, weights: ArrayLike, b_r: float = AMS_B_REG) -> BestAms:
    """The maximum of :func:`ams_curve`: ``(ams, threshold, selected_fraction)``.

    The selection is ``score >= threshold``; ``selected_fraction`` is the fraction of the total
    weight it keeps. Of equal maxima the highest threshold (smallest selection) is returned.
    """
    y, x, w = _checked(y_true, score, weights, both_classes=False)
    thresholds, s, b, _ = _cumulative(y, x, w)
    values = np.asarray(ams(s, b, b_r))
    k = int(np.argmax(values))
    return BestAms(float(values[k]), float(thresholds[k]), float((s[k] + b[k]) / (s[-1] + b[-1])))
