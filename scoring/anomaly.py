"""Anomaly-detection metrics of the LHC Olympics challenge (SPEC section 2).

An anomaly detector gives every event of a labelled test set a score (higher = more
signal-like). A cut ``score >= threshold`` keeps the fraction ``eps_S`` of the signal and
``eps_B`` of the background; scanning the threshold traces the ROC curve. From it:

- ROC AUC, the area under ``eps_S(eps_B)``;
- the significance improvement characteristic ``SIC = eps_S / sqrt(eps_B)``, the factor by
  which the cut multiplies a counting significance ``S / sqrt(B)``;
- the maximum SIC, taken only where ``eps_B > eps_b_min`` (default 1.84e-5, the CATHODE
  convention) so that a handful of surviving background events cannot make it explode;
- the background rejection ``1 / eps_B`` at fixed signal efficiency (0.2, 0.5).

Per-event inputs are arrays of shape ``(N,)``: ``y_true`` (1 signal, 0 background), ``score``
and optional non-negative ``weights``. Every metric sorts the scores once (O(N log N)); ten
million events take a few seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .classification import _checked, _cumulative

EPS_B_FLOOR = 1.84e-5
"""Smallest background efficiency at which the maximum SIC is taken (strictly above it)."""
REJECTION_EFFICIENCIES: tuple[float, ...] = (0.2, 0.5)
"""Signal efficiencies at which the background rejection is reported."""

FloatArray = NDArray[np.float64]


class RocCurve(NamedTuple):
    thresholds: FloatArray
    """Distinct score values, descending, shape ``(n,)``; the cut is ``score >= threshold``."""
    eps_s: FloatArray
    """Signal efficiency of each cut, non-decreasing, shape ``(n,)``."""
    eps_b: FloatArray
    """Background efficiency of each cut, non-decreasing, shape ``(n,)``."""


class MaxSic(NamedTuple):
    sic: float
    """The maximum of ``eps_S / sqrt(eps_B)`` over cuts with ``eps_B > eps_b_min``."""
    eps_s: float
    eps_b: float
    threshold: float
    """The cut ``score >= threshold`` that reaches it (the tightest one of equal maxima)."""


def roc_curve(y_true: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> RocCurve:
    """Signal and background efficiency of ``score >= threshold`` for every distinct score.

    Tied scores are one cut (all events at a threshold are kept together). Raises ValueError
    for one-class input, non-finite scores (the message names ``score``) or weights, and
    mismatched shapes.
    """
    thresholds, s, b = _cumulative(*_checked(y_true, score, weights, both_classes=True))
    return RocCurve(thresholds, s / s[-1], b / b[-1])


def _auc(curve: RocCurve) -> float:
    # Trapezoids from (0, 0): ties between signal and background count one half, as in
    # the Mann-Whitney statistic.
    x = np.concatenate(([0.0], curve.eps_b))
    y = np.concatenate(([0.0], curve.eps_s))
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)


def roc_auc(y_true: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Area under the ROC curve: the probability that a signal event scores above a
    background event (ties count one half). Agrees with ``sklearn.metrics.roc_auc_score``."""
    return _auc(roc_curve(y_true, score, weights))


