"""Anomaly-detection metrics of the LHC Olympics challenge (SPEC section 2).

An anomaly detector gives every event of a labelled test set a score (higher = more
signal-like). A cut ``score >= threshold`` keeps the fraction ``eps_S`` of the signal and
``eps_B`` of the background; scanning the threshold traces the ROC curve. From it:

- ROC AUC, the area under ``eps_S(eps_B)``;
- the significance improvement characteristic ``SIC = eps_S / sqrt(eps_B)``, the factor by
  which the cut multiplies a counting significance ``S / sqrt(B)``;
- the maximum SIC, taken only over cuts that keep at least ``min_background`` background
  events of the test set (default 25: a relative statistical uncertainty of eps_B of at most
  1/sqrt(25) = 20%), so that a handful of surviving background events cannot decide it. The
  floor is a count, not a fraction: the same fraction is 1 event of a small test set and 20 of
  a large one. With weights the count is the effective number (sum w)^2 / sum w^2;
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

MIN_BACKGROUND = 25
"""Fewest test-set background events a cut must keep for its SIC to count towards the maximum."""
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
    n_b: FloatArray
    """Background events each cut keeps, non-decreasing, shape ``(n,)``: the count, or for
    weighted events the effective number ``(sum w)^2 / sum w^2``."""


class MaxSic(NamedTuple):
    sic: float
    """The maximum of ``eps_S / sqrt(eps_B)`` over cuts keeping at least ``min_background``
    background events."""
    eps_s: float
    eps_b: float
    n_b: float
    """Background events the cut keeps (effective number for weighted events)."""
    threshold: float
    """The cut ``score >= threshold`` that reaches it (the tightest one of equal maxima)."""


def roc_curve(y_true: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> RocCurve:
    """Signal and background efficiency of ``score >= threshold`` for every distinct score.

    Tied scores are one cut (all events at a threshold are kept together). Raises ValueError
    for one-class input, non-finite scores (the message names ``score``) or weights, and
    mismatched shapes.
    """
    thresholds, s, b, b2 = _cumulative(
        *_checked(y_true, score, weights, both_classes=True), background_squares=weights is not None
    )
    # Unit weights: the summed weight is the count. Otherwise the effective number; b2 > 0
    # wherever b > 0, and 0 / 0 (no background kept yet) is 0 events.
    with np.errstate(divide="ignore", invalid="ignore"):
        n_b = b if b2 is None else np.where(b > 0, b * b / b2, 0.0)
    return RocCurve(thresholds, s / s[-1], b / b[-1], n_b)


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


def max_sic_from_roc(curve: RocCurve, min_background: float = MIN_BACKGROUND) -> MaxSic:
    """Maximum SIC over the cuts of ``curve`` that keep at least ``min_background`` (> 0)
    background events (see :attr:`RocCurve.n_b`). Raises ValueError if no cut does, i.e. the
    test set holds fewer background events than the floor."""
    if not (np.isfinite(min_background) and min_background > 0):
        raise ValueError(f"min_background must be a positive number of events, got {min_background!r}")
    allowed = curve.n_b >= min_background * (1.0 - 1e-12)  # effective numbers carry rounding
    if not allowed[-1]:
        raise ValueError(
            f"the test set holds {curve.n_b[-1]:.6g} background events, fewer than min_background={min_background:g}"
        )
    sic = np.where(allowed, sic_from_roc(curve), -np.inf)
    k = int(np.argmax(sic))
    return MaxSic(
        float(sic[k]), float(curve.eps_s[k]), float(curve.eps_b[k]), float(curve.n_b[k]), float(curve.thresholds[k])
    )


def max_sic(
    y_true: ArrayLike,
    score: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    min_background: float = MIN_BACKGROUND,
) -> MaxSic:
    """Maximum of ``eps_S / sqrt(eps_B)`` over cuts keeping at least ``min_background``
    background events of the test set (see :func:`max_sic_from_roc`)."""
    return max_sic_from_roc(roc_curve(y_true, score, weights), min_background)


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
    min_background: float = MIN_BACKGROUND,
    rejection_at: Sequence[float] = REJECTION_EFFICIENCIES,
) -> dict[str, float]:
    """Every metric from one sort: ``auc``, ``max_sic`` (with ``eps_s_at_max_sic``,
    ``eps_b_at_max_sic``, ``n_background_at_max_sic`` and the floor ``min_background`` it was
    taken under) and ``rejection_at_eps_s_0.2`` etc. for each of ``rejection_at``."""
    curve = roc_curve(y_true, score, weights)
    best = max_sic_from_roc(curve, min_background)
    out = {
        "auc": _auc(curve),
        "max_sic": best.sic,
        "eps_s_at_max_sic": best.eps_s,
        "eps_b_at_max_sic": best.eps_b,
        "n_background_at_max_sic": best.n_b,
        "min_background": float(min_background),
    }
    for e in rejection_at:
        out[f"rejection_at_eps_s_{e:g}"] = rejection_from_roc(curve, float(e))
    return out


def sic_points(
    curve: RocCurve, min_background: float = MIN_BACKGROUND, max_points: int = 300
) -> dict[str, list[float] | float]:
    """The SIC curve where the maximum SIC is taken (cuts keeping at least ``min_background``
    background events), for a plot: ``{"eps_s", "eps_b", "sic"}`` lists of at most ``max_points``
    cuts, spread evenly in ``log eps_B`` (the tight cuts, where the SIC peaks, keep their detail),
    and ``min_background``; JSON-ready."""
    if not (np.isfinite(min_background) and min_background > 0):
        raise ValueError(f"min_background must be a positive number of events, got {min_background!r}")
    allowed = np.flatnonzero(curve.n_b >= min_background * (1.0 - 1e-12))
    if len(allowed) > max_points:
        log_b = np.log(curve.eps_b[allowed])
        targets = np.linspace(log_b[0], log_b[-1], max_points)
        allowed = np.unique(allowed[np.clip(np.searchsorted(log_b, targets), 0, len(allowed) - 1)])
    sic = sic_from_roc(curve)
    return {
        "eps_s": curve.eps_s[allowed].tolist(),
        "eps_b": curve.eps_b[allowed].tolist(),
        "sic": sic[allowed].tolist(),
        "min_background": float(min_background),
    }
