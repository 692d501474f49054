"""Classification metrics: the approximate median significance (AMS) and ROC AUC.

AMS is the 2014 HiggsML challenge's figure of merit: with s and b the summed weights of the
true signal and background events selected by a cut on the classifier score,
AMS = sqrt(2 ((s + b + b_r) ln(1 + s / (b + b_r)) - s)), regularisation b_r = 10.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

AMS_B_REG = 10.0


def ams(s: float | np.ndarray, b: float | np.ndarray, b_r: float = AMS_B_REG) -> float | np.ndarray:
    """AMS for summed selected signal ``s`` and background ``b`` weights (scalars or arrays)."""
    s, b = np.asarray(s, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if np.any(s < 0) or np.any(b < 0):
        raise ValueError("s and b must be non-negative sums of weights")
    value = np.sqrt(np.maximum(2.0 * ((s + b + b_r) * np.log1p(s / (b + b_r)) - s), 0.0))
    return float(value) if value.ndim == 0 else value


def _checked(y_true: np.ndarray, score: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, ...]:
    y = np.asarray(y_true)
    x = np.asarray(score, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (y.shape == x.shape == w.shape) or y.ndim != 1:
        raise ValueError(f"y_true, score and weights must be 1-D of one length, got {y.shape}, {x.shape}, {w.shape}")
    if np.count_nonzero(~np.isfinite(x)):
        raise ValueError(f"score contains {np.count_nonzero(~np.isfinite(x))} non-finite value(s)")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0 (background) and 1 (signal)")
    if np.unique(y).size < 2:
        raise ValueError("y_true holds a single class; both signal and background are needed")
    return y.astype(np.int8), x, w


def ams_curve(y_true: np.ndarray, score: np.ndarray, weights: np.ndarray, b_r: float = AMS_B_REG) -> tuple[np.ndarray, np.ndarray]:
    """AMS when selecting score >= each distinct threshold.

    Returns ``(thresholds, ams)``, both (n_thresholds,), thresholds descending. Computed with
    one sort and cumulative sums of the weights.
    """
    y, x, w = _checked(y_true, score, weights)
    order = np.argsort(-x, kind="stable")
    xs, ys, ws = x[order], y[order], w[order]
    s = np.cumsum(ws * ys)
    b = np.cumsum(ws * (1 - ys))
    last = np.r_[xs[1:] != xs[:-1], True]  # a threshold selects all ties at once
    return xs[last], ams(s[last], b[last], b_r)


def best_ams(y_true: np.ndarray, score: np.ndarray, weights: np.ndarray, b_r: float = AMS_B_REG) -> tuple[float, float, float]:
    """(maximum AMS, the score threshold reaching it, fraction of total weight selected)."""
    thresholds, values = ams_curve(y_true, score, weights, b_r)
    k = int(np.argmax(values))
    _, x, w = _checked(y_true, score, weights)
    return float(values[k]), float(thresholds[k]), float(w[x >= thresholds[k]].sum() / w.sum())


def roc_auc(y_true: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Area under the ROC curve (weighted when ``weights`` is given), via scikit-learn."""
    y, x, w = _checked(y_true, score, weights)
    return float(roc_auc_score(y, x, sample_weight=w))