def sic_from_roc(curve: RocCurve) -> FloatArray:
    """``eps_S / sqrt(eps_B)`` along ``curve``, shape ``(n,)``; ``inf`` where ``eps_B == 0``
    and ``eps_S > 0``, 0 where both are 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sic = curve.eps_s / np.sqrt(curve.eps_b)
    return np.where(curve.eps_s > 0, sic, 0.0)


def sic_curve(y_true: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> tuple[RocCurve, FloatArray]:
    """The ROC curve and the SIC of each of its cuts (see :func:`sic_from_roc`)."""
    curve = roc_curve(y_true, score, weights)
    return curve, sic_from_roc(curve)


def _check_floor(eps_b_min: float) -> None:
    if not (np.isfinite(eps_b_min) and 0.0 <= eps_b_min < 1.0):
        raise ValueError(f"eps_b_min must be in [0, 1), got {eps_b_min!r}")


def max_sic_from_roc(curve: RocCurve, eps_b_min: float = EPS_B_FLOOR) -> MaxSic:
    """Maximum SIC over the cuts of ``curve`` with ``eps_B > eps_b_min``."""
    _check_floor(eps_b_min)
    allowed = curve.eps_b > eps_b_min  # never empty: the loosest cut has eps_B = 1
    sic = np.where(allowed, sic_from_roc(curve), -np.inf)
    k = int(np.argmax(sic))
    return MaxSic(float(sic[k]), float(curve.eps_s[k]), float(curve.eps_b[k]), float(curve.thresholds[k]))


def max_sic(
    y_true: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None, *, eps_b_min: float = EPS_B_FLOOR
) -> MaxSic:
    """Maximum of ``eps_S / sqrt(eps_B)`` over cuts with ``eps_B > eps_b_min``."""
    return max_sic_from_roc(roc_curve(y_true, score, weights), eps_b_min)


def rejection_from_roc(curve: RocCurve, eps_s: float) -> float:
    """Background rejection ``1 / eps_B`` of the tightest cut that keeps at least ``eps_s`` of
    the signal (no interpolation between cuts); ``inf`` if that cut keeps no background."""
    if not (np.isfinite(eps_s) and 0.0 < eps_s <= 1.0):
        raise ValueError(f"signal efficiency must be in (0, 1], got {eps_s!r}")
    # Efficiencies are ratios of cumulative sums; allow for their last-digit rounding.
    k = int(np.searchsorted(curve.eps_s, eps_s * (1.0 - 1e-12), side="left"))
    eps_b = float(curve.eps_b[min(k, len(curve.eps_b) - 1)])
    return float(np.inf) if eps_b == 0.0 else 1.0 / eps_b


def background_rejection(
    y_true: ArrayLike,
    score: ArrayLike,
    eps_s: float | Sequence[float] = REJECTION_EFFICIENCIES,
    weights: ArrayLike | None = None,
) -> float | dict[float, float]:
    """``1 / eps_B`` at signal efficiency ``eps_s`` (see :func:`rejection_from_roc`).

    One efficiency gives a float; a sequence gives ``{eps_s: rejection}`` from a single sort.
    """
    curve = roc_curve(y_true, score, weights)
    if np.ndim(eps_s) == 0:
        return rejection_from_roc(curve, float(eps_s))  # type: ignore[arg-type]
    return {float(e): rejection_from_roc(curve, float(e)) for e in eps_s}  # type: ignore[union-attr]


def anomaly_metrics(
    y_true: ArrayLike,
    score: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    eps_b_min: float = EPS_B_FLOOR,
    rejection_at: Sequence[float] = REJECTION_EFFICIENCIES,
) -> dict[str, float]:
    """Every metric from one sort: ``auc``, ``max_sic`` (with ``eps_s_at_max_sic``,
    ``eps_b_at_max_sic``) and ``rejection_at_eps_s_0.2`` etc. for each of ``rejection_at``."""
    curve = roc_curve(y_true, score, weights)
    best = max_sic_from_roc(curve, eps_b_min)
    out = {
        "auc": _auc(curve),
        "max_sic": best.sic,
        "eps_s_at_max_sic": best.eps_s,
        "eps_b_at_max_sic": best.eps_b,
    }
    for e in rejection_at:
        out[f"rejection_at_eps_s_{e:g}"] = rejection_from_roc(curve, float(e))
    return out


def sic_points(curve: RocCurve, eps_b_min: float = EPS_B_FLOOR, max_points: int = 300) -> dict[str, list[float]]:
    """The SIC curve where the maximum SIC is taken (cuts with ``eps_B > eps_b_min``), for a plot:
    ``{"eps_s", "eps_b", "sic"}`` lists of at most ``max_points`` cuts, spread evenly in
    ``log eps_B`` (the tight cuts, where the SIC peaks, keep their detail); JSON-ready."""
    _check_floor(eps_b_min)
    allowed = np.flatnonzero(curve.eps_b > eps_b_min)
    if len(allowed) > max_points:
        log_b = np.log(curve.eps_b[allowed])
        targets = np.linspace(log_b[0], log_b[-1], max_points)
        allowed = np.unique(allowed[np.clip(np.searchsorted(log_b, targets), 0, len(allowed) - 1)])
    sic = sic_from_roc(curve)
    return {
        "eps_s": curve.eps_s[allowed].tolist(),
        "eps_b": curve.eps_b[allowed].tolist(),
        "sic": sic[allowed].tolist(),
        "eps_b_min": eps_b_min,
    }
